import { check } from '@whitebox/core';
import { ScoreCollector, prepare, type MetricInfo, type MetricInput, type MetricOutput } from './metric.js';

/** Metric info of {@link sparseness}. */
export const SPARSENESS: MetricInfo = {
  id: 'sparseness', name: 'Sparseness (Gini index)', family: 'complexity', direction: 'higher', paper: 'Chalasani et al. 2020',
  definition: 'Gini index of |map|: 0 for a constant map, 1 − 1/n for a one-hot map.',
};
/** Metric info of {@link complexity}. */
export const COMPLEXITY: MetricInfo = {
  id: 'complexity', name: 'Complexity (entropy)', family: 'complexity', direction: 'lower', paper: 'Bhatt et al. 2020',
  definition: 'Shannon entropy (nats) of |map| / Σ|map|: 0 for a one-hot map, ln n for a constant one.',
};
/** Metric info of {@link effectiveComplexity}. */
export const EFFECTIVE_COMPLEXITY: MetricInfo = {
  id: 'effective-complexity', name: 'Effective Complexity', family: 'complexity', direction: 'lower', paper: 'Nguyen & Martínez 2020',
  definition: 'Share of pixels whose |map| / max|map| exceeds ε (default 10⁻⁵).',
};

/**
 * Sparseness (Chalasani et al. 2020, "Concise Explanations of Neural Networks using Adversarial Training"): the
 * Gini index of the absolute map, G = Σ_k (2k − n − 1) a_(k) / (n Σ_k a_(k)) with a_(1) ≤ … ≤ a_(n) sorted;
 * higher is better (concise). A one-hot map scores 1 − 1/n, a constant map 0; an all-zero map, the limit of
 * constant maps, scores 0 (Quantus adds 10⁻⁷ to every value, which gives the same).
 */
export function gini(values: ArrayLike<number>): number {
  const n = values.length;
  const a = Float64Array.from(values, Math.abs).sort();
  let num = 0;
  let den = 0;
  for (let k = 0; k < n; k++) {
    num += (2 * (k + 1) - n - 1) * a[k]!;
    den += a[k]!;
  }
  return den > 0 ? num / (n * den) : 0;
}

/**
 * Complexity (Bhatt, Weller & Moura 2020): the entropy of the fractional contribution distribution
 * P(p) = |a_p| / Σ|a|, H = −Σ P ln P (nats); lower is better (fewer pixels carry the map). A one-hot map scores 0,
 * a constant map ln n; an all-zero map, the limit of constant maps, ln n.
 */
export function entropyComplexity(values: ArrayLike<number>): number {
  const n = values.length;
  let s = 0;
  for (let k = 0; k < n; k++) s += Math.abs(values[k]!);
  if (!(s > 0)) return Math.log(n);
  let h = 0;
  for (let k = 0; k < n; k++) {
    const q = Math.abs(values[k]!) / s;
    if (q > 0) h -= q * Math.log(q);
  }
  return h;
}

/**
 * Effective Complexity (Nguyen & Martínez 2020, "On quantitative aspects of model interpretability"): how many
 * features matter, counted as the pixels whose |a| / max|a| exceeds ε; lower is better. Choices: reported as a
 * share of the pixels (Quantus reports the count) so image sizes compare; maps scaled by max |a| first (Quantus'
 * default `normalise_by_max`); an all-zero map counts 0.
 */
export function effectiveComplexityOf(values: ArrayLike<number>, eps = 1e-5): number {
  let m = 0;
  for (let k = 0; k < values.length; k++) m = Math.max(m, Math.abs(values[k]!));
  if (!(m > 0)) return 0;
  let c = 0;
  for (let k = 0; k < values.length; k++) if (Math.abs(values[k]!) / m > eps) c++;
  return c / values.length;
}

async function perSample(input: MetricInput, info: MetricInfo, score: (a: Float32Array) => number): Promise<MetricOutput> {
  const p = await prepare(input, info.id);
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  for (let i = 0; i < p.n; i++) out.add(i, score(p.relevance.subarray(i * p.hw, (i + 1) * p.hw)));
  return out.output();
}

/** Sparseness (Chalasani et al. 2020): Gini index of each map's absolute values; higher is sparser. */
export const sparseness = (input: MetricInput): Promise<MetricOutput> => perSample(input, SPARSENESS, gini);
/** Complexity (Bhatt et al. 2020): entropy of each map's normalized absolute values; lower is simpler. */
export const complexity = (input: MetricInput): Promise<MetricOutput> => perSample(input, COMPLEXITY, entropyComplexity);
/** Effective Complexity (Nguyen & Martínez 2020): share of pixels whose relative |relevance| exceeds `eps`; lower is simpler. */
export function effectiveComplexity(input: MetricInput, options: { eps?: number } = {}): Promise<MetricOutput> {
  const eps = options.eps ?? 1e-5;
  check(Number.isFinite(eps) && eps >= 0, `effective-complexity: eps must be a number ≥ 0, got ${eps}`);
  return perSample(input, EFFECTIVE_COMPLEXITY, (a) => effectiveComplexityOf(a, eps));
}
