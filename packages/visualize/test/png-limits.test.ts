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

describe('PNG image data', () => {
  /** A valid PNG's chunks, with IDAT replaced by `idat` (or removed), checksums not recomputed (pngjs checks them). */
  async function withIdat(transform: (idat: Uint8Array) => Uint8Array | undefined): Promise<Uint8Array> {
    const { deflateSync } = await import('node:zlib');
    const png = await encodePng({ width: 6, height: 5, data: new Uint8Array(120).fill(90) });
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const parts: Uint8Array[] = [png.subarray(0, 8)];
    for (let at = 8; at < png.length;) {
      const len = view.getUint32(at, false);
      const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
      if (type === 'IDAT') {
        const raw = (await import('node:zlib')).inflateSync(png.subarray(at + 8, at + 8 + len));
        const t = transform(raw);
        if (t) {
          const data = deflateSync(t);
          const chunk = new Uint8Array(12 + data.length);
          new DataView(chunk.buffer).setUint32(0, data.length, false);
          chunk.set(png.subarray(at + 4, at + 8), 4);
          chunk.set(data, 8);
          // CRC over type + data.
          let c = 0xffffffff;
          for (const b of chunk.subarray(4, 8 + data.length)) { c ^= b; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; }
          new DataView(chunk.buffer).setUint32(8 + data.length, (c ^ 0xffffffff) >>> 0, false);
          parts.push(chunk);
        }
      } else {
        parts.push(png.subarray(at, at + 12 + len));
      }
      at += 12 + len;
    }
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  it('a PNG without IDAT, or whose image data stops early, is INVALID_DATA, not a partly black picture (fuzz cases data.png#10, #15)', async () => {
    expect((await decodePng(await withIdat((d) => d), 'ok.png')).width).toBe(6);
    await expect(decodePng(await withIdat(() => undefined), 'none.png')).rejects.toThrow(/none\.png is not a readable PNG: no IDAT chunk/);
    await expect(decodePng(await withIdat((d) => d.subarray(0, d.length >> 1)), 'half.png')).rejects.toThrow(/half\.png is not a readable PNG: its image data holds \d+ of the 125 bytes that 6×5 pixels need/);
  });
});
