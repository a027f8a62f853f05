import { Tensor, WhiteBoxError, check, type Model, type ProgressCallback } from '@whitebox/core';
import type { Explainer } from './explainer.js';
import { normalizedArea } from './stats.js';

/** Options of `selectivity`: steps, patch size, removal value, target and checkpoints. */
export interface SelectivityOptions {
  /** Removal steps (default 50). */
  steps?: number;
  /** Side of the square removed per step, in pixels (default 1: one pixel). */
  patchSize?: number;
  /** Pixel value a removed pixel is set to, in [0, 1] pixel space (default 0). */
  removalValue?: number;
  /** Whose score to follow: the true label (default) or the class first predicted. */
  target?: 'label' | 'predicted';
  /** Steps at which to keep images and maps for the report (default 0, S/4, S/2, 3S/4, S). */
  checkpoints?: readonly number[];
  /** How many samples' images and maps to keep at checkpoints (default 2). */
  keepSamples?: number;
  onProgress?: ProgressCallback;
}

/** Images and maps kept at one step of the selectivity run, for the report. */
export interface SelectivityCheckpoint {
  step: number;
  /** The first `keepSamples` modified images [k, C, H, W]. */
  images: Tensor;
  /** Their relevance at that step [k, H*W]. */
  relevance: Float32Array;
}

/** One method's selectivity curves: logit, probability and accuracy after each removal step. */
export interface SelectivityCurve {
  method: string;
  /** Mean target logit after 0..steps removals. */
  logit: number[];
  /** Mean target probability. */
  probability: number[];
  /** Fraction of samples still classified as their label. */
  accuracy: number[];
  /** Normalised areas under the curves (mean height; lower = more selective). */
  aucLogit: number;
  aucProbability: number;
  aucAccuracy: number;
  checkpoints: SelectivityCheckpoint[];
}

/** Result of `selectivity`: every method's curves. */
export interface SelectivityResult {
  steps: number;
  patchSize: number;
  removalValue: number;
  samples: number;
  /** Per-step fraction of the image removed. */
  fractionRemoved: number[];
  curves: SelectivityCurve[];
}

/**
 * Selectivity (Montavon et al. 2018): repeatedly remove the currently most relevant pixel (or
 * patch) not yet removed, re-explain the modified image, and follow the target's logit,
 * probability and the accuracy. A fast drop (small area) means a selective explanation.
 */
