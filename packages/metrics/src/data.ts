import { Rng, Tensor, WhiteBoxError, check, reduceChannels, resizeBilinear, type ChannelReduction } from '@whitebox/core';
import { subset, toTensor, type Dataset } from '@whitebox/datasets';

/** The datasets metrics work on: @whitebox/datasets' `Dataset` (uint8 NCHW images, labels, per-channel mean/std). */
export type ImageDataset = Dataset;

/** Checks a dataset's arrays agree with its declared sizes. */
export function validateDataset(ds: ImageDataset, where: string): void {
  const item = ds.channels * ds.height * ds.width;
  if (ds.images.length !== ds.count * item) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: dataset '${ds.name}' has ${ds.images.length} image bytes, expected count × C × H × W = ${ds.count} × ${ds.channels} × ${ds.height} × ${ds.width}`, { dataset: ds.name });
  }
  if (ds.labels.length !== ds.count) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: dataset '${ds.name}' has ${ds.labels.length} labels for ${ds.count} images`, { dataset: ds.name });
  }
  if (ds.mean.length !== ds.channels) throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: dataset '${ds.name}' has ${ds.mean.length} channel means for ${ds.channels} channels`);
}

/** Images [start, end) as a float32 [N, C, H, W] tensor in [0, 1]. */
export const imagesToTensor = toTensor;

/** Pixels of a [0, 1] tensor back to uint8. */
export function tensorToImages(t: Tensor): Uint8Array {
  const out = new Uint8Array(t.size);
  for (let i = 0; i < t.size; i++) out[i] = Math.round(Math.min(1, Math.max(0, t.data[i]!)) * 255);
  return out;
}

/** Copies of the images at `indices`, in that order. */
export const subsetDataset = subset;

/** The first `n` items of each class in turn until `count` are taken (balanced, deterministic). */
export function balancedIndices(ds: ImageDataset, count: number): Int32Array {
  const n = Math.min(count, ds.count);
  const numClasses = Math.max(ds.classes.length, 1);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < ds.count; i++) byClass[ds.labels[i]! % numClasses]!.push(i);
  const out: number[] = [];
  for (let r = 0; out.length < n; r++) {
    let added = false;
    for (const list of byClass) {
      if (r < list.length && out.length < n) {
        out.push(list[r]!);
        added = true;
      }
    }
    if (!added) break;
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}

/**
 * Per-pixel relevance [N, H*W] of a map: channels collapsed with `reduction`, resized to
 * the image size when a layer method returns a coarser map. Non-finite values are an error.
 */
export function pixelRelevance(map: Tensor, height: number, width: number, reduction: ChannelReduction = 'abs-sum', method = 'map'): Float32Array {
  if (map.rank !== 4) throw new WhiteBoxError('SHAPE_MISMATCH', `${method}: expected an [N, C, H, W] map, got ${map}`, { shape: map.dims });
  let r = map.dims[1] === 1 && reduction !== 'abs-sum' && reduction !== 'max-abs' && reduction !== 'l2' ? map : reduceChannels(map, reduction);
  if (r.dims[2] !== height || r.dims[3] !== width) r = resizeBilinear(r, height, width);
  for (let i = 0; i < r.size; i++) {
    if (!Number.isFinite(r.data[i]!)) {
      throw new WhiteBoxError('RUNTIME_ERROR', `${method}: the map has a non-finite value (${r.data[i]}) at sample ${Math.floor(i / (height * width))}, pixel ${i % (height * width)} of ${map}`, { method });
    }
  }
  return r.data.slice();
}

/**
 * Indices 0..n-1 ordered by decreasing value. Ties are broken in a seeded random order when `tieSeed`
 * is given (so equal relevance — e.g. the zero background of input × gradient — is not removed
 * top-left first), else by lower index.
 */
export function argsortDesc(values: ArrayLike<number>, tieSeed?: number): Int32Array {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  if (tieSeed === undefined) {
    idx.sort((a, b) => values[b]! - values[a]! || a - b);
  } else {
    const key = new Rng(tieSeed).permutation(values.length);
    idx.sort((a, b) => values[b]! - values[a]! || key[a]! - key[b]!);
  }
  return Int32Array.from(idx);
}
