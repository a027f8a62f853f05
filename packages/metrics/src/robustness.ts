import { check } from '@whitebox/core';
import { ScoreCollector, explainPerturbations, prepare, sampleRng, type MetricInfo, type MetricInput, type MetricOutput, type Prepared } from './metric.js';

/** Options of Max- and Avg-Sensitivity. */
export interface SensitivityOptions {
  /** Perturbed copies per image (default 50; Quantus 200). */
  samples?: number;
  /** Radius r of the uniform noise U(−r, r) added to every pixel value (default 0.2, Quantus' `lower_bound`). */
  radius?: number;
}

/** Metric info of {@link maxSensitivity}. */
export const MAX_SENSITIVITY: MetricInfo = {
  id: 'max-sensitivity', name: 'Max-Sensitivity', family: 'robustness', direction: 'lower', paper: 'Yeh et al. 2019',
  definition: 'Largest relative change ‖φ(x + δ) − φ(x)‖ / ‖φ(x)‖ of the map over uniform perturbations |δ| ≤ r.',
};
/** Metric info of {@link avgSensitivity}. */
export const AVG_SENSITIVITY: MetricInfo = {
  id: 'avg-sensitivity', name: 'Avg-Sensitivity', family: 'robustness', direction: 'lower', paper: 'Yeh et al. 2019',
  definition: 'Mean relative change ‖φ(x + δ) − φ(x)‖ / ‖φ(x)‖ of the map over uniform perturbations |δ| ≤ r.',
};
/** Metric info of the Local Lipschitz Estimate. */
export const LOCAL_LIPSCHITZ: MetricInfo = {
  id: 'local-lipschitz', name: 'Local Lipschitz Estimate', family: 'robustness', direction: 'lower', paper: 'Alvarez-Melis & Jaakkola 2018',
  definition: 'Largest ‖φ̂(x) − φ̂(x′)‖₂ / ‖x − x′‖₂ over Gaussian neighbours x′ = x + N(0, σ²), maps φ̂ scaled by their max |value|.',
};

/** Explains `samples` noisy copies of each image; calls `each(i, j, noise, rel)` with copy j's noise and map. */
async function perturbAndExplain(
  input: MetricInput, p: Prepared, samples: number, salt: number, draw: (rng: ReturnType<typeof sampleRng>) => number, stage: string,
  each: (i: number, j: number, noiseNorm: number, rel: Float32Array) => void,
): Promise<void> {
  const item = p.c * p.hw;
  const seed = input.seed ?? 0;
  const norms = new Float64Array(p.n * samples);
  await explainPerturbations(input.explainer, input.images.dims, p.n, samples, p.targets, (i, j, dst) => {
    const rng = sampleRng(seed, i * 65537 + j, salt);
    let s = 0;
    for (let q = 0; q < item; q++) {
      const d = draw(rng);
      dst[q] = input.images.data[i * item + q]! + d;
      s += d * d;
    }
    norms[i * samples + j] = Math.sqrt(s);
  }, (i, j, rel) => each(i, j, norms[i * samples + j]!, rel), { onProgress: input.onProgress, stage });
}

function norm2(a: ArrayLike<number>, offset: number, n: number): number {
  let s = 0;
  for (let q = 0; q < n; q++) s += a[offset + q]! ** 2;
  return Math.sqrt(s);
}

/**
 * Max- and Avg-Sensitivity (Yeh et al. 2019, "On the (In)fidelity and Sensitivity of Explanations"): for
 * perturbations δ ~ U(−r, r) of every pixel value, the relative change of the map ‖φ(x + δ) − φ(x)‖_F / ‖φ(x)‖_F;
 * Max-Sensitivity takes its maximum over the samples, Avg-Sensitivity its mean. Lower is better (a stable map).
 * A model-blind constant map scores 0. Choices: the signed map; no clipping of x + δ to [0, 1] (as Quantus);
 * an all-zero map has no relative change to measure (named error, or the sample is left out).
 */
