import { LIMITS, Tensor, WhiteBoxError, resizeBilinear } from '@whitebox/core';
import { type RgbaImage, rgbaToTensor } from './render.js';

type PngModule = {
  PNG: {
    sync: {
      write(png: { width: number; height: number; data: Uint8Array }, options?: Record<string, unknown>): Uint8Array;
      read(buffer: Uint8Array): { width: number; height: number; data: Uint8Array };
    };
  };
};

let pngjs: Promise<PngModule> | undefined;

type BufferLike = { from(b: ArrayBufferLike, offset: number, length: number): Uint8Array };

/** Node's global Buffer (pngjs needs it); in a browser, a clear error. */
function nodeBuffer(): BufferLike {
  const B = (globalThis as unknown as { Buffer?: BufferLike }).Buffer;
  if (!B) throw new WhiteBoxError('BACKEND_UNAVAILABLE', 'PNG encoding/decoding (pngjs) needs Node.js; in a browser draw the RgbaImage on a canvas instead');
  return B;
}

/** pngjs is loaded on first use, so importing this package in a browser never pulls in Node streams. */
function loadPngjs(): Promise<PngModule> {
  pngjs ??= import('pngjs').then((m) => {
    const mod = m as unknown as PngModule & { default?: PngModule };
    return mod.PNG ? mod : mod.default!;
  });
  return pngjs;
}

/** RGBA picture → PNG bytes (pngjs). */
export async function encodePng(img: RgbaImage): Promise<Uint8Array> {
  if (img.data.length !== img.width * img.height * 4) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `encodePng: ${img.width}×${img.height} RGBA needs ${img.width * img.height * 4} bytes, got ${img.data.length}`);
  }
  const { PNG } = await loadPngjs();
  const Buffer = nodeBuffer();
  const out = PNG.sync.write({ width: img.width, height: img.height, data: Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length) });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Options of `decodePng`. */
