import { Rng, Tensor, WhiteBoxError, type Model, type ProgressCallback, type TensorData } from '@whitebox/core';
import type { Explainer } from './explainer.js';

/** The five families of explanation metrics (Hedström et al. 2023, Quantus), plus what each needs. */
export type MetricFamily = 'faithfulness' | 'robustness' | 'randomization' | 'complexity' | 'localization';
/** The metric families, in report order. */
export const METRIC_FAMILIES: readonly MetricFamily[] = ['faithfulness', 'robustness', 'randomization', 'complexity', 'localization'];

/** Which way is better: a higher score, a lower one, or neither (a reference value every map gets alike). */
export type Direction = 'higher' | 'lower' | 'reference';

/** ↑, ↓ or ○: how every table and chart marks a metric's direction. */
export function directionArrow(d: Direction): string {
  return d === 'higher' ? '↑' : d === 'lower' ? '↓' : '○';
}

/** What a metric is: shown beside its numbers in every table. */
export interface MetricInfo {
  id: string;
  name: string;
  family: MetricFamily;
  direction: Direction;
  /** The paper that defines it. */
  paper: string;
  /** One sentence: what is computed. */
  definition: string;
  /** Needs ground-truth masks (localization). */
  needsMasks?: boolean;
  /** Needs randomized copies of the model (randomization). */
  needsRandomizedModels?: boolean;
}

/** What to do with a sample whose map cannot be scored (constant map: no ranking; no positive relevance). */
export type UnscorablePolicy = 'error' | 'skip';

/**
 * One evaluation call: the model, the explainer, images [N, C, H, W] in [0, 1] and one target class per
 * image. `relevance` is the explainer's signed per-pixel relevance of `images` [N, H*W] (computed when
 * absent); `masks` the ground truth [N, H*W] (or an [N, H, W] / [N, 1, H, W] uint8 tensor) for localization.
 */
export interface MetricInput {
  model: Model;
  explainer: Explainer;
  images: Tensor;
  targets: ArrayLike<number>;
  relevance?: Float32Array;
  masks?: Uint8Array | Tensor<Uint8Array>;
  seed?: number;
  /** Constant maps and the like: a named error (default) or the sample left out (and counted). */
  unscorable?: UnscorablePolicy;
  onProgress?: ProgressCallback;
}

/** Per-sample scores of one metric for one explainer; `excluded` are the samples left out (with why). */
export interface MetricOutput {
  metric: string;
  method: string;
  /** One score per kept sample, in sample order. */
  scores: number[];
  /** Indices of the samples the scores belong to. */
  samples: number[];
  excluded: Array<{ sample: number; reason: string }>;
  mean: number;
  std: number;
  /** Mean curve for curve-based metrics (x in [0, 1] fraction perturbed, y the mean score). */
  curve?: { x: number[]; y: number[]; yLabel: string };
}

/** A validated metric input: sizes, targets as Int32Array, signed relevance and masks as flat arrays. */
export interface Prepared {
  n: number;
  c: number;
  h: number;
  w: number;
  hw: number;
  targets: Int32Array;
  relevance: Float32Array;
  masks?: Uint8Array;
}

