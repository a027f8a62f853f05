// Turning pixels and maps into canvas images: colormaps, overlay, channel reduction.
import { Tensor, maxAbsScale, minMaxScale, percentile, percentileClip, reduceChannels, resizeBilinear } from '@whitebox/core';
import type { MapResult } from './protocol.js';

export type ColormapName = 'inferno' | 'viridis' | 'hot' | 'gray' | 'coolwarm';
export const COLORMAPS: readonly ColormapName[] = ['inferno', 'viridis', 'hot', 'gray', 'coolwarm'];
/** Diverging colormaps show signed maps (blue negative, red positive); the others show magnitude. */
export const DIVERGING: ReadonlySet<ColormapName> = new Set(['coolwarm']);

const ANCHORS: Record<Exclude<ColormapName, 'gray' | 'hot'>, string[]> = {
  // Matplotlib's perceptually uniform maps, sampled every 0.1.
  viridis: ['440154', '482475', '414487', '355f8d', '2a788e', '21918c', '22a884', '44bf70', '7ad151', 'bddf26', 'fde725'],
  inferno: ['000004', '1b0c41', '4a0c6b', '781c6d', 'a52c60', 'cf4446', 'ed6925', 'fb9b06', 'f7d13d', 'f1f179', 'fcffa4'],
  // Moreland's cool-warm, -1..1 mapped to 0..1.
  coolwarm: ['3b4cc0', '5977e3', '7b9ff9', '9ebeff', 'c0d4f5', 'dddcdc', 'f2cbb7', 'f7ac8e', 'ee8468', 'd65244', 'b40426'],
};

function hex(s: string): [number, number, number] {
  return [parseInt(s.slice(0, 2), 16), parseInt(s.slice(2, 4), 16), parseInt(s.slice(4, 6), 16)];
}

/** RGB (0..255) of colormap `name` at t in [0, 1]. */
export function colormap(name: ColormapName, t: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  if (name === 'gray') return [v * 255, v * 255, v * 255];
  if (name === 'hot') return [Math.min(1, v * 3) * 255, Math.min(1, Math.max(0, v * 3 - 1)) * 255, Math.min(1, Math.max(0, v * 3 - 2)) * 255];
  const anchors = ANCHORS[name];
  const pos = v * (anchors.length - 1);
  const i = Math.min(anchors.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = hex(anchors[i]!);
  const b = hex(anchors[i + 1]!);
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/**
 * A map as values to color, [H * W]: in [0, 1] (magnitude: |·| summed over channels, clipped at the
 * 99.5th percentile) or in [-1, 1] (signed: summed over channels, scaled by the 99.5th percentile of |·|).
 */
export function mapValues(map: MapResult, height: number, width: number, signed: boolean): Float32Array {
  let t = new Tensor(map.data, [1, map.channels, map.height, map.width]);
  if (map.channels > 1) t = reduceChannels(t, signed ? 'sum' : 'abs-sum');
  else if (!signed) t = t.map(Math.abs);
  if (map.height !== height || map.width !== width) t = resizeBilinear(t, height, width);
  if (signed) {
    const hi = percentile(t.data.map(Math.abs), 99.5);
    if (hi > 0) t = t.map((v) => Math.max(-hi, Math.min(hi, v)));
    return maxAbsScale(t).data;
  }
  return minMaxScale(percentileClip(t, 0, 99.5)).data;
}

/** Grayscale (0..1) of CHW pixels, [H * W]. */
export function luminance(pixels: Float32Array, channels: number, height: number, width: number): Float32Array {
  const hw = height * width;
  const out = new Float32Array(hw);
  for (let p = 0; p < hw; p++) {
    out[p] = channels === 3 ? 0.299 * pixels[p]! + 0.587 * pixels[hw + p]! + 0.114 * pixels[2 * hw + p]! : pixels[p]!;
  }
  return out;
}

/** CHW pixels in [0, 1] -> RGBA ImageData bytes. */
export function pixelsToRgba(pixels: Float32Array, channels: number, height: number, width: number): Uint8ClampedArray {
  const hw = height * width;
  const out = new Uint8ClampedArray(hw * 4);
  for (let p = 0; p < hw; p++) {
    for (let k = 0; k < 3; k++) out[p * 4 + k] = Math.round(255 * pixels[(channels === 3 ? k * hw : 0) + p]!);
    out[p * 4 + 3] = 255;
  }
  return out;
}

/**
 * The map colored and blended over the (gray) input: out = (1 - strength) · input + strength · color.
 * strength 1 shows the map alone.
 */
export function mapToRgba(
  map: MapResult, pixels: Float32Array, channels: number, height: number, width: number, cmap: ColormapName, strength: number,
): Uint8ClampedArray {
  const signed = DIVERGING.has(cmap);
  const values = mapValues(map, height, width, signed);
  const gray = luminance(pixels, channels, height, width);
  const out = new Uint8ClampedArray(height * width * 4);
  for (let p = 0; p < values.length; p++) {
    const c = colormap(cmap, signed ? (values[p]! + 1) / 2 : values[p]!);
    const g = gray[p]! * 255;
    for (let k = 0; k < 3; k++) out[p * 4 + k] = Math.round((1 - strength) * g + strength * c[k]!);
    out[p * 4 + 3] = 255;
  }
  return out;
}
