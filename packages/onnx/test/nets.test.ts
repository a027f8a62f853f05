import { describe, expect, it } from 'vitest';
import { Tensor } from '@whitebox/core';
import { GraphBuilder, readModel, buildGradientGraph, buildSimpleCnn, forwardModelBytes, importModel, inferShapes, prepareGraph, pruneGraph, randomImages } from '@whitebox/onnx';
import { finiteDifferences, maskedRelError, randomTensor, runModel } from './helpers.js';

/** The sub-model from tensor `layer` (a cut of the graph) to the logits, for finite differences w.r.t. that layer. */
function tailModel(bytes: Uint8Array, layer: string): Uint8Array {
  const { graph: g } = prepareGraph(importModel(bytes));
  const shape = inferShapes(g, 1).get(layer)!;
  const cut = { ...g, nodes: g.nodes.filter((n) => !n.outputs.includes(layer)) };
  const tail = pruneGraph(cut, [g.output]);
  tail.input = { name: layer, dims: ['N', ...shape.slice(1)] };
  return forwardModelBytes(tail, 10);
}

let seed = 1;
const H = Number(process.env.FDH ?? 3e-3);
function conv(b: GraphBuilder, x: string, cin: number, cout: number, name: string, bn = true): string {
  b.initializer(`${name}.w`, randomTensor([cout, cin, 3, 3], seed++ * 97).map((v) => v * Math.sqrt(6 / (cin * 9))));
  b.initializer(`${name}.b`, randomTensor([cout], seed++ * 97, -0.1, 0.1));
  const [c] = b.node('Conv', [x, `${name}.w`, `${name}.b`], [`${name}`], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  if (!bn) return c!;
  b.initializer(`${name}.g`, randomTensor([cout], seed++ * 97, 0.8, 1.2));
  b.initializer(`${name}.beta`, randomTensor([cout], seed++ * 97, -0.1, 0.1));
  b.initializer(`${name}.mean`, randomTensor([cout], seed++ * 97, -0.1, 0.1));
  b.initializer(`${name}.var`, randomTensor([cout], seed++ * 97, 0.5, 1.5));
  return b.node('BatchNormalization', [c!, `${name}.g`, `${name}.beta`, `${name}.mean`, `${name}.var`], [`${name}_bn`])[0]!;
}

function resnet(): Uint8Array {
  const b = new GraphBuilder('resnet');
  b.input('input', ['N', 3, 4, 4]);
  const stem = b.node('Relu', [conv(b, 'input', 3, 8, 'stem')], ['stem_relu'])[0]!;
  const a = b.node('Relu', [conv(b, stem, 8, 8, 'block_a')], ['block_a_relu'])[0]!;
  const c = conv(b, a, 8, 8, 'block_b');
  const sum = b.node('Add', [c, stem], ['residual'])[0]!;
  const r = b.node('Relu', [sum], ['block_out'])[0]!;
  const gap = b.node('GlobalAveragePool', [r], ['gap'])[0]!;
  const f = b.node('Flatten', [gap], ['flat'])[0]!;
  b.initializer('fc.w', randomTensor([10, 8], 555));
  b.initializer('fc.b', randomTensor([10], 556, -0.1, 0.1));
  b.node('Gemm', [f, 'fc.w', 'fc.b'], ['logits'], { transB: 1 });
  b.output('logits', ['N', 10]);
  return b.toModelBytes();
}

function vgg(): Uint8Array {
  const b = new GraphBuilder('vgg');
  b.input('input', ['N', 1, 8, 8]);
  let x = b.node('Relu', [conv(b, 'input', 1, 4, 'c1', false)], ['r1'])[0]!;
  x = b.node('Relu', [conv(b, x, 4, 4, 'c2', false)], ['r2'])[0]!;
  x = b.node('MaxPool', [x], ['p1'], { kernel_shape: [2, 2], strides: [2, 2] })[0]!;
  x = b.node('Relu', [conv(b, x, 4, 8, 'c3', false)], ['r3'])[0]!;
  x = b.node('MaxPool', [x], ['p2'], { kernel_shape: [2, 2], strides: [2, 2] })[0]!;
  x = b.node('Flatten', [x], ['flat'])[0]!;
  b.initializer('fc1.w', randomTensor([16, 32], 77).map((v) => v * 0.4));
  b.initializer('fc1.b', randomTensor([16], 78, -0.1, 0.1));
  x = b.node('Relu', [b.node('Gemm', [x, 'fc1.w', 'fc1.b'], ['fc1'], { transB: 1 })[0]!], ['r4'])[0]!;
  x = b.node('Dropout', [x], ['drop'])[0]!;
  b.initializer('fc2.w', randomTensor([10, 16], 79));
  b.initializer('fc2.b', randomTensor([10], 80, -0.1, 0.1));
  b.node('Gemm', [x, 'fc2.w', 'fc2.b'], ['logits'], { transB: 1 });
  b.output('logits', ['N', 10]);
  return b.toModelBytes();
}

async function checkNet(m: Uint8Array, x: Tensor, layers: string[]): Promise<void> {
  const cot = randomTensor([x.batchSize, 10], 5);
  const g = await runModel(buildGradientGraph(m, { layers }), { input: x, cotangent: cot });
  const fd = await finiteDifferences(m, 'input', x, cot, H);
  const { err, kept } = maskedRelError(g.input_grad!.data, fd.grad, fd.smooth);
  expect(kept).toBeGreaterThan(0.3);
  expect(err).toBeLessThan(1e-3);
  for (const layer of layers) {
    const act = g[`${layer}:activation`]!;
    const tail = tailModel(m, layer);
    const lfd = await finiteDifferences(tail, layer, act, cot, H);
    const r = maskedRelError(g[`${layer}:grad`]!.data, lfd.grad, lfd.smooth);
    expect(r.kept).toBeGreaterThan(0.3);
    expect(r.err).toBeLessThan(1e-3);
    // The activation output is the forward tensor: the tail model on it reproduces the logits.
    const again = await runModel(tail, { [layer]: act });
    expect(maskedRelError(again.logits!.data, g.logits!.data).err).toBeLessThan(1e-5);
  }
}

describe('whole networks: input and layer gradients vs finite differences', () => {
  it('ResNet-style (residual Add, BatchNorm, GlobalAveragePool, Gemm)', async () => {
    await checkNet(resnet(), randomImages(2, 3, 4, 4, 3), ['stem_relu', 'block_out']);
  });

  it('VGG-style (stacked Conv/Relu, MaxPool, Dropout)', async () => {
    await checkNet(vgg(), randomImages(2, 1, 8, 8, 4), ['r2', 'p2', 'r4']);
  });

  it('SimpleCNN (small widths), MNIST-like input', async () => {
    const m = buildSimpleCnn({ channels: 1, height: 12, width: 12, seed: 5, widths: [4, 6, 8], hidden: 16 });
    await checkNet(m, randomImages(2, 1, 12, 12, 6), ['relu2', 'relu3']);
  });

  it('inputGradient: false prunes the backward pass below the deepest needed layer', async () => {
    const m = buildSimpleCnn({ channels: 3, height: 16, width: 16, seed: 2, widths: [4, 6, 8], hidden: 16 });
    const x = randomImages(2, 3, 16, 16, 7);
    const cot = randomTensor([2, 10], 8);
    const full = await runModel(buildGradientGraph(m, { layers: ['relu3'] }), { input: x, cotangent: cot });
    const bytes = buildGradientGraph(m, { layers: ['relu3'], inputGradient: false });
    const pruned = await runModel(bytes, { input: x, cotangent: cot });
    expect(pruned.input_grad).toBeUndefined();
    expect(maskedRelError(pruned['relu3:grad']!.data, full['relu3:grad']!.data).err).toBeLessThan(1e-6);
    // No backward op touches the first two conv blocks: no gradient-graph node reads their tensors, and only the
    // three forward convolutions remain.
    const nodes = readModel(bytes).graph!.node!;
    const backward = nodes.filter((n) => n.name!.startsWith('wb/'));
    expect(backward.length).toBeGreaterThan(5);
    for (const n of backward) for (const t of ['input', 'bn1', 'relu1', 'pool1', 'bn2', 'relu2', 'pool2']) expect(n.input).not.toContain(t);
    expect(nodes.filter((n) => n.opType === 'Conv' || n.opType === 'ConvTranspose').length).toBe(3);
  });
});

describe("Grad-CAM's default layer", () => {
  it('ResNet-style: after the residual Add and its ReLU (not the conv before the Add); VGG-style: the ReLU before the last pool', async () => {
    const { loadModel } = await import('@whitebox/onnx');
    await import('@whitebox/backend-node');
    const r = await loadModel(resnet(), { backend: 'node' });
    expect(r.defaultCamLayer).toBe('block_out');
    // Add and Concat outputs are layers too.
    expect(r.layers.find((l) => l.name === 'residual')).toMatchObject({ op: 'Add', kind: 'spatial' });
    const v = await loadModel(vgg(), { backend: 'node' });
    expect(v.defaultCamLayer).toBe('r3');
    const s = await loadModel(buildSimpleCnn({ channels: 1, height: 12, width: 12, widths: [4, 6, 8], hidden: 16 }), { backend: 'node' });
    expect(s.defaultCamLayer).toBe('relu3');
    await Promise.all([r.dispose(), v.dispose(), s.dispose()]);
  });
});

describe("Grad-CAM's default layer with ReduceMean heads", () => {
  it('x.mean([2, 3]) is a spatial reduction; a channel-last LayerNorm ReduceMean after pooling is not (ConvNeXt at opset 13)', async () => {
    const { loadModel } = await import('@whitebox/onnx');
    await import('@whitebox/backend-node');
    const b = new GraphBuilder('heads');
    b.input('input', ['N', 3, 4, 4]);
    const r = b.node('Relu', [conv(b, 'input', 3, 4, 'c', false)], ['features'])[0]!;
    const gap = b.node('ReduceMean', [r], ['gap'], { axes: [2, 3], keepdims: 1 })[0]!;
    const t = b.node('Transpose', [gap], ['nhwc'], { perm: [0, 2, 3, 1] })[0]!;
    const mu = b.node('ReduceMean', [t], ['mu'], { axes: [-1], keepdims: 1 })[0]!;
    const c = b.node('Sub', [t, mu], ['centered'])[0]!;
    const f = b.node('Flatten', [c], ['flat'])[0]!;
    b.initializer('fc.w', randomTensor([10, 4], 9));
    b.node('Gemm', [f, 'fc.w'], ['logits'], { transB: 1 });
    b.output('logits', ['N', 10]);
    const m = await loadModel(b.toModelBytes({ opset: 13 }), { backend: 'node' });
    expect(m.defaultCamLayer).toBe('features');
    await m.dispose();
  });
});

describe("Grad-CAM's default layer past inner branch pools", () => {
  it('an inception block whose padded 3×3 pool branch ends at 1×1 is not the head (Inception-v3 at small inputs); a 1×1 final map falls back to the last map every path crosses', async () => {
    const { loadModel } = await import('@whitebox/onnx');
    await import('@whitebox/backend-node');
    // stem [N,4,3,3] → stride-3 conv to 1×1 (the final map), in parallel with a Pad → AveragePool(3×3) branch; Concat
    // of the branches → GlobalAveragePool → Flatten → Gemm. Before the fix the branch's Pad output was the default.
    const build = () => {
      const b = new GraphBuilder('inception');
      b.input('input', ['N', 3, 3, 3]);
      const stem = b.node('Relu', [conv(b, 'input', 3, 4, 'stem', false)], ['stem_out'])[0]!;
      b.initializer('down.w', randomTensor([4, 4, 3, 3], 21));
      const a = b.node('Relu', [b.node('Conv', [stem, 'down.w'], ['down'], { kernel_shape: [3, 3], strides: [3, 3] })[0]!], ['branch_a'])[0]!;
      const padded = b.node('Pad', [stem, b.initializer('pads', new Tensor(BigInt64Array.of(0n, 0n, 1n, 1n, 0n, 0n, 1n, 1n), [8]))], ['pool_pad'])[0]!;
      const pooled = b.node('AveragePool', [padded], ['pool_b'], { kernel_shape: [5, 5], strides: [1, 1] })[0]!;
      const cat = b.node('Concat', [a, pooled], ['mixed'], { axis: 1 })[0]!;
      const gap = b.node('GlobalAveragePool', [cat], ['gap'])[0]!;
      const f = b.node('Flatten', [gap], ['flat'])[0]!;
      b.initializer('fc.w', randomTensor([10, 8], 22));
      b.node('Gemm', [f, 'fc.w'], ['logits'], { transB: 1 });
      b.output('logits', ['N', 10]);
      return b.toModelBytes({ opset: 13 });
    };
    const m = await loadModel(build(), { backend: 'node' });
    expect(m.layers.find((l) => l.name === 'pool_pad')).toMatchObject({ kind: 'spatial' });
    expect(m.defaultCamLayer).toBe('stem_out');
    await m.dispose();
  });
});
