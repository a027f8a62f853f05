/**
 * All methods on the real runtime (@whitebox/onnx gradient graphs on onnxruntime-node):
 * (1) on the tiny net exported to ONNX, maps equal the independent JS reference (TinyModel);
 * (2) on a random SimpleCNN, the published properties hold (IG completeness, SmoothGrad σ = 0, VarGrad ≥ 0, shapes).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { type Attribution, type Model, Tensor } from '@whitebox/core';
import { GraphBuilder, buildSimpleCnn, loadModel, randomImages } from '@whitebox/onnx';
import { Deconvnet } from '@whitebox/deconvnet';
import { GradCam } from '@whitebox/grad-cam';
import { GuidedBackprop } from '@whitebox/guided-backprop';
import { GuidedGradCam } from '@whitebox/guided-grad-cam';
import { InputXGradient } from '@whitebox/input-x-gradient';
import { IntegratedGradients } from '@whitebox/integrated-gradients';
import { SmoothGrad } from '@whitebox/smoothgrad';
import { VanillaGradient } from '@whitebox/vanilla-gradient';
import { TinyModel, type TinyWeights, randomInput, randomTinyWeights } from './fixtures/tiny-model.js';

function tinyToOnnx(w: TinyWeights): Uint8Array {
  const b = new GraphBuilder('tiny');
  const f32 = (a: Float64Array, dims: number[]) => new Tensor(Float32Array.from(a), dims);
  b.input('input', ['N', w.channels, w.height, w.width]);
  b.initializer('conv1.weight', f32(w.convW, [w.K, w.channels, 3, 3]));
  b.initializer('conv1.bias', f32(w.convB, [w.K]));
  b.node('Conv', ['input', 'conv1.weight', 'conv1.bias'], ['conv1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv1');
  b.node('Relu', ['conv1'], ['relu1'], {}, 'relu1');
  let x = 'relu1';
  if (w.pool) x = b.node(w.pool === 'max' ? 'MaxPool' : 'AveragePool', ['relu1'], ['pool1'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool1')[0]!;
  b.node('Flatten', [x], ['flatten'], { axis: 1 }, 'flatten');
  const D = w.w2.length / w.M;
  b.initializer('fc1.weight', f32(w.w2, [w.M, D]));
  b.initializer('fc1.bias', f32(w.b2, [w.M]));
  b.node('Gemm', ['flatten', 'fc1.weight', 'fc1.bias'], ['fc1'], { transB: 1 }, 'fc1');
  b.node('Relu', ['fc1'], ['relu2'], {}, 'relu2');
  b.initializer('fc2.weight', f32(w.w3, [w.classes, w.M]));
  b.initializer('fc2.bias', f32(w.b3, [w.classes]));
  b.node('Gemm', ['relu2', 'fc2.weight', 'fc2.bias'], ['logits'], { transB: 1 }, 'fc2');
  b.output('logits', ['N', w.classes]);
  return b.toModelBytes({ opset: 17 });
}

/** Same weights, rounded to float32 so both sides compute the same function. */
function roundWeights(w: TinyWeights): TinyWeights {
  const r = (a: Float64Array) => Float64Array.from(a, Math.fround);
  return { ...w, convW: r(w.convW), convB: r(w.convB), w2: r(w.w2), b2: r(w.b2), w3: r(w.w3), b3: r(w.b3) };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.each(['avg', 'max'] as const)('methods on onnxruntime-node equal the JS reference on a tiny net (%s pool)', (pool) => {
  const w0 = randomTinyWeights({ channels: 2, height: 6, width: 4, K: 4, M: 8, classes: 5, seed: 31, pool });
  // With max pooling, lower the conv biases so that many 2×2 windows of relu1 are all zero: ties
  // whose gradient must go to ONE position (the first maximum, as PyTorch), which the deconvnet rule exposes.
  if (pool === 'max') w0.convB = w0.convB.map((b) => b - 0.9);
  const w = roundWeights(w0);
  const ref = new TinyModel(w);
  let onnx: Model;
  beforeAll(async () => {
    onnx = await loadModel(tinyToOnnx(w), { backend: 'node', threads: 1 });
  });
  afterAll(async () => onnx?.dispose());

  it('exposes the same layers and Grad-CAM default', () => {
    expect(onnx.defaultCamLayer).toBe('relu1');
    expect(onnx.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['conv1', 'relu1', 'pool1']));
  });

  const cases: [string, (m: Model) => Attribution, Record<string, unknown>][] = [
    ['vanilla-gradient', (m) => new VanillaGradient(m), {}],
    ['input-x-gradient', (m) => new InputXGradient(m), {}],
    ['deconvnet', (m) => new Deconvnet(m), {}],
    ['guided-backprop', (m) => new GuidedBackprop(m), {}],
    ['integrated-gradients', (m) => new IntegratedGradients(m), { steps: 16 }],
    ['grad-cam (pool1)', (m) => new GradCam(m), { layer: 'pool1' }],
    ['grad-cam (relu1)', (m) => new GradCam(m), { layer: 'relu1' }],
    ['guided-grad-cam', (m) => new GuidedGradCam(m), { layer: 'pool1' }],
    ['smoothgrad(guided-backprop)', (m) => new SmoothGrad(new GuidedBackprop(m), { samples: 6, sigma: 0.1, seed: 4 }), {}],
    ['vargrad(vanilla-gradient)', (m) => new SmoothGrad(new VanillaGradient(m), { samples: 6, sigma: 0.1, seed: 4, variant: 'vargrad' }), {}],
  ];
  for (const [name, make, opts] of cases) {
    it(name, async () => {
      const x = randomInput(ref, 4, 17);
      const targets = [0, 1, 2, 4];
      const expected = await make(ref).attribute(x, targets, opts);
      const got = await make(onnx).attribute(x, targets, opts);
      expect(got.dims).toEqual(expected.dims);
      expect(maxAbs(expected.data)).toBeGreaterThan(0);
      expect(maxDiff(got.data, expected.data)).toBeLessThanOrEqual(1e-4 * maxAbs(expected.data));
    });
  }
});

