// Input images: bundled samples, uploads and drawings -> CHW float32 pixels in [0, 1] at the model's size.
import { Tensor, resizeBilinear } from '@whitebox/core';

export interface SampleSet {
  dataset: string;
  classes: string[];
  channels: number;
  height: number;
  width: number;
  images: { label: number; index: number; pixels: string }[];
}

export interface InputImage {
  pixels: Float32Array;
  /** What it is: 'sample 7 (MNIST test #0)', 'drawing', 'upload photo.png'. */
  source: string;
  label?: number;
  /** Index in the bundled sample set, when it is one. */
  sample?: number;
  note?: string;
}

export class InputError extends Error {}

/** Limits for uploads: bigger files are refused with a message, not decoded. */
export const MAX_UPLOAD_BYTES = 20 * 2 ** 20;
export const MAX_UPLOAD_PIXELS = 40e6;

export function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Converts CHW [0, 1] pixels between channel counts (gray <-> RGB) and sizes (bilinear). */
export function adaptPixels(pixels: Float32Array, c: number, h: number, w: number, toC: number, toH: number, toW: number): Float32Array {
  let t = new Tensor(pixels, [1, c, h, w]);
  if (c !== toC) {
    const hw = h * w;
    const out = new Float32Array(toC * hw);
    for (let p = 0; p < hw; p++) {
      const g = c === 3 ? 0.299 * pixels[p]! + 0.587 * pixels[hw + p]! + 0.114 * pixels[2 * hw + p]! : pixels[p]!;
      for (let k = 0; k < toC; k++) out[k * hw + p] = toC === c ? pixels[k * hw + p]! : g;
    }
    t = new Tensor(out, [1, toC, h, w]);
  }
  if (h !== toH || w !== toW) t = resizeBilinear(t, toH, toW);
  return t.data;
}

export function samplePixels(set: SampleSet, i: number, toC: number, toH: number, toW: number): Float32Array {
  const bytes = decodeBase64(set.images[i]!.pixels);
  const px = Float32Array.from(bytes, (b) => b / 255);
  return adaptPixels(px, set.channels, set.height, set.width, toC, toH, toW);
}

/** RGBA canvas bytes -> CHW [0, 1] (1 channel: luminance). */
export function rgbaToPixels(rgba: Uint8ClampedArray, channels: number, height: number, width: number): Float32Array {
  const hw = height * width;
  const out = new Float32Array(channels * hw);
  for (let p = 0; p < hw; p++) {
    const r = rgba[p * 4]! / 255;
    const g = rgba[p * 4 + 1]! / 255;
    const b = rgba[p * 4 + 2]! / 255;
    if (channels === 1) out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else {
      out[p] = r;
      out[hw + p] = g;
      out[2 * hw + p] = b;
    }
  }
  return out;
}

/**
 * MNIST-style digit framing of a gray [0, 1] image (white ink on black): the ink's bounding box is
 * scaled to fit 20×20 (of 28×28, proportionally for other sizes) and centred on its centre of mass.
 */
export function frameDigit(gray: Float32Array, h: number, w: number, outH: number, outW: number): Float32Array {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (gray[y * w + x]! > 0.1) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return adaptPixels(gray, 1, h, w, 1, outH, outW); // blank: just resize
  const box = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const inner = Math.round((20 / 28) * Math.min(outH, outW));
  const scale = inner / box;
  const out = new Float32Array(outH * outW);
  // Centre of mass of the ink, in source coordinates.
  let m = 0, cx = 0, cy = 0;
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) { const v = gray[y * w + x]!; m += v; cx += v * x; cy += v * y; }
  cx /= m; cy /= m;
  // Area-average sampling of the source under each output pixel (the scale is < 1 for canvas drawings).
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const sx0 = cx + (ox - outW / 2) / scale;
      const sy0 = cy + (oy - outH / 2) / scale;
      const step = 1 / scale;
      let acc = 0, n = 0;
      const k = Math.max(1, Math.round(step));
      for (let j = 0; j < k; j++) {
        for (let i = 0; i < k; i++) {
          const sx = Math.floor(sx0 + (i + 0.5) * (step / k));
          const sy = Math.floor(sy0 + (j + 0.5) * (step / k));
          if (sx >= 0 && sx < w && sy >= 0 && sy < h) acc += gray[sy * w + sx]!;
          n++;
        }
      }
      out[oy * outW + ox] = Math.min(1, acc / n);
    }
  }
  return out;
}

/** Decodes an uploaded image file and fits it (centre crop to the model's aspect) at the model's size. */
export async function imageFileToPixels(file: File, channels: number, height: number, width: number, digitLike: boolean): Promise<InputImage> {
  const mb = (file.size / 2 ** 20).toFixed(1);
  if (file.size > MAX_UPLOAD_BYTES) {
    throw new InputError(`${file.name} is ${mb} MB: images up to ${MAX_UPLOAD_BYTES / 2 ** 20} MB are accepted`);
  }
  if (file.size === 0) throw new InputError(`${file.name} is empty`);
  const notImage = () => new InputError(`${file.name} is not an image this browser can decode (type ${file.type || 'unknown'}, ${mb} MB): use a PNG, JPEG, GIF or WebP`);
  // Read the dimensions first (the browser parses the header without decoding every pixel).
  const url = URL.createObjectURL(file);
  try {
    const img = await new Promise<HTMLImageElement>((ok, fail) => {
      const el = new Image();
      el.onload = () => ok(el);
      el.onerror = () => fail(notImage());
      el.src = url;
    });
    const iw = img.naturalWidth, ih = img.naturalHeight;
    if (iw * ih > MAX_UPLOAD_PIXELS) {
      throw new InputError(`${file.name} is ${iw}×${ih} pixels: images up to ${MAX_UPLOAD_PIXELS / 1e6} megapixels are accepted`);
    }
    if (iw === 0 || ih === 0) throw new InputError(`${file.name} has no pixel size (an SVG without width/height?): use a PNG, JPEG, GIF or WebP`);
    await img.decode().catch(() => {
      throw notImage();
    });
    // Centre crop to the model's aspect ratio, then draw at a working size.
    const aspect = width / height;
    let sw = iw, sh = ih;
    if (sw / sh > aspect) sw = Math.round(sh * aspect); else sh = Math.round(sw / aspect);
    const sx = Math.floor((iw - sw) / 2), sy = Math.floor((ih - sh) / 2);
    const work = digitLike ? 4 : 1; // digits: draw larger, then frame like MNIST
    const cw = width * work, ch = height * work;
    const canvas = new OffscreenCanvas(cw, ch);
    const ctx = canvas.getContext('2d')!;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, cw, ch); // transparent PNGs: white background
    ctx.drawImage(img, sx, sy, sw, sh, 0, 0, cw, ch);
    const rgba = ctx.getImageData(0, 0, cw, ch).data;
    if (!digitLike) return { pixels: rgbaToPixels(rgba, channels, height, width), source: `upload ${file.name}` };
    let gray = rgbaToPixels(rgba, 1, ch, cw);
    let note = '';
    const mean = gray.reduce((a, b) => a + b, 0) / gray.length;
    if (mean > 0.5) {
      gray = gray.map((v) => 1 - v);
      note = 'inverted to white ink on black, as MNIST digits are';
    }
    const framed = frameDigit(gray, ch, cw, height, width);
    return { pixels: adaptPixels(framed, 1, height, width, channels, height, width), source: `upload ${file.name}`, note };
  } finally {
    URL.revokeObjectURL(url);
  }
}
