import { WhiteBoxError, check } from '@whitebox/core';
import { argsortDesc } from './data.js';
import {
  ScoreCollector, baselineImage, isConstantMap, prepare, sampleRng, scorePerturbations, type Baseline, type MetricInfo, type MetricInput, type MetricOutput,
} from './metric.js';
import { normalizedArea } from './stats.js';

/** The order in which pixels (or regions) are perturbed: most relevant first, least relevant first, or at random. */
export type PerturbationOrder = 'morf' | 'lerf' | 'random';
/** Orders pixels are perturbed in: most relevant first, least relevant first, random. */
export const PERTURBATION_ORDERS: readonly PerturbationOrder[] = ['morf', 'lerf', 'random'];

/**
 * The engine of every perturbation curve: pixel `p` of sample `i` switches at step `stepOf[p]` (1-based; 0 =
 * never) from its `from` value to its `to` value; copy k has switched every pixel with 1 ≤ stepOf ≤ k, all channels
 * of a pixel together (Quantus' pixel-flipping bug flipped one channel only). Returns the target's probability
 * after 0..steps switches, [n × (steps + 1)].
 */
async function curves(
  input: MetricInput, p: { n: number; c: number; hw: number; targets: Int32Array }, steps: number,
  from: (i: number) => Float32Array, to: (i: number) => Float32Array, stepOf: (i: number) => Int32Array, stage: string,
): Promise<Float64Array> {
  const { n, c, hw } = p;
  const cache = new Map<number, [Float32Array, Float32Array, Int32Array]>();
  const get = (i: number): [Float32Array, Float32Array, Int32Array] => {
    let v = cache.get(i);
    if (!v) {
      if (cache.size > 64) cache.delete(cache.keys().next().value!);
      cache.set(i, (v = [from(i), to(i), stepOf(i)]));
    }
    return v;
  };
  return scorePerturbations(input.model, input.images.dims, n, steps + 1, p.targets, 'probability', (i, k, dst) => {
    const [a, b, s] = get(i);
    for (let q = 0; q < hw; q++) {
      const sw = s[q]! >= 1 && s[q]! <= k;
      for (let ch = 0; ch < c; ch++) dst[ch * hw + q] = sw ? b[ch * hw + q]! : a[ch * hw + q]!;
    }
  }, { onProgress: input.onProgress, stage });
}

/** Pixel indices in perturbation order: relevance descending (MoRF), ascending (LeRF), or a seeded permutation. */
export function perturbationOrder(rel: Float32Array, order: PerturbationOrder, seed: number, sample: number): Int32Array {
  if (order === 'random') return sampleRng(seed, sample, 17).permutation(rel.length);
  const desc = argsortDesc(rel, (seed * 7919 + sample) >>> 0);
  return order === 'morf' ? desc : desc.reverse();
}

/** Step (1-based) at which each pixel switches when `ordered` pixels go `perStep` at a time. */
function stepsByRank(ordered: Int32Array, perStep: number, limit = Infinity): Int32Array {
  const s = new Int32Array(ordered.length);
  for (let r = 0; r < ordered.length; r++) {
    const k = Math.floor(r / perStep) + 1;
    if (k <= limit) s[ordered[r]!] = k;
  }
  return s;
}

function meanCurve(values: Float64Array, n: number, k: number, samples: number[]): number[] {
  const y = new Array<number>(k).fill(0);
  for (const i of samples) for (let j = 0; j < k; j++) y[j]! += values[i * k + j]! / samples.length;
  return y;
}

const constantReason = (): string => 'is constant: it ranks no pixel above another';

/** Options of Pixel Flipping. */
export interface PixelFlippingOptions {
  /** Curve steps; each perturbs ⌈H·W / steps⌉ pixels, the last one all (default 50). */
  steps?: number;
  order?: PerturbationOrder;
  /** What a flipped pixel becomes (default 'uniform': U(0, 1) noise, the perturbation of Samek et al. 2017; Quantus'
   * default is black, which makes MoRF pixel flipping the same computation as `deletion-constant`). */
  baseline?: Baseline;
}

