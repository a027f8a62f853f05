import { Rng, WhiteBoxError } from '@whitebox/core';
import { tf } from './tf.js';

/** SimpleCNN: 3 × [conv3×3 pad 1 → BatchNorm → ReLU → maxpool 2] (32/64/128) → dense 1024 → ReLU → dense classes. */
export interface SimpleCNNConfig {
  channels: number;
  height: number;
  width: number;
  classes: number;
  /** Conv widths, default [32, 64, 128]. */
  widths?: number[];
  /** Hidden dense width, default 1024. */
  hidden?: number;
}

/** Batch normalization ε (PyTorch's default). */
export const BN_EPSILON = 1e-5;
/** Batch normalization running-statistics momentum (PyTorch's default). */
export const BN_MOMENTUM = 0.1;

/**
 * Parameters as plain Float32Arrays in tfjs (NHWC) layout:
 * conv{i}.w [3,3,Cin,Cout], bn{i}.gamma/beta/mean/var [Cout], fc1.w [F,hidden] with F flattened in (h, w, c) order,
 * fc1.b, fc2.w [hidden, classes], fc2.b.
 */
export type ParamMap = Record<string, Float32Array>;

/** One parameter of the SimpleCNN: name, shape, and whether it is trained and decayed. */
export interface ParamSpec {
  name: string;
  shape: number[];
  /** Trained by gradient descent (running BN statistics are not). */
  trainable: boolean;
  /** Weight decay applies (conv and dense weights). */
  decay: boolean;
}

/** The conv block widths of a configuration (default [32, 64, 128]). */
export function resolvedWidths(cfg: SimpleCNNConfig): number[] {
  return cfg.widths ?? [32, 64, 128];
}

/** Spatial size after the three 2×2 max pools (floor). */
export function featureSize(cfg: SimpleCNNConfig): { h: number; w: number; c: number } {
  let h = cfg.height;
  let w = cfg.width;
  const widths = resolvedWidths(cfg);
  for (let i = 0; i < widths.length; i++) {
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
  }
  if (h < 1 || w < 1) throw new WhiteBoxError('SHAPE_MISMATCH', `SimpleCNN: input ${cfg.channels}×${cfg.height}×${cfg.width} is too small for ${widths.length} 2×2 max pools`, { shape: [cfg.channels, cfg.height, cfg.width] });
  return { h, w, c: widths[widths.length - 1]! };
}

/** Every parameter of a SimpleCNN configuration, in export order. */
export function paramSpecs(cfg: SimpleCNNConfig): ParamSpec[] {
  const widths = resolvedWidths(cfg);
  const hidden = cfg.hidden ?? 1024;
  const specs: ParamSpec[] = [];
  let cin = cfg.channels;
  widths.forEach((cout, i) => {
    const k = i + 1;
    specs.push({ name: `conv${k}.w`, shape: [3, 3, cin, cout], trainable: true, decay: true });
    specs.push({ name: `bn${k}.gamma`, shape: [cout], trainable: true, decay: false });
    specs.push({ name: `bn${k}.beta`, shape: [cout], trainable: true, decay: false });
    specs.push({ name: `bn${k}.mean`, shape: [cout], trainable: false, decay: false });
    specs.push({ name: `bn${k}.var`, shape: [cout], trainable: false, decay: false });
    cin = cout;
  });
  const f = featureSize(cfg);
  specs.push({ name: 'fc1.w', shape: [f.h * f.w * f.c, hidden], trainable: true, decay: true });
  specs.push({ name: 'fc1.b', shape: [hidden], trainable: true, decay: false });
  specs.push({ name: 'fc2.w', shape: [hidden, cfg.classes], trainable: true, decay: true });
  specs.push({ name: 'fc2.b', shape: [cfg.classes], trainable: true, decay: false });
  return specs;
}

/** Count of trainable parameters. */
export function parameterCount(cfg: SimpleCNNConfig): number {
  return paramSpecs(cfg)
    .filter((s) => s.trainable)
    .reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
}

