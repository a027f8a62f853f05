import { describe, expect, it } from 'vitest';
import { RELU_RULES, Tensor, type ReluRule } from '@whitebox/core';
import { GraphBuilder, buildGradientGraph } from '@whitebox/onnx';
import { randomTensor, runModel } from './helpers.js';

/**
 * A hand-written float64 reference for x[N,1,4,4] → Conv(2×3×3, pad 1) → Relu → MaxPool 2×2 → Flatten →
 * Gemm(8→5) → Relu → Gemm(5→3), with the three ReLU backward rules and first-max MaxPool routing.
 */
function reference(x: Float32Array, n: number, W: Float32Array, B: Float32Array, F1: Float32Array, b1: Float32Array, F2: Float32Array, b2: Float32Array, cot: Float32Array, rule: ReluRule): Float64Array {
  const relu = (g: number, xin: number) => (rule === 'gradient' ? (xin > 0 ? g : 0) : rule === 'deconvnet' ? Math.max(g, 0) : xin > 0 && g > 0 ? g : 0);
  const out = new Float64Array(n * 16);
  for (let s = 0; s < n; s++) {
    const conv = new Float64Array(2 * 16);
    for (let c = 0; c < 2; c++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
      let v = B[c]!;
      for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
        const ii = i + di;
        const jj = j + dj;
        if (ii >= 0 && ii < 4 && jj >= 0 && jj < 4) v += W[c * 9 + (di + 1) * 3 + (dj + 1)]! * x[s * 16 + ii * 4 + jj]!;
      }
      conv[c * 16 + i * 4 + j] = v;
    }
    const r = conv.map((v) => Math.max(v, 0));
    const pooled = new Float64Array(8);
    const argmax = new Int32Array(8);
    for (let c = 0; c < 2; c++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      let best = -Infinity;
      let at = 0;
      for (const [a, b] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
        const idx = c * 16 + (2 * i + a) * 4 + (2 * j + b);
        if (r[idx]! > best) { best = r[idx]!; at = idx; }
      }
      pooled[c * 4 + i * 2 + j] = best;
      argmax[c * 4 + i * 2 + j] = at;
    }
    const h = new Float64Array(5);
    for (let k = 0; k < 5; k++) { let v = b1[k]!; for (let q = 0; q < 8; q++) v += F1[k * 8 + q]! * pooled[q]!; h[k] = v; }
    // Backward.
    const gr = new Float64Array(5);
    for (let k = 0; k < 5; k++) for (let o = 0; o < 3; o++) gr[k] += cot[s * 3 + o]! * F2[o * 5 + k]!;
    const gh = gr.map((g, k) => relu(g, h[k]!));
    const gp = new Float64Array(8);
    for (let q = 0; q < 8; q++) for (let k = 0; k < 5; k++) gp[q] += gh[k]! * F1[k * 8 + q]!;
    const gRelu = new Float64Array(32);
    for (let q = 0; q < 8; q++) gRelu[argmax[q]!] += gp[q]!;
    const gConv = gRelu.map((g, i) => relu(g, conv[i]!));
    for (let c = 0; c < 2; c++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
      const g = gConv[c * 16 + i * 4 + j]!;
      for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
        const ii = i + di;
        const jj = j + dj;
        if (ii >= 0 && ii < 4 && jj >= 0 && jj < 4) out[s * 16 + ii * 4 + jj] += g * W[c * 9 + (di + 1) * 3 + (dj + 1)]!;
      }
    }
  }
  return out;
}

