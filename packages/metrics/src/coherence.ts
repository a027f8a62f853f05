import { WhiteBoxError, type Tensor } from '@whitebox/core';
import { imagesToTensor, subsetDataset, type ImageDataset } from './data.js';
import type { Explainer } from './explainer.js';
import { gridPng, imageToRgb, relevanceToRgb, type RgbImage } from './render.js';
import type { ProgressCallback } from '@whitebox/core';

/** Result of `coherence`: one sample per class, every method's map of it, and the grid picture. */
export interface CoherenceResult {
  classes: string[];
  /** Dataset index of the sample shown for each class. */
  indices: number[];
  methods: string[];
  images: Tensor;
  /** Per method, relevance [classes, H*W]. */
  maps: Record<string, Float32Array>;
  /** The grid: one row per class, the input then every method's map. */
  png: Uint8Array;
}

/** The first sample of each class, in class order. */
export function onePerClass(ds: ImageDataset): number[] {
  const out: number[] = [];
  for (let c = 0; c < ds.classes.length; c++) {
    for (let i = 0; i < ds.count; i++) {
      if (ds.labels[i] === c) {
        out.push(i);
        break;
      }
    }
  }
  if (out.length === 0) throw new WhiteBoxError('INVALID_DATA', `coherence: dataset '${ds.name}' has no labelled samples`);
  return out;
}

/** Coherence (qualitative): one sample per class, the input and every method's map side by side. */
export async function coherence(ds: ImageDataset, explainers: readonly Explainer[], options: { scale?: number; onProgress?: ProgressCallback } = {}): Promise<CoherenceResult> {
  const indices = onePerClass(ds);
  const sub = subsetDataset(ds, indices);
  const images = imagesToTensor(sub);
  const targets = Int32Array.from(sub.labels);
  const maps: Record<string, Float32Array> = {};
  const { channels: c, height: h, width: w } = ds;
  let done = 0;
  options.onProgress?.({ done, total: explainers.length, stage: 'coherence' });
  for (const e of explainers) {
    maps[e.name] = await e.relevance(images, targets);
    options.onProgress?.({ done: ++done, total: explainers.length, stage: `coherence ${e.name}` });
  }
  const rows: RgbImage[][] = indices.map((_, r) => [
    imageToRgb(images.data.subarray(r * c * h * w, (r + 1) * c * h * w), c, h, w),
    ...explainers.map((e) => relevanceToRgb(maps[e.name]!.subarray(r * h * w, (r + 1) * h * w), h, w)),
  ]);
  const png = gridPng(rows, options.scale ?? (h <= 32 ? 3 : 1));
  return { classes: indices.map((i) => ds.classes[ds.labels[i]!] ?? String(ds.labels[i])), indices, methods: explainers.map((e) => e.name), images, maps, png };
}