/** Checks a relevance array: [n × hw] finite values, else a named error. */
export function checkRelevance(rel: Float32Array, n: number, h: number, w: number, where: string, method: string): void {
  if (!(rel instanceof Float32Array) || rel.length !== n * h * w) {
    const got = rel instanceof Float32Array ? `${rel.length} values` : `a ${Object.prototype.toString.call(rel).slice(8, -1)}`;
    const hint = rel instanceof Float32Array && rel.length % n === 0 && Number.isInteger(Math.sqrt(rel.length / n)) ? ` (${Math.sqrt(rel.length / n)}×${Math.sqrt(rel.length / n)} maps?)` : '';
    throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: explainer ${method} gave ${got}${hint} for ${n} images of ${h}×${w}: expected ${n} × ${h * w} per-pixel relevance values`, { method, expected: [n, h * w] });
  }
  for (let i = 0; i < rel.length; i++) {
    if (!Number.isFinite(rel[i]!)) {
      throw new WhiteBoxError('INVALID_DATA', `${where}: explainer ${method} gave a non-finite relevance (${rel[i]}) at sample ${Math.floor(i / (h * w))}, pixel ${i % (h * w)}`, { method });
    }
  }
}

/** Flattens and checks ground-truth masks against the images: same count and size, 0/1 values. */
export function checkMasks(masks: Uint8Array | Tensor<Uint8Array>, n: number, h: number, w: number, where: string): Uint8Array {
  let data: Uint8Array;
  if (masks instanceof Tensor) {
    const d = masks.dims;
    const ok = (d.length === 3 || (d.length === 4 && d[1] === 1)) && d[0] === n && d[d.length - 2] === h && d[d.length - 1] === w;
    if (!ok) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: masks have shape [${d.join(', ')}] but the images are ${n} × ${h}×${w}: expected [${n}, ${h}, ${w}] or [${n}, 1, ${h}, ${w}]`, { shape: d, expected: [n, h, w] });
    }
    data = masks.data;
  } else if (masks instanceof Uint8Array) {
    if (masks.length !== n * h * w) {
      const side = Math.sqrt(masks.length / n);
      const hint = Number.isInteger(side) ? ` (${n} masks of ${side}×${side}?)` : '';
      throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: masks have ${masks.length} values${hint} but the images are ${n} × ${h}×${w} = ${n * h * w} pixels`, { expected: [n, h, w] });
    }
    data = masks;
  } else {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${where}: masks must be a Uint8Array or a uint8 Tensor`);
  }
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    let any = 0;
    for (let p = 0; p < hw; p++) {
      const v = data[i * hw + p]!;
      if (v > 1) throw new WhiteBoxError('INVALID_DATA', `${where}: mask of sample ${i} has value ${v} at pixel ${p}; masks hold 0 (outside) and 1 (inside)`, { sample: i });
      any |= v;
    }
    if (!any) throw new WhiteBoxError('INVALID_DATA', `${where}: the mask of sample ${i} is empty (no pixel inside): localization is undefined for it`, { sample: i });
  }
  return data;
}

/** Validates a metric input and computes the relevance when absent. */
export async function prepare(input: MetricInput, where: string, needs: { masks?: boolean } = {}): Promise<Prepared> {
  const { images, model } = input;
  if (!(images instanceof Tensor) || images.rank !== 4) throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: images must be an [N, C, H, W] tensor, got ${images}`, { shape: images?.dims });
  const [n, c, h, w] = images.dims as [number, number, number, number];
  if (n < 1) throw new WhiteBoxError('INVALID_ARGUMENT', `${where}: no images to evaluate`);
  if (input.targets.length !== n) throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: ${input.targets.length} targets for ${n} images`);
  const targets = Int32Array.from(input.targets);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(input.targets[i]!) || targets[i]! < 0 || targets[i]! >= model.numClasses) {
      throw new WhiteBoxError('TARGET_OUT_OF_RANGE', `${where}: target ${input.targets[i]} of sample ${i} is outside the model's ${model.numClasses} classes`, { sample: i });
    }
  }
  const shape = model.inputShape;
  // The batch dim may be fixed for fixed-batch models: compare only C, H, W.
  if (shape.length === 4 && ((shape[1] != null && shape[1] !== c) || (shape[2] != null && shape[2] !== h) || (shape[3] != null && shape[3] !== w))) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: the model takes [N, ${shape.slice(1).join(', ')}] images but got ${c}×${h}×${w}`, { shape: images.dims });
  }
  const masks = needs.masks ? (input.masks ? checkMasks(input.masks, n, h, w, where) : undefined) : undefined;
  if (needs.masks && !masks) throw new WhiteBoxError('INVALID_ARGUMENT', `${where}: needs ground-truth masks (localization); none were given`);
  const relevance = input.relevance ?? (await input.explainer.relevance(images, targets));
  checkRelevance(relevance, n, h, w, where, input.explainer.name);
  return { n, c, h, w, hw: h * w, targets, relevance, ...(masks ? { masks } : {}) };
}

/** Whether sample `i`'s map is constant (no ranking). */
export function isConstantMap(rel: ArrayLike<number>, i: number, hw: number): boolean {
  const v0 = rel[i * hw]!;
  for (let p = 1; p < hw; p++) if (rel[i * hw + p] !== v0) return false;
  return true;
}

/** Collects per-sample scores, applying the unscorable policy; builds the output. */
export class ScoreCollector {
  readonly scores: number[] = [];
  readonly samples: number[] = [];
  readonly excluded: Array<{ sample: number; reason: string }> = [];
  constructor(readonly metric: string, readonly method: string, readonly policy: UnscorablePolicy = 'error') {}
  /** Returns false (and records or throws) when the sample cannot be scored. */
  check(sample: number, ok: boolean, reason: () => string): boolean {
    if (ok) return true;
    const why = reason();
    if (this.policy === 'error') throw new WhiteBoxError('INVALID_DATA', `${this.metric}: ${this.method}'s map of sample ${sample} ${why}`, { metric: this.metric, method: this.method, sample });
    this.excluded.push({ sample, reason: why });
    return false;
  }
  /** Records the score of one sample (throws RUNTIME_ERROR on a non-finite score). */
  add(sample: number, score: number): void {
    if (!Number.isFinite(score)) {
      throw new WhiteBoxError('RUNTIME_ERROR', `${this.metric}: non-finite score (${score}) for sample ${sample} of ${this.method} (check the model's outputs for this input)`, { metric: this.metric, method: this.method, sample });
    }
    this.scores.push(score);
    this.samples.push(sample);
  }
  /** The metric's output: mean and std of the scores so far, plus `extra`. */
  output(extra: Partial<MetricOutput> = {}): MetricOutput {
    const m = this.scores.length ? this.scores.reduce((a, b) => a + b, 0) / this.scores.length : NaN;
    let s = 0;
    for (const v of this.scores) s += (v - m) ** 2;
    const std = this.scores.length > 1 ? Math.sqrt(s / (this.scores.length - 1)) : 0;
    if (this.scores.length === 0) {
      throw new WhiteBoxError('INVALID_DATA', `${this.metric}: no sample of ${this.method} could be scored (${this.excluded.length} left out; first: sample ${this.excluded[0]?.sample} ${this.excluded[0]?.reason})`, { metric: this.metric, method: this.method });
    }
    return { metric: this.metric, method: this.method, scores: this.scores, samples: this.samples, excluded: this.excluded, mean: m, std, ...extra };
  }
}

