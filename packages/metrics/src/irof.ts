import { WhiteBoxError } from '@whitebox/core';
import { ScoreCollector, baselineImage, isConstantMap, prepare, sampleRng, scorePerturbations, targetScores, type Baseline, type MetricInfo, type MetricInput, type MetricOutput } from './metric.js';
import { perturbationOrder } from './perturbation-curves.js';
import { slic, type SlicOptions } from './slic.js';
import { normalizedArea } from './stats.js';

/** Options of IROF: the superpixel segmentation and what removed segments become. */
export interface IrofOptions extends SlicOptions {
  /** What a removed segment becomes (default 'mean': the image's per-channel mean, as in Rieger & Hansen and Quantus). */
  baseline?: Baseline;
}

/** Metric info of IROF. */
export const IROF: MetricInfo = {
  id: 'irof', name: 'IROF (superpixels)', family: 'faithfulness', direction: 'higher', paper: 'Rieger & Hansen 2020',
  definition: 'Remove SLIC superpixels in decreasing order of mean relevance; area over the curve of the target probability relative to the original.',
};

/**
 * IROF, Iterative Removal Of Features (Rieger & Hansen 2020, "IROF: a low resource evaluation metric for
 * explanation methods"): segment the image into SLIC superpixels (`slic`, written here), rank them by their mean
 * relevance, replace them one by one, most relevant first, by the baseline, and follow y_k = p(x_k) / p(x) for the
 * target probability p. Score: the normalised area over that curve, 1 − mean height over k/K ∈ [0, 1]; higher is
 * better (the probability falls fast). Choices: the area is normalised by the segment count (Quantus reports it
 * unnormalised), so images with different segment counts compare.
 */
export async function irof(input: MetricInput, options: IrofOptions = {}): Promise<MetricOutput> {
  const info = IROF;
  const p = await prepare(input, info.id);
  const seed = input.seed ?? 0;
  const item = p.c * p.hw;
  const segs: Array<{ labels: Int32Array; count: number; rank: Int32Array }> = [];
  for (let i = 0; i < p.n; i++) {
    const s = slic(input.images.data.subarray(i * item, (i + 1) * item), p.c, p.h, p.w, options);
    if (s.count < 2) throw new WhiteBoxError('INVALID_DATA', `${info.id}: SLIC found ${s.count} superpixel in sample ${i} (${p.h}×${p.w}, segments ${options.segments ?? 100}); IROF needs at least 2: raise 'segments'`, { sample: i });
    const mean = new Float32Array(s.count);
    const size = new Float32Array(s.count);
    for (let q = 0; q < p.hw; q++) {
      mean[s.labels[q]!]! += p.relevance[i * p.hw + q]!;
      size[s.labels[q]!]!++;
    }
    for (let k = 0; k < s.count; k++) mean[k] = mean[k]! / size[k]!;
    const order = perturbationOrder(mean, 'morf', seed, i);
    const rank = new Int32Array(s.count);
    for (let r = 0; r < s.count; r++) rank[order[r]!] = r + 1;
    segs.push({ ...s, rank });
  }
  const K = Math.max(...segs.map((s) => s.count));
  const f0 = await targetScores(input.model, input.images, p.targets, 'probability');
  const bases = new Map<number, Float32Array>();
  const ys = await scorePerturbations(input.model, input.images.dims, p.n, K + 1, p.targets, 'probability', (i, k, dst) => {
    let b = bases.get(i);
    if (!b) {
      if (bases.size > 64) bases.delete(bases.keys().next().value!);
      bases.set(i, (b = baselineImage(input.images, i, options.baseline ?? 'mean', sampleRng(seed, i, 37))));
    }
    const s = segs[i]!;
    for (let q = 0; q < p.hw; q++) {
      const gone = s.rank[s.labels[q]!]! <= k;
      for (let ch = 0; ch < p.c; ch++) dst[ch * p.hw + q] = gone ? b[ch * p.hw + q]! : input.images.data[i * item + ch * p.hw + q]!;
    }
  }, { onProgress: input.onProgress, stage: info.id });
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  const curveY = new Array<number>(K + 1).fill(0);
  for (let i = 0; i < p.n; i++) {
    if (!out.check(i, !isConstantMap(p.relevance, i, p.hw), () => 'is constant: it ranks no superpixel above another')) continue;
    if (!out.check(i, f0[i]! > 0, () => `cannot be scored: the model gives the target probability 0`)) continue;
    const cnt = segs[i]!.count;
    const xs = Array.from({ length: cnt + 1 }, (_, k) => k / cnt);
    const y = xs.map((_, k) => ys[i * (K + 1) + k]! / f0[i]!);
    out.add(i, 1 - normalizedArea(xs, y));
  }
  for (const i of out.samples) for (let k = 0; k <= K; k++) curveY[k]! += ys[i * (K + 1) + Math.min(k, segs[i]!.count)]! / f0[i]! / out.samples.length;
  return out.output({ curve: { x: curveY.map((_, k) => k / K), y: curveY, yLabel: 'target probability / original' } });
}
