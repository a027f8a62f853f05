import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { WhiteBoxError, type ProgressCallback } from '@whitebox/core';
import type { Dataset } from '@whitebox/datasets';
import type { Evaluation } from './classifier.js';
import type { EpochRecord, TrainOptions } from './train.js';

/** Options that can cross a thread boundary (no callbacks). */
export type WorkerTrainOptions = Omit<TrainOptions, 'onProgress' | 'onEpoch' | 'schedule'> & { schedule?: 'cosine' | 'constant' | 'step' };

/** What a training worker thread returns: the ONNX bytes, evaluation and history. */
export interface WorkerTrainResult {
  onnx: Uint8Array;
  /** Evaluation on `test` when given. */
  evaluation?: Evaluation;
  accuracy?: number;
  history: EpochRecord[];
}

const WORKER_MARK = 'whiteboxTrainWorker';

interface Job {
  train: Dataset;
  test?: Dataset;
  options: WorkerTrainOptions;
}

async function run(job: Job, onProgress?: ProgressCallback, onEpoch?: (r: EpochRecord) => void): Promise<WorkerTrainResult> {
  const { trainSimpleCNN } = await import('./train.js');
  const clf = await trainSimpleCNN(job.train, { ...job.options, onProgress, onEpoch });
  const evaluation = job.test ? clf.evaluate(job.test) : undefined;
  return { onnx: clf.toOnnx(), evaluation, accuracy: evaluation?.accuracy, history: clf.history };
}

/**
 * Trains a SimpleCNN in a worker thread (the tfjs wasm backend is single-threaded in Node, so independent
 * trainings run in parallel this way) and returns the ONNX bytes and, when `test` is given, its evaluation.
 * Runs in this thread when the compiled worker script is not available (running from TypeScript sources).
 */
export function trainInWorker(train: Dataset, test: Dataset | undefined, options: WorkerTrainOptions = {}, callbacks: { onProgress?: ProgressCallback; onEpoch?: (r: EpochRecord) => void } = {}): Promise<WorkerTrainResult> {
  const script = fileURLToPath(import.meta.url);
  if (!script.endsWith('.js') || !existsSync(script)) return run({ train, test, options }, callbacks.onProgress, callbacks.onEpoch);
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: { [WORKER_MARK]: true } });
    worker.on('message', (m: { type: string; result?: WorkerTrainResult; error?: string; code?: string; progress?: Parameters<ProgressCallback>[0]; epoch?: EpochRecord }) => {
      if (m.type === 'progress') callbacks.onProgress?.(m.progress!);
      else if (m.type === 'epoch') callbacks.onEpoch?.(m.epoch!);
      else if (m.type === 'done') {
        resolve(m.result!);
        void worker.terminate();
      } else if (m.type === 'error') {
        reject(new WhiteBoxError((m.code as never) ?? 'RUNTIME_ERROR', m.error ?? 'training failed in a worker'));
        void worker.terminate();
      }
    });
    worker.on('error', (e) => reject(new WhiteBoxError('RUNTIME_ERROR', `training worker crashed: ${e.message}`, {}, { cause: e })));
    worker.postMessage({ train, test, options } satisfies Job);
  });
}

// Only the threads trainInWorker starts act as training workers, not every worker thread that imports this module.
if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[WORKER_MARK] === true) {
  const port = parentPort;
  port.once('message', (job: Job) => {
    run(
      job,
      (progress) => port.postMessage({ type: 'progress', progress }),
      (epoch) => port.postMessage({ type: 'epoch', epoch }),
    ).then(
      (result) => port.postMessage({ type: 'done', result }),
      (e: unknown) => port.postMessage({ type: 'error', error: (e as Error).message, code: (e as WhiteBoxError).code }),
    );
  });
}
