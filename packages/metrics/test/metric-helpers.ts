import { Rng, Tensor, targetsToCotangent, type ForwardResult, type GradientResult, type Model, type Targets } from '@whitebox/core';
import type { Explainer } from '@whitebox/metrics';

/**
 * A linear classifier on C×H×W images: logit_k = Σ W[k, c, p] x[c, p] + b_k, softmax probabilities, exact
 * gradients. What the metrics' known answers are computed on.
 */
export class LinearModel implements Model {
  readonly inputName = 'input';
  readonly inputShape: readonly (number | null)[];
  readonly layers = [];
  readonly defaultCamLayer = undefined;
  readonly backendName = 'js';
  readonly executionProvider = 'cpu' as const;
  readonly modelBytes = new Uint8Array(0);
  readonly modelHash: string;
  constructor(readonly weights: Float32Array, readonly bias: Float32Array, readonly channels: number, readonly height: number, readonly width: number, hash = 'linear') {
    this.inputShape = [null, channels, height, width];
    this.modelHash = hash;
  }
  get numClasses(): number {
    return this.bias.length;
  }
  async forward(input: Tensor): Promise<ForwardResult> {
    const n = input.batchSize;
    const k = this.numClasses;
    const d = this.channels * this.height * this.width;
    const logits = new Float32Array(n * k);
    const probabilities = new Float32Array(n * k);
    const predictions = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 0; j < k; j++) {
        let z = this.bias[j]!;
        for (let q = 0; q < d; q++) z += this.weights[j * d + q]! * input.data[i * d + q]!;
        logits[i * k + j] = z;
        if (z > logits[i * k + best]!) best = j;
      }
      predictions[i] = best;
      let m = -Infinity;
      for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]!);
      let s = 0;
      for (let j = 0; j < k; j++) s += probabilities[i * k + j] = Math.exp(logits[i * k + j]! - m);
      for (let j = 0; j < k; j++) probabilities[i * k + j] = probabilities[i * k + j]! / s;
    }
    return { logits: new Tensor(logits, [n, k]), probabilities: new Tensor(probabilities, [n, k]), predictions };
  }
  async gradients(input: Tensor, targets: Targets): Promise<GradientResult> {
    const n = input.batchSize;
    const k = this.numClasses;
    const d = this.channels * this.height * this.width;
    const cot = targetsToCotangent(targets, n, k);
    const g = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) {
      const c = cot.data[i * k + j]!;
      if (c) for (let q = 0; q < d; q++) g[i * d + q]! += c * this.weights[j * d + q]!;
    }
    return { logits: (await this.forward(input)).logits, inputGradient: new Tensor(g, input.dims), layers: {} };
  }
  async dispose(): Promise<void> {}
}

/** A linear model with seeded normal weights. */
export function randomLinear(classes: number, channels: number, h: number, w: number, seed: number): LinearModel {
  const rng = new Rng(seed);
  const d = channels * h * w;
  return new LinearModel(Float32Array.from({ length: classes * d }, () => rng.normal()), Float32Array.from({ length: classes }, () => rng.normal()), channels, h, w, `linear-${seed}`);
}

/** Seeded uniform images [n, c, h, w]. */
export function uniformImages(n: number, c: number, h: number, w: number, seed: number): Tensor {
  const rng = new Rng(seed);
  return new Tensor(Float32Array.from({ length: n * c * h * w }, () => rng.next()), [n, c, h, w]);
}

/** Signed channel-summed map of `f(x, grad)` per element. */
function gradientMap(model: Model, name: string, f: (x: number, g: number) => number): Explainer {
  return {
    name,
    async relevance(input, targets) {
      const g = (await model.gradients(input, targets)).inputGradient!;
      const [n, c, h, w] = input.dims as [number, number, number, number];
      const hw = h * w;
      const out = new Float32Array(n * hw);
      for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) for (let p = 0; p < hw; p++) out[i * hw + p]! += f(input.data[(i * c + k) * hw + p]!, g.data[(i * c + k) * hw + p]!);
      return out;
    },
  };
}

/** Input × gradient, signed, summed over channels. */
export const inputTimesGradient = (model: Model): Explainer => gradientMap(model, 'input-x-gradient', (x, g) => x * g);
/** The gradient, signed, summed over channels. */
export const gradientExplainer = (model: Model): Explainer => gradientMap(model, 'gradient', (_x, g) => g);

/** Explainer from a per-image function of the input (model-blind unless it closes over a model). */
export function mapExplainer(name: string, f: (image: Float32Array, hw: number) => Float32Array): Explainer {
  return {
    name,
    async relevance(input) {
      const [n, c, h, w] = input.dims as [number, number, number, number];
      const out = new Float32Array(n * h * w);
      for (let i = 0; i < n; i++) out.set(f(input.data.subarray(i * c * h * w, (i + 1) * c * h * w), h * w), i * h * w);
      return out;
    },
  };
}