/** Which model output a perturbation curve follows. */
export type ScoreKind = 'logit' | 'probability';

/** Floats per forward chunk of perturbed images (bounds memory: 8 Mi floats = 32 MiB). */
const CHUNK_FLOATS = 1 << 23;

/**
 * Scores `k` perturbed copies of each of `n` images: `fill(i, j, dst)` writes copy j of image i into `dst`
 * (one image, C×H×W); the model runs on chunks of copies; returns the target's logit or probability
 * [n × k] (row i, column j). Reports progress in images.
 */
export async function scorePerturbations(
  model: Model, dims: readonly number[], n: number, k: number, targets: Int32Array, kind: ScoreKind,
  fill: (i: number, j: number, dst: Float32Array) => void, progress?: { onProgress?: ProgressCallback; stage: string; base?: number; total?: number },
): Promise<Float64Array> {
  const item = dims[1]! * dims[2]! * dims[3]!;
  const out = new Float64Array(n * k);
  const perChunk = Math.max(1, Math.floor(CHUNK_FLOATS / item));
  const numClasses = model.numClasses;
  const total = n * k;
  let pos = 0;
  while (pos < total) {
    const end = Math.min(total, pos + perChunk);
    const data = new Float32Array((end - pos) * item);
    for (let q = pos; q < end; q++) fill(Math.floor(q / k), q % k, data.subarray((q - pos) * item, (q - pos + 1) * item));
    const fwd = await model.forward(new Tensor(data, [end - pos, dims[1]!, dims[2]!, dims[3]!]));
    const src = kind === 'logit' ? fwd.logits.data : fwd.probabilities.data;
    for (let q = pos; q < end; q++) {
      const v = src[(q - pos) * numClasses + targets[Math.floor(q / k)]!]!;
      if (!Number.isFinite(v)) throw new WhiteBoxError('RUNTIME_ERROR', `the model gave a non-finite ${kind} (${v}) for perturbed copy ${q % k} of sample ${Math.floor(q / k)}`);
      out[q] = v;
    }
    pos = end;
    progress?.onProgress?.({ done: (progress.base ?? 0) + Math.floor(pos / k), total: progress.total ?? n, stage: progress.stage });
  }
  return out;
}

/** The target's logit or probability for each image. */
export async function targetScores(model: Model, images: Tensor, targets: Int32Array, kind: ScoreKind): Promise<Float64Array> {
  const [n] = images.dims as [number];
  return scorePerturbations(model, images.dims, n, 1, targets, kind, (i, _j, dst) => dst.set(images.data.subarray(i * dst.length, (i + 1) * dst.length)));
}

/**
 * Explains `k` perturbed copies of each image: `fill(i, j, dst)` writes copy j of image i; the explainer
 * runs on chunks of copies (each copy with its image's target). Calls `use(i, j, relevance)` with each
 * copy's map [H*W] (a view, valid during the call).
 */
