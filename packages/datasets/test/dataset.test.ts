import { describe, expect, it } from 'vitest';
import { batches, channelStats, createDataset, subset, toNormalizedTensor, trainValidationSplit, validateDataset, withImages, shuffledIndices } from '../src/index.js';

function toy(n = 10) {
  const images = new Uint8Array(n * 2 * 2 * 3);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37) % 256;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
  return createDataset({ name: 'toy', classes: ['a', 'b', 'c'], channels: 2, height: 2, width: 3, images: images.subarray(0, n * 12), labels });
}

describe('Dataset utilities', () => {
  it('channelStats matches a hand computation', () => {
    // one image, 2 channels of 2 pixels: c0 = [0, 255] → mean 0.5, std 0.5; c1 = [51, 51] → mean 0.2, std 0 → 1 (fallback)
    const s = channelStats(Uint8Array.from([0, 255, 51, 51]), 1, 2, 1, 2);
    expect(s.mean[0]).toBeCloseTo(0.5, 12);
    expect(s.std[0]).toBeCloseTo(0.5, 12);
    expect(s.mean[1]).toBeCloseTo(0.2, 12);
    expect(s.std[1]).toBe(1);
  });

  it('deterministic shuffles and splits: same seed same order, disjoint and complete', () => {
    expect(Array.from(shuffledIndices(50, 4))).toEqual(Array.from(shuffledIndices(50, 4)));
    expect(Array.from(shuffledIndices(50, 4))).not.toEqual(Array.from(shuffledIndices(50, 5)));
    const ds = toy(10);
    const { train, validation } = trainValidationSplit(ds, 0.3, 1);
    expect([train.count, validation.count]).toEqual([7, 3]);
    // every image appears once across the two (images are distinct here)
    const key = (d: typeof ds, i: number) => Array.from(d.images.subarray(i * 12, i * 12 + 12)).join(',');
    const all = [...Array.from({ length: 7 }, (_, i) => key(train, i)), ...Array.from({ length: 3 }, (_, i) => key(validation, i))].sort();
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => key(ds, i)).sort());
    expect(trainValidationSplit(ds, 0.3, 1).validation.labels).toEqual(validation.labels);
  });

  it('batch iterator covers every item once per epoch, normalizes, drops the last batch on request', () => {
    const ds = toy(10);
    const seen: number[] = [];
    const sizes: number[] = [];
    for (const b of batches(ds, { batchSize: 4, shuffleSeed: 9, normalize: true })) {
      sizes.push(b.labels.length);
      seen.push(...b.indices);
      const i = b.indices[0]!;
      expect(b.labels[0]).toBe(ds.labels[i]);
      expect(b.images.data[1]).toBeCloseTo((ds.images[i * 12 + 1]! / 255 - ds.mean[0]!) / ds.std[0]!, 5);
      expect(b.images.data[6]).toBeCloseTo((ds.images[i * 12 + 6]! / 255 - ds.mean[1]!) / ds.std[1]!, 5);
    }
    expect(sizes).toEqual([4, 4, 2]);
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...batches(ds, { batchSize: 4, dropLast: true })].length).toBe(2);
    const t = toNormalizedTensor(ds, 2, 3);
    expect(t.data[7]).toBeCloseTo((ds.images[2 * 12 + 7]! / 255 - ds.mean[1]!) / ds.std[1]!, 5);
  });

  it('subset and withImages make modified copies (ROAR/KAR)', () => {
    const ds = toy(5);
    const s = subset(ds, [4, 0]);
    expect(s.count).toBe(2);
    expect(s.images.subarray(0, 12)).toEqual(ds.images.subarray(48, 60));
    expect(Array.from(s.labels)).toEqual([ds.labels[4], ds.labels[0]]);
    const f = new Float32Array(ds.images.length).fill(0.5);
    f[0] = 2;
    f[1] = -1;
    const w = withImages(ds, f);
    expect([w.images[0], w.images[1], w.images[2]]).toEqual([255, 0, 128]);
    expect(ds.images[2]).not.toBe(128);
    expect(() => withImages(ds, new Uint8Array(3))).toThrow(/needs 60 pixel values \(5 × 2 × 2 × 3\), got 3/);
    expect(() => withImages(ds, new Float32Array(60).fill(NaN))).toThrow(/pixel 0 of dataset 'toy' is NaN/);
    expect(() => subset(ds, [7])).toThrow(/index 7 \(position 0\) is outside dataset 'toy' of 5 images/);
  });

  it('validateDataset names what is inconsistent', () => {
    const ds = toy(4);
    expect(() => validateDataset({ ...ds, images: ds.images.subarray(1) })).toThrow(/dataset 'toy': images has 47 bytes but count × channels × height × width = 4 × 2 × 2 × 3 = 48/);
    expect(() => validateDataset({ ...ds, labels: Uint8Array.from([0, 1, 5, 0]) })).toThrow(/label 5 at index 2 is out of range \[0, 3\)/);
    expect(() => validateDataset({ ...ds, std: [1, 0] })).toThrow(/std values must be finite and > 0/);
    expect(() => validateDataset({ ...ds, mean: [0] })).toThrow(/mean\/std need 2 values/);
  });
});
