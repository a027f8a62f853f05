import { describe, expect, it } from 'vitest';
import { Tensor } from '@whitebox/core';
import {
  COLORMAPS, colormap, composeGrid, decodePng, encodePng, imageToRgba, luminance, mapToRgba, overlay, pngToTensor, saliencyGrid, scaleNearest,
} from '@whitebox/visualize';

describe('colormaps', () => {
  it('have the published endpoints and a white centre for the diverging map', () => {
    expect(colormap('viridis', 0)).toEqual([0x44, 0x01, 0x54]);
    expect(colormap('viridis', 1)).toEqual([0xfd, 0xe7, 0x25]);
    expect(colormap('inferno', 0)).toEqual([0, 0, 4]);
    expect(colormap('blue-white-red', 0.5)).toEqual([255, 255, 255]);
    const [r0, , b0] = colormap('blue-white-red', 0);
    const [r1, , b1] = colormap('blue-white-red', 1);
    expect(b0).toBeGreaterThan(r0);
    expect(r1).toBeGreaterThan(b1);
    expect(colormap('gray', 2)).toEqual([255, 255, 255]);
    expect(colormap('gray', NaN)).toEqual([0, 0, 0]);
  });

  it('sequential maps have luminance increasing with t; the diverging one peaks at 0.5', () => {
    for (const name of ['viridis', 'inferno', 'gray'] as const) {
      let prev = -1;
      for (let i = 0; i <= 32; i++) {
        const l = luminance(colormap(name, i / 32));
        expect(l).toBeGreaterThan(prev - 0.5);
        prev = l;
      }
    }
    const mid = luminance(colormap('blue-white-red', 0.5));
    for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) expect(luminance(colormap('blue-white-red', t))).toBeLessThan(mid);
    expect(COLORMAPS.length).toBe(4);
  });
});

describe('map → RGBA', () => {
  it('clips at percentiles so one outlier does not wash out the map', () => {
    const v = Float32Array.from({ length: 100 }, (_, i) => i / 99);
    v[99] = 1000;
    const img = mapToRgba(new Tensor(v, [1, 1, 10, 10]), { colormap: 'gray', clip: [0, 98] });
    // The 98th percentile is ≈ 0.99: pixel 50 (≈ 0.505) lands mid-gray, not near black.
    expect(img.data[50 * 4]).toBeGreaterThan(120);
    expect(img.data[50 * 4]).toBeLessThan(135);
    expect(img.data[99 * 4]).toBe(255);
    expect(img.data[0]).toBe(0);
    expect(img.data[3]).toBe(255);
  });

  it('reduces channels (abs-sum sequential, sum diverging) and keeps 0 white on the diverging map', () => {
    const m = Tensor.from([1, -1, 0, 2, /* ch 1 */ 1, -1, 0, -4], [1, 2, 2, 2]);
    const seq = mapToRgba(m, { colormap: 'gray', clip: [0, 100] });
    // abs-sum = [2, 2, 0, 6] -> [1/3, 1/3, 0, 1]
    expect([0, 1, 2, 3].map((p) => seq.data[p * 4])).toEqual([85, 85, 0, 255]);
    const div = mapToRgba(m, { colormap: 'blue-white-red', clip: [0, 100] });
    // sum = [2, −2, 0, −2] -> 0 is white, +2 red end, −2 blue end
    expect(Array.from(div.data.subarray(8, 11))).toEqual([255, 255, 255]);
    expect(Array.from(div.data.subarray(0, 3))).toEqual(colormap('blue-white-red', 1));
    expect(Array.from(div.data.subarray(4, 7))).toEqual(colormap('blue-white-red', 0));
    expect(() => mapToRgba(Tensor.zeros([2, 1, 2, 2]))).toThrow(/expects one map/);
    expect(() => mapToRgba(m, { colormap: 'jet' as never })).toThrow(/unknown colormap 'jet'/);
  });

  it('overlays with alpha and scales by nearest neighbour', () => {
    const a = imageToRgba(Tensor.from([0, 1], [1, 1, 1, 2]));
    const b = imageToRgba(Tensor.from([1, 0], [1, 1, 1, 2]));
    const o = overlay(a, b, 0.25);
    expect(o.data[0]).toBe(64);
    expect(o.data[4]).toBe(191);
    const s = scaleNearest(a, 3);
    expect([s.width, s.height]).toEqual([6, 3]);
    expect(s.data[(2 * 6 + 4) * 4]).toBe(255);
    expect(() => overlay(a, s)).toThrow(/sizes differ/);
  });
});

