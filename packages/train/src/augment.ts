import { Rng } from '@whitebox/core';
import type { Dataset } from '@whitebox/datasets';

/** Training data augmentation: random crops after padding and horizontal flips. */
export interface AugmentOptions {
  /** Random crop after zero-padding by this many pixels (0: none). */
  cropPadding: number;
  /** Random horizontal flip with probability 1/2. */
  flip: boolean;
}

/**
 * Builds one NHWC float32 batch of normalized pixels ((p/255 − mean)/std) from dataset items `indices`,
 * with optional augmentation (random crop with zero padding in pixel space, horizontal flip) drawn from `rng`.
 */
export function makeBatchNHWC(ds: Dataset, indices: ArrayLike<number>, augment: AugmentOptions | null, rng: Rng | null, out?: Float32Array): { x: Float32Array; y: Int32Array } {
  const { channels: C, height: H, width: W } = ds;
  const plane = H * W;
  const size = C * plane;
  const n = indices.length;
  const x = out && out.length === n * size ? out : new Float32Array(n * size);
  const y = new Int32Array(n);
  const lut = new Float32Array(256 * C);
  for (let c = 0; c < C; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - ds.mean[c]!) / ds.std[c]!;
  const zero = new Float32Array(C);
  for (let c = 0; c < C; c++) zero[c] = lut[c * 256]!;
  const pad = augment?.cropPadding ?? 0;
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    y[k] = ds.labels[i]!;
    const src = i * size;
    let dy = 0;
    let dx = 0;
    let flip = false;
    if (augment && rng) {
      if (pad > 0) {
        dy = rng.int(2 * pad + 1) - pad;
        dx = rng.int(2 * pad + 1) - pad;
      }
      if (augment.flip) flip = rng.next() < 0.5;
    }
    const dst = k * size;
    for (let r = 0; r < H; r++) {
      const sr = r + dy;
      for (let col = 0; col < W; col++) {
        const sc = (flip ? W - 1 - col : col) + dx;
        const o = dst + (r * W + col) * C;
        if (sr < 0 || sr >= H || sc < 0 || sc >= W) {
          for (let c = 0; c < C; c++) x[o + c] = zero[c]!;
        } else {
          const s = src + sr * W + sc;
          for (let c = 0; c < C; c++) x[o + c] = lut[c * 256 + ds.images[s + c * plane]!]!;
        }
      }
    }
  }
  return { x, y };
}
