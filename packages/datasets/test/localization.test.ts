import { describe, expect, it } from 'vitest';
import { Rng } from '@whitebox/core';
import { localizationBenchmark, type Dataset } from '@whitebox/datasets';

/** A small source set: 'digits' k = a filled square of side 4 + k/2 (value 200 + k) at a random place in a 10×10 tile. */
function squares(count: number, seed = 0): Dataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * 100);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const k = i % 10;
    labels[i] = k;
    const s = 4 + Math.floor(k / 2);
    const y0 = rng.int(10 - s + 1);
    const x0 = rng.int(10 - s + 1);
    for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) images[i * 100 + y * 10 + x] = 200 + k;
  }
  return { name: 'squares-test', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], count, channels: 1, height: 10, width: 10, images, labels, mean: [0.1], std: [0.3] };
}

describe('localization benchmark', () => {
  const src = squares(200);
  it('single: one object at a random place; the mask is its ink box; the label is its class', () => {
    const r = localizationBenchmark(src, { count: 50, size: 24, variant: 'single', background: 'blank', seed: 3 });
    expect(r.dataset.name).toBe('squares-loc24-single-blank-test');
    expect([r.dataset.count, r.dataset.height, r.dataset.width, r.dataset.channels]).toEqual([50, 24, 24, 1]);
    const places = new Set<string>();
    for (let n = 0; n < 50; n++) {
      const [y0, x0, y1, x1] = r.boxes.subarray(n * 8, n * 8 + 4);
      places.add(`${y0},${x0}`);
      const k = src.labels[r.sources[n * 2]!]!;
      expect(r.dataset.labels[n]).toBe(k);
      expect(r.sources[n * 2 + 1]).toBe(-1);
      expect(r.pairs[n]).toBe(0);
      // The box is exactly the pasted square: every pixel inside has the class' value, every pixel outside is 0.
      for (let y = 0; y < 24; y++) for (let x = 0; x < 24; x++) {
        const inside = y >= y0! && y < y1! && x >= x0! && x < x1!;
        expect(r.masks[n * 576 + y * 24 + x]).toBe(inside ? 1 : 0);
        expect(r.dataset.images[n * 576 + y * 24 + x]).toBe(inside ? 200 + k : 0);
      }
    }
    expect(places.size).toBeGreaterThan(30);
  });
  it('pair (CLEVR-XAI style): two objects of different classes, no overlap, the larger label decides; distractor mask disjoint', () => {
    const r = localizationBenchmark(src, { count: 60, size: 24, variant: 'pair', background: 'noise', noise: 0.2, seed: 4 });
    for (let n = 0; n < 60; n++) {
      expect(r.pairs[n]).toBe(1);
      const a = src.labels[r.sources[n * 2]!]!;
      const b = src.labels[r.sources[n * 2 + 1]!]!;
      expect(a).toBeGreaterThan(b);
      expect(r.dataset.labels[n]).toBe(a);
      let inA = 0;
      let inB = 0;
      for (let q = 0; q < 576; q++) {
        expect(r.masks[n * 576 + q]! & r.distractorMasks[n * 576 + q]!).toBe(0);
        inA += r.masks[n * 576 + q]!;
        inB += r.distractorMasks[n * 576 + q]!;
        // Background noise is at most 0.2 · 255; objects are ≥ 200.
        if (!r.masks[n * 576 + q] && !r.distractorMasks[n * 576 + q]) expect(r.dataset.images[n * 576 + q]).toBeLessThanOrEqual(51);
      }
      expect(inA).toBe((4 + Math.floor(a / 2)) ** 2);
      expect(inB).toBe((4 + Math.floor(b / 2)) ** 2);
    }
    // Class 0 cannot win a pair.
    expect(Array.from(r.dataset.labels).includes(0)).toBe(false);
  });
  it('is seeded: the same options give the same bytes, another seed other images; mixed holds both kinds', () => {
    const a = localizationBenchmark(src, { count: 40, size: 24, variant: 'mixed', background: 'mixed', seed: 9 });
    const b = localizationBenchmark(src, { count: 40, size: 24, variant: 'mixed', background: 'mixed', seed: 9 });
    const c = localizationBenchmark(src, { count: 40, size: 24, variant: 'mixed', background: 'mixed', seed: 10 });
    expect(Buffer.from(a.dataset.images).equals(Buffer.from(b.dataset.images))).toBe(true);
    expect(Buffer.from(a.masks).equals(Buffer.from(b.masks))).toBe(true);
    expect(Buffer.from(a.dataset.images).equals(Buffer.from(c.dataset.images))).toBe(false);
    const pairs = a.pairs.reduce((s, v) => s + v, 0);
    expect(pairs).toBeGreaterThan(8);
    expect(pairs).toBeLessThan(32);
  });
  it('rejects bad options with named errors', () => {
    expect(() => localizationBenchmark(src, { count: 5, size: 8 })).toThrow(/size must be an integer ≥ the source's 10×10, got 8/);
    expect(() => localizationBenchmark(src, { count: 5, variant: 'triple' as never })).toThrow(/unknown variant 'triple'/);
    expect(() => localizationBenchmark(src, { count: 5, noise: 2 })).toThrow(/noise must be in \[0, 1\]/);
    expect(() => localizationBenchmark(src, { count: 5, size: 12, variant: 'pair' })).toThrow(/cannot hold two objects/);
    const one = { ...src, count: 10, images: src.images.slice(0, 1000), labels: new Uint8Array(10) };
    expect(() => localizationBenchmark(one, { count: 5, size: 24, variant: 'pair' })).toThrow(/pairs need two classes/);
  });
});