describe('PNG', () => {
  it('round-trips RGBA exactly and decodes to a resized model input', async () => {
    const img = { width: 3, height: 2, data: Uint8Array.from({ length: 24 }, (_, i) => (i * 37) % 256) };
    const bytes = await encodePng(img);
    expect(Array.from(bytes.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    const back = await decodePng(bytes);
    expect([back.width, back.height]).toEqual([3, 2]);
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
    // A 2×2 gray picture [0, 255; 255, 0] to a 1×4×4 input: bilinear, half-pixel centres.
    const gray = imageToRgba(Tensor.from([0, 1, 1, 0], [1, 1, 2, 2]));
    const t = await pngToTensor(await encodePng(gray), { channels: 1, height: 4, width: 4 });
    expect(t.dims).toEqual([1, 1, 4, 4]);
    expect(Array.from(t.data.subarray(0, 4)).map((v) => +v.toFixed(4))).toEqual([0, 0.25, 0.75, 1]);
    const rgb = await pngToTensor(bytes, { channels: 3, height: 2, width: 3 });
    expect(rgb.data[0]).toBeCloseTo(img.data[0]! / 255, 6);
    expect(rgb.data[6]).toBeCloseTo(img.data[1]! / 255, 6);
  });

  it('rejects non-PNG bytes with INVALID_DATA naming the file', async () => {
    await expect(decodePng(new Uint8Array([1, 2, 3, 4]), 'digit.png')).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/digit\.png is not a readable PNG/) });
    await expect(pngToTensor(new Uint8Array(8), { channels: 2, height: 1, width: 1 })).rejects.toThrow(/1 \(grayscale\) or 3 \(RGB\)/);
  });
});

describe('grids', () => {
  it('places rows = images and columns = input + methods with margins', () => {
    const images = Tensor.from([0, 0, 0, 0, 1, 1, 1, 1], [2, 1, 2, 2]);
    const maps = Tensor.from([0, 1, 2, 3, 3, 2, 1, 0], [2, 1, 2, 2]);
    const grid = saliencyGrid(images, [{ name: 'a', maps }, { name: 'b', maps, colormap: 'gray' }], { scale: 1, margin: 1 });
    expect([grid.width, grid.height]).toEqual([3 * 2 + 4, 2 * 2 + 3]);
    const px = (x: number, y: number) => Array.from(grid.data.subarray((y * grid.width + x) * 4, (y * grid.width + x) * 4 + 3));
    expect(px(0, 0)).toEqual([255, 255, 255]); // margin
    expect(px(1, 1)).toEqual([0, 0, 0]); // row 0 input (black)
    expect(px(1, 4)).toEqual([255, 255, 255]); // row 1 input (white)
    expect(px(7, 1)).toEqual([0, 0, 0]); // column b, row 0, value 0 -> black
    expect(px(8, 2)).toEqual([255, 255, 255]); // column b, row 0, value 3 -> white
    expect(() => saliencyGrid(images, [{ name: 'bad', maps: Tensor.zeros([2, 1, 3, 3]) }])).toThrow(/maps of 'bad' are \[2, 1, 3, 3\]/);
    expect(() => composeGrid([[imageToRgba(images.item(0)), scaleNearest(imageToRgba(images.item(0)), 2)]])).toThrow(/cell \(0, 1\)/);
  });
});

describe('labels', async () => {
  const { drawText, textWidth, wrapLabel, withColumnLabels } = await import('@whitebox/visualize');
  const { blankImage } = await import('@whitebox/visualize');

  it('draws 5×7 glyphs (the letter I: a centre column with serifs)', () => {
    const img = blankImage(5, 7);
    drawText(img, 'i', 0, 0);
    const dark = (x: number, y: number) => img.data[(y * 5 + x) * 4] === 0;
    expect([0, 1, 2, 3, 4].map((x) => dark(x, 0))).toEqual([false, true, true, true, false]);
    for (let y = 1; y < 6; y++) expect([0, 1, 2, 3, 4].map((x) => dark(x, y))).toEqual([false, false, true, false, false]);
    expect(textWidth('abc')).toBe(17);
    expect(textWidth('abc', 2)).toBe(34);
  });

  it('wraps long method names at separators to fit a cell', () => {
    expect(wrapLabel('integrated-gradients', 66)).toEqual(['integrated-', 'gradients']);
    expect(wrapLabel('integrated-gradients', 60)).toEqual(['integrated', '-gradients']);
    expect(wrapLabel('vargrad/guided-backprop', 100)).toEqual(['vargrad/guided-', 'backprop']);
    expect(wrapLabel('abcdefghijkl', 30)).toEqual(['abcde', 'fghij', 'kl']);
    for (const line of wrapLabel('smoothgrad-squared/guided-grad-cam', 56)) expect(textWidth(line)).toBeLessThanOrEqual(56);
  });

  it('adds a header band above the grid, one label per column', () => {
    const grid = blankImage(2 + 3 * (20 + 2), 24);
    const out = withColumnLabels(grid, ['a', 'bb', 'c'], 20, 2);
    expect(out.width).toBe(grid.width);
    expect(out.height).toBe(24 + 2 + 9);
    const darkIn = (x0: number, x1: number) => {
      let n = 0;
      for (let y = 0; y < 11; y++) for (let x = x0; x < x1; x++) if (out.data[(y * out.width + x) * 4]! < 128) n++;
      return n;
    };
    expect(darkIn(2, 22)).toBeGreaterThan(5);
    expect(darkIn(24, 44)).toBeGreaterThan(darkIn(2, 22));
  });
});
