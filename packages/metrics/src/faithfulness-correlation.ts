import { check } from '@whitebox/core';
import {
  ScoreCollector, baselineImage, isConstantMap, prepare, sampleRng, scorePerturbations, targetScores, type Baseline, type MetricInfo, type MetricInput, type MetricOutput,
} from './metric.js';
import { pearson } from './stats.js';

/** Options of Faithfulness Correlation. */
export interface FaithfulnessCorrelationOptions {
  /** Random subsets per image (default 100, as in Quantus). */
  runs?: number;
  /** Pixels per subset (default round(H·W / 10)). */
  subsetSize?: number;
  /** What the subset's pixels become (default 0, black). */
  baseline?: Baseline;
}

/** Metric info of Faithfulness Correlation. */
export const FAITHFULNESS_CORRELATION: MetricInfo = {
  id: 'faithfulness-correlation', name: 'Faithfulness Correlation', family: 'faithfulness', direction: 'higher', paper: 'Bhatt et al. 2020',
  definition: 'Pearson correlation, over random pixel subsets, between the subset\'s summed relevance and the drop of the target logit when the subset is removed.',
};

/**
 * Faithfulness Correlation (Bhatt, Weller & Moura 2020, "Evaluating and aggregating feature-based model
 * explanations"): for `runs` random subsets S of `subsetSize` pixels, set S to the baseline and record the drop
 * of the target logit f(x) − f(x_S) and the map's sum over S; the score is their Pearson correlation, in [−1, 1],
 * higher is better. For gradient × input on a linear model with a zero baseline both sides are equal: score 1.
 * Choices: the signed map, no normalisation (Pearson is scale-free), the logit (Quantus' default, softmax off),
 * subsets drawn per image with a per-sample seed. A map whose subset sums are all equal (constant map) has no
 * correlation to measure: a named error (or the sample is left out).
 */
export async function faithfulnessCorrelation(input: MetricInput, options: FaithfulnessCorrelationOptions = {}): Promise<MetricOutput> {
  const info = FAITHFULNESS_CORRELATION;
  const p = await prepare(input, info.id);
  const runs = options.runs ?? 100;
  const size = options.subsetSize ?? Math.max(1, Math.round(p.hw / 10));
  check(Number.isInteger(runs) && runs >= 2, `${info.id}: runs must be an integer ≥ 2, got ${runs}`);
  check(Number.isInteger(size) && size >= 1 && size < p.hw, `${info.id}: subsetSize must be an integer in [1, ${p.hw - 1}], got ${size}`);
  const seed = input.seed ?? 0;
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  const subsets = new Map<number, Int32Array>();
  const subsetsOf = (i: number): Int32Array => {
    let s = subsets.get(i);
    if (!s) {
      const rng = sampleRng(seed, i, 23);
      s = new Int32Array(runs * size);
      const perm = new Int32Array(p.hw);
      for (let q = 0; q < p.hw; q++) perm[q] = q;
      for (let r = 0; r < runs; r++) {
        // Partial Fisher–Yates: the first `size` entries are a uniform subset.
        for (let q = 0; q < size; q++) {
          const j = q + rng.int(p.hw - q);
          const t = perm[q]!;
          perm[q] = perm[j]!;
          perm[j] = t;
        }
        s.set(perm.subarray(0, size), r * size);
      }
      subsets.set(i, s);
    }
    return s;
  };
  const baselines = new Map<number, Float32Array>();
  const baseOf = (i: number): Float32Array => {
    let b = baselines.get(i);
    if (!b) baselines.set(i, (b = baselineImage(input.images, i, options.baseline ?? 0, sampleRng(seed, i, 29))));
    return b;
  };
  const f0 = await targetScores(input.model, input.images, p.targets, 'logit');
  const item = p.c * p.hw;
  const fs = await scorePerturbations(input.model, input.images.dims, p.n, runs, p.targets, 'logit', (i, r, dst) => {
    dst.set(input.images.data.subarray(i * item, (i + 1) * item));
    const s = subsetsOf(i);
    const b = baseOf(i);
    for (let q = r * size; q < (r + 1) * size; q++) {
      const px = s[q]!;
      for (let ch = 0; ch < p.c; ch++) dst[ch * p.hw + px] = b[ch * p.hw + px]!;
    }
    if (r === runs - 1) {
      subsets.delete(i);
      baselines.delete(i);
    }
  }, { onProgress: input.onProgress, stage: info.id });
  for (let i = 0; i < p.n; i++) {
    if (!out.check(i, !isConstantMap(p.relevance, i, p.hw), () => 'is constant: every subset has the same relevance sum')) continue;
    const s = subsetsOf(i);
    const sums = new Float64Array(runs);
    const drops = new Float64Array(runs);
    for (let r = 0; r < runs; r++) {
      let a = 0;
      for (let q = r * size; q < (r + 1) * size; q++) a += p.relevance[i * p.hw + s[q]!]!;
      sums[r] = a;
      drops[r] = f0[i]! - fs[i * runs + r]!;
    }
    subsets.delete(i);
    // pearson() is 0 when one side is constant (e.g. a model blind to every subset): no linear relation.
    out.add(i, pearson(sums, drops));
  }
  return out.output();
}
