import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WhiteBoxError } from '@whitebox/core';
import { createDataset } from '@whitebox/datasets';
import { classifierFromCheckpoint, learningRate, resolveOptions, trainSimpleCNN, loadCheckpoint } from '../src/index.js';
import { first, smallMnist } from './helpers.js';

const tiny = { widths: [8, 16, 16], hidden: 32 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'wb-train-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('trainSimpleCNN', () => {
  it('learns MNIST digits from 1,500 images in 2 epochs (test accuracy ≫ 10% chance)', async () => {
    const { train, test } = smallMnist();
    const epochs: number[] = [];
    const progress: number[] = [];
    const clf = await trainSimpleCNN(first(train, 1500), { ...tiny, epochs: 2, batchSize: 32, lr: 0.05, validationFraction: 0.2, seed: 3, onEpoch: (r) => epochs.push(r.epoch), onProgress: (p) => progress.push(p.done / p.total) });
    expect(epochs).toEqual([1, 2]);
    expect(progress.at(-1)).toBeCloseTo(1, 10);
    expect(clf.history[1]!.validationAccuracy).toBeGreaterThan(0.75);
    const ev = clf.evaluate(first(test, 500));
    expect(ev.accuracy).toBeGreaterThan(0.75);
    expect(ev.perClass).toHaveLength(10);
    expect(ev.perClass.reduce((a, c) => a + c.count, 0)).toBe(500);
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(500);
    expect(clf.history[1]!.trainLoss).toBeLessThan(clf.history[0]!.trainLoss);
  });

  it('is reproducible with a seed, and a resumed run equals an uninterrupted one', async () => {
    const ds = first(smallMnist().train, 256);
    const opts = { ...tiny, epochs: 2, batchSize: 32, lr: 0.05, validationFraction: 0.25, seed: 5 };
    const a = await trainSimpleCNN(ds, opts);
    const b = await trainSimpleCNN(ds, opts);
    expect(Array.from(b.params['fc2.w']!)).toEqual(Array.from(a.params['fc2.w']!));
    const dir = tmp();
    await trainSimpleCNN(ds, { ...opts, checkpointDir: dir, maxEpochsThisRun: 1 });
    expect(loadCheckpoint(dir).meta.epochsDone).toBe(1);
    const c = await trainSimpleCNN(ds, { ...opts, checkpointDir: dir, resume: true });
    expect(c.history.map((h) => h.epoch)).toEqual([1, 2]);
    for (const k of Object.keys(a.params)) {
      const x = a.params[k]!;
      const y = c.params[k]!;
      let m = 0;
      for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
      expect(m, k).toBeLessThan(1e-6);
    }
    const d = await trainSimpleCNN(ds, { ...opts, seed: 6 });
    expect(Array.from(d.params['fc2.w']!)).not.toEqual(Array.from(a.params['fc2.w']!));
    const fromCkpt = await classifierFromCheckpoint(dir);
    expect(Array.from(fromCkpt.params['conv1.w']!)).toEqual(Array.from(c.params['conv1.w']!));
  });

  it('trains on an in-memory Dataset (the API ROAR/KAR use) with augmentation', async () => {
    // Two classes: bright left half vs bright right half, 3×12×12.
    const n = 64;
    const images = new Uint8Array(n * 3 * 144);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (let c = 0; c < 3; c++) for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++) images[((i * 3 + c) * 12 + y) * 12 + x] = (x < 6) === (i % 2 === 0) ? 200 + ((i * 7 + x) % 50) : (i * 13 + y) % 40;
    }
    const ds = createDataset({ name: 'halves', classes: ['left', 'right'], channels: 3, height: 12, width: 12, images, labels });
    const clf = await trainSimpleCNN(ds, { ...tiny, epochs: 4, batchSize: 16, lr: 0.05, validationFraction: 0, augment: { cropPadding: 1, flip: false } });
    expect(clf.evaluate(ds).accuracy).toBeGreaterThan(0.95);
  });

  it('learning-rate schedules: warm-up, cosine to zero, steps', () => {
    const r = resolveOptions({ lr: 0.1, warmupEpochs: 1 });
    expect(learningRate({}, r, 0, 100, 10)).toBeCloseTo(0.01, 12);
    expect(learningRate({}, r, 9, 100, 10)).toBeCloseTo(0.1, 12);
    expect(learningRate({}, r, 10, 100, 10)).toBeCloseTo(0.1, 12);
    expect(learningRate({}, r, 55, 100, 10)).toBeCloseTo(0.05, 12);
    expect(learningRate({}, r, 100, 100, 10)).toBeCloseTo(0, 12);
    const s = resolveOptions({ lr: 1, schedule: 'step' });
    expect([0, 49, 50, 74, 75, 99].map((t) => learningRate({ schedule: 'step' }, s, t, 100, 10))).toEqual([1, 1, 0.1, 0.1, 0.01, 0.01]);
  });

  it('rejects bad options and data with WhiteBoxErrors naming the problem', async () => {
    const ds = first(smallMnist().train, 16);
    await expect(trainSimpleCNN(ds, { epochs: 0 })).rejects.toThrow(/epochs must be an integer/);
    await expect(trainSimpleCNN(ds, { lr: -1 })).rejects.toThrow(/lr must be a positive/);
    await expect(trainSimpleCNN(ds, { batchSize: 2.5 })).rejects.toThrow(/batchSize/);
    await expect(trainSimpleCNN(ds, { validationFraction: 1 })).rejects.toThrow(/validationFraction/);
    await expect(trainSimpleCNN(ds, { resume: true })).rejects.toThrow(/resume needs checkpointDir/);
    const broken = { ...ds, labels: ds.labels.slice(0, 10) };
    await expect(trainSimpleCNN(broken, {})).rejects.toThrow(/labels has 10 entries but count is 16/);
    const badLabel = { ...ds, labels: ds.labels.map((l, i) => (i === 3 ? 12 : l)) };
    await expect(trainSimpleCNN(badLabel, {})).rejects.toThrow(/label 12 at index 3 is out of range/);
    const err = await trainSimpleCNN(ds, { epochs: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(WhiteBoxError);
    const clf = await trainSimpleCNN(ds, { ...tiny, epochs: 1, validationFraction: 0 });
    const cifarLike = createDataset({ name: 'rgb', classes: ds.classes, channels: 3, height: 28, width: 28, images: new Uint8Array(3 * 784), labels: new Uint8Array(1) });
    expect(() => clf.evaluate(cifarLike)).toThrow(/has images 3×28×28 but the model takes 1×28×28/);
    await expect(trainSimpleCNN(ds, { ...tiny, epochs: 1, batchSize: 4, lr: 1e30, validationFraction: 0 })).rejects.toThrow(/loss became/);
  });

  it('reports corrupt checkpoints by file', async () => {
    const ds = first(smallMnist().train, 32);
    const dir = tmp();
    await trainSimpleCNN(ds, { ...tiny, epochs: 1, validationFraction: 0, checkpointDir: dir });
    const bin = join(dir, 'checkpoint.bin');
    writeFileSync(bin, readFileSync(bin).subarray(0, 100));
    await expect(classifierFromCheckpoint(dir)).rejects.toThrow(/checkpoint.bin: 100 bytes but the checkpoint lists/);
    await expect(classifierFromCheckpoint(join(dir, 'nope'))).rejects.toThrow(/checkpoint not found/);
  });
});