describe('ReLU backward rules against a hand-written reference', () => {
  const W = randomTensor([2, 1, 3, 3], 11);
  // Channel 1 has a large negative bias: its ReLU output is all zeros, so every pooling window ties at 0.
  const B = Tensor.from([0.1, -50], [2]);
  const F1 = randomTensor([5, 8], 12);
  const b1 = randomTensor([5], 13, -0.2, 0.2);
  const F2 = randomTensor([3, 5], 14);
  const b2 = randomTensor([3], 15);
  const b = new GraphBuilder('rules');
  b.input('x', ['N', 1, 4, 4]);
  for (const [k, t] of Object.entries({ W, B, F1, b1, F2, b2 })) b.initializer(k, t);
  b.node('Conv', ['x', 'W', 'B'], ['conv'], { pads: [1, 1, 1, 1] });
  b.node('Relu', ['conv'], ['r1']);
  b.node('MaxPool', ['r1'], ['pool'], { kernel_shape: [2, 2], strides: [2, 2] });
  b.node('Flatten', ['pool'], ['flat']);
  b.node('Gemm', ['flat', 'F1', 'b1'], ['h'], { transB: 1 });
  b.node('Relu', ['h'], ['r2']);
  b.node('Gemm', ['r2', 'F2', 'b2'], ['logits'], { transB: 1 });
  b.output('logits', ['N', 3]);
  const m = b.toModelBytes();
  const n = 6;
  const x = randomTensor([n, 1, 4, 4], 21);
  // Two blank images: every conv output equals its bias, so each pooling window ties at a positive value (channel 0).
  x.data.fill(0, 4 * 16);
  const cot = randomTensor([n, 3], 22);

  for (const rule of RELU_RULES) {
    for (const maxPoolBackward of ['auto', 'indices'] as const) {
      it(`${rule} (MaxPool backward: ${maxPoolBackward})`, async () => {
        const g = await runModel(buildGradientGraph(m, { rule, maxPoolBackward }), { x, cotangent: cot });
        const ref = reference(x.data, n, W.data, B.data, F1.data, b1.data, F2.data, b2.data, cot.data, rule);
        let maxAbs = 0;
        let maxRef = 0;
        for (let i = 0; i < ref.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(g.input_grad!.data[i]! - ref[i]!));
          maxRef = Math.max(maxRef, Math.abs(ref[i]!));
        }
        expect(maxRef).toBeGreaterThan(0.01);
        expect(maxAbs).toBeLessThan(1e-5 * Math.max(1, maxRef));
      });
    }
  }

  it("'mask' MaxPool backward is the approximation that lets tied maxima share the gradient", async () => {
    const exact = await runModel(buildGradientGraph(m, { maxPoolBackward: 'auto' }), { x, cotangent: cot });
    const mask = await runModel(buildGradientGraph(m, { maxPoolBackward: 'mask' }), { x, cotangent: cot });
    const d = exact.input_grad!.data;
    const a = mask.input_grad!.data;
    // Identical on the random images (no ties), different on the blank ones.
    for (let i = 0; i < 4 * 16; i++) expect(Math.abs(a[i]! - d[i]!)).toBeLessThan(1e-6);
    let diff = 0;
    for (let i = 4 * 16; i < 6 * 16; i++) diff += Math.abs(a[i]! - d[i]!);
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('the three rules give different maps on this network', async () => {
    const maps = await Promise.all(RELU_RULES.map(async (rule) => (await runModel(buildGradientGraph(m, { rule }), { x, cotangent: cot })).input_grad!.data));
    const diff = (a: Float32Array, c: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - c[i]!), 0);
    expect(diff(maps[0]!, maps[1]!)).toBeGreaterThan(1e-3);
    expect(diff(maps[0]!, maps[2]!)).toBeGreaterThan(1e-3);
    expect(diff(maps[1]!, maps[2]!)).toBeGreaterThan(1e-3);
  });
});

describe('MaxPool backward: first maximum of each window, hand-computed', () => {
  // x [2, 3, H, W] with values in {-1, 0, 1} (many ties, negatives) → MaxPool k×k stride k → Flatten → Gemm → 4 outputs.
  // The reference routes each pooled gradient to the first maximum of its window in raster order (MaxPool's Indices).
  for (const [k, h, w] of [[2, 6, 6], [2, 5, 7], [3, 7, 8]] as const) {
    it(`${k}×${k} windows on ${h}×${w}`, async () => {
      const [n, c, ho, wo] = [2, 3, Math.floor(h / k), Math.floor(w / k)];
      const flat = c * ho * wo;
      const b = new GraphBuilder('pool');
      b.input('x', ['N', c, h, w]);
      const W = randomTensor([4, flat], 5);
      b.initializer('W', W);
      b.node('MaxPool', ['x'], ['p'], { kernel_shape: [k, k], strides: [k, k] });
      b.node('Flatten', ['p'], ['f'], { axis: 1 });
      b.node('Gemm', ['f', 'W'], ['y'], { transB: 1 });
      b.output('y', ['N', 4]);
      const model = b.toModelBytes({ opset: 17 });
      const x = randomTensor([n, c, h, w], 11);
      for (let i = 0; i < x.size; i++) x.data[i] = Math.round(x.data[i]! * 1.4);
      const cot = randomTensor([n, 4], 12);
      const expected = new Float32Array(x.size);
      for (let s = 0; s < n; s++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
        let best = -Infinity;
        let at = -1;
        for (let a = 0; a < k; a++) for (let bb = 0; bb < k; bb++) {
          const pos = ((s * c + ch) * h + i * k + a) * w + j * k + bb;
          if (x.data[pos]! > best) { best = x.data[pos]!; at = pos; }
        }
        const f = (ch * ho + i) * wo + j;
        let gp = 0;
        for (let o = 0; o < 4; o++) gp += cot.data[s * 4 + o]! * W.data[o * flat + f]!;
        expected[at] += gp;
      }
      const g = await runModel(buildGradientGraph(model), { x, cotangent: cot });
      const got = g.input_grad!.data;
      for (let i = 0; i < x.size; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
      let ties = 0;
      for (let i = 0; i < x.size; i++) if (x.data[i] === 1) ties++;
      expect(ties).toBeGreaterThan(x.size / 8);
    });
  }
});
