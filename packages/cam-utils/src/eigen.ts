import { Tensor } from '@whitebox/core';

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major, float64) by cyclic Jacobi rotations: deterministic and
 * exact to rounding even with repeated eigenvalues. Returns the largest eigenvalue and its unit eigenvector (the first
 * one in index order among equal largest eigenvalues). `a` is overwritten.
 */
export function topEigenpair(a: Float64Array, n: number): { value: number; vector: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += a[i]! * a[i]!;
  if (norm === 0) {
    const e = new Float64Array(n);
    if (n > 0) e[0] = 1;
    return { value: 0, vector: e };
  }
  for (let sweep = 0; sweep < 64; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    if (off <= 1e-30 * norm) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) <= 1e-300) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (a[i * n + i]! > a[best * n + best]! * (1 + 1e-12) + 1e-300) best = i;
  const vec = new Float64Array(n);
  for (let k = 0; k < n; k++) vec[k] = v[k * n + best]!;
  return { value: a[best * n + best]!, vector: vec };
}

/**
 * pytorch-grad-cam's `get_2d_projection` for one item: the K channels of x ([K, hw], row k = channel k) as hw samples
 * of K features, centered per channel, projected onto their first principal component (the first right singular vector
 * of the centered [hw, K] matrix). Returns the hw projections, zero-mean. The sign is fixed so that the projection
 * correlates positively with the channel sum Σ_k x[k] (ties: so that its largest magnitude is positive).
 */
export function firstComponentProjection(x: ArrayLike<number>, k: number, hw: number): Float64Array {
  // Centered data, [hw, K] row-major.
  const xc = new Float64Array(hw * k);
  for (let c = 0; c < k; c++) {
    let mean = 0;
    for (let p = 0; p < hw; p++) mean += x[c * hw + p]!;
    mean /= hw;
    for (let p = 0; p < hw; p++) xc[p * k + c] = x[c * hw + p]! - mean;
  }
  const proj = new Float64Array(hw);
  if (k <= hw) {
    // Xᵀ X (K×K): its top eigenvector is the first right singular vector v; projection = X v.
    const g = new Float64Array(k * k);
    for (let p = 0; p < hw; p++) {
      const row = p * k;
      for (let i = 0; i < k; i++) {
        const xi = xc[row + i]!;
        if (xi === 0) continue;
        for (let j = i; j < k; j++) g[i * k + j] += xi * xc[row + j]!;
      }
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) g[i * k + j] = g[j * k + i]!;
    const { vector } = topEigenpair(g, k);
    for (let p = 0; p < hw; p++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += xc[p * k + i]! * vector[i]!;
      proj[p] = s;
    }
  } else {
    // X Xᵀ (hw×hw): X v = σ u for its top eigenpair (λ = σ², u).
    const g = new Float64Array(hw * hw);
    for (let p = 0; p < hw; p++) {
      for (let q = p; q < hw; q++) {
        let s = 0;
        for (let i = 0; i < k; i++) s += xc[p * k + i]! * xc[q * k + i]!;
        g[p * hw + q] = s;
        g[q * hw + p] = s;
      }
    }
    const { value, vector } = topEigenpair(g, hw);
    const sigma = Math.sqrt(Math.max(0, value));
    for (let p = 0; p < hw; p++) proj[p] = sigma * vector[p]!;
  }
  // Sign: positive correlation with the channel sum.
  let ref = 0;
  const sum = new Float64Array(hw);
  for (let c = 0; c < k; c++) for (let p = 0; p < hw; p++) sum[p] += x[c * hw + p]!;
  let meanSum = 0;
  for (let p = 0; p < hw; p++) meanSum += sum[p]!;
  meanSum /= hw;
  for (let p = 0; p < hw; p++) ref += proj[p]! * (sum[p]! - meanSum);
  let flip = ref < 0;
  if (ref === 0) {
    let min = 0;
    let max = 0;
    for (const v of proj) { if (v < min) min = v; if (v > max) max = v; }
    flip = -min > max;
  }
  if (flip) for (let p = 0; p < hw; p++) proj[p] = -proj[p]!;
  return proj;
}

/** The first-principal-component map of each item of [N, K, h, w] -> [N, 1, h, w] (Eigen-CAM, `eigenSmooth`). */
export function eigenProjection(t: Tensor): Tensor {
  const [n, k, h, w] = t.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(n * hw);
  for (let b = 0; b < n; b++) {
    const item = t.data.subarray(b * k * hw, (b + 1) * k * hw);
    out.set(firstComponentProjection(item, k, hw), b * hw);
  }
  return new Tensor(out, [n, 1, h, w]);
}