describe('trainInWorker', () => {
  it('returns ONNX bytes and the test evaluation (in-thread fallback when running from sources)', async () => {
    const { trainInWorker } = await import('../src/worker.js');
    const { train, test } = smallMnist();
    const epochs: number[] = [];
    const r = await trainInWorker(first(train, 200), first(test, 100), { widths: [4, 4, 4], hidden: 8, epochs: 1, batchSize: 50, validationFraction: 0 }, { onEpoch: (e) => epochs.push(e.epoch) });
    expect(epochs).toEqual([1]);
    expect(r.onnx.length).toBeGreaterThan(1000);
    expect(r.evaluation!.count).toBe(100);
    expect(r.accuracy).toBe(r.evaluation!.accuracy);
  });
});

describe('trainInWorker worker-thread guard', () => {
  it('leaves other worker threads that import @whitebox/train alone', async () => {
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const { Worker } = await import('node:worker_threads');
    const dist = fileURLToPath(new URL('../dist/worker.js', import.meta.url));
    if (!existsSync(dist)) return; // CI builds before testing; the guard lives in the compiled worker.
    // A foreign worker imports the module, then answers its own protocol.
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify('file://' + dist)}).then(() => {
        parentPort.once('message', (m) => parentPort.postMessage({ echo: m }));
        parentPort.postMessage('ready');
      });`;
    const worker = new Worker(code, { eval: true, workerData: { job: 1 } });
    const replies: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (m) => {
        if (m === 'ready') worker.postMessage({ ping: 42 });
        else {
          replies.push(m);
          // An unguarded training worker would also take the message as a job and answer with an error.
          setTimeout(resolve, 3000);
        }
      });
    });
    await worker.terminate();
    expect(replies).toEqual([{ echo: { ping: 42 } }]);
  });
});
