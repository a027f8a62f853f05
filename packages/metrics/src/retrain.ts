import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { WhiteBoxError } from '@whitebox/core';
import type { ImageDataset } from './data.js';
import type { Retrain } from './roar.js';

/** How ROAR/KAR retrain: a fresh SimpleCNN (@whitebox/train) per modified dataset. */
export interface SimpleCnnRetrainOptions {
  epochs: number;
  /** Conv widths and hidden size (default: SimpleCNN's own, [32, 64, 128] and 1024). */
  widths?: number[];
  hidden?: number;
  batchSize?: number;
  lr?: number;
  /** Worker threads training at once (default 2; 0 = train in this thread). */
  workers?: number;
}

export interface RetrainJob {
  train: ImageDataset;
  test: ImageDataset;
  seed: number;
  options: Omit<SimpleCnnRetrainOptions, 'workers'>;
}

/** One training run and its test accuracy (used in-thread and by the worker). */
export async function trainOnce(job: RetrainJob): Promise<number> {
  const { trainSimpleCNN } = await import('@whitebox/train');
  const o = job.options;
  const clf = await trainSimpleCNN(job.train as never, {
    epochs: o.epochs, seed: job.seed, validationFraction: 0, warmupEpochs: 0,
    ...(o.widths ? { widths: o.widths } : {}), ...(o.hidden ? { hidden: o.hidden } : {}),
    ...(o.batchSize ? { batchSize: o.batchSize } : {}), ...(o.lr ? { lr: o.lr } : {}),
  });
  return clf.evaluate(job.test as never).accuracy;
}

export interface Retrainer {
  retrain: Retrain;
  /** Concurrency to give roarKar. */
  concurrency: number;
  close(): Promise<void>;
}

/**
 * ROAR/KAR's retraining with SimpleCNN, in `workers` worker threads (the tfjs WebAssembly backend
 * is single-threaded, so two workers use two cores). Falls back to this thread when the compiled
 * worker script is not there (running from TypeScript sources).
 */
export function simpleCnnRetrainer(options: SimpleCnnRetrainOptions): Retrainer {
  const { workers: requested = 2, ...trainOptions } = options;
  const script = fileURLToPath(new URL('./retrain-worker.js', import.meta.url));
  const n = existsSync(script) ? requested : 0;
  if (n === 0) {
    return { retrain: (train, test, seed) => trainOnce({ train, test, seed, options: trainOptions }), concurrency: 1, close: async () => {} };
  }
  const pool: Array<{ worker: Worker; busy: boolean }> = [];
  const pending = new Map<number, { resolve: (v: number) => void; reject: (e: Error) => void }>();
  const waiting: Array<() => void> = [];
  let nextId = 0;
  const spawn = (): { worker: Worker; busy: boolean } => {
    const worker = new Worker(script);
    const slot = { worker, busy: false };
    worker.on('message', (msg: { id: number; ok: boolean; accuracy?: number; error?: string; code?: string }) => {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      slot.busy = false;
      worker.unref(); // idle workers do not keep the process alive
      waiting.shift()?.();
      if (!p) return;
      if (msg.ok) p.resolve(msg.accuracy!);
      else p.reject(new WhiteBoxError('RUNTIME_ERROR', `ROAR/KAR retraining failed in a worker: ${msg.error}`));
    });
    worker.on('error', (err) => {
      for (const [, p] of pending) p.reject(new WhiteBoxError('RUNTIME_ERROR', `ROAR/KAR retraining worker crashed: ${err.message}`));
      pending.clear();
    });
    worker.unref();
    return slot;
  };
  for (let i = 0; i < n; i++) pool.push(spawn());
  const retrain: Retrain = async (train, test, seed) => {
    let slot = pool.find((s) => !s.busy);
    while (!slot) {
      await new Promise<void>((r) => waiting.push(r));
      slot = pool.find((s) => !s.busy);
    }
    slot.busy = true;
    slot.worker.ref();
    const id = nextId++;
    return new Promise<number>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      slot!.worker.postMessage({ id, train, test, seed, options: trainOptions });
    });
  };
  return { retrain, concurrency: n, close: async () => { await Promise.all(pool.map((s) => s.worker.terminate())); } };
}
