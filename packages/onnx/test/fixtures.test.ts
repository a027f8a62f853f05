import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { Tensor } from '@whitebox/core';
import { GraphBuilder, buildGradientGraph, i64, loadModel, prepareModel, readModel } from '@whitebox/onnx';
import { check, model, one, scalar, type Case, type W } from './opcase.js';
import { randomTensor } from './helpers.js';

/**
 * Graphs as classifier exports write them — dynamic-batch shape arithmetic, LayerNorm in both forms, GELU, a pre-norm
 * attention block with a class token, HardSwish with squeeze-excite, Resize, channel shuffle — each vs finite
 * differences at two batch sizes through one gradient graph.
 */

/** An unused tensor name with this prefix. */
function uniq(b: GraphBuilder, base: string): string {
  let n = base;
  for (let i = 1; b.has(n); i++) n = `${base}_${i}`;
  return n;
}

/** Shape(x)[0] as a 1-element int64 tensor: the run-time batch. */
function batchOf(b: GraphBuilder, x: string): string {
  return one(b, 'Unsqueeze', [one(b, 'Gather', [one(b, 'Shape', [x]), b.initializer(uniq(b, 'i0'), new Tensor(BigInt64Array.of(0n), []))], { axis: 0 }), b.initializer(uniq(b, 'ax0'), i64([0]))]);
}

/** Reshape x to [N, ...rest] with N from the run-time shape (torch's `x.view(x.size(0), ...)`). */
function viewBatch(b: GraphBuilder, x: string, rest: number[]): string {
  const shape = one(b, 'Concat', [batchOf(b, x), b.initializer(uniq(b, 'rest'), i64(rest))], { axis: 0 });
  return one(b, 'Reshape', [x, shape]);
}

function conv(b: GraphBuilder, x: string, w: W, cin: number, cout: number, k = 3, stride = 1): string {
  return one(b, 'Conv', [x, w([cout, cin, k, k], Math.sqrt(2 / (cin * k * k))), w([cout], 0.1)], { pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], strides: [stride, stride] });
}

function layerNormOpset13(b: GraphBuilder, x: string, w: W, c: number): string {
  const axes = { axes: [-1] };
  const mean = one(b, 'ReduceMean', [x], axes);
  const d = one(b, 'Sub', [x, mean]);
  const v = one(b, 'ReduceMean', [one(b, 'Pow', [d, scalar(b, uniq(b, 'two'), 2)])], axes);
  const n = one(b, 'Div', [d, one(b, 'Sqrt', [one(b, 'Add', [v, scalar(b, uniq(b, 'eps'), 1e-5)])])]);
  return one(b, 'Add', [one(b, 'Mul', [n, w([c], 1, 0.5)]), w([c], 0.1)]);
}

function gelu(b: GraphBuilder, x: string): string {
  const e = one(b, 'Erf', [one(b, 'Div', [x, scalar(b, uniq(b, 'sqrt2'), Math.SQRT2)])]);
  return one(b, 'Mul', [one(b, 'Mul', [x, one(b, 'Add', [e, scalar(b, uniq(b, 'one'), 1)])]), scalar(b, uniq(b, 'half'), 0.5)]);
}

/** The same GELU with x·(1/√2) and every Mul/Add's operands swapped. */
function geluSwapped(b: GraphBuilder, x: string): string {
  const e = one(b, 'Erf', [one(b, 'Mul', [scalar(b, uniq(b, 'rsqrt2'), Math.SQRT1_2), x])]);
  return one(b, 'Mul', [scalar(b, uniq(b, 'half'), 0.5), one(b, 'Mul', [one(b, 'Add', [scalar(b, uniq(b, 'one'), 1), e]), x])]);
}

