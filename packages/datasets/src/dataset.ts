import { Rng, Tensor, WhiteBoxError, check, describeValue } from '@whitebox/core';

/**
 * An image classification dataset held in memory: NCHW uint8 pixels and uint8 labels.
 * `mean`/`std` are per-channel normalization constants on the [0, 1] pixel scale
 * (computed on the training split; the test split carries the same values).
 */
export interface Dataset {
  name: string;
  classes: string[];
  count: number;
  channels: number;
  height: number;
  width: number;
  /** NCHW uint8, `count * channels * height * width` bytes. */
  images: Uint8Array;
  /** One class index per image, each < classes.length. */
  labels: Uint8Array;
  /** Per channel, [0, 1] scale. */
  mean: number[];
  std: number[];
}

/** A training set and a test set. */
export interface TrainTest {
  train: Dataset;
  test: Dataset;
}

/** Checks an optional image-count limit: an integer ≥ 0. */
export function checkLimitOption(value: number | undefined, name: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${name} must be an integer ≥ 0 (images to load), got ${describeValue(value)}`, { [name]: value });
  }
}

/** Bytes per image. */
export function imageSize(ds: Pick<Dataset, 'channels' | 'height' | 'width'>): number {
  return ds.channels * ds.height * ds.width;
}

/** Checks the internal consistency of a dataset (sizes, label range, normalization); throws INVALID_DATA naming what is wrong. */
export function validateDataset(ds: Dataset, where = ds.name): Dataset {
  const fail = (msg: string): never => {
    throw new WhiteBoxError('INVALID_DATA', `dataset '${where}': ${msg}`, { dataset: where });
  };
  for (const [k, v] of [['count', ds.count], ['channels', ds.channels], ['height', ds.height], ['width', ds.width]] as const) {
    if (!Number.isInteger(v) || v < 0) fail(`${k} must be a non-negative integer, got ${v}`);
  }
  if (!(ds.images instanceof Uint8Array)) fail('images must be a Uint8Array');
  if (!(ds.labels instanceof Uint8Array)) fail('labels must be a Uint8Array');
  if (ds.images.length !== ds.count * imageSize(ds)) {
    fail(`images has ${ds.images.length} bytes but count × channels × height × width = ${ds.count} × ${ds.channels} × ${ds.height} × ${ds.width} = ${ds.count * imageSize(ds)}`);
  }
  if (ds.labels.length !== ds.count) fail(`labels has ${ds.labels.length} entries but count is ${ds.count}`);
  if (ds.classes.length < 1 || ds.classes.length > 256) fail(`classes must have 1..256 names, got ${ds.classes.length}`);
  for (let i = 0; i < ds.labels.length; i++) {
    if (ds.labels[i]! >= ds.classes.length) fail(`label ${ds.labels[i]} at index ${i} is out of range [0, ${ds.classes.length})`);
  }
  if (ds.mean.length !== ds.channels || ds.std.length !== ds.channels) fail(`mean/std need ${ds.channels} values (one per channel), got ${ds.mean.length}/${ds.std.length}`);
  for (const s of ds.std) if (!(s > 0) || !Number.isFinite(s)) fail(`std values must be finite and > 0, got ${ds.std.join(', ')}`);
  for (const m of ds.mean) if (!Number.isFinite(m)) fail(`mean values must be finite, got ${ds.mean.join(', ')}`);
  return ds;
}

/** Per-channel mean and (population) standard deviation of the pixels on the [0, 1] scale. */
export function channelStats(images: Uint8Array, count: number, channels: number, height: number, width: number): { mean: number[]; std: number[] } {
  const plane = height * width;
  const hist = Array.from({ length: channels }, () => new Float64Array(256));
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < channels; c++) {
      const h = hist[c]!;
      const off = (n * channels + c) * plane;
      for (let i = 0; i < plane; i++) h[images[off + i]!]!++;
    }
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const h = hist[c]!;
    let s = 0;
    let s2 = 0;
    let total = 0;
    for (let v = 0; v < 256; v++) {
      const x = v / 255;
      s += h[v]! * x;
      s2 += h[v]! * x * x;
      total += h[v]!;
    }
    const m = total > 0 ? s / total : 0;
    mean.push(m);
    std.push(total > 0 ? Math.sqrt(Math.max(0, s2 / total - m * m)) || 1 : 1);
  }
  return { mean, std };
}

/** Images [start, end) as a float32 NCHW tensor of pixels in [0, 1] (the models' input contract). */
export function toTensor(ds: Dataset, start = 0, end = ds.count): Tensor {
  check(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= ds.count && start <= end, `toTensor: range [${start}, ${end}) is outside dataset '${ds.name}' of ${ds.count} images`);
  const size = imageSize(ds);
  const src = ds.images.subarray(start * size, end * size);
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! / 255;
  return new Tensor(out, [end - start, ds.channels, ds.height, ds.width]);
}

/** Images [start, end) normalized with the dataset's mean/std: (pixel/255 − mean) / std, NCHW float32. */
export function toNormalizedTensor(ds: Dataset, start = 0, end = ds.count): Tensor {
  const t = toTensor(ds, start, end);
  const plane = ds.height * ds.width;
  const d = t.data;
  for (let n = 0; n < end - start; n++) {
    for (let c = 0; c < ds.channels; c++) {
      const m = ds.mean[c]!;
      const inv = 1 / ds.std[c]!;
      const off = (n * ds.channels + c) * plane;
      for (let i = 0; i < plane; i++) d[off + i] = (d[off + i]! - m) * inv;
    }
  }
  return t;
}

/** Labels [start, end) as an int32 tensor. */
export function labelsTensor(ds: Dataset, start = 0, end = ds.count): Tensor<Int32Array> {
  check(start >= 0 && end <= ds.count && start <= end, `labelsTensor: range [${start}, ${end}) is outside dataset '${ds.name}' of ${ds.count} images`);
  return new Tensor(Int32Array.from(ds.labels.subarray(start, end)), [end - start]);
}

/** A new dataset holding copies of the images at `indices`, in that order (same classes and normalization). */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const size = imageSize(ds);
  const images = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    check(Number.isInteger(i) && i >= 0 && i < ds.count, `subset: index ${i} (position ${k}) is outside dataset '${ds.name}' of ${ds.count} images`);
    images.set(ds.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = ds.labels[i]!;
  }
  return { ...ds, name, count: indices.length, images, labels, mean: [...ds.mean], std: [...ds.std], classes: [...ds.classes] };
}

/**
 * The same dataset with other pixels (ROAR/KAR retrain on modified copies). `images` is uint8 NCHW of the same
 * size, or float32 pixels in [0, 1] (rounded to uint8, clamped).
 */
export function withImages(ds: Dataset, images: Uint8Array | Float32Array, name = ds.name): Dataset {
  if (images.length !== ds.images.length) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `withImages: dataset '${ds.name}' needs ${ds.images.length} pixel values (${ds.count} × ${ds.channels} × ${ds.height} × ${ds.width}), got ${images.length}`, { dataset: ds.name });
  }
  let bytes: Uint8Array;
  if (images instanceof Uint8Array) bytes = images;
  else {
    bytes = new Uint8Array(images.length);
    for (let i = 0; i < images.length; i++) {
      const v = images[i]!;
      if (Number.isNaN(v)) throw new WhiteBoxError('INVALID_DATA', `withImages: pixel ${i} of dataset '${ds.name}' is NaN`, { dataset: ds.name, index: i });
      bytes[i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return { ...ds, name, images: bytes };
}

/** Creates an in-memory dataset, computing mean/std from the images when not given; validated. */
export function createDataset(init: Omit<Dataset, 'mean' | 'std' | 'count'> & { mean?: number[]; std?: number[]; count?: number }): Dataset {
  const count = init.count ?? init.labels.length;
  const stats = init.mean && init.std ? { mean: init.mean, std: init.std } : channelStats(init.images, Math.min(count, Math.floor(init.images.length / Math.max(1, init.channels * init.height * init.width))), init.channels, init.height, init.width);
  return validateDataset({ ...init, count, mean: stats.mean, std: stats.std });
}

/** A seeded permutation of 0..count-1 (same seed → same order). */
export function shuffledIndices(count: number, seed: number): Int32Array {
  return new Rng(seed).permutation(count);
}

/**
 * Deterministic train/validation split: a seeded shuffle, then the last `fraction` of it (rounded) is validation.
 * Returns two new datasets.
 */
export function trainValidationSplit(ds: Dataset, fraction: number, seed = 0): { train: Dataset; validation: Dataset } {
  check(fraction >= 0 && fraction < 1, `validation fraction must be in [0, 1), got ${fraction}`);
  const perm = shuffledIndices(ds.count, seed);
  const nVal = Math.round(ds.count * fraction);
  const nTrain = ds.count - nVal;
  return {
    train: subset(ds, perm.subarray(0, nTrain), `${ds.name}-train`),
    validation: subset(ds, perm.subarray(nTrain), `${ds.name}-validation`),
  };
}

/** One batch of a dataset: images, labels and dataset indices. */
export interface Batch {
  /** Float32 NCHW pixels in [0, 1] (or normalized when `normalize`). */
  images: Tensor;
  labels: Int32Array;
  /** Dataset indices of this batch's items. */
  indices: Int32Array;
}

/** Options of `batches`: size, shuffling, dropping an incomplete last batch, normalization. */
export interface BatchOptions {
  batchSize: number;
  /** Shuffle with this seed (omit for dataset order). */
  shuffleSeed?: number;
  /** Drop a last incomplete batch. */
  dropLast?: boolean;
  /** Apply (x − mean)/std. */
  normalize?: boolean;
}

/** Iterates over the dataset in batches (optionally shuffled with a seed, deterministic). */
export function* batches(ds: Dataset, options: BatchOptions): Generator<Batch> {
  const { batchSize } = options;
  check(Number.isInteger(batchSize) && batchSize > 0, `batchSize must be a positive integer, got ${batchSize}`);
  const order = options.shuffleSeed === undefined ? Int32Array.from({ length: ds.count }, (_, i) => i) : shuffledIndices(ds.count, options.shuffleSeed);
  const size = imageSize(ds);
  const plane = ds.height * ds.width;
  for (let start = 0; start < ds.count; start += batchSize) {
    const end = Math.min(ds.count, start + batchSize);
    if (options.dropLast && end - start < batchSize) break;
    const idx = order.subarray(start, end);
    const data = new Float32Array((end - start) * size);
    const labels = new Int32Array(end - start);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!;
      labels[k] = ds.labels[i]!;
      const src = i * size;
      const dst = k * size;
      for (let c = 0; c < ds.channels; c++) {
        const m = options.normalize ? ds.mean[c]! : 0;
        const s = options.normalize ? 1 / ds.std[c]! : 1;
        const o = c * plane;
        for (let p = 0; p < plane; p++) data[dst + o + p] = (ds.images[src + o + p]! / 255 - m) * s;
      }
    }
    yield { images: new Tensor(data, [end - start, ds.channels, ds.height, ds.width]), labels, indices: Int32Array.from(idx) };
  }
}

/** Count of images per class. */
export function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.classes.length).fill(0);
  for (let i = 0; i < ds.count; i++) counts[ds.labels[i]!]!++;
  return counts;
}
