import { WhiteBoxError } from '@whitebox/core';
import { trainInWorker } from '@whitebox/train';
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
  /** Trainings at once, each in its own worker thread (default 2). */
  workers?: number;
}

/** What one retraining produced: test accuracy and the trained model (ONNX bytes). */
export interface RetrainOutput {
  accuracy: number;
  onnx: Uint8Array;
}

/** Retrains models for ROAR/KAR (in worker threads) until closed. */
export interface Retrainer {
  retrain: Retrain;
  /** The same retraining, also returning the trained model (a job queue records its hash). */
  retrainWithModel(train: ImageDataset, test: ImageDataset, seed: number): Promise<RetrainOutput>;
  /** Concurrency to give roarKar. */
  concurrency: number;
  /** Stops its worker threads. */
  close(): Promise<void>;
}

/**
 * ROAR/KAR's retraining with SimpleCNN through @whitebox/train's `trainInWorker` (one worker thread
 * per training; the tfjs WebAssembly backend is single-threaded, so `workers` trainings at once use
 * that many cores). From TypeScript sources (tests) it trains in this thread.
 */
export function simpleCnnRetrainer(options: SimpleCnnRetrainOptions): Retrainer {
  const { workers = 2, ...o } = options;
  const retrainWithModel = async (train: ImageDataset, test: ImageDataset, seed: number): Promise<RetrainOutput> => {
    const r = await trainInWorker(train as never, test as never, {
      epochs: o.epochs, seed, validationFraction: 0, warmupEpochs: 0,
      ...(o.widths ? { widths: o.widths } : {}), ...(o.hidden ? { hidden: o.hidden } : {}),
      ...(o.batchSize ? { batchSize: o.batchSize } : {}), ...(o.lr ? { lr: o.lr } : {}),
    });
    if (r.accuracy === undefined) throw new WhiteBoxError('RUNTIME_ERROR', `retraining on '${train.name}' returned no test accuracy`);
    return { accuracy: r.accuracy, onnx: r.onnx };
  };
  const retrain: Retrain = async (train, test, seed) => (await retrainWithModel(train, test, seed)).accuracy;
  return { retrain, retrainWithModel, concurrency: Math.max(1, workers), close: async () => {} };
}