/** He-normal weights (fan-in), zero biases, BN γ=1 β=0, running mean 0 var 1; seeded. */
export function initParams(cfg: SimpleCNNConfig, seed: number): ParamMap {
  const rng = new Rng(seed);
  const out: ParamMap = {};
  for (const s of paramSpecs(cfg)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    if (s.name.endsWith('.w')) {
      // Convolutions (followed by BatchNorm and ReLU): He normal. Dense layers: LeCun normal, so that the initial
      // logits are O(1) and the first SGD steps at the peak learning rate stay stable.
      const fanIn = s.shape.length === 4 ? s.shape[0]! * s.shape[1]! * s.shape[2]! : s.shape[0]!;
      const sd = Math.sqrt((s.shape.length === 4 ? 2 : 1) / fanIn);
      for (let i = 0; i < n; i++) a[i] = rng.normal() * sd;
    } else if (s.name.endsWith('.gamma') || s.name.endsWith('.var')) a.fill(1);
    out[s.name] = a;
  }
  return out;
}

/** Per-channel mean and biased variance over N, H, W. */
export function batchMoments(y: tf.Tensor4D): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const mean = tf.mean(y, [0, 1, 2]) as tf.Tensor1D;
  const variance = tf.mean(tf.square(tf.sub(y, mean)), [0, 1, 2]) as tf.Tensor1D;
  return { mean, variance };
}

/**
 * a [N, K] · b [K, M] as a 1×1 convolution: on the wasm backend this runs XNNPACK's GEMM, many times faster than
 * BatchMatMul (whose transposed variants are especially slow).
 */
export function gemm(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const [n, k] = a.shape;
  const m = b.shape[1];
  return tf.reshape(tf.conv2d(tf.reshape(a, [1, 1, n, k]) as tf.Tensor4D, tf.reshape(b, [1, 1, k, m]) as tf.Tensor4D, 1, 'valid'), [n, m]);
}

/** Sum over N, H, W of an NHWC tensor (reshaped to [M, C] first: the wasm reduction is faster on the leading axis of a 2-D tensor). */
export function sumNHW(t: tf.Tensor4D): tf.Tensor1D {
  return sumRows(tf.reshape(t, [-1, t.shape[3]]) as tf.Tensor2D);
}

/**
 * Column sums of [M, C]. The wasm Sum kernel reduces a non-innermost axis by transposing it innermost first, which is
 * slow for a long leading axis; and a GEMM ones[1, M] · X re-packs X as XNNPACK weights on every call (X is new each
 * training step: ~60 ms for [100352, 32]). Splitting M = (M / g) · g and summing the short middle axis, then the
 * leading one, moves 1/g of the data through the transpose: [100352, 32] in ~4 ms.
 */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  const [m, c] = x.shape;
  const g = [32, 16, 8, 4, 2].find((d) => m % d === 0 && m >= 2 * d);
  if (!g) return tf.sum(x, 0) as tf.Tensor1D;
  return tf.sum(tf.sum(tf.reshape(x, [m / g, g, c]), 1), 0) as tf.Tensor1D;
}

/**
 * Backward of ReLU followed by a 2×2 stride-2 max pool: the pooled gradient goes to the positions that equal
 * their window's maximum and are positive (ReLU's derivative); positions outside every window (odd sizes) get 0.
 * Replaces the wasm MaxPoolGrad kernel (slow). Ties between two positive maxima in one window would both receive
 * the gradient; with float activations they do not occur in practice, and zeros are masked by the ReLU.
 */
export function reluMaxPoolBackward(r: tf.Tensor4D, pooled: tf.Tensor4D, dpooled: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = r.shape;
  const [, ph, pw] = pooled.shape;
  let up = tf.image.resizeNearestNeighbor(pooled, [2 * ph, 2 * pw]);
  let dup = tf.image.resizeNearestNeighbor(dpooled, [2 * ph, 2 * pw]);
  if (2 * ph !== h || 2 * pw !== w) {
    const pads: [number, number][] = [[0, 0], [0, h - 2 * ph], [0, w - 2 * pw], [0, 0]];
    up = tf.pad(up, pads, -1);
    dup = tf.pad(dup, pads, 0);
  }
  const mask = tf.logicalAnd(tf.equal(r, up), tf.greater(r, 0));
  return tf.where(mask, dup, tf.zerosLike(dup)) as tf.Tensor4D;
}

