import { Tensor, WhiteBoxError } from '@whitebox/core';

/**
 * Test-time augmentations of `augSmooth`. The default is pytorch-grad-cam's (ttach): horizontal flip on/off ×
 * multiply the input by 0.9, 1, 1.1: six maps, each mapped back (flipped back) and averaged.
 */
export interface AugSmoothOptions {
  /** Also run the horizontally flipped input (default true). */
  flips?: boolean;
  /** Input multipliers (default [0.9, 1, 1.1]). */
  factors?: readonly number[];
  /**
   * Small shifts [dy, dx] in pixels (default [[0, 0]]): the input is translated (zeros shifted in) and the map shifted
   * back; each pixel averages the maps that saw it. Needs `upsample` (maps at input resolution).
   */
  shifts?: readonly (readonly [number, number])[];
}

/** One test-time augmentation of `augSmooth`: horizontal flip, input multiplier and shift [dy, dx] in pixels. */
export interface Augmentation {
  flip: boolean;
  factor: number;
  dy: number;
  dx: number;
}

/** The augmentations of an `augSmooth` option (one identity augmentation when it is off). */
export function augmentations(opt: boolean | AugSmoothOptions | undefined, method: string): Augmentation[] {
  if (!opt) return [{ flip: false, factor: 1, dy: 0, dx: 0 }];
  const o: AugSmoothOptions = opt === true ? {} : opt;
  const factors = o.factors ?? [0.9, 1, 1.1];
  const shifts = o.shifts ?? [[0, 0]];
  if (factors.length === 0 || factors.some((f) => !Number.isFinite(f))) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: augSmooth.factors must be a non-empty list of finite numbers, got ${JSON.stringify(factors)}`, { option: 'augSmooth.factors' });
  }
  if (shifts.length === 0 || shifts.some((s) => !Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isInteger(v)))) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: augSmooth.shifts must be a non-empty list of integer pairs [dy, dx], got ${JSON.stringify(shifts)}`, { option: 'augSmooth.shifts' });
  }
  const out: Augmentation[] = [];
  for (const flip of o.flips === false ? [false] : [false, true]) {
    for (const factor of factors) for (const [dy, dx] of shifts) out.push({ flip, factor, dy, dx });
  }
  return out;
}

/** The augmented input batch [N, C, H, W]: flipped (width axis), translated by (dy, dx) with zeros shifted in, scaled. */
export function augmentInput(x: Tensor, a: Augmentation): Tensor {
  if (!a.flip && a.factor === 1 && a.dy === 0 && a.dx === 0) return x;
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const out = new Float32Array(x.size);
  for (let plane = 0; plane < n * c; plane++) {
    const o = plane * h * w;
    for (let y = 0; y < h; y++) {
      const sy = y - a.dy;
      if (sy < 0 || sy >= h) continue;
      for (let xx = 0; xx < w; xx++) {
        const sx0 = xx - a.dx;
        if (sx0 < 0 || sx0 >= w) continue;
        const sx = a.flip ? w - 1 - sx0 : sx0;
        out[o + y * w + xx] = a.factor * x.data[o + sy * w + sx]!;
      }
    }
  }
  return new Tensor(out, x.dims);
}

/**
 * Adds the map of an augmented input, mapped back onto the original pixels, to `sum` ([N, 1, h, w]) and counts each
 * pixel that the augmented input saw in `count`.
 */
export function accumulateDeaugmented(sum: Float64Array, count: Float64Array, map: Tensor, a: Augmentation): void {
  const [n, , h, w] = map.dims as [number, number, number, number];
  for (let b = 0; b < n; b++) {
    const o = b * h * w;
    for (let y = 0; y < h; y++) {
      const my = y + a.dy;
      if (my < 0 || my >= h) continue;
      for (let xx = 0; xx < w; xx++) {
        // The original pixel xx sits at column (flip ? w−1−xx : xx) + dx of the augmented input.
        const mx = (a.flip ? w - 1 - xx : xx) + a.dx;
        if (mx < 0 || mx >= w) continue;
        sum[o + y * w + xx] += map.data[o + my * w + mx]!;
        count[o + y * w + xx] += 1;
      }
    }
  }
}