describe('properties on a random SimpleCNN (MNIST shape) on onnxruntime-node', () => {
  let model: Model;
  const x = randomImages(3, 1, 28, 28, 5);
  beforeAll(async () => {
    model = await loadModel(buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 3 }), { backend: 'node', threads: 2 });
  });
  afterAll(async () => model?.dispose());

  it('IG completeness: |Σ attributions − (f(x) − f(x′))| ≤ 1% of |f(x) − f(x′)| at 300 steps', async () => {
    const { predictions } = await model.forward(x);
    const targets = Array.from(predictions);
    const r = await new IntegratedGradients(model).attributeWithDelta(x, targets, { steps: 300 });
    for (let b = 0; b < 3; b++) {
      const diff = r.inputScores[b]! - r.baselineScores[b]!;
      expect(Math.abs(diff)).toBeGreaterThan(1e-3);
      expect(Math.abs(r.delta[b]!)).toBeLessThanOrEqual(0.01 * Math.abs(diff));
    }
  });

  it('input × gradient = input ⊙ vanilla gradient', async () => {
    const ixg = await new InputXGradient(model).attribute(x, 7);
    const g = await new VanillaGradient(model).attribute(x, 7);
    for (let i = 0; i < x.size; i++) expect(ixg.data[i]).toBe(Math.fround(x.data[i]! * g.data[i]!));
  });

  it('SmoothGrad with σ = 0 equals the base method exactly; VarGrad ≥ 0', async () => {
    const base = await new GuidedBackprop(model).attribute(x, [1, 2, 3]);
    const sg = await new SmoothGrad(new GuidedBackprop(model), { samples: 4, sigma: 0 }).attribute(x, [1, 2, 3]);
    expect(maxDiff(sg.data, base.data)).toBe(0);
    const vg = await new SmoothGrad(new VanillaGradient(model), { samples: 8, sigma: 0.15, variant: 'vargrad' }).attribute(x, [1, 2, 3]);
    expect(Math.min(...vg.data)).toBeGreaterThanOrEqual(0);
    expect(maxAbs(vg.data)).toBeGreaterThan(0);
  });

  it('maps have the input shape; Grad-CAM is [N, 1, H, W] at the last conv block, non-negative', async () => {
    expect(model.defaultCamLayer).toBe('relu3');
    const cam = await new GradCam(model).attribute(x, 0);
    expect(cam.dims).toEqual([3, 1, 28, 28]);
    expect(Math.min(...cam.data)).toBeGreaterThanOrEqual(0);
    const ggc = await new GuidedGradCam(model).attribute(x, 0);
    expect(ggc.dims).toEqual([3, 1, 28, 28]);
    await expect(new GradCam(model).attribute(x, 0, { layer: 'conv7' })).rejects.toThrow(/unknown layer 'conv7'; the model's layers are: .*relu3/);
    await expect(new VanillaGradient(model).attribute(Tensor.zeros([1, 3, 28, 28]), 0)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(new VanillaGradient(model).attribute(x, 10)).rejects.toMatchObject({ code: 'TARGET_OUT_OF_RANGE' });
  });
});