/** Metric infos of Pixel Flipping, per order. */
export const PIXEL_FLIPPING: Record<PerturbationOrder, MetricInfo> = {
  morf: {
    id: 'pixel-flipping', name: 'Pixel Flipping (MoRF)', family: 'faithfulness', direction: 'lower', paper: 'Bach et al. 2015; Samek et al. 2017',
    definition: 'Replace pixels by uniform noise, most relevant first; area under the target-probability curve (mean height).',
  },
  lerf: {
    id: 'pixel-flipping-lerf', name: 'Pixel Flipping (LeRF)', family: 'faithfulness', direction: 'higher', paper: 'Bach et al. 2015; Samek et al. 2017',
    definition: 'Replace pixels by uniform noise, least relevant first; area under the target-probability curve.',
  },
  random: {
    id: 'pixel-flipping-random', name: 'Pixel Flipping (random order)', family: 'faithfulness', direction: 'reference', paper: 'Samek et al. 2017',
    definition: 'Flip pixels in a random order: the curve every map would get, for reference.',
  },
};

/**
 * Pixel Flipping (Bach et al. 2015; Samek et al. 2017): replace pixels by the baseline (uniform noise) in the order of the map
 * (most relevant first for MoRF), re-evaluate the unchanged model after every step, and take the area under the
 * target probability curve over the fraction flipped (trapezoids, normalised to the curve's mean height).
 * MoRF: lower is better (a faithful map finds the pixels whose removal kills the score); LeRF: higher is better.
 * Choices: probability (not logit) so areas compare across models; groups of ⌈H·W/steps⌉ pixels per step
 * (Quantus' `features_in_step`); all channels of a pixel flip together.
 */
export async function pixelFlipping(input: MetricInput, options: PixelFlippingOptions = {}): Promise<MetricOutput> {
  const order = options.order ?? 'morf';
  const info = PIXEL_FLIPPING[order];
  if (!info) throw new WhiteBoxError('INVALID_ARGUMENT', `pixelFlipping: unknown order '${order}' (${PERTURBATION_ORDERS.join(', ')})`);
  const p = await prepare(input, info.id);
  const steps = options.steps ?? 50;
  check(Number.isInteger(steps) && steps >= 1 && steps <= p.hw, `${info.id}: steps must be an integer in [1, ${p.hw}], got ${steps}`);
  const perStep = Math.ceil(p.hw / steps);
  const realSteps = Math.ceil(p.hw / perStep);
  const seed = input.seed ?? 0;
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  const keep: number[] = [];
  for (let i = 0; i < p.n; i++) if (order === 'random' || out.check(i, !isConstantMap(p.relevance, i, p.hw), constantReason)) keep.push(i);
  const base = (i: number): Float32Array => baselineImage(input.images, i, options.baseline ?? 'uniform', sampleRng(seed, i, 3));
  const orig = (i: number): Float32Array => input.images.data.slice(i * p.c * p.hw, (i + 1) * p.c * p.hw);
  const ys = await curves(input, p, realSteps, orig, base, (i) => stepsByRank(perturbationOrder(p.relevance.subarray(i * p.hw, (i + 1) * p.hw), order, seed, i), perStep), info.id);
  const xs = Array.from({ length: realSteps + 1 }, (_, k) => Math.min(1, (k * perStep) / p.hw));
  for (const i of keep) out.add(i, normalizedArea(xs, ys.subarray(i * (realSteps + 1), (i + 1) * (realSteps + 1))));
  return out.output({ curve: { x: xs, y: meanCurve(ys, p.n, realSteps + 1, out.samples), yLabel: 'probability of the target' } });
}

/** Options of Region Perturbation. */
export interface RegionPerturbationOptions {
  /** Side of the square regions (default 4 for images up to 64 pixels, else 8). */
  patchSize?: number;
  /** Regions perturbed, one per step (default min(100, all)). */
  regions?: number;
  order?: PerturbationOrder;
  /** What a perturbed pixel becomes (default 'uniform': U(0, 1) noise, as in Samek et al. 2017). */
  baseline?: Baseline;
}

