import { describe, expect, it } from 'vitest';
import { RELU_RULES, Tensor, type TensorData } from '@whitebox/core';
import { GraphBuilder, buildGradientGraph, i64, readModel, writeModel } from '@whitebox/onnx';
import { finiteDifferences, maskedRelError, randomTensor, runModel } from './helpers.js';

type Body = (b: GraphBuilder, x: string, w: (dims: number[], scale?: number) => string) => string;

interface Case {
  name: string;
  dims: number[];
  body: Body;
  /** Piecewise-linear (kinks): drop coordinates whose one-sided differences disagree. */
  pw?: boolean;
  opset?: number;
  lo?: number;
  hi?: number;
}

let seedCounter = 100;
/** x -> body -> Flatten -> Gemm(·, 3 classes). */
function model(c: Case): Uint8Array {
  const b = new GraphBuilder(c.name);
  b.input('x', ['N', ...c.dims.slice(1)]);
  let k = 0;
  const w = (dims: number[], scale = 0.5) => b.initializer(`w${k++}`, randomTensor(dims, seedCounter++ * 7919).map((v) => v * scale));
  const y = c.body(b, 'x', w);
  const [f] = b.node('Flatten', [y], 1, { axis: 1 });
  // Width of the flattened tensor: run-time check through a probe is overkill; bodies return known shapes via a side channel.
  const width = (b as unknown as { __width: number }).__width;
  const [out] = b.node('Gemm', [f!, w([3, width], 0.7), w([3], 0.1)], ['logits'], { transB: 1 });
  b.output(out!, ['N', 3]);
  return b.toModelBytes({ opset: c.opset ?? 17 });
}

function width(b: GraphBuilder, n: number): void {
  (b as unknown as { __width: number }).__width = n;
}