const SHIPPED = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models', 'mnist-simplecnn.onnx');

describe.skipIf(!existsSync(SHIPPED))('the shipped MNIST model (models/mnist-simplecnn.onnx)', () => {
  it('IG completeness within 1% at 300 steps on MNIST test digits; VarGrad ≥ 0; SmoothGrad σ = 0 exact', async () => {
    const { loadMnist, toTensor } = await import('@whitebox/datasets');
    const model = await loadModel(SHIPPED, { backend: 'node', threads: 2 });
    try {
      const x = toTensor(loadMnist({ trainLimit: 0, testLimit: 4 }).test);
      const targets = Array.from((await model.forward(x)).predictions);
      const r = await new IntegratedGradients(model).attributeWithDelta(x, targets, { steps: 300 });
      for (let b = 0; b < 4; b++) {
        const diff = r.inputScores[b]! - r.baselineScores[b]!;
        expect(Math.abs(r.delta[b]!)).toBeLessThanOrEqual(0.01 * Math.abs(diff));
      }
      const base = await new VanillaGradient(model).attribute(x, targets);
      const sg = await new SmoothGrad(new VanillaGradient(model), { samples: 3, sigma: 0 }).attribute(x, targets);
      expect(maxDiff(sg.data, base.data)).toBe(0);
      const vg = await new SmoothGrad(new GuidedBackprop(model), { samples: 8, variant: 'vargrad' }).attribute(x, targets);
      expect(Math.min(...vg.data)).toBeGreaterThanOrEqual(0);
    } finally {
      await model.dispose();
    }
  });
});

const SHIPPED_CIFAR = join(dirname(SHIPPED), 'cifar10-simplecnn.onnx');
const CIFAR_DIR = process.env.WHITEBOX_CIFAR10_DIR ?? join(dirname(SHIPPED), '..', '..', 'shared', 'data', 'cifar10');

describe.skipIf(!existsSync(SHIPPED_CIFAR) || !existsSync(join(CIFAR_DIR, 'test_batch.bin')))('the shipped CIFAR-10 model (models/cifar10-simplecnn.onnx)', () => {
  it('IG completeness within 1% at 300 steps on CIFAR-10 test images', async () => {
    const { loadCifar10Dir, toTensor } = await import('@whitebox/datasets');
    const model = await loadModel(SHIPPED_CIFAR, { backend: 'node', threads: 2 });
    try {
      const x = toTensor(loadCifar10Dir(CIFAR_DIR, { trainLimit: 0, testLimit: 3 }).test);
      const targets = Array.from((await model.forward(x)).predictions);
      const r = await new IntegratedGradients(model).attributeWithDelta(x, targets, { steps: 300 });
      for (let b = 0; b < 3; b++) {
        expect(Math.abs(r.delta[b]!)).toBeLessThanOrEqual(0.01 * Math.abs(r.inputScores[b]! - r.baselineScores[b]!));
      }
    } finally {
      await model.dispose();
    }
  });
});
