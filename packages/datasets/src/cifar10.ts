import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WhiteBoxError, type ProgressCallback } from '@whitebox/core';
import { channelStats, checkLimitOption, validateDataset, type Dataset, type TrainTest } from './dataset.js';
import { readDataFile } from './files.js';
import { CIFAR10_ARCHIVE, downloadCifar10, type DownloadTimeouts } from './download.js';

/** CIFAR-10 class names in label order. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** Bytes per record in the binary batches: one label byte and 3 × 32 × 32 pixels. */
export const CIFAR10_RECORD_BYTES = 3073;
/** File names of the five binary training batches. */
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
/** File name of the binary test batch. */
export const CIFAR10_TEST_FILE = 'test_batch.bin';
const PLANE = 32 * 32;
const IMAGE = 3 * PLANE;

/** Options of `loadCifar10`: where the batches are, whether to download them, and how many images to load. */
export interface LoadCifar10Options {
  /**
   * Directory with the original binary batches (`data_batch_1..5.bin`, `test_batch.bin`).
   * Default: `$WHITEBOX_CIFAR10_DIR`, else the download cache (`$WHITEBOX_DATA_DIR` or `~/.cache/whitebox`),
   * downloading the official archive there when `download` is true.
   */
  dir?: string;
  /** Download the official archive into the cache when no directory is given and the cache is empty. Default true. */
  download?: boolean;
  /** Cache directory for downloads (default `$WHITEBOX_DATA_DIR` or `~/.cache/whitebox`). */
  cacheDir?: string;
  /** Download URL (default the official archive). */
  url?: string;
  trainLimit?: number;
  testLimit?: number;
  onProgress?: ProgressCallback;
  /** Download timeouts (see downloadFile). */
  timeouts?: DownloadTimeouts;
}

/**
 * Parses CIFAR-10 binary records (1 label byte + 1024 R + 1024 G + 1024 B, row-major) into NCHW uint8 images.
 * The byte length must be a multiple of 3073 and every label < 10.
 */
export function parseCifar10Batch(bytes: Uint8Array, file: string, limit?: number): { images: Uint8Array; labels: Uint8Array; count: number } {
  checkLimitOption(limit, 'limit');
  if (bytes.length === 0) throw new WhiteBoxError('INVALID_DATA', `${file}: empty CIFAR-10 batch file`, { file });
  if (bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new WhiteBoxError(
      'INVALID_DATA',
      `${file}: ${bytes.length} bytes is not a whole number of 3073-byte CIFAR-10 records (${Math.floor(bytes.length / CIFAR10_RECORD_BYTES)} records + ${bytes.length % CIFAR10_RECORD_BYTES} bytes: truncated or not a CIFAR-10 binary batch)`,
      { file, bytes: bytes.length },
    );
  }
  const total = bytes.length / CIFAR10_RECORD_BYTES;
  const count = limit === undefined ? total : Math.min(total, limit);
  const images = new Uint8Array(count * IMAGE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const off = i * CIFAR10_RECORD_BYTES;
    const label = bytes[off]!;
    if (label > 9) throw new WhiteBoxError('INVALID_DATA', `${file}: label ${label} in record ${i} (byte offset ${off}) is out of range [0, 9]`, { file, record: i });
    labels[i] = label;
    images.set(bytes.subarray(off + 1, off + CIFAR10_RECORD_BYTES), i * IMAGE);
  }
  return { images, labels, count };
}

function readBatches(dir: string, files: string[], expectedRecords: number | undefined, limit?: number) {
  const parts: { images: Uint8Array; labels: Uint8Array; count: number }[] = [];
  let remaining = limit ?? Infinity;
  for (const f of files) {
    if (remaining <= 0) break;
    const path = join(dir, f);
    if (!existsSync(path)) throw new WhiteBoxError('NOT_FOUND', `CIFAR-10 file missing: ${path}`, { file: path });
    const bytes = readDataFile(path);
    if (expectedRecords !== undefined && bytes.length !== expectedRecords * CIFAR10_RECORD_BYTES) {
      throw new WhiteBoxError(
        'INVALID_DATA',
        `${path}: ${bytes.length} bytes, expected ${expectedRecords * CIFAR10_RECORD_BYTES} (${expectedRecords} records of 3073 bytes)${bytes.length < expectedRecords * CIFAR10_RECORD_BYTES ? ': truncated' : ''}`,
        { file: path, bytes: bytes.length },
      );
    }
    const p = parseCifar10Batch(bytes, path, Number.isFinite(remaining) ? remaining : undefined);
    parts.push(p);
    remaining -= p.count;
  }
  const count = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(count * IMAGE);
  const labels = new Uint8Array(count);
  let o = 0;
  for (const p of parts) {
    images.set(p.images, o * IMAGE);
    labels.set(p.labels, o);
    o += p.count;
  }
  return { images, labels, count };
}

/** Class names from `batches.meta.txt` when present (checked to be the 10 CIFAR-10 names), else the standard list. */
function readClassNames(dir: string): string[] {
  const meta = join(dir, 'batches.meta.txt');
  if (!existsSync(meta)) return [...CIFAR10_CLASSES];
  const names = new TextDecoder().decode(readDataFile(meta, { maxBytes: 1 << 20 })).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (names.length !== 10) throw new WhiteBoxError('INVALID_DATA', `${meta}: expected 10 class names, found ${names.length}`, { file: meta });
  return names;
}

/**
 * Loads CIFAR-10 from a directory of the original binary batches (sizes and format checked: 10,000 records of
 * 3073 bytes per file), or downloads the official archive into the cache first.
 */
export async function loadCifar10(options: LoadCifar10Options = {}): Promise<TrainTest> {
  let dir = options.dir ?? process.env.WHITEBOX_CIFAR10_DIR;
  if (!dir) {
    const got = await downloadCifar10({ cacheDir: options.cacheDir, url: options.url ?? CIFAR10_ARCHIVE.url, onProgress: options.onProgress, allowDownload: options.download ?? true, timeouts: options.timeouts });
    dir = got.dir;
  }
  return loadCifar10Dir(dir, options);
}

/** Synchronous loader for a directory of binary batches. */
export function loadCifar10Dir(dir: string, options: { trainLimit?: number; testLimit?: number } = {}): TrainTest {
  checkLimitOption(options.trainLimit, 'trainLimit');
  checkLimitOption(options.testLimit, 'testLimit');
  if (!existsSync(dir)) throw new WhiteBoxError('NOT_FOUND', `CIFAR-10 directory not found: ${dir}`, { file: dir });
  const classes = readClassNames(dir);
  // Normalization statistics always come from the full training split, so limits do not change them.
  const fullTrain = readBatches(dir, CIFAR10_TRAIN_FILES, 10000);
  const stats = channelStats(fullTrain.images, fullTrain.count, 3, 32, 32);
  const trainCount = options.trainLimit === undefined ? fullTrain.count : Math.min(fullTrain.count, options.trainLimit);
  const test = readBatches(dir, [CIFAR10_TEST_FILE], 10000, options.testLimit);
  const base = { classes, channels: 3, height: 32, width: 32 };
  return {
    train: validateDataset({
      ...base,
      name: 'cifar10-train',
      count: trainCount,
      images: trainCount === fullTrain.count ? fullTrain.images : fullTrain.images.slice(0, trainCount * IMAGE),
      labels: fullTrain.labels.slice(0, trainCount),
      mean: stats.mean,
      std: stats.std,
    }),
    test: validateDataset({ ...base, name: 'cifar10-test', count: test.count, images: test.images, labels: test.labels, mean: [...stats.mean], std: [...stats.std] }),
  };
}