export async function sensitivity(input: MetricInput, options: SensitivityOptions = {}): Promise<{ max: MetricOutput; avg: MetricOutput }> {
  const p = await prepare(input, MAX_SENSITIVITY.id);
  const samples = options.samples ?? 50;
  const r = options.radius ?? 0.2;
  check(Number.isInteger(samples) && samples >= 1, `${MAX_SENSITIVITY.id}: samples must be an integer ≥ 1, got ${samples}`);
  check(Number.isFinite(r) && r > 0, `${MAX_SENSITIVITY.id}: radius must be a positive number, got ${r}`);
  const max = new Float64Array(p.n);
  const sum = new Float64Array(p.n);
  const base = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) base[i] = norm2(p.relevance, i * p.hw, p.hw);
  await perturbAndExplain(input, p, samples, 41, (rng) => (2 * rng.next() - 1) * r, MAX_SENSITIVITY.id, (i, _j, _nn, rel) => {
    let s = 0;
    for (let q = 0; q < p.hw; q++) s += (rel[q]! - p.relevance[i * p.hw + q]!) ** 2;
    const v = base[i]! > 0 ? Math.sqrt(s) / base[i]! : 0;
    if (v > max[i]!) max[i] = v;
    sum[i]! += v;
  });
  const mx = new ScoreCollector(MAX_SENSITIVITY.id, input.explainer.name, input.unscorable);
  const av = new ScoreCollector(AVG_SENSITIVITY.id, input.explainer.name, input.unscorable);
  for (let i = 0; i < p.n; i++) {
    const ok = base[i]! > 0;
    if (mx.check(i, ok, () => 'is all zero: its relative change is undefined')) mx.add(i, max[i]!);
    if (av.check(i, ok, () => 'is all zero: its relative change is undefined')) av.add(i, sum[i]! / samples);
  }
  return { max: mx.output(), avg: av.output() };
}

/** Max-Sensitivity (Yeh et al. 2019): largest relative change of the map under small uniform input perturbations; lower is more robust. */
export async function maxSensitivity(input: MetricInput, options: SensitivityOptions = {}): Promise<MetricOutput> {
  return (await sensitivity(input, options)).max;
}

/** Avg-Sensitivity (Yeh et al. 2019): mean relative change of the map under small uniform input perturbations; lower is more robust. */
export async function avgSensitivity(input: MetricInput, options: SensitivityOptions = {}): Promise<MetricOutput> {
  return (await sensitivity(input, options)).avg;
}

/** Options of the Local Lipschitz Estimate. */
export interface LocalLipschitzOptions {
  /** Neighbours per image (default 50; Quantus 200). */
  samples?: number;
  /** Std σ of the Gaussian neighbourhood (default 0.1, Quantus' `perturb_std`). */
  sigma?: number;
}

/**
 * Local Lipschitz Estimate (Alvarez-Melis & Jaakkola 2018, "On the Robustness of Interpretability Methods"):
 * L(x) = max_{x′} ‖φ̂(x) − φ̂(x′)‖₂ / ‖x − x′‖₂ over sampled neighbours x′ = x + N(0, σ²); lower is better. The
 * paper maximises with Bayesian optimisation; as Quantus we take the maximum over random neighbours. Each map is
 * scaled by its own max |value| first (Quantus' `normalise_by_max`; an all-zero map stays zero), so the estimate
 * compares across methods; without it the score carries the map's units. A model-blind constant map scores 0.
 */
export async function localLipschitz(input: MetricInput, options: LocalLipschitzOptions = {}): Promise<MetricOutput> {
  const info = LOCAL_LIPSCHITZ;
  const p = await prepare(input, info.id);
  const samples = options.samples ?? 50;
  const sigma = options.sigma ?? 0.1;
  check(Number.isInteger(samples) && samples >= 1, `${info.id}: samples must be an integer ≥ 1, got ${samples}`);
  check(Number.isFinite(sigma) && sigma > 0, `${info.id}: sigma must be a positive number, got ${sigma}`);
  const scale = (a: ArrayLike<number>, off: number): number => {
    let m = 0;
    for (let q = 0; q < p.hw; q++) m = Math.max(m, Math.abs(a[off + q]!));
    return m > 0 ? 1 / m : 0;
  };
  const s0 = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) s0[i] = scale(p.relevance, i * p.hw);
  const best = new Float64Array(p.n);
  await perturbAndExplain(input, p, samples, 43, (rng) => sigma * rng.normal(), info.id, (i, _j, nn, rel) => {
    const s1 = scale(rel, 0);
    let d = 0;
    for (let q = 0; q < p.hw; q++) d += (rel[q]! * s1 - p.relevance[i * p.hw + q]! * s0[i]!) ** 2;
    const v = nn > 0 ? Math.sqrt(d) / nn : 0;
    if (v > best[i]!) best[i] = v;
  });
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  for (let i = 0; i < p.n; i++) out.add(i, best[i]!);
  return out.output();
}