/** Per-channel mean and biased variance over N, H, W (via sums on the [M, C] view). */
function batchMomentsFast(y: tf.Tensor4D): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const m = y.shape[0] * y.shape[1] * y.shape[2];
  const y2 = tf.reshape(y, [m, y.shape[3]]);
  const mean = tf.div(sumRows(y2 as tf.Tensor2D), m) as tf.Tensor1D;
  const variance = tf.div(sumRows(tf.square(tf.sub(y2, mean)) as tf.Tensor2D), m) as tf.Tensor1D;
  return { mean, variance };
}

/** The SimpleCNN's parameters as tfjs tensors, by name. */
export type TfParams = Record<string, tf.Tensor>;

/** Logits of a forward pass and, in training mode, each BN layer's batch moments. */
export interface ForwardResult {
  logits: tf.Tensor2D;
  /** Batch moments per BN layer (training mode only). */
  moments?: { mean: tf.Tensor1D; variance: tf.Tensor1D }[];
}

/** Forward pass on NHWC normalized input. Training mode uses batch statistics and returns them. */
export function forward(cfg: SimpleCNNConfig, p: TfParams, x: tf.Tensor4D, training: boolean): ForwardResult {
  const widths = resolvedWidths(cfg);
  let h: tf.Tensor4D = x;
  const moments: { mean: tf.Tensor1D; variance: tf.Tensor1D }[] = [];
  for (let i = 1; i <= widths.length; i++) {
    const y = tf.conv2d(h, p[`conv${i}.w`] as tf.Tensor4D, 1, 1);
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (training) {
      ({ mean, variance } = batchMoments(y));
      moments.push({ mean, variance });
    } else {
      mean = p[`bn${i}.mean`] as tf.Tensor1D;
      variance = p[`bn${i}.var`] as tf.Tensor1D;
    }
    const bn = tf.batchNorm4d(y, mean, variance, p[`bn${i}.beta`] as tf.Tensor1D, p[`bn${i}.gamma`] as tf.Tensor1D, BN_EPSILON);
    h = tf.maxPool(tf.relu(bn), 2, 2, 'valid');
  }
  const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
  const hidden = tf.relu(tf.add(gemm(flat, p['fc1.w'] as tf.Tensor2D), p['fc1.b']!)) as tf.Tensor2D;
  const logits = tf.add(gemm(hidden, p['fc2.w'] as tf.Tensor2D), p['fc2.b']!) as tf.Tensor2D;
  return { logits, moments: training ? moments : undefined };
}

const runKernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): tf.Tensor =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

/** One training step's loss, logits, gradients and BN batch moments. */
export interface StepResult {
  /** Mean cross-entropy of the batch. */
  loss: tf.Scalar;
  logits: tf.Tensor2D;
  /** Gradients of the mean loss for every trainable parameter. */
  grads: Record<string, tf.Tensor>;
  /** Batch mean and (biased) variance per BN layer. */
  moments: { mean: tf.Tensor1D; variance: tf.Tensor1D }[];
}

/**
 * One training forward + backward pass with explicit reverse-mode formulas (no autodiff tape): softmax
 * cross-entropy, dense, ReLU, 2×2 max pool (MaxPoolGrad kernel), batch-statistics BatchNorm, and convolution
 * (Conv2DBackpropInput / Conv2DBackpropFilter kernels). `x` is NHWC normalized input, `labels` int32 class ids.
 * Call inside tf.tidy and keep what you need.
 */