/** A pre-norm ViT block: patch embedding, class token (Expand to the run-time batch), attention, residual, class-token Gather. */
function vitBlock(b: GraphBuilder, x: string, w: W, opset13: boolean): string {
  const C = 8;
  const heads = 2;
  const d = C / heads;
  const patches = conv(b, x, w, 3, C, 4, 4); // [N, 8, 2, 2]
  const tokens = one(b, 'Transpose', [viewBatch(b, patches, [C, -1])], { perm: [0, 2, 1] }); // [N, 4, 8]
  const cls = one(b, 'Expand', [w([1, 1, C]), one(b, 'Concat', [batchOf(b, x), b.initializer(uniq(b, 'cshape'), i64([1, 1]))], { axis: 0 })]);
  const seq = one(b, 'Add', [one(b, 'Concat', [cls, tokens], { axis: 1 }), w([1, 5, C], 0.2)]); // [N, 5, 8]
  const ln = opset13 ? layerNormOpset13(b, seq, w, C) : one(b, 'LayerNormalization', [seq, w([C], 1, 0.5), w([C], 0.1)], { axis: -1 });
  const proj = (name: string) => {
    const p = one(b, 'Add', [one(b, 'MatMul', [ln, w([C, C], 0.4)]), w([C], 0.1)]);
    void name;
    return one(b, 'Transpose', [one(b, 'Reshape', [p, one(b, 'Concat', [batchOf(b, x), b.initializer(uniq(b, 'hshape'), i64([5, heads, d]))], { axis: 0 })])], { perm: [0, 2, 1, 3] }); // [N, h, 5, d]
  };
  const [q, k, v] = [proj('q'), proj('k'), proj('v')];
  const scores = one(b, 'Div', [one(b, 'MatMul', [q, one(b, 'Transpose', [k], { perm: [0, 1, 3, 2] })]), scalar(b, uniq(b, 'sqrtd'), Math.sqrt(d))]);
  const att = one(b, 'MatMul', [one(b, 'Softmax', [scores], { axis: -1 }), v]); // [N, h, 5, d]
  const merged = viewBatch(b, one(b, 'Transpose', [att], { perm: [0, 2, 1, 3] }), [5, C]);
  const out = one(b, 'Add', [seq, one(b, 'MatMul', [merged, w([C, C], 0.4)])]);
  const mlp = one(b, 'Add', [out, one(b, 'MatMul', [gelu(b, one(b, 'MatMul', [out, w([C, 2 * C], 0.4)])), w([2 * C, C], 0.3)])]);
  return one(b, 'Gather', [mlp, b.initializer(uniq(b, 'clsidx'), new Tensor(BigInt64Array.of(0n), []))], { axis: 1 }); // [N, 8]
}

