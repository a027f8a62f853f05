import { type ChannelReduction, Tensor, WhiteBoxError, percentile, reduceChannels } from '@whitebox/core';
import { type ColormapName, COLORMAPS, LUT_SIZE, colormapLut, isDiverging } from './colormaps.js';

/** An 8-bit RGBA picture, row-major. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An RGBA image of one colour (default opaque white). */
export function blankImage(width: number, height: number, rgba: readonly [number, number, number, number] = [255, 255, 255, 255]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set(rgba, i * 4);
  return { width, height, data };
}

/** Options of `mapToRgba`: colormap, channel reduction and percentile clipping. */
export interface MapToRgbaOptions {
  /** Default 'inferno' (sequential); 'blue-white-red' shows signed maps around 0. */
  colormap?: ColormapName;
  /** How channels collapse: default 'abs-sum' for sequential maps, 'sum' for diverging ones. */
  reduce?: ChannelReduction;
  /**
   * Percentiles [lo, hi] to clip at before scaling. Sequential default [0, 99.5];
   * diverging maps clip |v| at the hi percentile (default 99.5) symmetrically around 0.
   */
  clip?: readonly [number, number];
}

/** One item as [C, H, W] data from an [1, C, H, W], [C, H, W] or [H, W] tensor. */
function itemPlanes(map: Tensor, what: string): Tensor {
  if (map.rank === 2) return map.reshape([1, 1, map.dims[0]!, map.dims[1]!]);
  if (map.rank === 3) return map.reshape([1, ...map.dims]);
  if (map.rank === 4 && map.dims[0] === 1) return map;
  throw new WhiteBoxError('SHAPE_MISMATCH', `${what} expects one map ([1, C, H, W], [C, H, W] or [H, W]), got [${map.dims.join(', ')}]`, { shape: map.dims });
}

/**
 * A saliency map (one item) to an RGBA picture: channel reduction, percentile clipping, scaling
 * ([0, 1] sequential; [−m, m] → [0, 1] diverging, with 0 at the middle color) and a colormap.
 */
export function mapToRgba(map: Tensor, options: MapToRgbaOptions = {}): RgbaImage {
  const name = options.colormap ?? 'inferno';
  if (!COLORMAPS.includes(name)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown colormap '${name}' (known: ${COLORMAPS.join(', ')})`);
  const diverging = isDiverging(name);
  const item = itemPlanes(map, 'mapToRgba');
  const plane = reduceChannels(item, options.reduce ?? (diverging ? 'sum' : 'abs-sum'));
  const [, , h, w] = plane.dims as [number, number, number, number];
  const v = plane.data;
  const [lo, hi] = options.clip ?? [0, 99.5];
  const t = new Float32Array(v.length);
  if (diverging) {
    const m = percentile(Float32Array.from(v, Math.abs), hi);
    for (let i = 0; i < v.length; i++) t[i] = m > 0 ? 0.5 + 0.5 * Math.max(-1, Math.min(1, v[i]! / m)) : 0.5;
  } else {
    const a = percentile(v, lo);
    const z = percentile(v, hi);
    for (let i = 0; i < v.length; i++) t[i] = z > a ? (Math.min(z, Math.max(a, v[i]!)) - a) / (z - a) : 0;
  }
  const lut = colormapLut(name);
  const data = new Uint8Array(h * w * 4);
  for (let i = 0; i < t.length; i++) {
    const k = Number.isFinite(t[i]!) ? Math.round(t[i]! * (LUT_SIZE - 1)) : 0;
    data[i * 4] = lut[k * 3]!;
    data[i * 4 + 1] = lut[k * 3 + 1]!;
    data[i * 4 + 2] = lut[k * 3 + 2]!;
    data[i * 4 + 3] = 255;
  }
  return { width: w, height: h, data };
}

/** An input image (one item, pixels in [0, 1], 1 or 3 channels) to RGBA. */
export function imageToRgba(image: Tensor): RgbaImage {
  const item = itemPlanes(image, 'imageToRgba');
  const [, c, h, w] = item.dims as [number, number, number, number];
  if (c !== 1 && c !== 3) throw new WhiteBoxError('SHAPE_MISMATCH', `imageToRgba expects 1 or 3 channels, got ${c} ([${image.dims.join(', ')}])`);
  const hw = h * w;
  const data = new Uint8Array(hw * 4);
  const px = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  for (let p = 0; p < hw; p++) {
    for (let k = 0; k < 3; k++) data[p * 4 + k] = px(item.data[(c === 1 ? 0 : k) * hw + p]!);
    data[p * 4 + 3] = 255;
  }
  return { width: w, height: h, data };
}

/** RGBA picture to a [1, C, H, W] tensor in [0, 1]; C = 1 uses luminance (Rec. 601, like PIL's 'L'). */
export function rgbaToTensor(img: RgbaImage, channels: 1 | 3 = 3): Tensor {
  const hw = img.width * img.height;
  const out = new Float32Array(channels * hw);
  for (let p = 0; p < hw; p++) {
    const r = img.data[p * 4]!;
    const g = img.data[p * 4 + 1]!;
    const b = img.data[p * 4 + 2]!;
    if (channels === 1) out[p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    else {
      out[p] = r / 255;
      out[hw + p] = g / 255;
      out[2 * hw + p] = b / 255;
    }
  }
  return new Tensor(out, [1, channels, img.height, img.width]);
}

/** Alpha-blends `top` over `base` (same size): out = (1 − α)·base + α·top. */
export function overlay(base: RgbaImage, top: RgbaImage, alpha = 0.5): RgbaImage {
  if (base.width !== top.width || base.height !== top.height) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `overlay: sizes differ (${base.width}×${base.height} vs ${top.width}×${top.height})`);
  }
  if (!(alpha >= 0 && alpha <= 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `overlay: alpha must be in [0, 1], got ${alpha}`);
  const data = new Uint8Array(base.data.length);
  for (let i = 0; i < data.length; i += 4) {
    for (let k = 0; k < 3; k++) data[i + k] = Math.round((1 - alpha) * base.data[i + k]! + alpha * top.data[i + k]!);
    data[i + 3] = 255;
  }
  return { width: base.width, height: base.height, data };
}

/** Nearest-neighbour upscaling by an integer factor (small MNIST/CIFAR images → visible pixels). */
export function scaleNearest(img: RgbaImage, factor: number): RgbaImage {
  if (!(Number.isInteger(factor) && factor >= 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `scale must be an integer ≥ 1, got ${factor}`);
  if (factor === 1) return img;
  const w = img.width * factor;
  const h = img.height * factor;
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = ((Math.floor(y / factor) * img.width) + Math.floor(x / factor)) * 4;
      data.set(img.data.subarray(s, s + 4), (y * w + x) * 4);
    }
  }
  return { width: w, height: h, data };
}
