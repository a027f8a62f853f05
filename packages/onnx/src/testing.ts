import { Rng, Tensor } from '@whitebox/core';
import { GraphBuilder, i64 } from './builder.js';

/** Options of `buildSimpleCnn`: input size, widths, classes, normalization and seed. */
export interface SimpleCnnOptions {
  /** Input channels (1 for MNIST, 3 for CIFAR-10). */
  channels: number;
  height: number;
  width: number;
  seed?: number;
  numClasses?: number;
  /** Conv widths of the three blocks (default [32, 64, 128]). */
  widths?: readonly [number, number, number];
  hidden?: number;
  /** Per-channel normalization embedded at the front (pixels in [0, 1]); defaults to mean 0.5, std 0.25. */
  mean?: readonly number[];
  std?: readonly number[];
}

function randn(rng: Rng, dims: number[], scale: number): Tensor {
  const t = Tensor.zeros(dims);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * scale;
  return t;
}

/**
 * SimpleCNN with random (He-initialized) weights: Sub/Div normalization, 3 × [Conv3×3 pad 1 → BatchNormalization →
 * Relu → MaxPool 2×2], Flatten → Gemm(hidden) → Relu → Gemm(numClasses). Input 'input' [N, C, H, W], output 'logits'.
 * Tensor names: conv{1,2,3}, bn{1,2,3}, relu{1,2,3}, pool{1,2,3}, flatten, fc1, relu4, logits.
 */
export function buildSimpleCnn(options: SimpleCnnOptions): Uint8Array {
  const { channels, height, width } = options;
  const rng = new Rng(options.seed ?? 0);
  const widths = options.widths ?? [32, 64, 128];
  const hidden = options.hidden ?? 1024;
  const numClasses = options.numClasses ?? 10;
  const b = new GraphBuilder('SimpleCNN');
  b.input('input', ['N', channels, height, width]);
  const mean = options.mean ?? Array(channels).fill(0.5);
  const std = options.std ?? Array(channels).fill(0.25);
  b.initializer('norm_mean', Tensor.from(mean, [1, channels, 1, 1]));
  b.initializer('norm_std', Tensor.from(std, [1, channels, 1, 1]));
  b.node('Sub', ['input', 'norm_mean'], ['centered'], {}, 'normalize_sub');
  let x = b.node('Div', ['centered', 'norm_std'], ['normalized'], {}, 'normalize_div')[0]!;
  let c = channels;
  let h = height;
  let w = width;
  widths.forEach((cout, i) => {
    const k = i + 1;
    b.initializer(`conv${k}.weight`, randn(rng, [cout, c, 3, 3], Math.sqrt(2 / (c * 9))));
    b.initializer(`conv${k}.bias`, randn(rng, [cout], 0.05));
    b.node('Conv', [x, `conv${k}.weight`, `conv${k}.bias`], [`conv${k}`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, `conv${k}`);
    b.initializer(`bn${k}.scale`, Tensor.from(Array.from({ length: cout }, () => 1 + 0.1 * rng.normal()), [cout]));
    b.initializer(`bn${k}.bias`, randn(rng, [cout], 0.1));
    b.initializer(`bn${k}.mean`, randn(rng, [cout], 0.1));
    b.initializer(`bn${k}.var`, Tensor.from(Array.from({ length: cout }, () => 1 + 0.2 * rng.next()), [cout]));
    b.node('BatchNormalization', [`conv${k}`, `bn${k}.scale`, `bn${k}.bias`, `bn${k}.mean`, `bn${k}.var`], [`bn${k}`], { epsilon: { type: 'float', value: 1e-5 } }, `bn${k}`);
    b.node('Relu', [`bn${k}`], [`relu${k}`], {}, `relu${k}`);
    x = b.node('MaxPool', [`relu${k}`], [`pool${k}`], { kernel_shape: [2, 2], strides: [2, 2] }, `pool${k}`)[0]!;
    c = cout;
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
  });
  b.node('Flatten', [x], ['flatten'], { axis: 1 }, 'flatten');
  const flat = c * h * w;
  b.initializer('fc1.weight', randn(rng, [hidden, flat], Math.sqrt(2 / flat)));
  b.initializer('fc1.bias', randn(rng, [hidden], 0.05));
  b.node('Gemm', ['flatten', 'fc1.weight', 'fc1.bias'], ['fc1'], { transB: 1 }, 'fc1');
  b.node('Relu', ['fc1'], ['relu4'], {}, 'relu4');
  b.initializer('fc2.weight', randn(rng, [numClasses, hidden], Math.sqrt(1 / hidden)));
  b.initializer('fc2.bias', randn(rng, [numClasses], 0.05));
  b.node('Gemm', ['relu4', 'fc2.weight', 'fc2.bias'], ['logits'], { transB: 1 }, 'fc2');
  b.output('logits', ['N', numClasses]);
  return b.toModelBytes({ opset: 17, producer: 'whitebox-testing' });
}

/** Deterministic pseudo-random pixels in [0, 1], shape [n, c, h, w]. */
export function randomImages(n: number, c: number, h: number, w: number, seed = 1): Tensor {
  const rng = new Rng(seed);
  const t = Tensor.zeros([n, c, h, w]);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.next();
  return t;
}

export { i64 };
