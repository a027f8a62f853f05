import { Tensor, WhiteBoxError } from '@whitebox/core';
import type { Dataset } from '@whitebox/datasets';
import { makeBatchNHWC } from './augment.js';
import { forward, parameterCount, type ParamMap, type SimpleCNNConfig } from './model.js';
import { tf } from './tf.js';
import { exportSimpleCNN } from './export.js';
import type { EpochRecord, ResolvedTrainOptions } from './train.js';

/** Test accuracy of one class. */
export interface ClassAccuracy {
  class: string;
  count: number;
  correct: number;
  accuracy: number;
}

/** A classifier's test accuracy, loss, per-class accuracy and confusion matrix. */
export interface Evaluation {
  count: number;
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  perClass: ClassAccuracy[];
  /** confusion[true][predicted]. */
  confusion: number[][];
}

/** What training recorded about a classifier: classes, normalization, history and options. */
export interface ClassifierInfo {
  classes: string[];
  mean: number[];
  std: number[];
  history: EpochRecord[];
  options: ResolvedTrainOptions;
  parameterCount?: number;
  bestValidationAccuracy?: number;
  bestEpoch?: number;
  epochsDone?: number;
}

/** A trained SimpleCNN: parameters (plain arrays) + what it was trained on. Needs `initTf()` done (training does it). */
export class TrainedClassifier {
  constructor(
    readonly config: SimpleCNNConfig,
    readonly params: ParamMap,
    readonly info: ClassifierInfo,
  ) {}

  /** The per-epoch training record. */
  get history(): EpochRecord[] {
    return this.info.history;
  }

  /** Number of parameters of the network. */
  get parameterCount(): number {
    return parameterCount(this.config);
  }

  private checkDataset(ds: Dataset): void {
    const c = this.config;
    if (ds.channels !== c.channels || ds.height !== c.height || ds.width !== c.width) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `dataset '${ds.name}' has images ${ds.channels}×${ds.height}×${ds.width} but the model takes ${c.channels}×${c.height}×${c.width}`, { shape: [ds.channels, ds.height, ds.width] });
    }
    if (ds.classes.length !== c.classes) throw new WhiteBoxError('SHAPE_MISMATCH', `dataset '${ds.name}' has ${ds.classes.length} classes but the model has ${c.classes}`);
  }

  /** Runs `fn` with the parameters as tfjs tensors (disposed after). */
  private withParams<T>(fn: (p: Record<string, tf.Tensor>) => T): T {
    const p: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(this.params)) p[k] = tf.tensor(v, this.shapeOf(k));
    try {
      return fn(p);
    } finally {
      tf.dispose(Object.values(p));
    }
  }

  private shapeOf(name: string): number[] {
    const widths = this.config.widths ?? [32, 64, 128];
    const hidden = this.config.hidden ?? 1024;
    const m = /^(conv|bn)(\d+)\.(\w+)$/.exec(name);
    if (m) {
      const i = Number(m[2]) - 1;
      const cout = widths[i]!;
      if (m[1] === 'conv') return [3, 3, i === 0 ? this.config.channels : widths[i - 1]!, cout];
      return [cout];
    }
    if (name === 'fc1.w') return [this.params['fc1.w']!.length / hidden, hidden];
    if (name === 'fc1.b') return [hidden];
    if (name === 'fc2.w') return [hidden, this.config.classes];
    if (name === 'fc2.b') return [this.config.classes];
    throw new WhiteBoxError('INVALID_DATA', `unknown SimpleCNN parameter '${name}'`);
  }

  /**
   * Logits for pixels in [0, 1], NCHW float32 (the ONNX model's contract): normalization is applied here.
   */
  predictLogits(pixels: Tensor, batchSize = 256): Tensor {
    const c = this.config;
    if (pixels.dims.length !== 4 || pixels.dims[1] !== c.channels || pixels.dims[2] !== c.height || pixels.dims[3] !== c.width) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `predictLogits: input shape [${pixels.dims.join(', ')}] does not match [N, ${c.channels}, ${c.height}, ${c.width}]`, { shape: pixels.dims });
    }
    const n = pixels.dims[0]!;
    const out = new Float32Array(n * c.classes);
    this.withParams((p) => {
      for (let s = 0; s < n; s += batchSize) {
        const e = Math.min(n, s + batchSize);
        const logits = tf.tidy(() => {
          const x = tf.tensor4d(pixels.data.subarray(s * c.channels * c.height * c.width, e * c.channels * c.height * c.width), [e - s, c.channels, c.height, c.width]);
          const norm = tf.div(tf.sub(x, tf.tensor4d(this.info.mean, [1, c.channels, 1, 1])), tf.tensor4d(this.info.std, [1, c.channels, 1, 1]));
          return forward(c, p, tf.transpose(norm, [0, 2, 3, 1]) as tf.Tensor4D, false).logits;
        });
        out.set(logits.dataSync() as Float32Array, s * c.classes);
        logits.dispose();
      }
    });
    return new Tensor(out, [n, c.classes]);
  }

  /** Logits of dataset images [start, end) (normalized with the model's own mean/std). */
  logitsOf(ds: Dataset, start = 0, end = ds.count, batchSize = 500): Float32Array {
    this.checkDataset(ds);
    const c = this.config;
    const norm = { ...ds, mean: this.info.mean, std: this.info.std };
    const out = new Float32Array((end - start) * c.classes);
    this.withParams((p) => {
      for (let s = start; s < end; s += batchSize) {
        const e = Math.min(end, s + batchSize);
        const idx = Int32Array.from({ length: e - s }, (_, i) => s + i);
        const { x } = makeBatchNHWC(norm, idx, null, null);
        const logits = tf.tidy(() => forward(c, p, tf.tensor4d(x, [e - s, c.height, c.width, c.channels]), false).logits);
        out.set(logits.dataSync() as Float32Array, (s - start) * c.classes);
        logits.dispose();
      }
    });
    return out;
  }

  /** Accuracy overall and per class, mean cross-entropy and the confusion matrix on `ds`. */
  evaluate(ds: Dataset): Evaluation {
    this.checkDataset(ds);
    const k = this.config.classes;
    const logits = this.logitsOf(ds);
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    let loss = 0;
    for (let i = 0; i < ds.count; i++) {
      const row = logits.subarray(i * k, (i + 1) * k);
      let best = 0;
      let max = -Infinity;
      for (let j = 0; j < k; j++) if (row[j]! > max) ((max = row[j]!), (best = j));
      let z = 0;
      for (let j = 0; j < k; j++) z += Math.exp(row[j]! - max);
      const y = ds.labels[i]!;
      loss += Math.log(z) + max - row[y]!;
      confusion[y]![best]!++;
    }
    const perClass = ds.classes.map((name, j) => {
      const count = confusion[j]!.reduce((a, b) => a + b, 0);
      const correct = confusion[j]![j]!;
      return { class: name, count, correct, accuracy: count > 0 ? correct / count : NaN };
    });
    const correct = perClass.reduce((a, c) => a + c.correct, 0);
    return { count: ds.count, accuracy: ds.count > 0 ? correct / ds.count : NaN, loss: ds.count > 0 ? loss / ds.count : NaN, perClass, confusion };
  }

  /** The ONNX model: input 'input' [N, C, H, W] pixels in [0, 1] (normalization embedded), output 'logits' [N, classes]; BatchNorm folded into the convolutions. */
  toOnnx(): Uint8Array {
    return exportSimpleCNN(this.config, this.params, { mean: this.info.mean, std: this.info.std });
  }
}