export async function selectivity(model: Model, explainers: readonly Explainer[], images: Tensor, labels: ArrayLike<number>, options: SelectivityOptions = {}): Promise<SelectivityResult> {
  const steps = options.steps ?? 50;
  const patch = options.patchSize ?? 1;
  const removal = options.removalValue ?? 0;
  check(Number.isInteger(steps) && steps >= 1, `selectivity: steps must be an integer ≥ 1, got ${steps}`);
  check(Number.isInteger(patch) && patch >= 1, `selectivity: patchSize must be an integer ≥ 1, got ${patch}`);
  check(Number.isFinite(removal), `selectivity: removalValue must be a finite number, got ${removal}`);
  if (images.rank !== 4) throw new WhiteBoxError('SHAPE_MISMATCH', `selectivity: images must be [N, C, H, W], got ${images}`, { shape: images.dims });
  const [n, c, h, w] = images.dims as [number, number, number, number];
  check(n >= 1, 'selectivity: no images to evaluate');
  if (labels.length !== n) throw new WhiteBoxError('SHAPE_MISMATCH', `selectivity: ${labels.length} labels for ${n} images`);
  const ph = Math.ceil(h / patch);
  const pw = Math.ceil(w / patch);
  const patches = ph * pw;
  if (steps > patches) throw new WhiteBoxError('INVALID_ARGUMENT', `selectivity: ${steps} steps exceed the ${patches} patches of a ${h}×${w} image with patchSize ${patch}`);
  const hw = h * w;
  const numClasses = model.numClasses;
  const labelArr = Int32Array.from(labels);
  for (let i = 0; i < n; i++) {
    if (labelArr[i]! < 0 || labelArr[i]! >= numClasses) throw new WhiteBoxError('TARGET_OUT_OF_RANGE', `selectivity: label ${labelArr[i]} of sample ${i} is outside the model's ${numClasses} classes`);
  }
  const keep = Math.min(options.keepSamples ?? 2, n);
  const checkpoints = new Set(options.checkpoints ?? [0, Math.round(steps / 4), Math.round(steps / 2), Math.round((3 * steps) / 4), steps]);
  const total = explainers.length * (steps + 1);
  let done = 0;
  options.onProgress?.({ done, total, stage: 'selectivity' });
  // Which patch each pixel belongs to.
  const patchOf = new Int32Array(hw);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) patchOf[y * w + x] = Math.floor(y / patch) * pw + Math.floor(x / patch);
  const curves: SelectivityCurve[] = [];
  for (const explainer of explainers) {
    const x = images.clone();
    const removed = new Uint8Array(n * patches);
    let targets = labelArr;
    const curve: SelectivityCurve = { method: explainer.name, logit: [], probability: [], accuracy: [], aucLogit: 0, aucProbability: 0, aucAccuracy: 0, checkpoints: [] };
    for (let step = 0; step <= steps; step++) {
      const fwd = await model.forward(x);
      if (step === 0 && options.target === 'predicted') targets = Int32Array.from(fwd.predictions);
      let sl = 0;
      let sp = 0;
      let correct = 0;
      for (let i = 0; i < n; i++) {
        const t = targets[i]!;
        const logit = fwd.logits.data[i * numClasses + t]!;
        const prob = fwd.probabilities.data[i * numClasses + t]!;
        if (!Number.isFinite(logit) || !Number.isFinite(prob)) {
          throw new WhiteBoxError('RUNTIME_ERROR', `selectivity: the model produced a non-finite score (${logit}) for sample ${i} at step ${step} (method ${explainer.name})`);
        }
        sl += logit;
        sp += prob;
        if (fwd.predictions[i] === labelArr[i]) correct++;
      }
      curve.logit.push(sl / n);
      curve.probability.push(sp / n);
      curve.accuracy.push(correct / n);
      const needMap = step < steps || checkpoints.has(step);
      if (needMap) {
        const input = step < steps ? x : x.slice(0, keep);
        const rel = await explainer.relevance(input, step < steps ? targets : targets.subarray(0, keep));
        if (rel.length !== input.batchSize * hw) {
          throw new WhiteBoxError('SHAPE_MISMATCH', `selectivity: explainer ${explainer.name} returned ${rel.length} relevance values for ${input.batchSize} images of ${h}×${w}`);
        }
        if (checkpoints.has(step)) curve.checkpoints.push({ step, images: x.slice(0, keep).clone(), relevance: rel.slice(0, keep * hw) });
        if (step < steps) {
          const score = new Float64Array(patches);
          for (let i = 0; i < n; i++) {
            score.fill(0);
            for (let p = 0; p < hw; p++) score[patchOf[p]!]! += rel[i * hw + p]!;
            let best = -1;
            let bestScore = -Infinity;
            for (let q = 0; q < patches; q++) {
              if (removed[i * patches + q]) continue;
              if (best < 0 || score[q]! > bestScore) {
                best = q;
                bestScore = score[q]!;
              }
            }
            removed[i * patches + best] = 1;
            const py = Math.floor(best / pw) * patch;
            const px = (best % pw) * patch;
            for (let y = py; y < Math.min(h, py + patch); y++) {
              for (let xx = px; xx < Math.min(w, px + patch); xx++) {
                for (let k = 0; k < c; k++) x.data[((i * c + k) * h + y) * w + xx] = removal;
              }
            }
          }
        }
      }
      options.onProgress?.({ done: ++done, total, stage: `selectivity ${explainer.name}` });
    }
    const xs = curve.logit.map((_, i) => i);
    curve.aucLogit = normalizedArea(xs, curve.logit);
    curve.aucProbability = normalizedArea(xs, curve.probability);
    curve.aucAccuracy = normalizedArea(xs, curve.accuracy);
    curves.push(curve);
  }
  const fractionRemoved = Array.from({ length: steps + 1 }, (_, s) => Math.min(1, (s * patch * patch) / hw));
  return { steps, patchSize: patch, removalValue: removal, samples: n, fractionRemoved, curves };
}
