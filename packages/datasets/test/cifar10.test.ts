import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, CIFAR10_TRAIN_FILES, classCounts, loadCifar10, loadCifar10Dir, parseCifar10Batch, toTensor } from '../src/index.js';

/** The CI copy of CIFAR-10 (original binary layout; pixels decoded from JPEG, see its SOURCE.md). */
const DIR = process.env.WHITEBOX_CIFAR10_DIR ?? new URL('../../../../shared/data/cifar10', import.meta.url).pathname;
const tmp: string[] = [];
afterAll(() => tmp.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.runIf(existsSync(join(DIR, 'test_batch.bin')))('CIFAR-10 binary batches (shared copy)', () => {
  it('files have the sha256 listed in SOURCE.md', () => {
    const sums: Record<string, string> = {
      'data_batch_1.bin': '8da035fc1631e8ce5f25904206b8993b0f3ad02a504c0584d662e806fd76c12b',
      'data_batch_5.bin': '490f5ead4f04a3eb71d5898eb551e0d8d2c592feb778fb9b109a006b3f231495',
      'test_batch.bin': 'b7dd3da72b4e6cbb3673cfecaa3717fbc29d65756c858cea2466bc8c938bc570',
    };
    for (const [f, sum] of Object.entries(sums)) expect(createHash('sha256').update(readFileSync(join(DIR, f))).digest('hex'), f).toBe(sum);
  });

  it('parses 50,000 + 10,000 images of 3×32×32, with the published per-batch class counts and first test labels', async () => {
    const { train, test } = await loadCifar10({ dir: DIR });
    expect([train.count, test.count]).toEqual([50000, 10000]);
    expect(train.classes).toEqual(CIFAR10_CLASSES);
    expect(classCounts(train)).toEqual(new Array(10).fill(5000));
    expect(classCounts(test)).toEqual(new Array(10).fill(1000));
    // data_batch_1 class counts from SOURCE.md (matching the original).
    const b1 = parseCifar10Batch(new Uint8Array(readFileSync(join(DIR, CIFAR10_TRAIN_FILES[0]!))), 'data_batch_1.bin');
    const counts = new Array(10).fill(0);
    for (const l of b1.labels) counts[l]++;
    expect(counts).toEqual([1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]);
    // The well-known first test images: cat, ship, ship, airplane, frog.
    expect(Array.from(test.labels.subarray(0, 5)).map((l) => CIFAR10_CLASSES[l])).toEqual(['cat', 'ship', 'ship', 'airplane', 'frog']);
    // First training labels of the original data_batch_1: frog, truck, truck, deer, automobile.
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([6, 9, 9, 4, 1]);
    // Per-channel statistics close to the well-known CIFAR-10 values (JPEG-decoded pixels differ slightly).
    expect(train.mean[0]).toBeCloseTo(0.4914, 2);
    expect(train.mean[1]).toBeCloseTo(0.4822, 2);
    expect(train.mean[2]).toBeCloseTo(0.4465, 2);
    expect(train.std[0]).toBeCloseTo(0.247, 2);
    // NCHW planes: record byte 1 + c·1024 + y·32 + x.
    const raw = readFileSync(join(DIR, 'test_batch.bin'));
    const t = toTensor(test, 1, 2);
    expect(t.data[2 * 1024 + 5 * 32 + 7]).toBeCloseTo(raw[3073 + 1 + 2 * 1024 + 5 * 32 + 7]! / 255, 7);
  });

  it('reads WHITEBOX_CIFAR10_DIR by default and applies limits', async () => {
    const before = process.env.WHITEBOX_CIFAR10_DIR;
    process.env.WHITEBOX_CIFAR10_DIR = DIR;
    try {
      const { train, test } = await loadCifar10({ trainLimit: 10, testLimit: 3, download: false });
      expect([train.count, test.count]).toEqual([10, 3]);
      expect(train.images.length).toBe(10 * 3072);
    } finally {
      if (before === undefined) delete process.env.WHITEBOX_CIFAR10_DIR;
      else process.env.WHITEBOX_CIFAR10_DIR = before;
    }
  });
});

describe('CIFAR-10 format errors name the file and the problem', () => {
  const record = (label: number, fill: number) => {
    const r = new Uint8Array(3073).fill(fill);
    r[0] = label;
    return r;
  };
  it('parses records into NCHW planes', () => {
    const r = record(7, 0);
    r[1 + 1024 + 3] = 200; // G plane, pixel (0, 3)
    const p = parseCifar10Batch(r, 'one.bin');
    expect(p.count).toBe(1);
    expect(p.labels[0]).toBe(7);
    expect(p.images[1024 + 3]).toBe(200);
  });
  it('truncated record, label out of range, empty file', () => {
    const two = new Uint8Array(2 * 3073);
    two.set(record(1, 5));
    two.set(record(12, 5), 3073);
    expect(() => parseCifar10Batch(two.subarray(0, 3073 + 100), '/x/data_batch_1.bin')).toThrow(/\/x\/data_batch_1.bin: 3173 bytes is not a whole number of 3073-byte CIFAR-10 records \(1 records \+ 100 bytes/);
    expect(() => parseCifar10Batch(two, '/x/b.bin')).toThrow(/\/x\/b.bin: label 12 in record 1 \(byte offset 3073\) is out of range \[0, 9\]/);
    expect(() => parseCifar10Batch(new Uint8Array(0), 'e.bin')).toThrow(/e.bin: empty/);
  });
  it('missing files and wrong file sizes in a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-cifar-'));
    tmp.push(dir);
    expect(() => loadCifar10Dir(join(dir, 'nope'))).toThrow(/CIFAR-10 directory not found/);
    expect(() => loadCifar10Dir(dir)).toThrow(new RegExp(`CIFAR-10 file missing: ${join(dir, 'data_batch_1.bin')}`));
    writeFileSync(join(dir, 'data_batch_1.bin'), new Uint8Array(3073 * 3));
    expect(() => loadCifar10Dir(dir)).toThrow(/data_batch_1.bin: 9219 bytes, expected 30730000 \(10000 records of 3073 bytes\): truncated/);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'batches.meta.txt'), 'a\nb\n');
    expect(() => loadCifar10Dir(join(dir, 'sub'))).toThrow(/batches.meta.txt: expected 10 class names, found 2/);
  });
});