export async function explainPerturbations(
  explainer: Explainer, dims: readonly number[], n: number, k: number, targets: Int32Array,
  fill: (i: number, j: number, dst: Float32Array) => void, use: (i: number, j: number, rel: Float32Array) => void,
  progress?: { onProgress?: ProgressCallback; stage: string }, chunkImages = 256,
): Promise<void> {
  const [, c, h, w] = dims as [number, number, number, number];
  const item = c * h * w;
  const hw = h * w;
  const total = n * k;
  for (let pos = 0; pos < total; pos += chunkImages) {
    const end = Math.min(total, pos + chunkImages);
    const data = new Float32Array((end - pos) * item);
    const t = new Int32Array(end - pos);
    for (let q = pos; q < end; q++) {
      fill(Math.floor(q / k), q % k, data.subarray((q - pos) * item, (q - pos + 1) * item));
      t[q - pos] = targets[Math.floor(q / k)]!;
    }
    const rel = await explainer.relevance(new Tensor(data, [end - pos, c, h, w]), t);
    checkRelevance(rel, end - pos, h, w, progress?.stage ?? 'metric', explainer.name);
    for (let q = pos; q < end; q++) use(Math.floor(q / k), q % k, rel.subarray((q - pos) * hw, (q - pos + 1) * hw));
    progress?.onProgress?.({ done: Math.floor(end / k), total: n, stage: progress.stage });
  }
}

/** A per-sample seeded generator: the same sample gets the same draws however the work is chunked. */
export function sampleRng(seed: number, sample: number, salt = 0): Rng {
  return new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(sample + 1, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35)) >>> 0);
}

/** How removed pixels are filled: a constant, the image's per-channel mean, uniform noise, or a blurred copy. */
export type Baseline = number | 'mean' | 'uniform' | 'blur';

/**
 * The baseline image for image i (C×H×W): what removed pixels take. `blur` is a Gaussian blur of the image
 * (σ = `blurSigma`, default H/10 pixels, as RISE's insertion uses a blurred canvas).
 */
export function baselineImage(images: Tensor, i: number, baseline: Baseline, rng: Rng, blurSigma?: number): Float32Array {
  const [, c, h, w] = images.dims as [number, number, number, number];
  const hw = h * w;
  const src = images.data.subarray(i * c * hw, (i + 1) * c * hw);
  const out = new Float32Array(c * hw);
  if (typeof baseline === 'number') {
    if (!Number.isFinite(baseline)) throw new WhiteBoxError('INVALID_ARGUMENT', `baseline must be a finite number, 'mean', 'uniform' or 'blur', got ${baseline}`);
    out.fill(baseline);
  } else if (baseline === 'mean') {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let p = 0; p < hw; p++) s += src[k * hw + p]!;
      out.fill(s / hw, k * hw, (k + 1) * hw);
    }
  } else if (baseline === 'uniform') {
    for (let q = 0; q < out.length; q++) out[q] = rng.next();
  } else if (baseline === 'blur') {
    gaussianBlur(src, out, c, h, w, blurSigma ?? h / 10);
  } else {
    throw new WhiteBoxError('INVALID_ARGUMENT', `unknown baseline '${String(baseline)}' (a number, 'mean', 'uniform' or 'blur')`);
  }
  return out;
}

/** Separable Gaussian blur of a C×H×W image (edges clamped); σ ≤ 0 copies. */
export function gaussianBlur(src: Float32Array, dst: Float32Array, c: number, h: number, w: number, sigma: number): void {
  if (!(sigma > 0)) {
    dst.set(src);
    return;
  }
  const r = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * r + 1);
  let s = 0;
  for (let d = -r; d <= r; d++) s += kernel[d + r] = Math.exp(-(d * d) / (2 * sigma * sigma));
  for (let d = 0; d < kernel.length; d++) kernel[d] = kernel[d]! / s;
  const tmp = new Float64Array(h * w);
  for (let k = 0; k < c; k++) {
    const plane = src.subarray(k * h * w, (k + 1) * h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let d = -r; d <= r; d++) acc += kernel[d + r]! * plane[y * w + Math.min(w - 1, Math.max(0, x + d))]!;
        tmp[y * w + x] = acc;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let d = -r; d <= r; d++) acc += kernel[d + r]! * tmp[Math.min(h - 1, Math.max(0, y + d)) * w + x]!;
        dst[k * h * w + y * w + x] = acc;
      }
    }
  }
}

/** Copies image i of `images` into `dst`. */
export function copyImage(images: Tensor<TensorData>, i: number, dst: Float32Array): void {
  dst.set((images.data as Float32Array).subarray(i * dst.length, (i + 1) * dst.length));
}