/** Metric infos of Region Perturbation, per order. */
export const REGION_PERTURBATION: Record<PerturbationOrder, MetricInfo> = {
  morf: {
    id: 'region-perturbation', name: 'Region Perturbation (MoRF), AOPC', family: 'faithfulness', direction: 'higher', paper: 'Samek et al. 2017',
    definition: 'Perturb square regions, most relevant first; mean drop of the target probability (AOPC).',
  },
  lerf: {
    id: 'region-perturbation-lerf', name: 'Region Perturbation (LeRF), AOPC', family: 'faithfulness', direction: 'lower', paper: 'Samek et al. 2017',
    definition: 'Perturb square regions, least relevant first; mean drop of the target probability (AOPC).',
  },
  random: {
    id: 'region-perturbation-random', name: 'Region Perturbation (random order), AOPC', family: 'faithfulness', direction: 'reference', paper: 'Samek et al. 2017',
    definition: 'Perturb square regions in a random order: the AOPC any map would get, for reference.',
  },
};

/**
 * Region Perturbation (Samek et al. 2017): split the image into square regions, perturb them one at a time in
 * the order of their summed relevance (MoRF: most relevant first), and report the area over the perturbation
 * curve, AOPC = 1/(L+1) Σ_{k=0..L} (f(x) − f(x_k)) with f the target probability. MoRF: higher is better; LeRF:
 * lower is better; random order is the reference. Choices: a fixed grid (Quantus) rather than Samek's windows
 * around the top pixels; edge regions are cropped, not padded.
 */
export async function regionPerturbation(input: MetricInput, options: RegionPerturbationOptions = {}): Promise<MetricOutput> {
  const order = options.order ?? 'morf';
  const info = REGION_PERTURBATION[order];
  if (!info) throw new WhiteBoxError('INVALID_ARGUMENT', `regionPerturbation: unknown order '${order}' (${PERTURBATION_ORDERS.join(', ')})`);
  const p = await prepare(input, info.id);
  const patch = options.patchSize ?? (Math.max(p.h, p.w) <= 64 ? 4 : 8);
  check(Number.isInteger(patch) && patch >= 1 && patch <= Math.min(p.h, p.w), `${info.id}: patchSize must be an integer in [1, ${Math.min(p.h, p.w)}], got ${patch}`);
  const ph = Math.ceil(p.h / patch);
  const pw = Math.ceil(p.w / patch);
  const numRegions = ph * pw;
  const L = options.regions ?? Math.min(100, numRegions);
  check(Number.isInteger(L) && L >= 1 && L <= numRegions, `${info.id}: regions must be an integer in [1, ${numRegions}] (${ph}×${pw} regions of ${patch}×${patch}), got ${L}`);
  const regionOf = new Int32Array(p.hw);
  for (let y = 0; y < p.h; y++) for (let x = 0; x < p.w; x++) regionOf[y * p.w + x] = Math.floor(y / patch) * pw + Math.floor(x / patch);
  const seed = input.seed ?? 0;
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  const keep: number[] = [];
  for (let i = 0; i < p.n; i++) if (order === 'random' || out.check(i, !isConstantMap(p.relevance, i, p.hw), constantReason)) keep.push(i);
  const stepOf = (i: number): Int32Array => {
    const sums = new Float32Array(numRegions);
    for (let q = 0; q < p.hw; q++) sums[regionOf[q]!]! += p.relevance[i * p.hw + q]!;
    const ordered = perturbationOrder(sums, order, seed, i);
    const rank = new Int32Array(numRegions);
    for (let r = 0; r < numRegions; r++) rank[ordered[r]!] = r + 1;
    const s = new Int32Array(p.hw);
    for (let q = 0; q < p.hw; q++) s[q] = rank[regionOf[q]!]! <= L ? rank[regionOf[q]!]! : 0;
    return s;
  };
  const base = (i: number): Float32Array => baselineImage(input.images, i, options.baseline ?? 'uniform', sampleRng(seed, i, 5));
  const orig = (i: number): Float32Array => input.images.data.slice(i * p.c * p.hw, (i + 1) * p.c * p.hw);
  const ys = await curves(input, p, L, orig, base, stepOf, info.id);
  for (const i of keep) {
    const f0 = ys[i * (L + 1)]!;
    let s = 0;
    for (let k = 0; k <= L; k++) s += f0 - ys[i * (L + 1) + k]!;
    out.add(i, s / (L + 1));
  }
  const xs = Array.from({ length: L + 1 }, (_, k) => k / numRegions);
  return out.output({ curve: { x: xs, y: meanCurve(ys, p.n, L + 1, out.samples), yLabel: 'probability of the target' } });
}