const cases: Case[] = [
  { name: 'Conv pads 1', dims: [2, 2, 5, 5], body: (b, x, w) => (width(b, 4 * 25), b.node('Conv', [x, w([4, 2, 3, 3]), w([4])], 1, { pads: [1, 1, 1, 1] })[0]!) },
  { name: 'Conv wide input (flipped-conv path)', dims: [2, 8, 4, 4], body: (b, x, w) => (width(b, 3 * 16), b.node('Conv', [x, w([3, 8, 3, 3], 0.3)], 1, { pads: [1, 1, 1, 1], kernel_shape: [3, 3] })[0]!) },
  { name: 'Conv strides 2, asymmetric pads', dims: [2, 2, 6, 6], body: (b, x, w) => (width(b, 3 * 6), b.node('Conv', [x, w([3, 2, 3, 3])], 1, { strides: [2, 2], pads: [1, 0, 1, 0] })[0]!) },
  { name: 'Conv dilations 2', dims: [2, 8, 7, 7], body: (b, x, w) => (width(b, 2 * 9), b.node('Conv', [x, w([2, 8, 3, 3], 0.3)], 1, { dilations: [2, 2] })[0]!) },
  { name: 'Conv groups 2', dims: [2, 16, 4, 4], body: (b, x, w) => (width(b, 4 * 16), b.node('Conv', [x, w([4, 8, 3, 3], 0.3)], 1, { group: 2, pads: [1, 1, 1, 1] })[0]!) },
  { name: 'Conv depthwise stride 2', dims: [2, 3, 6, 6], body: (b, x, w) => (width(b, 3 * 9), b.node('Conv', [x, w([3, 1, 3, 3])], 1, { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] })[0]!) },
  { name: 'Conv auto_pad SAME_UPPER', dims: [2, 2, 5, 5], body: (b, x, w) => (width(b, 2 * 9), b.node('Conv', [x, w([2, 2, 2, 2])], 1, { auto_pad: 'SAME_UPPER', strides: [2, 2] })[0]!) },
  { name: 'ConvTranspose strides 2, output_padding', dims: [2, 3, 3, 3], body: (b, x, w) => (width(b, 2 * 36), b.node('ConvTranspose', [x, w([3, 2, 3, 3]), w([2])], 1, { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] })[0]!) },
  { name: 'BatchNormalization (unfolded)', dims: [2, 3, 3, 3], body: (b, x, w) => (width(b, 27), b.node('BatchNormalization', [x, w([3]), w([3]), w([3]), b.initializer('var', Tensor.from([0.5, 1, 2], [3]))], 1)[0]!) },
  { name: 'Conv + BatchNormalization (folded)', dims: [2, 2, 4, 4], body: (b, x, w) => (width(b, 3 * 16), b.node('BatchNormalization', [b.node('Conv', [x, w([3, 2, 3, 3])], 1, { pads: [1, 1, 1, 1] })[0]!, w([3]), w([3]), w([3]), b.initializer('var', Tensor.from([0.5, 1, 2], [3]))], 1, { epsilon: { type: 'float', value: 1e-3 } })[0]!) },
  { name: 'Relu', dims: [2, 2, 3, 3], pw: true, body: (b, x, w) => (width(b, 18), b.node('Relu', [b.node('Add', [x, w([1, 2, 1, 1])], 1)[0]!], 1)[0]!) },
  { name: 'LeakyRelu', dims: [2, 2, 3, 3], pw: true, body: (b, x) => (width(b, 18), b.node('LeakyRelu', [x], 1, { alpha: 0.2 })[0]!) },
  { name: 'Clip', dims: [2, 2, 3, 3], pw: true, body: (b, x) => (width(b, 18), b.node('Clip', [x, b.initializer('lo', Tensor.from([-0.4], [])), b.initializer('hi', Tensor.from([0.5], []))], 1)[0]!) },
  { name: 'Sigmoid', dims: [2, 2, 3, 3], body: (b, x) => (width(b, 18), b.node('Sigmoid', [x], 1)[0]!) },
  { name: 'Tanh', dims: [2, 2, 3, 3], body: (b, x) => (width(b, 18), b.node('Tanh', [x], 1)[0]!) },
  { name: 'Softmax axis 1 (4-D)', dims: [2, 3, 2, 2], body: (b, x) => (width(b, 12), b.node('Softmax', [b.node('Mul', [x, b.initializer('s', Tensor.from([2], []))], 1)[0]!], 1, { axis: 1 })[0]!) },
  { name: 'Softmax last axis', dims: [2, 6], body: (b, x) => (width(b, 6), b.node('Softmax', [x], 1, { axis: -1 })[0]!) },
  { name: 'MaxPool 2x2 after Relu (first-max slot path)', dims: [2, 2, 4, 4], pw: true, body: (b, x) => (width(b, 8), b.node('MaxPool', [b.node('Relu', [x], 1)[0]!], 1, { kernel_shape: [2, 2], strides: [2, 2] })[0]!) },
  { name: 'MaxPool 2x2 after Relu, odd size (crop)', dims: [2, 2, 5, 5], pw: true, body: (b, x) => (width(b, 8), b.node('MaxPool', [b.node('Relu', [x], 1)[0]!], 1, { kernel_shape: [2, 2], strides: [2, 2] })[0]!) },
  { name: 'MaxPool 2x2 on a non-ReLU input, odd size', dims: [2, 2, 5, 5], pw: true, body: (b, x) => (width(b, 8), b.node('MaxPool', [x], 1, { kernel_shape: [2, 2], strides: [2, 2] })[0]!) },
  { name: 'MaxPool 3x3 stride 3 after Relu', dims: [2, 2, 7, 7], pw: true, body: (b, x) => (width(b, 8), b.node('MaxPool', [b.node('Relu', [x], 1)[0]!], 1, { kernel_shape: [3, 3], strides: [3, 3] })[0]!) },
  { name: 'MaxPool 3x3 s2 pads 1 (overlapping, indices)', dims: [2, 2, 5, 5], pw: true, body: (b, x) => (width(b, 18), b.node('MaxPool', [x], 1, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })[0]!) },
  { name: 'MaxPool 2x2 ceil_mode', dims: [2, 2, 5, 5], pw: true, body: (b, x) => (width(b, 18), b.node('MaxPool', [x], 1, { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 })[0]!) },
  { name: 'AveragePool 2x2', dims: [2, 2, 4, 4], body: (b, x) => (width(b, 8), b.node('AveragePool', [x], 1, { kernel_shape: [2, 2], strides: [2, 2] })[0]!) },
  { name: 'AveragePool 3x3 s2 pads 1 exclude pad', dims: [2, 2, 5, 5], body: (b, x) => (width(b, 18), b.node('AveragePool', [x], 1, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })[0]!) },
  { name: 'AveragePool 3x3 s1 pads 1 include pad', dims: [2, 2, 4, 4], body: (b, x) => (width(b, 32), b.node('AveragePool', [x], 1, { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 })[0]!) },
  { name: 'GlobalAveragePool', dims: [2, 3, 3, 4], body: (b, x) => (width(b, 3), b.node('GlobalAveragePool', [x], 1)[0]!) },
  { name: 'Gemm transA alpha beta', dims: [2, 4], body: (b, x, w) => (width(b, 5), b.node('Gemm', [b.node('Transpose', [x], 1)[0]!, w([4, 5]), w([1, 5])], 1, { transA: 1, alpha: 0.7, beta: 0.3 })[0]!) },
  { name: 'MatMul batched x constant', dims: [2, 3, 4], body: (b, x, w) => (width(b, 15), b.node('MatMul', [x, w([4, 5])], 1)[0]!) },
  { name: 'MatMul both dynamic', dims: [2, 3, 4], body: (b, x) => (width(b, 9), b.node('MatMul', [x, b.node('Transpose', [b.node('Sigmoid', [x], 1)[0]!], 1, { perm: [0, 2, 1] })[0]!], 1)[0]!) },
  { name: 'Add/Sub broadcast', dims: [2, 3, 2, 2], body: (b, x, w) => (width(b, 12), b.node('Sub', [w([2]), b.node('Add', [x, w([1, 3, 1, 1])], 1)[0]!], 1)[0]!) },
  { name: 'Mul/Div broadcast and x·x', dims: [2, 3, 2, 2], body: (b, x, w) => {
    width(b, 12);
    const sq = b.node('Add', [b.node('Mul', [x, x], 1)[0]!, b.initializer('one', Tensor.from([1], []))], 1)[0]!;
    const d = b.node('Div', [x, sq], 1)[0]!;
    return b.node('Div', [b.node('Mul', [d, w([1, 3, 1, 1])], 1)[0]!, b.initializer('den', Tensor.from([1.5, -2], [2]))], 1)[0]!;
  } },
  { name: 'Div by a dynamic denominator broadcast', dims: [2, 3, 2, 2], body: (b, x) => {
    width(b, 12);
    const den = b.node('Add', [b.node('GlobalAveragePool', [b.node('Mul', [x, x], 1)[0]!], 1)[0]!, b.initializer('one', Tensor.from([1], []))], 1)[0]!;
    return b.node('Div', [x, den], 1)[0]!;
  } },
  { name: 'Reshape/Transpose/Identity/Dropout', dims: [2, 2, 3, 2], body: (b, x) => {
    width(b, 12);
    const r = b.node('Reshape', [x, b.initializer('shape', i64([0, 6, -1]))], 1)[0]!;
    const t = b.node('Transpose', [r], 1, { perm: [0, 2, 1] })[0]!;
    return b.node('Dropout', [b.node('Identity', [t], 1)[0]!], 1)[0]!;
  } },
  { name: 'Concat + Constant', dims: [2, 2, 2, 2], body: (b, x) => {
    width(b, 24);
    const [c] = b.node('Constant', [], 1, { value: Tensor.from([3], []) });
    return b.node('Concat', [x, b.node('Mul', [x, c!], 1)[0]!, b.node('Tanh', [x], 1)[0]!], 1, { axis: 1 })[0]!;
  } },
  { name: 'Pad constant', dims: [2, 2, 3, 3], body: (b, x) => (width(b, 2 * 4 * 5), b.node('Pad', [x, b.initializer('pads', i64([0, 0, 1, 0, 0, 0, 0, 2])), b.initializer('v', Tensor.from([0.3], []))], 1)[0]!) },
  { name: 'Squeeze/Unsqueeze (opset 13 form)', dims: [2, 3, 1, 2], body: (b, x) => {
    width(b, 6);
    const s = b.node('Squeeze', [x, b.initializer('ax', i64([2]))], 1)[0]!;
    return b.node('Unsqueeze', [b.node('Tanh', [s], 1)[0]!, b.initializer('ax2', i64([1]))], 1)[0]!;
  } },
  { name: 'Squeeze/Unsqueeze/Clip (opset 10 attribute forms)', opset: 10, dims: [2, 3, 1, 2], pw: true, body: (b, x) => {
    width(b, 6);
    const s = b.node('Squeeze', [x], 1, { axes: [2] })[0]!;
    return b.node('Unsqueeze', [b.node('Clip', [s], 1, { min: -0.4, max: 0.5 })[0]!], 1, { axes: [1] })[0]!;
  } },
];

