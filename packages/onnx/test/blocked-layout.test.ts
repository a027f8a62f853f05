import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '@whitebox/backend-node';
import { RELU_RULES, Tensor } from '@whitebox/core';
import { GraphBuilder, buildGradientGraph, readModel } from '@whitebox/onnx';
import { model, one, type Case, type W } from './opcase.js';
import { finiteDifferences, maskedRelError, randomTensor } from './helpers.js';

/**
 * GradientGraphOptions.blockedLayout: the backward written in ops ONNX Runtime's NCHWc transformer keeps blocked
 * (ReLU mask as 1 − Relu(1 − 2¹²⁷·y), GlobalAveragePool's backward as a spreading depthwise Conv, an identity depthwise
 * Conv after each ConvTranspose). Same gradients as the plain graph, at every level, and fewer layout reorders.
 */

function conv(b: GraphBuilder, x: string, w: W, cin: number, cout: number, k: number, stride: number): string {
  const pad = (k - 1) / 2;
  return one(b, 'Conv', [x, w([cout, cin, k, k], Math.sqrt(2 / (cin * k * k))), w([cout], 0.1)], { pads: [pad, pad, pad, pad], strides: [stride, stride] });
}

/** A ResNet-style net: stem, a stride-2 bottleneck with a 1×1 stride-2 shortcut, an identity block, GAP. */
const resnetLike: Case = {
  name: 'residual convnet with stride-2 shortcut and GlobalAveragePool',
  dims: [2, 3, 6, 6],
  rules: true,
  pw: true,
  body: (b, x, w) => {
    const s = one(b, 'Relu', [conv(b, x, w, 3, 16, 3, 1)]);
    const a = one(b, 'Relu', [conv(b, s, w, 16, 32, 3, 2)]);
    const r1 = one(b, 'Relu', [one(b, 'Add', [conv(b, a, w, 32, 32, 3, 1), conv(b, s, w, 16, 32, 1, 2)])]);
    const r2 = one(b, 'Relu', [one(b, 'Add', [conv(b, one(b, 'Relu', [conv(b, r1, w, 32, 32, 3, 1)]), w, 32, 32, 3, 1), r1])]);
    return one(b, 'GlobalAveragePool', [r2]);
  },
};

async function run(bytes: Uint8Array, feeds: Record<string, Tensor>, level: 'disabled' | 'all', profile?: string): Promise<{ grad: Float32Array; reorders: number }> {
  const s = await nodeBackend.createSession(bytes, { threads: 1, graphOptimizationLevel: level, ...(profile ? { enableProfiling: true, profileFilePrefix: profile } : {}) });
  try {
    const out = (await s.run(feeds)) as Record<string, Tensor>;
    let reorders = 0;
    if (profile) {
      const file = s.endProfiling!()!;
      const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; args?: { op_name?: string } }[];
      reorders = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && /^Reorder(Input|Output)$/.test(e.args?.op_name ?? '')).length;
      rmSync(file, { force: true });
    }
    return { grad: out.input_grad!.data as Float32Array, reorders };
  } finally {
    await s.release();
  }
}

