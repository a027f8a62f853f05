import { describe, expect, it } from 'vitest';
import {
  Rng, Tensor, WhiteBoxError, concatBatch, mapBatches, minMaxScale, percentile, reduceChannels, registerBackend,
  resizeBilinear, resolveBackend, targetsToCotangent,
} from '@whitebox/core';

describe('Tensor', () => {
  it('checks dims against data length', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(/5 elements but dims \[2, 3\] need 6/);
  });
  it('slices batch items as views and concatenates', () => {
    const t = Tensor.from([1, 2, 3, 4, 5, 6], [3, 2]);
    const s = t.slice(1, 3);
    expect(Array.from(s.data)).toEqual([3, 4, 5, 6]);
    s.data[0] = 9;
    expect(t.data[2]).toBe(9);
    expect(Array.from(concatBatch([t.slice(0, 1), t.slice(2, 3)]).data)).toEqual([1, 2, 5, 6]);
  });
});

describe('Rng', () => {
  it('is deterministic per seed and has unit-variance normals', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    expect(a.next()).toBe(b.next());
    const r = new Rng(1);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });
});

describe('targets', () => {
  it('builds one-hot cotangents and rejects out-of-range targets', () => {
    const c = targetsToCotangent([2, 0], 2, 3);
    expect(Array.from(c.data)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(() => targetsToCotangent([3, 0], 2, 3)).toThrow(/target 3 for sample 0 is out of range: the model has 3 classes/);
    expect(() => targetsToCotangent([1], 2, 3)).toThrow(/1 targets for a batch of 2/);
  });
});

describe('postprocess', () => {
  it('reduces channels, scales and takes percentiles', () => {
    const m = Tensor.from([1, -2, 3, -4, 5, 6, -7, 8], [1, 2, 2, 2]);
    expect(Array.from(reduceChannels(m, 'abs-sum').data)).toEqual([6, 8, 10, 12]);
    expect(Array.from(reduceChannels(m, 'sum').data)).toEqual([6, 4, -4, 4]);
    expect(Array.from(minMaxScale(Tensor.from([2, 4, 6], [1, 3])).data)).toEqual([0, 0.5, 1]);
    expect(percentile([1, 2, 3, 4, 5], 50)).toBe(3);
    expect(percentile([0, 10], 25)).toBe(2.5);
  });
  it('resizes bilinearly with half-pixel centers', () => {
    const t = Tensor.from([0, 1, 2, 3], [1, 1, 2, 2]);
    const r = resizeBilinear(t, 4, 4);
    // PyTorch F.interpolate(align_corners=False) reference row 0: [0, 0.25, 0.75, 1]
    expect(Array.from(r.data.subarray(0, 4))).toEqual([0, 0.25, 0.75, 1]);
    expect(r.data[15]).toBe(3);
  });
});

describe('batching', () => {
  it('maps over chunks in order and reports progress', async () => {
    const t = Tensor.from([0, 1, 2, 3, 4], [5, 1]);
    const seen: number[] = [];
    const out = await mapBatches(t, 2, async (c) => c.map((v) => v * 10), (p) => seen.push(p.done));
    expect(Array.from(out.data)).toEqual([0, 10, 20, 30, 40]);
    expect(seen).toEqual([0, 2, 4, 5]);
  });
});

describe('backend registry', () => {
  it('names the package to install for a missing backend', () => {
    expect(() => resolveBackend({ backend: 'web' })).toThrow(/install @whitebox\/backend-web/);
    registerBackend({ name: 'node', devices: ['cpu'], createSession: async () => { throw new Error('x'); } });
    expect(resolveBackend({ device: 'cpu' }).name).toBe('node');
    expect(() => resolveBackend({ backend: 'node', device: 'webgpu' })).toThrow(WhiteBoxError);
  });
});