export function trainStep(cfg: SimpleCNNConfig, p: TfParams, x: tf.Tensor4D, labels: tf.Tensor1D): StepResult {
  const widths = resolvedWidths(cfg);
  const n = x.shape[0];
  const saved: { input: tf.Tensor4D; xhat: tf.Tensor4D; invstd: tf.Tensor1D; r: tf.Tensor4D; pooled: tf.Tensor4D }[] = [];
  const moments: { mean: tf.Tensor1D; variance: tf.Tensor1D }[] = [];
  let h: tf.Tensor4D = x;
  for (let i = 1; i <= widths.length; i++) {
    const y = tf.conv2d(h, p[`conv${i}.w`] as tf.Tensor4D, 1, 1);
    const { mean, variance } = batchMomentsFast(y);
    const invstd = tf.rsqrt(tf.add(variance, BN_EPSILON)) as tf.Tensor1D;
    const xhat = tf.mul(tf.sub(y, mean), invstd) as tf.Tensor4D;
    const r = tf.relu(tf.add(tf.mul(xhat, p[`bn${i}.gamma`]!), p[`bn${i}.beta`]!)) as tf.Tensor4D;
    const pooled = tf.maxPool(r, 2, 2, 'valid');
    saved.push({ input: h, xhat, invstd, r, pooled });
    moments.push({ mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D });
    h = pooled;
  }
  const flat = tf.reshape(h, [n, -1]) as tf.Tensor2D;
  const hidden = tf.relu(tf.add(gemm(flat, p['fc1.w'] as tf.Tensor2D), p['fc1.b']!)) as tf.Tensor2D;
  const logits = tf.add(gemm(hidden, p['fc2.w'] as tf.Tensor2D), p['fc2.b']!) as tf.Tensor2D;
  const onehot = tf.cast(tf.oneHot(labels, cfg.classes), 'float32');
  const logp = tf.logSoftmax(logits);
  const loss = tf.neg(tf.div(tf.sum(tf.mul(onehot, logp)), n)) as tf.Scalar;

  const grads: Record<string, tf.Tensor> = {};
  const dlogits = tf.div(tf.sub(tf.exp(logp), onehot), n) as tf.Tensor2D;
  grads['fc2.w'] = gemm(tf.transpose(hidden), dlogits);
  grads['fc2.b'] = sumRows(dlogits);
  const dhidden = tf.mul(gemm(dlogits, tf.transpose(p['fc2.w'] as tf.Tensor2D)), tf.step(hidden)) as tf.Tensor2D;
  grads['fc1.w'] = gemm(tf.transpose(flat), dhidden);
  grads['fc1.b'] = sumRows(dhidden);
  let dh = tf.reshape(gemm(dhidden, tf.transpose(p['fc1.w'] as tf.Tensor2D)), h.shape) as tf.Tensor4D;
  for (let i = widths.length; i >= 1; i--) {
    const s = saved[i - 1]!;
    const dr = runKernel('MaxPoolGrad', { dy: dh, input: s.r, output: s.pooled }, { filterSize: [2, 2], strides: [2, 2], pad: 'valid' }) as tf.Tensor4D;
    const dbn = tf.mul(dr, tf.step(s.r)) as tf.Tensor4D;
    const m = s.xhat.shape[0] * s.xhat.shape[1] * s.xhat.shape[2];
    const dgamma = sumNHW(tf.mul(dbn, s.xhat) as tf.Tensor4D);
    const dbeta = sumNHW(dbn);
    grads[`bn${i}.gamma`] = dgamma;
    grads[`bn${i}.beta`] = dbeta;
    // dy = γ·invstd/M · (M·dbn − Σdbn − x̂·Σ(dbn·x̂))
    const scale = tf.div(tf.mul(p[`bn${i}.gamma`]!, s.invstd), m);
    const dy = tf.mul(tf.sub(tf.sub(tf.mul(dbn, m), dbeta), tf.mul(s.xhat, dgamma)), scale) as tf.Tensor4D;
    const w = p[`conv${i}.w`] as tf.Tensor4D;
    grads[`conv${i}.w`] = runKernel('Conv2DBackpropFilter', { x: s.input, dy }, { strides: [1, 1], pad: 1, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: w.shape });
    if (i > 1) dh = runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: [1, 1], pad: 1, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: s.input.shape }) as tf.Tensor4D;
  }
  return { loss, logits, grads, moments };
}
