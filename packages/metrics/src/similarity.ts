import { check } from '@whitebox/core';
import { pearson, spearman } from './stats.js';

/** How two maps of the same image are compared in the randomization tests (Adebayo et al. 2018 use all four). */
export type SimilarityMeasure = 'spearman' | 'spearman-abs' | 'ssim' | 'hog';
/** Measures comparing two maps: Spearman ρ (signed, absolute), SSIM and HOG. */
export const SIMILARITY_MEASURES: readonly SimilarityMeasure[] = ['spearman', 'spearman-abs', 'ssim', 'hog'];

/** A map's |values| scaled by its max |value| into [0, 1] (all-zero stays zero). */
export function absScaled(a: ArrayLike<number>): Float64Array {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]!));
  const out = new Float64Array(a.length);
  if (m > 0) for (let k = 0; k < a.length; k++) out[k] = Math.abs(a[k]!) / m;
  return out;
}

const allEqual = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
};

/**
 * Structural similarity (Wang et al. 2004) as skimage's `structural_similarity` computes it by default: 7×7
 * uniform windows, K1 = 0.01, K2 = 0.03, sample covariances (× n/(n−1)), the mean over windows fully inside the
 * image. `dataRange` defaults to the max − min of both maps together (Quantus' choice). Two identical maps score 1,
 * also when constant (where the formula is 0/0).
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, dataRange?: number, win = 7): number {
  check(a.length === height * width && b.length === height * width, `ssim: maps must have ${height}×${width} values, got ${a.length} and ${b.length}`);
  const ws = Math.min(win, height, width);
  const W = ws % 2 === 1 ? ws : ws - 1;
  check(W >= 3, `ssim: maps of ${height}×${width} are too small for a window`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < a.length; k++) {
    lo = Math.min(lo, a[k]!, b[k]!);
    hi = Math.max(hi, a[k]!, b[k]!);
  }
  const R = dataRange ?? hi - lo;
  if (allEqual(a, b)) return 1;
  if (!(R > 0)) return 1;
  const C1 = (0.01 * R) ** 2;
  const C2 = (0.03 * R) ** 2;
  const np = W * W;
  const covNorm = np / (np - 1);
  const r = (W - 1) / 2;
  let total = 0;
  let count = 0;
  for (let y = r; y < height - r; y++) {
    for (let x = r; x < width - r; x++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          const q = (y + dy) * width + x + dx;
          const va = a[q]!;
          const vb = b[q]!;
          sa += va;
          sb += vb;
          saa += va * va;
          sbb += vb * vb;
          sab += va * vb;
        }
      }
      const ua = sa / np;
      const ub = sb / np;
      const vaa = covNorm * (saa / np - ua * ua);
      const vbb = covNorm * (sbb / np - ub * ub);
      const vab = covNorm * (sab / np - ua * ub);
      total += ((2 * ua * ub + C1) * (2 * vab + C2)) / ((ua * ua + ub * ub + C1) * (vaa + vbb + C2));
      count++;
    }
  }
  return total / count;
}

/** Options of the HOG similarity of maps. */
export interface HogOptions {
  orientations?: number;
  /** Cell side in pixels (default 4 for maps up to 64 pixels, else 8). */
  cell?: number;
  /** Cells per block side (default 2). */
  block?: number;
}

/**
 * Histogram of oriented gradients (Dalal & Triggs 2005) as skimage's `hog`: central-difference gradients (zero on
 * the border rows/columns), unsigned orientations in [0°, 180°) in `orientations` bins, magnitudes averaged per
 * cell, blocks of `block`×`block` cells with L2-Hys normalisation (clip 0.2), flattened.
 */
export function hog(a: ArrayLike<number>, height: number, width: number, options: HogOptions = {}): Float64Array {
  const bins = options.orientations ?? 9;
  const cell = options.cell ?? (Math.max(height, width) <= 64 ? 4 : 8);
  const block = options.block ?? 2;
  const cy = Math.floor(height / cell);
  const cx = Math.floor(width / cell);
  check(cy >= block && cx >= block, `hog: a ${height}×${width} map has fewer than ${block}×${block} cells of ${cell} pixels`);
  const hist = new Float64Array(cy * cx * bins);
  for (let y = 0; y < cy * cell; y++) {
    for (let x = 0; x < cx * cell; x++) {
      const gy = y > 0 && y < height - 1 ? a[(y + 1) * width + x]! - a[(y - 1) * width + x]! : 0;
      const gx = x > 0 && x < width - 1 ? a[y * width + x + 1]! - a[y * width + x - 1]! : 0;
      const mag = Math.hypot(gx, gy);
      if (mag === 0) continue;
      let ang = (Math.atan2(gy, gx) * 180) / Math.PI;
      if (ang < 0) ang += 180;
      if (ang >= 180) ang -= 180;
      const bin = Math.min(bins - 1, Math.floor(ang / (180 / bins)));
      hist[(Math.floor(y / cell) * cx + Math.floor(x / cell)) * bins + bin]! += mag / (cell * cell);
    }
  }
  const by = cy - block + 1;
  const bx = cx - block + 1;
  const per = block * block * bins;
  const out = new Float64Array(by * bx * per);
  const eps = 1e-5;
  for (let y = 0; y < by; y++) {
    for (let x = 0; x < bx; x++) {
      const v = out.subarray((y * bx + x) * per, (y * bx + x + 1) * per);
      let k = 0;
      for (let dy = 0; dy < block; dy++) for (let dx = 0; dx < block; dx++) for (let o = 0; o < bins; o++) v[k++] = hist[((y + dy) * cx + x + dx) * bins + o]!;
      let s = 0;
      for (const t of v) s += t * t;
      let d = Math.sqrt(s + eps * eps);
      for (let j = 0; j < per; j++) v[j] = Math.min(0.2, v[j]! / d);
      s = 0;
      for (const t of v) s += t * t;
      d = Math.sqrt(s + eps * eps);
      for (let j = 0; j < per; j++) v[j] = v[j]! / d;
    }
  }
  return out;
}

/**
 * Similarity of two maps of one image by `measure`: Spearman rank correlation of the signed maps or of their
 * absolute values, SSIM of the |maps| scaled to [0, 1], or the Pearson correlation of those |maps|' HOG features
 * (Adebayo et al. 2018). Identical maps score 1 under every measure.
 */
export function mapSimilarity(measure: SimilarityMeasure, a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number): number {
  if (allEqual(a, b)) return 1;
  switch (measure) {
    case 'spearman':
      return spearman(a, b);
    case 'spearman-abs':
      return spearman(Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs));
    case 'ssim':
      return ssim(absScaled(a), absScaled(b), height, width);
    case 'hog': {
      const ha = hog(absScaled(a), height, width);
      const hb = hog(absScaled(b), height, width);
      return allEqual(ha, hb) ? 1 : pearson(ha, hb);
    }
  }
}