describe('blocked-layout backward (ONNX Runtime NCHWc)', () => {
  const m = model(resnetLike);
  const x = randomTensor(resnetLike.dims, 5, 0, 1);
  const cot = randomTensor([2, 3], 17);
  const feeds = { x, cotangent: cot };

  it('emits the mask as two BatchNormalizations and no Less/Cast, GAP backward as a Conv, ConvTranspose followed by a Conv', () => {
    const ops = (bytes: Uint8Array) => readModel(bytes).graph!.node!.map((n) => n.opType!);
    const plain = ops(buildGradientGraph(m));
    const blocked = ops(buildGradientGraph(m, { blockedLayout: true }));
    const count = (o: string[], op: string) => o.filter((t) => t === op).length;
    expect(count(plain, 'Less')).toBe(5);
    expect(count(blocked, 'Less')).toBe(0);
    expect(count(blocked, 'Cast')).toBe(0);
    expect(count(blocked, 'BatchNormalization')).toBe(2 * 5);
    expect(count(plain, 'Expand')).toBe(1);
    expect(count(blocked, 'Expand')).toBe(0);
    // Three ConvTransposes (the 3-channel stem and both stride-2 convs); the two with 16 input channels get an identity
    // Conv after them, and GAP's backward is one more Conv.
    expect(count(plain, 'ConvTranspose')).toBe(3);
    expect(count(blocked, 'ConvTranspose')).toBe(3);
    expect(count(blocked, 'Conv') - count(plain, 'Conv')).toBe(1 + 2);
  });

  it('keeps the Expand for a GlobalAveragePool over more than 64 pixels (a squeeze-excitation pool at 9×9)', () => {
    const b = new GraphBuilder('gap_9x9');
    b.input('x', ['N', 16, 9, 9]);
    const [p] = b.node('GlobalAveragePool', [b.node('Relu', ['x'], 1)[0]!], 1);
    const [f] = b.node('Flatten', [p!], 1, { axis: 1 });
    const [out] = b.node('Gemm', [f!, b.initializer('w', randomTensor([3, 16], 3))], ['logits'], { transB: 1 });
    b.output(out!, ['N', 3]);
    const ops = readModel(buildGradientGraph(b.toModelBytes({ opset: 17 }), { blockedLayout: true })).graph!.node!.map((n) => n.opType!);
    expect(ops.filter((t) => t === 'Expand')).toHaveLength(1);
    expect(ops.filter((t) => t === 'Conv')).toHaveLength(0);
  });

  it('matches central finite differences and the plain graph under every rule, at levels all and disabled', async () => {
    const fd = await finiteDifferences(m, 'x', x, cot, 1e-2);
    for (const rule of RELU_RULES) {
      const plain = await run(buildGradientGraph(m, { rule }), feeds, 'disabled');
      for (const level of ['all', 'disabled'] as const) {
        const blocked = await run(buildGradientGraph(m, { rule, blockedLayout: true }), feeds, level);
        expect(maskedRelError(blocked.grad, plain.grad).err, `${rule} at ${level}`).toBeLessThan(1e-5);
      }
      if (rule === 'gradient') {
        const { err, kept } = maskedRelError(plain.grad, fd.grad, fd.smooth);
        expect(kept).toBeGreaterThan(0.6);
        expect(err).toBeLessThan(1e-3);
      }
    }
  });

  it('runs with fewer NCHW/NCHWc reorders at level all', async () => {
    const prefix = join(tmpdir(), `wb-blocked-${process.pid}`);
    const plain = await run(buildGradientGraph(m), feeds, 'all', `${prefix}-plain`);
    const blocked = await run(buildGradientGraph(m, { blockedLayout: true }), feeds, 'all', `${prefix}-blocked`);
    // No reorders at all means this CPU has no NCHWc kernels (MLAS block size 1): nothing to compare.
    if (plain.reorders > 0) expect(blocked.reorders).toBeLessThan(plain.reorders);
  });

  it('the mask is exactly [y > 0] for zeros, negatives, the smallest normal, subnormals down to 2⁻¹²⁷ and huge values', async () => {
    const vals = [0, -0, -1, 2 ** -126, 1e-38, 2 ** -127, 1e-30, 1, 3e38, 0.5, -2e-38, 1e-45];
    const c = 16;
    const b = new GraphBuilder('relu_mask');
    b.input('x', ['N', c, 1, vals.length]);
    // An identity 1×1 conv first (exact: one product by 1, the rest by 0), so that at level 'all' y is an NCHWc
    // conv's fused-Relu output and the mask runs through the blocked depthwise convs, as in a ResNet.
    const id = new Float32Array(c * c);
    for (let i = 0; i < c; i++) id[i * c + i] = 1;
    const [z] = b.node('Conv', ['x', b.initializer('id', new Tensor(id, [c, c, 1, 1]))], 1, { kernel_shape: [1, 1] });
    const [y] = b.node('Relu', [z!], 1);
    const [f] = b.node('Flatten', [y!], 1, { axis: 1 });
    const eye = new Float32Array(c * vals.length * c * vals.length);
    for (let i = 0; i < c * vals.length; i++) eye[i * c * vals.length + i] = 1;
    const [out] = b.node('Gemm', [f!, b.initializer('eye', new Tensor(eye, [c * vals.length, c * vals.length]))], ['logits'], { transB: 1 });
    b.output(out!, ['N', c * vals.length]);
    const bytes = b.toModelBytes({ opset: 17 });
    const xin = new Tensor(Float32Array.from({ length: c * vals.length }, (_, i) => vals[i % vals.length]!), [1, c, 1, vals.length]);
    const cotangent = new Tensor(new Float32Array(c * vals.length).fill(3), [1, c * vals.length]);
    const g = await run(buildGradientGraph(bytes, { blockedLayout: true }), { x: xin, cotangent }, 'all');
    // 1e-45 (the smallest subnormal, below 2⁻¹²⁷) is the documented exception: its mask is 2¹²⁷·1e-45 ≈ 2.4e-7.
    const want = Array.from(xin.data, (v) => (v > 0 ? 3 : 0));
    const got = Array.from(g.grad);
    for (let i = 0; i < got.length; i++) {
      if (xin.data[i] === 1e-45 || Math.fround(1e-45) === xin.data[i]) expect(got[i]).toBeLessThan(1e-5);
      else expect(got[i], `x = ${xin.data[i]}`).toBe(want[i]);
    }
  });
});
