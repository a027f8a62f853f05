import { Tensor, WhiteBoxError } from '@whitebox/core';
import { type ColormapName } from './colormaps.js';
import { type RgbaImage, blankImage, imageToRgba, mapToRgba, overlay, scaleNearest } from './render.js';
import { drawText, wrapLabel } from './text.js';

/** Options of `composeGrid`: margin and background colour. */
export interface GridOptions {
  /** Pixels between cells and around the grid (default 2). */
  margin?: number;
  background?: readonly [number, number, number, number];
}

/** Places cells (rows × columns of same-size pictures) on one canvas with margins. */
export function composeGrid(cells: readonly (readonly RgbaImage[])[], options: GridOptions = {}): RgbaImage {
  const margin = options.margin ?? 2;
  const rows = cells.length;
  const cols = Math.max(0, ...cells.map((r) => r.length));
  if (rows === 0 || cols === 0) throw new WhiteBoxError('INVALID_ARGUMENT', 'composeGrid: no cells');
  const cw = cells[0]![0]!.width;
  const ch = cells[0]![0]!.height;
  for (const [r, row] of cells.entries()) {
    for (const [c, cell] of row.entries()) {
      if (cell.width !== cw || cell.height !== ch) {
        throw new WhiteBoxError('SHAPE_MISMATCH', `composeGrid: cell (${r}, ${c}) is ${cell.width}×${cell.height}, expected ${cw}×${ch}`);
      }
    }
  }
  const width = cols * cw + (cols + 1) * margin;
  const height = rows * ch + (rows + 1) * margin;
  const out = blankImage(width, height, options.background ?? [255, 255, 255, 255]);
  for (const [r, row] of cells.entries()) {
    for (const [c, cell] of row.entries()) {
      const x0 = margin + c * (cw + margin);
      const y0 = margin + r * (ch + margin);
      for (let y = 0; y < ch; y++) out.data.set(cell.data.subarray(y * cw * 4, (y + 1) * cw * 4), ((y0 + y) * width + x0) * 4);
    }
  }
  return out;
}

/** One column of a saliency grid: a method's maps for the N images. */
export interface SaliencyGridColumn {
  /** Method id, e.g. 'guided-backprop' (column order = this order). */
  name: string;
  /** Maps [N, C, H, W] or [N, 1, H, W] for the N images. */
  maps: Tensor;
  /** Colormap for this column (default: the grid's). */
  colormap?: ColormapName;
}

/** Options of `saliencyGrid`: colormap, scale, overlay, input column and labels. */
export interface SaliencyGridOptions extends GridOptions {
  colormap?: ColormapName;
  /** Integer upscaling of every cell (default: enough for cells ≥ 96 px). */
  scale?: number;
  /** Blend maps over the input with this alpha (default 0: the map alone). */
  overlayAlpha?: number;
  /** Show the input as the first column (default true). */
  showInput?: boolean;
  /** Column headers ('input' and the method names) above the grid (default false). */
  labels?: boolean;
}

/** Adds a header band with one (wrapped) label per column above a grid of `cols` cells of width `cellWidth`. */
export function withColumnLabels(grid: RgbaImage, labels: readonly string[], cellWidth: number, margin = 2): RgbaImage {
  const scale = cellWidth >= 160 ? 2 : 1;
  const wrapped = labels.map((l) => wrapLabel(l, cellWidth, scale));
  const lines = Math.max(1, ...wrapped.map((w) => w.length));
  const band = margin + lines * 9 * scale;
  const out = blankImage(grid.width, grid.height + band, [255, 255, 255, 255]);
  out.data.set(grid.data, band * grid.width * 4);
  wrapped.forEach((ls, c) => {
    const x0 = margin + c * (cellWidth + margin);
    ls.forEach((line, k) => drawText(out, line, x0, margin + k * 9 * scale, { scale, color: [20, 20, 20] }));
  });
  return out;
}

/**
 * The coherence figure: rows = images, columns = input + methods; every map is colorized per
 * item (percentile clipping) and optionally overlaid on its image.
 */
export function saliencyGrid(images: Tensor, columns: readonly SaliencyGridColumn[], options: SaliencyGridOptions = {}): RgbaImage {
  if (images.rank !== 4) throw new WhiteBoxError('SHAPE_MISMATCH', `saliencyGrid: images must be [N, C, H, W], got [${images.dims.join(', ')}]`);
  const [n, , h, w] = images.dims as [number, number, number, number];
  for (const col of columns) {
    if (col.maps.rank !== 4 || col.maps.dims[0] !== n || col.maps.dims[2] !== h || col.maps.dims[3] !== w) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `saliencyGrid: maps of '${col.name}' are [${col.maps.dims.join(', ')}], expected [${n}, C, ${h}, ${w}]`, { method: col.name });
    }
  }
  const scale = options.scale ?? Math.max(1, Math.ceil(96 / Math.max(h, w)));
  const alpha = options.overlayAlpha ?? 0;
  const rows: RgbaImage[][] = [];
  for (let b = 0; b < n; b++) {
    const input = imageToRgba(images.item(b));
    const row: RgbaImage[] = options.showInput === false ? [] : [scaleNearest(input, scale)];
    for (const col of columns) {
      let cell = mapToRgba(col.maps.item(b), { colormap: col.colormap ?? options.colormap });
      if (alpha > 0) cell = overlay(input, cell, alpha);
      row.push(scaleNearest(cell, scale));
    }
    rows.push(row);
  }
  const grid = composeGrid(rows, options);
  if (!options.labels) return grid;
  const names = [...(options.showInput === false ? [] : ['input']), ...columns.map((c) => c.name)];
  return withColumnLabels(grid, names, w * scale, options.margin ?? 2);
}