const fixtures: Case[] = [
  { name: 'dynamic flatten: x.view(x.size(0), -1) (Shape → Gather → Unsqueeze → Concat → Reshape)', dims: [2, 2, 4, 4], rules: true, pw: true, batch2: 3,
    body: (b, x, w) => viewBatch(b, one(b, 'Relu', [conv(b, x, w, 2, 3)]), [-1]) },
  { name: 'LayerNormalization (opset 17)', dims: [2, 3, 8], batch2: 3, body: (b, x, w) => one(b, 'LayerNormalization', [x, w([8], 1, 0.5), w([8], 0.1)], { axis: -1 }) },
  { name: 'LayerNorm in its opset-13 form (ReduceMean, Sub, Pow, Sqrt, Div)', dims: [2, 3, 8], opset: 13, batch2: 3, body: (b, x, w) => layerNormOpset13(b, x, w, 8) },
  { name: 'GELU as exported (Div, Erf, Add, Mul)', dims: [2, 10], batch2: 3, body: (b, x) => gelu(b, x) },
  { name: 'GELU with Mul by 1/√2 and swapped operands', dims: [2, 10], batch2: 3, lo: -3, hi: 3, body: (b, x) => geluSwapped(b, x) },
  { name: 'GELU whose inner Erf output is also read elsewhere (per-node rules)', dims: [2, 10], batch2: 3, body: (b, x) => {
    const u = one(b, 'Div', [x, scalar(b, uniq(b, 'sqrt2'), Math.SQRT2)]);
    const e = one(b, 'Erf', [u]);
    const y = one(b, 'Mul', [one(b, 'Mul', [x, one(b, 'Add', [e, scalar(b, uniq(b, 'one'), 1)])]), scalar(b, uniq(b, 'half'), 0.5)]);
    return one(b, 'Add', [y, one(b, 'Mul', [e, e])]);
  } },
  { name: 'pre-norm attention block with a class token (LayerNormalization)', dims: [2, 3, 8, 8], batch2: 3, body: (b, x, w) => vitBlock(b, x, w, false) },
  { name: 'pre-norm attention block with a class token (opset-13 LayerNorm)', dims: [2, 3, 8, 8], opset: 13, batch2: 3, body: (b, x, w) => vitBlock(b, x, w, true) },
  { name: 'HardSwish with squeeze-excite (GlobalAveragePool → Conv → Relu → Conv → HardSigmoid → Mul)', dims: [2, 3, 6, 6], opset: 14, rules: true, pw: true, batch2: 3, h: 3e-3,
    body: (b, x, w) => {
      const f = one(b, 'HardSwish', [conv(b, x, w, 3, 4)]);
      const s = one(b, 'HardSigmoid', [conv(b, one(b, 'Relu', [conv(b, one(b, 'GlobalAveragePool', [f]), w, 4, 2, 1)]), w, 2, 4, 1)], { alpha: { type: 'float', value: 1 / 6 } });
      return one(b, 'Mul', [f, s]);
    } },
  { name: 'Resize nearest ×2 then linear to run-time sizes (Concat of Shape[:2] and a constant)', dims: [2, 2, 3, 3], batch2: 3,
    body: (b, x, w) => {
      const up = one(b, 'Resize', [conv(b, x, w, 2, 3), '', b.initializer('sc', Tensor.from([1, 1, 2, 2], [4]))], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      const head = one(b, 'Slice', [one(b, 'Shape', [up]), b.initializer('s0', i64([0])), b.initializer('e2', i64([2]))]);
      const sizes = one(b, 'Concat', [head, b.initializer('hw', i64([4, 5]))], { axis: 0 });
      return one(b, 'Resize', [up, '', '', sizes], { mode: 'linear' });
    } },
  { name: 'channel shuffle (Reshape → Transpose → Reshape with run-time batch)', dims: [2, 4, 3, 3], batch2: 3,
    body: (b, x, w) => {
      const g = viewBatch(b, x, [2, 2, 3, 3]);
      const t = one(b, 'Transpose', [g], { perm: [0, 2, 1, 3, 4] });
      return conv(b, viewBatch(b, t, [4, 3, 3]), w, 4, 2);
    } },
];

describe('classifier-export fixtures vs finite differences (two batch sizes, one gradient graph)', () => {
  for (const c of fixtures) it(c.name, () => check(c));
});

describe('GELU backward', () => {
  const ops = (c: Case) => {
    return readModel(buildGradientGraph(model(c))).graph!.node!.map((n) => n.opType!);
  };
  const count = (list: string[], op: string) => list.filter((o) => o === op).length;
  it("the exported Erf form gets one fused rule: 8 element-wise backward nodes, no Erf, Neg or Div past the forward's", () => {
    for (const name of ['GELU as exported (Div, Erf, Add, Mul)', 'GELU with Mul by 1/√2 and swapped operands']) {
      const list = ops(fixtures.find((f) => f.name === name)!);
      expect(count(list, 'Erf')).toBe(1);
      expect(count(list, 'Neg')).toBe(0);
      expect(count(list, 'Exp')).toBe(1);
      // The forward graph's nodes plus 8 for GELU (6 Mul, 1 Add, 1 Exp; the per-node rules emit 10) and 3 for the head
      // (Gemm, Reshape, the output Identity).
      const forward = readModel(model(fixtures.find((f) => f.name === name)!)).graph!.node!.length;
      expect(list.length - forward).toBe(8 + 3);
      expect(count(list, 'Div')).toBe(name.includes('Div') ? 1 : 0);
    }
  });
  it('falls back to the per-node rules when an inner tensor has another reader', () => {
    const list = ops(fixtures.find((f) => f.name.startsWith('GELU whose inner Erf'))!);
    expect(count(list, 'Neg')).toBe(1); // Erf's own backward: exp(−u²)
  });
});

describe('layers of a token model', () => {
  it('the attention block lists token layers with their patch grid, and Grad-CAM defaults to the normalized tokens entering attention', async () => {
    const vit = fixtures.find((f) => f.name.startsWith('pre-norm attention block with a class token (LayerNormalization)'))!;
    const m = await loadModel(model(vit), { backend: 'node' });
    const ln = m.layers.find((l) => l.op === 'LayerNormalization')!;
    expect(ln).toMatchObject({ shape: [null, 5, 8], kind: 'tokens', grid: { prefixTokens: 1, h: 2, w: 2 } });
    expect(m.defaultCamLayer).toBe(ln.name);
    // Any float tensor can be requested, Add and Concat outputs included; the activation comes back batch-major.
    const add = m.layers.find((l) => l.op === 'Add' && l.shape.length === 3)!;
    const x = randomTensor([3, 3, 8, 8], 5);
    const r = await m.gradients(x, 1, { layers: [add.name, ln.name] });
    expect(r.layers[add.name]!.activation.dims).toEqual([3, 5, 8]);
    expect(r.layers[ln.name]!.gradient.dims).toEqual([3, 5, 8]);
    await m.dispose();
  });
});

describe('default CAM layer of a token model in the opset-13 LayerNorm form', () => {
  it('is the decomposed LayerNorm output entering the last attention', async () => {
    const vit = fixtures.find((f) => f.name.includes('opset-13 LayerNorm'))!;
    const m = await loadModel(model(vit), { backend: 'node' });
    const def = m.layers.find((l) => l.name === m.defaultCamLayer)!;
    expect(def).toMatchObject({ op: 'Add', kind: 'tokens', shape: [null, 5, 8], grid: { prefixTokens: 1, h: 2, w: 2 } });
    // It is the tensor feeding the q/k/v projections (not the residual stream before the norm).
    const g = prepareModel(model(vit)).graph;
    const readers = g.nodes.filter((n) => n.inputs.includes(def.name));
    expect(readers.map((n) => n.op)).toEqual(['MatMul', 'MatMul', 'MatMul']);
    await m.dispose();
  });
});
