import { Rng, Tensor, targetsToCotangent, type Attribution, type ForwardResult, type GradientResult, type Model, type Targets } from '@whitebox/core';
import type { Explainer, ImageDataset, Retrain } from '@whitebox/metrics';

export const H = 8;
export const W = 8;
export const HW = H * W;
/** The informative region: the top-left 3×3 pixels. */
export const REGION: number[] = [];
for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) REGION.push(y * W + x);
const inRegion = new Uint8Array(HW);
for (const p of REGION) inRegion[p] = 1;

/**
 * Two classes; the label only shows in REGION (bright for class 1, dark for class 0);
 * every other pixel is uniform noise independent of the label.
 */
export function regionDataset(count: number, seed: number, name = 'region'): ImageDataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * HW);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    labels[i] = label;
    for (let p = 0; p < HW; p++) {
      const v = inRegion[p] ? (label ? 0.8 : 0.2) + 0.1 * (rng.next() - 0.5) : rng.next();
      images[i * HW + p] = Math.round(v * 255);
    }
  }
  let s = 0;
  for (const v of images) s += v / 255;
  return { name, classes: ['dark', 'bright'], count, channels: 1, height: H, width: W, images, labels, mean: [s / images.length], std: [0.3] };
}

/** A model whose logit depends only on REGION: z = Σ_R w (x − 0.5), logits [−z, z]; exact gradients. */
export class RegionModel implements Model {
  readonly inputName = 'input';
  readonly inputShape = [null, 1, H, W] as const;
  readonly numClasses = 2;
  readonly layers = [];
  readonly defaultCamLayer = undefined;
  readonly backendName = 'js';
  readonly executionProvider = 'cpu' as const;
  readonly modelBytes = new Uint8Array(0);
  readonly modelHash: string;
  readonly weights: Float32Array;
  constructor(weights?: Float32Array, hash = 'region-model') {
    this.weights = weights ?? Float32Array.from({ length: HW }, (_, p) => (inRegion[p] ? 4 : 0));
    this.modelHash = hash;
  }
  async forward(input: Tensor): Promise<ForwardResult> {
    const n = input.batchSize;
    const logits = new Float32Array(n * 2);
    const probabilities = new Float32Array(n * 2);
    const predictions = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let p = 0; p < HW; p++) z += this.weights[p]! * (input.data[i * HW + p]! - 0.5);
      logits[i * 2] = -z;
      logits[i * 2 + 1] = z;
      const p1 = 1 / (1 + Math.exp(-2 * z));
      probabilities[i * 2] = 1 - p1;
      probabilities[i * 2 + 1] = p1;
      predictions[i] = z > 0 ? 1 : 0;
    }
    return { logits: new Tensor(logits, [n, 2]), probabilities: new Tensor(probabilities, [n, 2]), predictions };
  }
  async gradients(input: Tensor, targets: Targets): Promise<GradientResult> {
    const n = input.batchSize;
    const cot = targetsToCotangent(targets, n, 2);
    const g = new Float32Array(n * HW);
    for (let i = 0; i < n; i++) {
      const c = cot.data[i * 2 + 1]! - cot.data[i * 2]!;
      for (let p = 0; p < HW; p++) g[i * HW + p] = c * this.weights[p]!;
    }
    return { logits: (await this.forward(input)).logits, inputGradient: new Tensor(g, input.dims), layers: {} };
  }
  async dispose(): Promise<void> {}
}

/** Vanilla gradient through the core Attribution interface. */
export class Gradient implements Attribution {
  readonly name = 'gradient';
  constructor(readonly model: Model) {}
  async attribute(input: Tensor, target: Targets): Promise<Tensor> {
    return (await this.model.gradients(input, target)).inputGradient!;
  }
}

/** A fixed map: `value(p)` for every image. */
export function fixedExplainer(name: string, value: (p: number) => number): Explainer {
  return {
    name,
    async relevance(input) {
      const n = input.batchSize;
      const out = new Float32Array(n * HW);
      for (let i = 0; i < n; i++) for (let p = 0; p < HW; p++) out[i * HW + p] = value(p);
      return out;
    },
  };
}
export const oracle = (): Explainer => fixedExplainer('oracle', (p) => (inRegion[p] ? 1 - p / 1000 : 0));
export const antiOracle = (): Explainer => fixedExplainer('anti-oracle', (p) => (inRegion[p] ? -1 : p / 1000));

export function fixedRelevance(count: number, value: (p: number) => number): Float32Array {
  const out = new Float32Array(count * HW);
  for (let i = 0; i < count; i++) for (let p = 0; p < HW; p++) out[i * HW + p] = value(p);
  return out;
}

/**
 * A cheap stand-in for SimpleCNN retraining: nearest class centroid, fitted on a seeded 80 %
 * subsample of the training set (so seeds differ a little, as real retraining does).
 */
export const nearestCentroid: Retrain = async (train, test, seed) => {
  const item = train.channels * train.height * train.width;
  const k = train.classes.length;
  const sums = new Float64Array(k * item);
  const counts = new Float64Array(k);
  const rng = new Rng(seed);
  for (let i = 0; i < train.count; i++) {
    if (rng.next() > 0.8) continue;
    const c = train.labels[i]!;
    counts[c]!++;
    for (let p = 0; p < item; p++) sums[c * item + p]! += train.images[i * item + p]!;
  }
  for (let c = 0; c < k; c++) for (let p = 0; p < item; p++) sums[c * item + p]! /= Math.max(1, counts[c]!);
  let correct = 0;
  for (let i = 0; i < test.count; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      let d = 0;
      for (let p = 0; p < item; p++) d += (test.images[i * item + p]! - sums[c * item + p]!) ** 2;
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    if (best === test.labels[i]) correct++;
  }
  return correct / test.count;
};