describe('gradient graph vs central finite differences, per op and rule', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const m = model(c);
      const x = randomTensor(c.dims, c.name.length * 31 + 7, c.lo ?? -1, c.hi ?? 1);
      const cot = randomTensor([c.dims[0]!, 3], 17);
      const fd = await finiteDifferences(m, 'x', x, cot, 1e-2);
      const results: Float32Array[] = [];
      for (const rule of RELU_RULES) {
        const g = await runModel(buildGradientGraph(m, { rule }), { x, cotangent: cot });
        expect(g.input_grad!.dims).toEqual(x.dims);
        results.push(g.input_grad!.data);
      }
      const { err, kept } = maskedRelError(results[0]!, fd.grad, c.pw ? fd.smooth : undefined);
      expect(kept).toBeGreaterThan(0.6);
      expect(err).toBeLessThan(1e-3);
      // Without a ReLU-family op (Relu, LeakyRelu, PRelu, Clip as ReLU6) in the graph every rule is the plain gradient.
      if (!/Relu|Clip/.test(c.name)) {
        for (const r of results.slice(1)) expect(maskedRelError(r, results[0]!).err).toBeLessThan(1e-6);
      }
    });
  }
});

describe('graph forms', () => {
  it('initializers listed as graph inputs (older exporters) and a trailing Softmax (differentiated at the logits)', async () => {
    const b = new GraphBuilder('legacy');
    b.input('x', ['batch', 4]);
    b.initializer('W', randomTensor([4, 3], 5));
    const [z] = b.node('MatMul', ['x', 'W'], ['z']);
    b.node('Softmax', [z!], ['prob'], { axis: 1 });
    b.output('prob', ['batch', 3]);
    const proto = readModel(b.toModelBytes({ opset: 12 }));
    proto.graph!.input!.push({ name: 'W', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 4 }, { dimValue: 3 }] } } } });
    const m = writeModel(proto);
    const x = randomTensor([2, 4], 3);
    const cot = randomTensor([2, 3], 4);
    const g = await runModel(buildGradientGraph(m), { x, cotangent: cot });
    // d(cot · (x W))/dx = cot Wᵀ, and 'logits' is x W (pre-softmax).
    const W = randomTensor([4, 3], 5).data;
    for (let n = 0; n < 2; n++) {
      for (let i = 0; i < 4; i++) {
        let e = 0;
        let l = 0;
        for (let j = 0; j < 3; j++) e += cot.data[n * 3 + j]! * W[i * 3 + j]!;
        expect(g.input_grad!.data[n * 4 + i]).toBeCloseTo(e, 5);
        for (let j = 0; j < 3; j++) l = x.data[n * 4 + i]!;
        void l;
      }
      for (let j = 0; j < 3; j++) {
        let l = 0;
        for (let i = 0; i < 4; i++) l += x.data[n * 4 + i]! * W[i * 3 + j]!;
        expect(g.logits!.data[n * 3 + j]).toBeCloseTo(l, 5);
      }
    }
  });
});

export type { TensorData };
