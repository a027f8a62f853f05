// Bad data files: named errors, bounded memory, any IDX image size, consistent splits.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { MNIST_FILES, encodeIdx, loadCifar10Dir, loadMnist, parseCifar10Batch, readDataFile } from '../src/index.js';
import { WhiteBoxError } from '@whitebox/core';

const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'wb-hostile-'));
  tmp.push(d);
  return d;
}

/** Writes an MNIST-layout directory with the given image sizes per split. */
function idxSet(train: [number, number, number], test: [number, number, number]): string {
  const dir = scratch();
  const images = ([n, h, w]: [number, number, number]) => encodeIdx([n, h, w], Uint8Array.from({ length: n * h * w }, (_, i) => (i * 7) % 256));
  const labels = (n: number) => encodeIdx([n], Uint8Array.from({ length: n }, (_, i) => i % 10));
  writeFileSync(join(dir, MNIST_FILES.trainImages), images(train));
  writeFileSync(join(dir, MNIST_FILES.trainLabels), labels(train[0]));
  writeFileSync(join(dir, MNIST_FILES.testImages), images(test));
  writeFileSync(join(dir, MNIST_FILES.testLabels), labels(test[0]));
  return dir;
}

describe('IDX sets of any image size', () => {
  it('loads a 14×14 set under trainLimit (the image size used to be hard-coded as 784 bytes)', () => {
    const { train, test } = loadMnist({ dir: idxSet([30, 14, 14], [10, 14, 14]), trainLimit: 12 });
    expect([train.count, train.height, train.width, train.images.length]).toEqual([12, 14, 14, 12 * 196]);
    expect(train.images).toEqual(loadMnist({ dir: idxSet([30, 14, 14], [10, 14, 14]) }).train.images.subarray(0, 12 * 196));
    expect(test.count).toBe(10);
  });

  it('refuses splits of different image sizes, and empty images', () => {
    expect(() => loadMnist({ dir: idxSet([20, 28, 28], [10, 14, 56]) })).toThrow(/test images are 14×56 but the training images .* are 28×28; both splits must have one image size/);
    expect(() => loadMnist({ dir: idxSet([20, 0, 28], [10, 0, 28]) })).toThrow(/images of 0×28 pixels/);
  });

  it('limits must be integers ≥ 0; 0 loads no images', () => {
    const dir = idxSet([20, 4, 4], [10, 4, 4]);
    expect(loadMnist({ dir, trainLimit: 0 }).train.count).toBe(0);
    for (const bad of [-1, 1.5, NaN, Infinity]) expect(() => loadMnist({ dir, trainLimit: bad }), String(bad)).toThrow(/trainLimit must be an integer ≥ 0/);
    expect(() => loadMnist({ dir, testLimit: -2 })).toThrow(/testLimit must be an integer ≥ 0/);
    expect(() => loadCifar10Dir(dir, { trainLimit: -1 })).toThrow(/trainLimit must be an integer ≥ 0/);
  });
});

describe('readDataFile', () => {
  it('stops a gzip bomb at the output limit instead of inflating it in full', () => {
    const dir = scratch();
    const bomb = join(dir, 'bomb.gz');
    writeFileSync(bomb, gzipSync(new Uint8Array(64 << 20), { level: 9 })); // 64 MiB of zeros in ~64 kB
    const t0 = performance.now();
    expect(() => readDataFile(bomb, { maxBytes: 1 << 20 })).toThrow(/bomb\.gz: the gzip data inflates to more than 1,048,576 bytes/);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(readDataFile(bomb, { maxBytes: 64 << 20 }).length).toBe(64 << 20);
    writeFileSync(join(dir, 'trunc.gz'), gzipSync(new Uint8Array(1000)).subarray(0, 20));
    expect(() => readDataFile(join(dir, 'trunc.gz'))).toThrow(/gzip data is corrupt or truncated/);
  });

  it('refuses FIFOs and devices without blocking, names missing files', () => {
    const dir = scratch();
    const fifo = join(dir, MNIST_FILES.trainImages);
    execFileSync('mkfifo', [fifo]);
    expect(() => readDataFile(fifo)).toThrow(/it is a FIFO \(named pipe\), not a regular file/);
    expect(() => loadMnist({ dir })).toThrow(/FIFO|MNIST file missing/);
    expect(() => readDataFile('/dev/zero')).toThrow(/character device/);
    expect(() => readDataFile(join(dir, 'nope'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND', message: expect.stringMatching(/data file not found: .*nope/) }));
    const big = join(dir, 'big.bin');
    writeFileSync(big, new Uint8Array(2000));
    expect(() => readDataFile(big, { maxBytes: 1000 })).toThrow(/big\.bin is 2,000 bytes, above the limit of 1,000 bytes/);
  });
});

describe('parseCifar10Batch limit', () => {
  it('a negative or fractional limit is INVALID_ARGUMENT, not a RangeError (fuzz case data.cifar#4)', () => {
    const records = new Uint8Array(2 * 3073);
    for (const limit of [-1, 0.5, NaN]) {
      let err: unknown;
      try { parseCifar10Batch(records, 'batch.bin', limit); } catch (e) { err = e; }
      expect(err, String(limit)).toBeInstanceOf(WhiteBoxError);
      expect((err as WhiteBoxError).code).toBe('INVALID_ARGUMENT');
      expect((err as Error).message).toMatch(/limit must be an integer ≥ 0/);
    }
    expect(parseCifar10Batch(records, 'batch.bin', 1).count).toBe(1);
  });
});