/** Insertion (pixels added to a canvas) or deletion (pixels removed from the image). */
export type InsertionDeletionMode = 'insertion' | 'deletion';
/** What the insertion/deletion canvas is: a blur of the image or a constant. */
export type InsertionDeletionBaseline = 'blur' | 'constant';

/** Options of insertion and deletion (RISE). */
export interface InsertionDeletionOptions {
  mode?: InsertionDeletionMode;
  /** The canvas: a Gaussian blur of the image (RISE's insertion) or a constant (RISE's deletion; default). */
  baseline?: InsertionDeletionBaseline;
  /** The constant (default 0, black). */
  value?: number;
  /** Blur σ in pixels (default H/10). */
  blurSigma?: number;
  /** Curve steps (default 50). */
  steps?: number;
}

/** Metric infos of insertion and deletion, per mode and baseline. */
export const INSERTION_DELETION: Record<`${InsertionDeletionMode}-${InsertionDeletionBaseline}`, MetricInfo> = {
  'deletion-constant': {
    id: 'deletion-constant', name: 'Deletion AUC (constant)', family: 'faithfulness', direction: 'lower', paper: 'Petsiuk et al. 2018 (RISE)',
    definition: 'Replace pixels by a constant (black), most relevant first; area under the target-probability curve.',
  },
  'deletion-blur': {
    id: 'deletion-blur', name: 'Deletion AUC (blur)', family: 'faithfulness', direction: 'lower', paper: 'Petsiuk et al. 2018 (RISE)',
    definition: 'Replace pixels by a blurred copy, most relevant first; area under the target-probability curve.',
  },
  'insertion-constant': {
    id: 'insertion-constant', name: 'Insertion AUC (constant)', family: 'faithfulness', direction: 'higher', paper: 'Petsiuk et al. 2018 (RISE)',
    definition: 'Start from a constant (black) canvas, insert the image\'s pixels most relevant first; area under the target-probability curve.',
  },
  'insertion-blur': {
    id: 'insertion-blur', name: 'Insertion AUC (blur)', family: 'faithfulness', direction: 'higher', paper: 'Petsiuk et al. 2018 (RISE)',
    definition: 'Start from a blurred copy, insert the image\'s pixels most relevant first; area under the target-probability curve.',
  },
};

/**
 * Insertion and Deletion (Petsiuk et al. 2018, RISE): deletion replaces the most relevant pixels first by the
 * baseline and follows the target probability (area under the curve: lower is better); insertion starts from
 * the baseline canvas and puts the image's pixels back, most relevant first (area: higher is better). Baselines:
 * a constant (black) or a Gaussian blur of the image. Area = trapezoids over the fraction of pixels, normalised.
 */