export interface DecodePngOptions {
  /** Largest width × height decoded (default LIMITS.imagePixels, 4096 × 4096); checked from the header first. */
  maxPixels?: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Width and height from a PNG's IHDR chunk, without decoding: INVALID_DATA when the bytes do not start like a PNG.
 */
export function pngSize(bytes: Uint8Array, source = 'PNG data'): { width: number; height: number } {
  if (!(bytes instanceof Uint8Array)) throw new WhiteBoxError('INVALID_ARGUMENT', `${source}: PNG data must be a Uint8Array`);
  const bad = (why: string): never => {
    throw new WhiteBoxError('INVALID_DATA', `${source} is not a readable PNG: ${why}`, { file: source });
  };
  if (bytes.length < 24) bad(`${bytes.length} bytes, too short for a PNG header`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== PNG_SIGNATURE[i]) bad('no PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) !== 'IHDR') bad('the first chunk is not IHDR');
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  if (width < 1 || height < 1) bad(`header says ${width}×${height} pixels`);
  return { width, height };
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Checks that a PNG's IDAT chunks inflate to every row its header declares (pngjs fills missing rows with zeros,
 * so a truncated file or one without image data decoded as a partly black picture): INVALID_DATA otherwise.
 */
async function checkImageData(bytes: Uint8Array, source: string, width: number, height: number): Promise<void> {
  const bad = (why: string): never => {
    throw new WhiteBoxError('INVALID_DATA', `${source} is not a readable PNG: ${why}`, { file: source });
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bitDepth = bytes[24]!;
  const colorType = bytes[25]!;
  const interlace = bytes[28]!;
  const channels = CHANNELS[colorType];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(bitDepth) || interlace > 1) return; // pngjs names these
  const parts: Uint8Array[] = [];
  let size = 0;
  for (let at = 8; at + 8 <= bytes.length;) {
    const len = view.getUint32(at, false);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (type === 'IDAT') { const p = bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + len)); parts.push(p); size += p.length; }
    if (type === 'IEND') break;
    at += 12 + len;
  }
  if (parts.length === 0) bad('no IDAT chunk (no image data)');
  const bpp = channels * bitDepth;
  const rowBytes = (w: number) => 1 + Math.ceil((w * bpp) / 8);
  let expected = 0;
  if (interlace === 0) expected = height * rowBytes(width);
  else {
    // Adam7: seven passes over sub-grids (start x, start y, step x, step y).
    for (const [sx, sy, dx, dy] of [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const) {
      const pw = Math.ceil((width - sx) / dx);
      const ph = Math.ceil((height - sy) / dy);
      if (pw > 0 && ph > 0) expected += ph * rowBytes(pw);
    }
  }
  // A variable specifier, so that browser bundlers neither resolve nor bundle node:zlib (decoding needs Node anyway).
  const zlibModule = 'node:zlib';
  const zlib = (await import(/* @vite-ignore */ zlibModule)) as typeof import('node:zlib');
  const data = new Uint8Array(size);
  let o = 0;
  for (const p of parts) { data.set(p, o); o += p.length; }
  let got: number;
  try {
    // Partial output of a truncated stream is kept (sync flush), so that the message can say how much is there.
    got = zlib.inflateSync(data, { maxOutputLength: Math.max(1, expected), finishFlush: zlib.constants.Z_SYNC_FLUSH }).length;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return; // more data than rows: pngjs ignores the rest
    return bad(`its image data is corrupt (${(err as Error).message})`);
  }
  if (got < expected) bad(`its image data holds ${got.toLocaleString('en-US')} of the ${expected.toLocaleString('en-US')} bytes that ${width}×${height} pixels need (truncated?)`);
}

/** PNG bytes → RGBA picture (any PNG color type / bit depth pngjs reads); `source` names the file in errors. */
export async function decodePng(bytes: Uint8Array, source = 'PNG data', options: DecodePngOptions = {}): Promise<RgbaImage> {
  const maxPixels = options.maxPixels ?? LIMITS.imagePixels;
  const { width, height } = pngSize(bytes, source);
  if (width * height > maxPixels) {
    throw new WhiteBoxError(
      'LIMIT_EXCEEDED',
      `${source}: the PNG is ${width.toLocaleString('en-US')}×${height.toLocaleString('en-US')} = ${(width * height).toLocaleString('en-US')} pixels, above the limit of ${maxPixels.toLocaleString('en-US')} (pass maxPixels to allow more)`,
      { file: source, width, height, limit: maxPixels },
    );
  }
  await checkImageData(bytes, source, width, height);
  const { PNG } = await loadPngjs();
  const Buffer = nodeBuffer();
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
  } catch (err) {
    throw new WhiteBoxError('INVALID_DATA', `${source} is not a readable PNG: ${(err as Error).message}`, { file: source }, { cause: err });
  }
}

/**
 * PNG bytes → a model input [1, C, H, W] in [0, 1]: grayscale (luminance) or RGB, resized
 * bilinearly to height × width when the picture has another size.
 */
export async function pngToTensor(bytes: Uint8Array, shape: { channels: number; height: number; width: number }, source?: string, options: DecodePngOptions = {}): Promise<Tensor> {
  if (shape.channels !== 1 && shape.channels !== 3) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `pngToTensor: the model takes ${shape.channels} channels; PNG inputs can feed 1 (grayscale) or 3 (RGB)`);
  }
  const img = await decodePng(bytes, source, options);
  if (img.data.length !== img.width * img.height * 4) throw new WhiteBoxError('INVALID_DATA', `${source ?? 'PNG data'}: decoded ${img.data.length} bytes for ${img.width}×${img.height} RGBA`);
  const t = rgbaToTensor(img, shape.channels);
  if (img.height === shape.height && img.width === shape.width) return t;
  return resizeBilinear(t, shape.height, shape.width);
}
