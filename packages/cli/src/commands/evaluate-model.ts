import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import '@whitebox/backend-node';
import { resolveBackend, WhiteBoxError, type BackendName, type Device } from '@whitebox/core';
import { toTensor, type Dataset } from '@whitebox/datasets';
import { progressBar } from '../progress.js';
import { loadDataset } from './train.js';

export interface EvaluateModelOptions {
  model: string;
  dataset: 'mnist' | 'cifar10';
  dataDir?: string;
  limit?: number;
  batchSize?: number;
  backend?: BackendName;
  device?: Device;
  json?: boolean;
  quiet?: boolean;
}

export interface ModelAccuracy {
  model: string;
  dataset: string;
  count: number;
  accuracy: number;
  perClass: { class: string; count: number; correct: number; accuracy: number }[];
}

/** Accuracy of an ONNX classifier (input 'input' in [0, 1] NCHW, output logits) on a test set, overall and per class. */
export async function evaluateOnnx(bytes: Uint8Array, test: Dataset, o: { batchSize?: number; backend?: BackendName; device?: Device; onProgress?: (p: { done: number; total: number }) => void; limit?: number } = {}): Promise<Omit<ModelAccuracy, 'model' | 'dataset'>> {
  const n = Math.min(test.count, o.limit ?? test.count);
  const bs = o.batchSize ?? 500;
  const session = await resolveBackend({ backend: o.backend ?? 'node', device: o.device }).createSession(bytes, { device: o.device });
  const k = test.classes.length;
  const correct = new Array<number>(k).fill(0);
  const count = new Array<number>(k).fill(0);
  try {
    const input = session.inputNames[0]!;
    for (let s = 0; s < n; s += bs) {
      const e = Math.min(n, s + bs);
      const out = await session.run({ [input]: toTensor(test, s, e) });
      const logits = out[session.outputNames[0]!]!;
      if (logits.dims.length !== 2 || logits.dims[1] !== k) {
        throw new WhiteBoxError('SHAPE_MISMATCH', `model output '${session.outputNames[0]}' has shape [${logits.dims.join(', ')}] but ${test.name} has ${k} classes`, { shape: logits.dims });
      }
      const d = logits.data as Float32Array;
      for (let i = 0; i < e - s; i++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (d[i * k + j]! > d[i * k + best]!) best = j;
        const y = test.labels[s + i]!;
        count[y]!++;
        if (best === y) correct[y]!++;
      }
      o.onProgress?.({ done: e, total: n });
    }
  } finally {
    await session.release();
  }
  const total = correct.reduce((a, b) => a + b, 0);
  return { count: n, accuracy: n > 0 ? total / n : NaN, perClass: test.classes.map((c, j) => ({ class: c, count: count[j]!, correct: correct[j]!, accuracy: count[j]! > 0 ? correct[j]! / count[j]! : NaN })) };
}

export async function evaluateModelCommand(o: EvaluateModelOptions): Promise<ModelAccuracy> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(o.model));
  } catch (e) {
    throw new WhiteBoxError('NOT_FOUND', `model file not found or unreadable: ${o.model}`, { file: o.model }, { cause: e });
  }
  const dl = o.quiet ? null : progressBar(`${o.dataset} data`);
  let test: Dataset;
  try {
    ({ test } = await loadDataset(o.dataset, o.dataDir, dl?.update));
  } finally {
    dl?.stop();
  }
  const bar = o.quiet ? null : progressBar('evaluate');
  try {
    const r = await evaluateOnnx(bytes, test, { ...o, onProgress: bar?.update });
    return { model: o.model, dataset: o.dataset, ...r };
  } finally {
    bar?.stop();
  }
}

export function formatAccuracy(r: ModelAccuracy): string {
  const w = Math.max(5, ...r.perClass.map((p) => p.class.length));
  const lines = [`${r.model} on ${r.dataset} test (${r.count} images): accuracy ${(100 * r.accuracy).toFixed(2)}%`, `${'class'.padEnd(w)}  accuracy  images`];
  for (const p of r.perClass) lines.push(`${p.class.padEnd(w)}  ${(100 * p.accuracy).toFixed(2).padStart(7)}%  ${String(p.count).padStart(6)}`);
  return lines.join('\n') + '\n';
}

/** Registers `whitebox evaluate-model`. */
export function register(program: Command): void {
  program
    .command('evaluate-model')
    .description('Accuracy of an ONNX classifier on the MNIST or CIFAR-10 test set, overall and per class')
    .requiredOption('--model <file>', 'ONNX model (input pixels in [0, 1], NCHW; output logits)')
    .requiredOption('--dataset <name>', 'mnist | cifar10')
    .option('--data-dir <dir>', 'dataset directory')
    .option('--limit <n>', 'first n test images only', Number)
    .option('--batch-size <n>', 'batch size (default 500)', Number)
    .option('--backend <name>', 'node | web')
    .option('--device <device>', 'cpu | cuda | wasm | webgpu')
    .option('--json', 'print JSON instead of a table')
    .option('--quiet', 'no progress output')
    .action(async (opts: EvaluateModelOptions) => {
      const r = await evaluateModelCommand(opts);
      process.stdout.write(opts.json ? JSON.stringify(r, null, 2) + '\n' : formatAccuracy(r));
    });
}