export async function insertionDeletion(input: MetricInput, options: InsertionDeletionOptions = {}): Promise<MetricOutput> {
  const mode = options.mode ?? 'deletion';
  const kind = options.baseline ?? 'constant';
  const info = INSERTION_DELETION[`${mode}-${kind}`];
  if (!info) throw new WhiteBoxError('INVALID_ARGUMENT', `insertionDeletion: mode must be insertion or deletion and baseline blur or constant, got ${mode} / ${kind}`);
  const p = await prepare(input, info.id);
  const steps = options.steps ?? 50;
  check(Number.isInteger(steps) && steps >= 1 && steps <= p.hw, `${info.id}: steps must be an integer in [1, ${p.hw}], got ${steps}`);
  const perStep = Math.ceil(p.hw / steps);
  const realSteps = Math.ceil(p.hw / perStep);
  const seed = input.seed ?? 0;
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  const keep: number[] = [];
  for (let i = 0; i < p.n; i++) if (out.check(i, !isConstantMap(p.relevance, i, p.hw), constantReason)) keep.push(i);
  const base = (i: number): Float32Array => baselineImage(input.images, i, kind === 'blur' ? 'blur' : (options.value ?? 0), sampleRng(seed, i, 7), options.blurSigma);
  const orig = (i: number): Float32Array => input.images.data.slice(i * p.c * p.hw, (i + 1) * p.c * p.hw);
  const ranks = (i: number): Int32Array => stepsByRank(perturbationOrder(p.relevance.subarray(i * p.hw, (i + 1) * p.hw), 'morf', seed, i), perStep);
  const ys = mode === 'deletion' ? await curves(input, p, realSteps, orig, base, ranks, info.id) : await curves(input, p, realSteps, base, orig, ranks, info.id);
  const xs = Array.from({ length: realSteps + 1 }, (_, k) => Math.min(1, (k * perStep) / p.hw));
  for (const i of keep) out.add(i, normalizedArea(xs, ys.subarray(i * (realSteps + 1), (i + 1) * (realSteps + 1))));
  return out.output({ curve: { x: xs, y: meanCurve(ys, p.n, realSteps + 1, out.samples), yLabel: 'probability of the target' } });
}

/** Options of Monotonicity. */
export interface MonotonicityOptions {
  /** Groups of pixels added one per step (default 16). */
  steps?: number;
  /** The canvas the pixels are added to (default 0, black). */
  baseline?: Baseline;
}

/** Metric info of Monotonicity. */
export const MONOTONICITY: MetricInfo = {
  id: 'monotonicity', name: 'Monotonicity', family: 'faithfulness', direction: 'higher', paper: 'Arya et al. 2019 (AIX360)',
  definition: 'Add pixels to a black canvas in increasing order of relevance; share of samples whose target probability never decreases.',
};

/**
 * Monotonicity (Arya et al. 2019, "One explanation does not fit all", AIX360's monotonicity_metric): start from
 * the baseline and add the image's pixels in *increasing* order of (signed) relevance, a group per step; the
 * sample scores 1 when the target probability never decreases from one added group to the next, else 0. Mean:
 * the share of monotone samples, higher is better. As in AIX360 and Quantus, the first step (baseline → first
 * group) is not compared. Choices: signed relevance (AIX360; Quantus takes |a|), groups of ⌈H·W/steps⌉ pixels.
 */
export async function monotonicity(input: MetricInput, options: MonotonicityOptions = {}): Promise<MetricOutput> {
  const info = MONOTONICITY;
  const p = await prepare(input, info.id);
  const steps = options.steps ?? 16;
  check(Number.isInteger(steps) && steps >= 2 && steps <= p.hw, `${info.id}: steps must be an integer in [2, ${p.hw}], got ${steps}`);
  const perStep = Math.ceil(p.hw / steps);
  const realSteps = Math.ceil(p.hw / perStep);
  const seed = input.seed ?? 0;
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  const keep: number[] = [];
  for (let i = 0; i < p.n; i++) if (out.check(i, !isConstantMap(p.relevance, i, p.hw), constantReason)) keep.push(i);
  const base = (i: number): Float32Array => baselineImage(input.images, i, options.baseline ?? 0, sampleRng(seed, i, 11));
  const orig = (i: number): Float32Array => input.images.data.slice(i * p.c * p.hw, (i + 1) * p.c * p.hw);
  const ranks = (i: number): Int32Array => stepsByRank(perturbationOrder(p.relevance.subarray(i * p.hw, (i + 1) * p.hw), 'lerf', seed, i), perStep);
  const ys = await curves(input, p, realSteps, base, orig, ranks, info.id);
  const K = realSteps + 1;
  for (const i of keep) {
    let mono = 1;
    for (let k = 2; k < K; k++) if (ys[i * K + k]! < ys[i * K + k - 1]!) mono = 0;
    out.add(i, mono);
  }
  const xs = Array.from({ length: K }, (_, k) => Math.min(1, (k * perStep) / p.hw));
  return out.output({ curve: { x: xs, y: meanCurve(ys, p.n, K, out.samples), yLabel: 'probability of the target' } });
}
