import { check } from '@whitebox/core';

/** Options of the SLIC superpixel segmentation (Achanta et al. 2012). */
export interface SlicOptions {
  /** Approximate number of superpixels (default 100, as skimage's `slic`). */
  segments?: number;
  /** Weight of spatial against colour distance, m in Achanta et al. (default 10, with colour in CIELAB units). */
  compactness?: number;
  /** k-means iterations (default 10). */
  iterations?: number;
}

/** sRGB in [0, 1] to CIELAB (D65). */
function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const lin = (v: number): number => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const R = lin(Math.min(1, Math.max(0, r)));
  const G = lin(Math.min(1, Math.max(0, g)));
  const B = lin(Math.min(1, Math.max(0, b)));
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const fx = f(x);
  const fy = f(y);
  const fz = f(z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/**
 * SLIC superpixels (Achanta et al. 2012, "SLIC Superpixels Compared to State-of-the-Art Superpixel Methods"),
 * written here: k-means in (CIELAB colour, x, y) with centres on a grid of step S = √(H·W / segments), each
 * searching a 2S × 2S window, distance d² = d_lab² + (d_xy / S)² · m², centres first moved to the lowest
 * gradient in their 3×3 neighbourhood; then connected components smaller than a quarter of the mean segment
 * are merged into a neighbour, so every segment is connected. Grey images use L = 100 · value (a and b = 0).
 * Returns one label per pixel, 0..count−1, and the count.
 */
export function slic(image: Float32Array, channels: number, height: number, width: number, options: SlicOptions = {}): { labels: Int32Array; count: number } {
  const hw = height * width;
  check(image.length === channels * hw, `slic: image has ${image.length} values, expected ${channels}×${height}×${width}`);
  check(channels === 1 || channels === 3, `slic: images must have 1 or 3 channels, got ${channels}`);
  const K = options.segments ?? 100;
  const m = options.compactness ?? 10;
  const iters = options.iterations ?? 10;
  check(Number.isInteger(K) && K >= 1, `slic: segments must be an integer ≥ 1, got ${K}`);
  check(Number.isFinite(m) && m > 0, `slic: compactness must be positive, got ${m}`);
  const lab = new Float64Array(hw * 3);
  for (let q = 0; q < hw; q++) {
    if (channels === 1) lab[q * 3] = 100 * image[q]!;
    else lab.set(rgbToLab(image[q]!, image[hw + q]!, image[2 * hw + q]!), q * 3);
  }
  const S = Math.max(1, Math.sqrt(hw / K));
  // Centres on the grid (cell centres), clipped to the image.
  const cy: number[] = [];
  const cx: number[] = [];
  for (let y = S / 2; y < height; y += S) for (let x = S / 2; x < width; x += S) {
    cy.push(Math.min(height - 1, Math.floor(y)));
    cx.push(Math.min(width - 1, Math.floor(x)));
  }
  const grad = (y: number, x: number): number => {
    const at = (yy: number, xx: number, k: number): number => lab[(Math.min(height - 1, Math.max(0, yy)) * width + Math.min(width - 1, Math.max(0, xx))) * 3 + k]!;
    let g = 0;
    for (let k = 0; k < 3; k++) g += (at(y, x + 1, k) - at(y, x - 1, k)) ** 2 + (at(y + 1, x, k) - at(y - 1, x, k)) ** 2;
    return g;
  };
  const n = cy.length;
  const C = new Float64Array(n * 5);
  for (let k = 0; k < n; k++) {
    let by = cy[k]!;
    let bx = cx[k]!;
    let bg = grad(by, bx);
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const y = cy[k]! + dy;
      const x = cx[k]! + dx;
      if (y < 0 || y >= height || x < 0 || x >= width) continue;
      const g = grad(y, x);
      if (g < bg) {
        bg = g;
        by = y;
        bx = x;
      }
    }
    const q = by * width + bx;
    C.set([lab[q * 3]!, lab[q * 3 + 1]!, lab[q * 3 + 2]!, by, bx], k * 5);
  }
  const label = new Int32Array(hw).fill(-1);
  const dist = new Float64Array(hw);
  const w2 = (m / S) ** 2;
  const R = Math.ceil(S);
  for (let it = 0; it < iters; it++) {
    dist.fill(Infinity);
    for (let k = 0; k < n; k++) {
      const ky = C[k * 5 + 3]!;
      const kx = C[k * 5 + 4]!;
      const y0 = Math.max(0, Math.floor(ky - R));
      const y1 = Math.min(height - 1, Math.ceil(ky + R));
      const x0 = Math.max(0, Math.floor(kx - R));
      const x1 = Math.min(width - 1, Math.ceil(kx + R));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const q = y * width + x;
          const dl = lab[q * 3]! - C[k * 5]!;
          const da = lab[q * 3 + 1]! - C[k * 5 + 1]!;
          const db = lab[q * 3 + 2]! - C[k * 5 + 2]!;
          const d = dl * dl + da * da + db * db + ((y - ky) ** 2 + (x - kx) ** 2) * w2;
          if (d < dist[q]!) {
            dist[q] = d;
            label[q] = k;
          }
        }
      }
    }
    const sum = new Float64Array(n * 5);
    const cnt = new Float64Array(n);
    for (let q = 0; q < hw; q++) {
      const k = label[q]!;
      if (k < 0) continue;
      cnt[k]!++;
      sum[k * 5]! += lab[q * 3]!;
      sum[k * 5 + 1]! += lab[q * 3 + 1]!;
      sum[k * 5 + 2]! += lab[q * 3 + 2]!;
      sum[k * 5 + 3]! += Math.floor(q / width);
      sum[k * 5 + 4]! += q % width;
    }
    for (let k = 0; k < n; k++) if (cnt[k]! > 0) for (let j = 0; j < 5; j++) C[k * 5 + j] = sum[k * 5 + j]! / cnt[k]!;
  }
  // Every pixel lies within R of some centre's window in practice; guard the rest (nearest-label fill below).
  // Connectivity: label connected components; merge the small ones into the previous adjacent component.
  const comp = new Int32Array(hw).fill(-1);
  const minSize = Math.max(1, Math.floor(hw / n / 4));
  const stack = new Int32Array(hw);
  const members = new Int32Array(hw);
  let count = 0;
  const nbr = [[-1, 0], [1, 0], [0, -1], [0, 1]] as const;
  for (let start = 0; start < hw; start++) {
    if (comp[start]! >= 0) continue;
    const lbl = label[start]!;
    let top = 0;
    let size = 0;
    stack[top++] = start;
    comp[start] = count;
    let adjacent = -1;
    while (top > 0) {
      const q = stack[--top]!;
      members[size++] = q;
      const y = Math.floor(q / width);
      const x = q % width;
      for (const [dy, dx] of nbr) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
        const r = yy * width + xx;
        if (comp[r]! >= 0 && comp[r] !== count) adjacent = comp[r]!;
        if (comp[r]! < 0 && label[r] === lbl) {
          comp[r] = count;
          stack[top++] = r;
        }
      }
    }
    if (size < minSize && adjacent >= 0) {
      for (let j = 0; j < size; j++) comp[members[j]!] = adjacent;
    } else {
      count++;
    }
  }
  return { labels: comp, count };
}
