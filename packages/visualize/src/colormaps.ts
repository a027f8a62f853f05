/** Colormaps as 257-entry RGB lookup tables (odd, so t = 0.5 has its own entry) built from anchor colors (linear interpolation in sRGB). */
export type Rgb = readonly [number, number, number];
/** A colormap: viridis, inferno, gray (sequential) or blue-white-red (diverging, for signed maps). */
export type ColormapName = 'viridis' | 'inferno' | 'gray' | 'blue-white-red';
/** The colormaps by name. */
export const COLORMAPS: readonly ColormapName[] = ['viridis', 'inferno', 'gray', 'blue-white-red'];

function hex(h: string): Rgb {
  const v = parseInt(h.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** Evenly spaced anchors from t = 0 to t = 1. */
const ANCHORS: Record<ColormapName, readonly Rgb[]> = {
  // Perceptually uniform sequential maps (matplotlib's viridis / inferno, sampled at 10 points).
  viridis: ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'].map(hex),
  inferno: ['#000004', '#1b0c41', '#4a0c6b', '#781c6d', '#a52c60', '#cf4446', '#ed6925', '#fb9b06', '#f7d13d', '#fcffa4'].map(hex),
  gray: [[0, 0, 0], [255, 255, 255]],
  // Diverging: negative blue, zero white, positive red.
  'blue-white-red': ['#2166ac', '#67a9cf', '#d1e5f0', '#ffffff', '#fddbc7', '#ef8a62', '#b2182b'].map(hex),
};

/** Entries per lookup table: index = round(t · (LUT_SIZE − 1)). */
export const LUT_SIZE = 257;
const LUTS = new Map<ColormapName, Uint8Array>();

/** The LUT_SIZE × 3 lookup table of a colormap. */
export function colormapLut(name: ColormapName): Uint8Array {
  let lut = LUTS.get(name);
  if (lut) return lut;
  const anchors = ANCHORS[name];
  if (!anchors) throw new Error(`unknown colormap '${name}' (known: ${COLORMAPS.join(', ')})`);
  lut = new Uint8Array(LUT_SIZE * 3);
  const segs = anchors.length - 1;
  for (let i = 0; i < LUT_SIZE; i++) {
    const t = (i / (LUT_SIZE - 1)) * segs;
    const k = Math.min(segs - 1, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(anchors[k]![c]! * (1 - f) + anchors[k + 1]![c]! * f);
  }
  LUTS.set(name, lut);
  return lut;
}

/** Color of t ∈ [0, 1] (clamped; NaN maps to 0). */
export function colormap(name: ColormapName, t: number): Rgb {
  const lut = colormapLut(name);
  const i = Number.isFinite(t) ? Math.round(Math.min(1, Math.max(0, t)) * (LUT_SIZE - 1)) : 0;
  return [lut[i * 3]!, lut[i * 3 + 1]!, lut[i * 3 + 2]!];
}

/** Relative luminance (Rec. 709 weights on sRGB values), 0..255. */
export function luminance([r, g, b]: Rgb): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Whether a colormap is diverging (centred on 0). */
export function isDiverging(name: ColormapName): boolean {
  return name === 'blue-white-red';
}
