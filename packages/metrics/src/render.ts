import { PNG } from 'pngjs';
import { WhiteBoxError } from '@whitebox/core';

/** An RGB picture (row-major, 3 bytes per pixel). */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

const HEAT: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164],
];

/** A perceptual dark-to-bright heat colour for v in [0, 1] (inferno-like stops). */
export function heatColor(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (HEAT.length - 1);
  const i = Math.min(HEAT.length - 2, Math.floor(t));
  const f = t - i;
  const a = HEAT[i]!;
  const b = HEAT[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** An image item [C, H, W] in [0, 1] (C = 1 grey or 3 RGB) to RGB. */
export function imageToRgb(data: ArrayLike<number>, channels: number, height: number, width: number): RgbImage {
  const hw = height * width;
  if (data.length !== channels * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `imageToRgb: ${data.length} values for a ${channels}×${height}×${width} image`);
  const rgb = new Uint8Array(hw * 3);
  for (let p = 0; p < hw; p++) {
    for (let k = 0; k < 3; k++) {
      const v = data[(channels === 3 ? k : 0) * hw + p]!;
      rgb[p * 3 + k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return { width, height, rgb };
}

/** Relevance [H*W] to a heat map, scaled by its 99.5th percentile (values below 0 clipped). */
export function relevanceToRgb(rel: ArrayLike<number>, height: number, width: number): RgbImage {
  const hw = height * width;
  if (rel.length !== hw) throw new WhiteBoxError('SHAPE_MISMATCH', `relevanceToRgb: ${rel.length} values for a ${height}×${width} map`);
  const sorted = Float64Array.from(rel).sort();
  const lo = Math.max(0, sorted[0]!);
  const hi = sorted[Math.min(hw - 1, Math.floor(0.995 * (hw - 1)))]!;
  const range = hi - lo;
  const rgb = new Uint8Array(hw * 3);
  for (let p = 0; p < hw; p++) {
    const c = heatColor(range > 0 ? (rel[p]! - lo) / range : 0);
    rgb.set(c, p * 3);
  }
  return { width, height, rgb };
}

/**
 * A grid of equally sized cells (rows × columns; null leaves a cell blank) as PNG bytes, each
 * pixel drawn `scale`×`scale`, `pad` white pixels between cells.
 */
export function gridPng(cells: ReadonlyArray<ReadonlyArray<RgbImage | null>>, scale = 1, pad = 2): Uint8Array {
  const rows = cells.length;
  const cols = Math.max(0, ...cells.map((r) => r.length));
  const first = cells.flat().find((c): c is RgbImage => c !== null);
  if (!first || rows === 0 || cols === 0) throw new WhiteBoxError('INVALID_ARGUMENT', 'gridPng: the grid has no images');
  const ch = first.height * scale;
  const cw = first.width * scale;
  const width = cols * cw + (cols + 1) * pad;
  const height = rows * ch + (rows + 1) * pad;
  const png = new PNG({ width, height });
  png.data.fill(255);
  cells.forEach((row, r) => {
    row.forEach((cell, c) => {
      if (!cell) return;
      if (cell.width !== first.width || cell.height !== first.height) {
        throw new WhiteBoxError('SHAPE_MISMATCH', `gridPng: cell (${r}, ${c}) is ${cell.height}×${cell.width}, expected ${first.height}×${first.width}`);
      }
      const oy = pad + r * (ch + pad);
      const ox = pad + c * (cw + pad);
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) {
          const s = (Math.floor(y / scale) * cell.width + Math.floor(x / scale)) * 3;
          const d = ((oy + y) * width + ox + x) * 4;
          png.data[d] = cell.rgb[s]!;
          png.data[d + 1] = cell.rgb[s + 1]!;
          png.data[d + 2] = cell.rgb[s + 2]!;
          png.data[d + 3] = 255;
        }
      }
    });
  });
  return new Uint8Array(PNG.sync.write(png));
}
