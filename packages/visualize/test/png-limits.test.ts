// PNG input is checked from its header before decoding: a small file declaring 20000×20000 pixels is refused at once.
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, pngSize, pngToTensor } from '@whitebox/visualize';

/** A valid PNG, then its IHDR width/height rewritten (the CRC no longer matches, as in a hostile file). */
async function declaring(width: number, height: number): Promise<Uint8Array> {
  const png = await encodePng({ width: 2, height: 2, data: new Uint8Array(16).fill(200) });
  const out = png.slice();
  const view = new DataView(out.buffer);
  view.setUint32(16, width, false);
  view.setUint32(20, height, false);
  return out;
}

describe('PNG pixel limit', () => {
  it('refuses a PNG declaring 20000×20000 pixels before decoding it, and reads sizes from the header', async () => {
    const huge = await declaring(20000, 20000);
    expect(pngSize(huge)).toEqual({ width: 20000, height: 20000 });
    const t0 = performance.now();
    await expect(pngToTensor(huge, { channels: 1, height: 28, width: 28 }, 'big.png')).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: expect.stringMatching(/big\.png: the PNG is 20,000×20,000 = 400,000,000 pixels, above the limit of 16,777,216 \(pass maxPixels/),
    });
    expect(performance.now() - t0).toBeLessThan(1000);
    await expect(decodePng(await declaring(3, 3), 'x.png', { maxPixels: 8 })).rejects.toThrow(/above the limit of 8/);
  });

  it('names files that are not PNGs, truncated or corrupt', async () => {
    await expect(decodePng(new Uint8Array(10), 'a.png')).rejects.toThrow(/a\.png is not a readable PNG: 10 bytes, too short/);
    await expect(decodePng(new Uint8Array(40), 'b.png')).rejects.toThrow(/b\.png is not a readable PNG: no PNG signature/);
    await expect(decodePng(await declaring(0, 5), 'c.png')).rejects.toThrow(/header says 0×5 pixels/);
    const good = await encodePng({ width: 3, height: 2, data: new Uint8Array(24).fill(9) });
    await expect(decodePng(good.subarray(0, good.length - 20), 'd.png')).rejects.toMatchObject({ code: 'INVALID_DATA' });
    expect((await decodePng(good)).width).toBe(3);
  });
});
