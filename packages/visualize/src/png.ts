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
