import { Tensor, check } from '@whitebox/core';

/** max(0, x) elementwise, in place; returns `t`. */
export function reluInPlace(t: Tensor): Tensor {
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (!(d[i]! > 0)) d[i] = 0;
  return t;
}

/**
 * pytorch-grad-cam's `scale_cam_image` per map (each [h, w] plane of [N, C, h, w]): (m − min) / (max − min + 1e-7),
 * in place. A constant map becomes all zeros.
 */
export function scaleCamInPlace(t: Tensor): Tensor {
  check(t.rank === 4, `scaleCam expects [N, C, h, w], got ${t}`);
  const plane = t.dims[2]! * t.dims[3]!;
  const d = t.data;
  for (let o = 0; o < d.length; o += plane) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = o; i < o + plane; i++) {
      const v = d[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const denom = max - min + 1e-7;
    for (let i = o; i < o + plane; i++) d[i] = (d[i]! - min) / denom;
  }
  return t;
}

/** Σ_k t[:, k] of [N, K, h, w] -> [N, 1, h, w] (float64 accumulation). */
export function sumChannels(t: Tensor): Tensor {
  const [n, k, h, w] = t.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(n * hw);
  const acc = new Float64Array(hw);
  for (let b = 0; b < n; b++) {
    acc.fill(0);
    for (let c = 0; c < k; c++) {
      const base = (b * k + c) * hw;
      for (let p = 0; p < hw; p++) acc[p] += t.data[base + p]!;
    }
    out.set(acc, b * hw);
  }
  return new Tensor(out, [n, 1, h, w]);
}

/** out[b, k] = weights[b, k] · t[b, k] for [N, K, h, w] and per-channel weights [N·K]. */
export function weighChannels(t: Tensor, weights: ArrayLike<number>): Tensor {
  const [n, k, h, w] = t.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(t.size);
  for (let bk = 0; bk < n * k; bk++) {
    const a = weights[bk]!;
    if (a === 0) continue;
    const base = bk * hw;
    for (let p = 0; p < hw; p++) out[base + p] = a * t.data[base + p]!;
  }
  return new Tensor(out, t.dims);
}

/**
 * Bilinear resize with align_corners = true (the corners of input and output coincide), as PyTorch's
 * `nn.UpsamplingBilinear2d`: what Score-CAM upsamples its activation masks with.
 */
export function resizeBilinearAlignCorners(t: Tensor, height: number, width: number): Tensor {
  check(t.rank === 4, `resizeBilinearAlignCorners expects [N, C, H, W], got ${t}`);
  const [n, c, h, w] = t.dims as [number, number, number, number];
  const out = new Float32Array(n * c * height * width);
  const sy = height > 1 ? (h - 1) / (height - 1) : 0;
  const sx = width > 1 ? (w - 1) / (width - 1) : 0;
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const wxs = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = x * sx;
    x0s[x] = Math.min(Math.floor(fx), w - 1);
    x1s[x] = Math.min(x0s[x]! + 1, w - 1);
    wxs[x] = fx - x0s[x]!;
  }
  for (let plane = 0; plane < n * c; plane++) {
    const src = t.data.subarray(plane * h * w, (plane + 1) * h * w);
    const dst = out.subarray(plane * height * width, (plane + 1) * height * width);
    for (let y = 0; y < height; y++) {
      const fy = y * sy;
      const y0 = Math.min(Math.floor(fy), h - 1);
      const y1 = Math.min(y0 + 1, h - 1);
      const wy = fy - y0;
      for (let x = 0; x < width; x++) {
        const x0 = x0s[x]!;
        const x1 = x1s[x]!;
        const wx = wxs[x]!;
        const top = src[y0 * w + x0]! * (1 - wx) + src[y0 * w + x1]! * wx;
        const bottom = src[y1 * w + x0]! * (1 - wx) + src[y1 * w + x1]! * wx;
        dst[y * width + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return new Tensor(out, [n, c, height, width]);
}
