import { WhiteBoxError, type Tensor } from '@whitebox/core';
import type { Explainer } from './explainer.js';

/**
 * Sobel edge magnitude of each image, √(Gx² + Gy²) with the 3×3 Sobel kernels (edges replicated), summed over
 * channels: [N, H*W]. A model-blind map that highlights every contour.
 */
export function sobelRelevance(images: Tensor): Float32Array {
  if (images.rank !== 4) throw new WhiteBoxError('SHAPE_MISMATCH', `sobel: images must be [N, C, H, W], got ${images}`);
  const [n, c, h, w] = images.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(n * hw);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const plane = images.data.subarray((i * c + k) * hw, (i * c + k + 1) * hw);
      const at = (y: number, x: number): number => plane[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))]!;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const gx = at(y - 1, x + 1) + 2 * at(y, x + 1) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y, x - 1) - at(y + 1, x - 1);
          const gy = at(y + 1, x - 1) + 2 * at(y + 1, x) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y - 1, x) - at(y - 1, x + 1);
          out[i * hw + y * w + x]! += Math.sqrt(gx * gx + gy * gy);
        }
      }
    }
  }
  return out;
}

/** The edge-detector baseline (model-blind): the Sobel magnitude of the input, whatever the model and target. */
export function sobelExplainer(name = 'sobel'): Explainer {
  return { name, async relevance(input) { return sobelRelevance(input); } };
}

/** A model-blind explainer that returns the same map (`value(pixel)`) for every image (tests, references). */
export function constantExplainer(value: number | ((pixel: number) => number) = 1, name = 'constant'): Explainer {
  return {
    name,
    async relevance(input) {
      const hw = input.dims[2]! * input.dims[3]!;
      const out = new Float32Array(input.batchSize * hw);
      for (let q = 0; q < out.length; q++) out[q] = typeof value === 'number' ? value : value(q % hw);
      return out;
    },
  };
}
