import { check } from './errors.js';
import { Tensor } from './tensor.js';

/** How to collapse the channel dim of an [N, C, H, W] map. */
export type ChannelReduction = 'sum' | 'abs-sum' | 'max-abs' | 'l2' | 'mean';

/** The map's absolute values. */
export function absolute(map: Tensor): Tensor {
  return map.map(Math.abs);
}

/** [N, C, H, W] -> [N, 1, H, W]. */
export function reduceChannels(map: Tensor, mode: ChannelReduction = 'abs-sum'): Tensor {
  check(map.rank === 4, `reduceChannels expects an [N, C, H, W] map, got ${map}`);
  const [n, c, h, w] = map.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(n * hw);
  const src = map.data;
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      let acc = 0;
      for (let k = 0; k < c; k++) {
        const v = src[(b * c + k) * hw + p]!;
        switch (mode) {
          case 'sum':
          case 'mean':
            acc += v;
            break;
          case 'abs-sum':
            acc += Math.abs(v);
            break;
          case 'max-abs':
            acc = Math.max(acc, Math.abs(v));
            break;
          case 'l2':
            acc += v * v;
            break;
        }
      }
      out[b * hw + p] = mode === 'mean' ? acc / c : mode === 'l2' ? Math.sqrt(acc) : acc;
    }
  }
  return new Tensor(out, [n, 1, h, w]);
}

/** The q-th percentile (0..100) of values, linear interpolation between order statistics. */
export function percentile(values: ArrayLike<number>, q: number): number {
  check(q >= 0 && q <= 100, `percentile must be in [0, 100], got ${q}`);
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  if (sorted.length === 0) return NaN;
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Clips each batch item to its [lo, hi] percentiles. */
export function percentileClip(map: Tensor, lo = 0.5, hi = 99.5): Tensor {
  const out = map.clone();
  const n = map.itemSize;
  for (let b = 0; b < map.batchSize; b++) {
    const item = out.data.subarray(b * n, (b + 1) * n);
    const a = percentile(item, lo);
    const z = percentile(item, hi);
    for (let i = 0; i < item.length; i++) item[i] = Math.min(z, Math.max(a, item[i]!));
  }
  return out;
}

/** Scales each batch item to [0, 1]; a constant item becomes all zeros. */
export function minMaxScale(map: Tensor): Tensor {
  const out = map.clone();
  const n = map.itemSize;
  for (let b = 0; b < map.batchSize; b++) {
    const item = out.data.subarray(b * n, (b + 1) * n);
    let min = Infinity;
    let max = -Infinity;
    for (const v of item) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const range = max - min;
    for (let i = 0; i < item.length; i++) item[i] = range > 0 ? (item[i]! - min) / range : 0;
  }
  return out;
}

/** Scales each batch item by its max |value| into [-1, 1] (for diverging colormaps). */
export function maxAbsScale(map: Tensor): Tensor {
  const out = map.clone();
  const n = map.itemSize;
  for (let b = 0; b < map.batchSize; b++) {
    const item = out.data.subarray(b * n, (b + 1) * n);
    let m = 0;
    for (const v of item) m = Math.max(m, Math.abs(v));
    if (m > 0) for (let i = 0; i < item.length; i++) item[i] = item[i]! / m;
  }
  return out;
}

/**
 * Bilinear resize of an [N, C, h, w] tensor to [N, C, H, W] with half-pixel centers
 * (align_corners = false), as PyTorch's F.interpolate(mode='bilinear') and ONNX Resize linear.
 */
export function resizeBilinear(t: Tensor, height: number, width: number): Tensor {
  check(t.rank === 4, `resizeBilinear expects [N, C, H, W], got ${t}`);
  const [n, c, h, w] = t.dims as [number, number, number, number];
  const out = new Float32Array(n * c * height * width);
  const sy = h / height;
  const sx = w / width;
  for (let plane = 0; plane < n * c; plane++) {
    const src = t.data.subarray(plane * h * w, (plane + 1) * h * w);
    const dst = out.subarray(plane * height * width, (plane + 1) * height * width);
    for (let y = 0; y < height; y++) {
      const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
      const y0 = Math.floor(fy);
      const y1 = Math.min(y0 + 1, h - 1);
      const wy = fy - y0;
      for (let x = 0; x < width; x++) {
        const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
        const x0 = Math.floor(fx);
        const x1 = Math.min(x0 + 1, w - 1);
        const wx = fx - x0;
        const top = src[y0 * w + x0]! * (1 - wx) + src[y0 * w + x1]! * wx;
        const bottom = src[y1 * w + x0]! * (1 - wx) + src[y1 * w + x1]! * wx;
        dst[y * width + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return new Tensor(out, [n, c, height, width]);
}

/** Elementwise product of two same-shape tensors. */
export function multiply(a: Tensor, b: Tensor): Tensor {
  check(a.size === b.size, `multiply: sizes differ (${a} vs ${b})`);
  const out = new Float32Array(a.size);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i]! * b.data[i]!;
  return new Tensor(out, a.dims);
}

/** Throws if any value is NaN or infinite, naming what produced it. */
export function assertFinite(t: Tensor, what: string): Tensor {
  for (let i = 0; i < t.size; i++) {
    if (!Number.isFinite(t.data[i]!)) {
      throw new Error(`${what} produced a non-finite value (${t.data[i]}) at flat index ${i} of ${t}`);
    }
  }
  return t;
}
