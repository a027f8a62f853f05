import { check } from '@whitebox/core';
import { ScoreCollector, prepare, sampleRng, scorePerturbations, targetScores, type MetricInfo, type MetricInput, type MetricOutput } from './metric.js';

/** Options of Infidelity. */
export interface InfidelityOptions {
  /** Perturbations per image (default 50). */
  samples?: number;
  /** Std of the Gaussian perturbation I, pixel scale (default 0.03: small enough for the local, near-linear regime the
   * definition probes — at 0.1 every map of the MNIST model scored within 20 % of the random map). */
  sigma?: number;
  /** Fit the map's scale β before taking the error (default true; Yeh et al.'s normalised infidelity, Captum's `normalize`). */
  normalize?: boolean;
}

/** Metric info of Infidelity. */
export const INFIDELITY: MetricInfo = {
  id: 'infidelity', name: 'Infidelity', family: 'faithfulness', direction: 'lower', paper: 'Yeh et al. 2019',
  definition: 'Mean squared error between the map\'s linear prediction Iᵀφ and the true drop of the target logit f(x) − f(x − I), over Gaussian perturbations I.',
};

/**
 * Infidelity (Yeh, Hsieh, Suggala, Inouye & Ravikumar 2019, "On the (In)fidelity and Sensitivity of
 * Explanations"): INFD = E_I[(Iᵀφ(x) − (f(x) − f(x − I)))²] with I ~ N(0, σ²) per pixel (the same value for all
 * channels of a pixel, so Iᵀφ uses the channel-summed map) and f the target logit; lower is better. With
 * `normalize` (default) the map is first rescaled by the least-squares β = E[Iᵀφ·Δf] / E[(Iᵀφ)²], so maps of any
 * scale (a random map in [0, 1], an edge detector) compare. The exact gradient of a linear model scores 0.
 */
export async function infidelity(input: MetricInput, options: InfidelityOptions = {}): Promise<MetricOutput> {
  const info = INFIDELITY;
  const p = await prepare(input, info.id);
  const samples = options.samples ?? 50;
  const sigma = options.sigma ?? 0.03;
  check(Number.isInteger(samples) && samples >= 1, `${info.id}: samples must be an integer ≥ 1, got ${samples}`);
  check(Number.isFinite(sigma) && sigma > 0, `${info.id}: sigma must be a positive number, got ${sigma}`);
  const seed = input.seed ?? 0;
  const noise = (i: number, j: number): Float32Array => {
    const rng = sampleRng(seed, i * 65537 + j, 31);
    const out = new Float32Array(p.hw);
    for (let q = 0; q < p.hw; q++) out[q] = sigma * rng.normal();
    return out;
  };
  const f0 = await targetScores(input.model, input.images, p.targets, 'logit');
  const item = p.c * p.hw;
  const fs = await scorePerturbations(input.model, input.images.dims, p.n, samples, p.targets, 'logit', (i, j, dst) => {
    const I = noise(i, j);
    for (let ch = 0; ch < p.c; ch++) for (let q = 0; q < p.hw; q++) dst[ch * p.hw + q] = input.images.data[i * item + ch * p.hw + q]! - I[q]!;
  }, { onProgress: input.onProgress, stage: info.id });
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  for (let i = 0; i < p.n; i++) {
    const lin = new Float64Array(samples);
    const drop = new Float64Array(samples);
    for (let j = 0; j < samples; j++) {
      const I = noise(i, j);
      let s = 0;
      for (let q = 0; q < p.hw; q++) s += I[q]! * p.relevance[i * p.hw + q]!;
      lin[j] = s;
      drop[j] = f0[i]! - fs[i * samples + j]!;
    }
    let beta = 1;
    if (options.normalize ?? true) {
      let num = 0;
      let den = 0;
      for (let j = 0; j < samples; j++) {
        num += lin[j]! * drop[j]!;
        den += lin[j]! * lin[j]!;
      }
      // An all-zero map predicts no change whatever its scale: β = 0, its infidelity is E[Δf²].
      beta = den > 0 ? num / den : 0;
    }
    let e = 0;
    for (let j = 0; j < samples; j++) e += (beta * lin[j]! - drop[j]!) ** 2;
    out.add(i, e / samples);
  }
  return out.output();
}
