import type { Command } from 'commander';
import '@whitebox/backend-node';
import { DEVICES, LIMITS, resolveBackend, WhiteBoxError, type BackendName, type Device } from '@whitebox/core';
import { toTensor, type Dataset } from '@whitebox/datasets';
import { checkNoExternalData, readModel, readModelFile } from '@whitebox/onnx';
import { enumOption, intOption, nonEmptyOption } from '../options.js';
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
  /** `accuracy` is null for a class without test images (e.g. under --limit). */
  perClass: { class: string; count: number; correct: number; accuracy: number | null }[];
}

/** Accuracy of an ONNX classifier (input 'input' in [0, 1] NCHW, output logits) on a test set, overall and per class. */
export async function evaluateOnnx(bytes: Uint8Array, test: Dataset, o: { batchSize?: number; backend?: BackendName; device?: Device; onProgress?: (p: { done: number; total: number }) => void; limit?: number; source?: string } = {}): Promise<Omit<ModelAccuracy, 'model' | 'dataset'>> {
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `--limit must be an integer ≥ 1, got ${o.limit}`);
  const bs = o.batchSize ?? 500;
  if (!(Number.isInteger(bs) && bs >= 1 && bs <= LIMITS.batchSize)) throw new WhiteBoxError('INVALID_ARGUMENT', `--batch-size must be an integer in 1..${LIMITS.batchSize}, got ${o.batchSize}`);
  const n = Math.min(test.count, o.limit ?? test.count);
  if (n < 1) throw new WhiteBoxError('INVALID_DATA', `${test.name} has no images to evaluate on`);
  // The same policy as loadModel: no external data (ONNX Runtime would read it relative to the working directory).
  checkNoExternalData(readModel(bytes, o.source), o.source);
  const session = await resolveBackend({ backend: o.backend ?? 'node', device: o.device }).createSession(bytes, { device: o.device });
  const k = test.classes.length;
  const correct = new Array<number>(k).fill(0);
  const count = new Array<number>(k).fill(0);
  const label = o.source ? `model ${o.source}` : 'the model';
  try {
    if (session.inputNames.length !== 1) {
      throw new WhiteBoxError('INVALID_MODEL', `${label} has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); evaluate-model needs one image input`, { inputs: session.inputNames });
    }
    const outputs = session.outputNames;
    const outputName = outputs.length === 1 ? outputs[0]! : outputs.includes('logits') ? 'logits' : undefined;
    if (!outputName) {
      throw new WhiteBoxError('INVALID_MODEL', `${label} has ${outputs.length} outputs (${outputs.join(', ')}) and none named 'logits'; evaluate-model needs the logits output`, { outputs });
    }
    const input = session.inputNames[0]!;
    for (let s = 0; s < n; s += bs) {
      const e = Math.min(n, s + bs);
      const out = await session.run({ [input]: toTensor(test, s, e) }, [outputName]);
      const logits = out[outputName]!;
      if (logits.dims.length !== 2 || logits.dims[0] !== e - s || logits.dims[1] !== k) {
        throw new WhiteBoxError('SHAPE_MISMATCH', `${label}: output '${outputName}' has shape [${logits.dims.join(', ')}] for ${e - s} images, expected [${e - s}, ${k}] (${test.name} has ${k} classes)`, { shape: logits.dims });
      }
      if (logits.dtype !== 'float32') throw new WhiteBoxError('INVALID_MODEL', `${label}: output '${outputName}' is ${logits.dtype}, expected float32 logits`);
      const d = logits.data as Float32Array;
      for (let i = 0; i < d.length; i++) {
        if (!Number.isFinite(d[i]!)) {
          throw new WhiteBoxError('NON_FINITE', `${label}: logit ${i % k} of ${test.name} image ${s + Math.floor(i / k)} is ${d[i]}; the accuracy would be meaningless (NaN/Inf weights or inputs?)`, { image: s + Math.floor(i / k) });
        }
      }
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
  return { count: n, accuracy: total / n, perClass: test.classes.map((c, j) => ({ class: c, count: count[j]!, correct: correct[j]!, accuracy: count[j]! > 0 ? correct[j]! / count[j]! : null })) };
}

export async function evaluateModelCommand(o: EvaluateModelOptions): Promise<ModelAccuracy> {
  const bytes = await readModelFile(o.model);
  const dl = o.quiet ? null : progressBar(`${o.dataset} data`);
  let test: Dataset;
  try {
    ({ test } = await loadDataset(o.dataset, o.dataDir, dl?.update));
  } finally {
    dl?.stop();
  }
  const bar = o.quiet ? null : progressBar('evaluate');
  try {
    const r = await evaluateOnnx(bytes, test, { ...o, source: o.model, onProgress: bar?.update });
    return { model: o.model, dataset: o.dataset, ...r };
  } finally {
    bar?.stop();
  }
}

export function formatAccuracy(r: ModelAccuracy): string {
  const w = Math.max(5, ...r.perClass.map((p) => p.class.length));
  const lines = [`${r.model} on ${r.dataset} test (${r.count} images): accuracy ${(100 * r.accuracy).toFixed(2)}%`, `${'class'.padEnd(w)}  accuracy  images`];
  for (const p of r.perClass) lines.push(`${p.class.padEnd(w)}  ${(p.accuracy === null ? '–' : `${(100 * p.accuracy).toFixed(2)}%`).padStart(8)}  ${String(p.count).padStart(6)}`);
  return lines.join('\n') + '\n';
}

/** Registers `whitebox evaluate-model`. */
export function register(program: Command): void {
  program
    .command('evaluate-model')
    .description('Accuracy of an ONNX classifier on the MNIST or CIFAR-10 test set, overall and per class')
    .requiredOption('--model <file>', 'ONNX model (input pixels in [0, 1], NCHW; output logits)', nonEmptyOption('--model'))
    .requiredOption('--dataset <name>', 'mnist | cifar10', enumOption('--dataset', ['mnist', 'cifar10'] as const))
    .option('--data-dir <dir>', 'dataset directory', nonEmptyOption('--data-dir'))
    .option('--limit <n>', 'first n test images only', intOption('--limit'))
    .option('--batch-size <n>', 'batch size (default 500)', intOption('--batch-size', { max: LIMITS.batchSize }))
    .option('--backend <name>', 'node | web', enumOption('--backend', ['node', 'web'] as const))
    .option('--device <device>', 'cpu | cuda | wasm | webgpu', enumOption('--device', DEVICES))
    .option('--json', 'print JSON instead of a table')
    .option('--quiet', 'no progress output')
    .action(async (opts: EvaluateModelOptions) => {
      const r = await evaluateModelCommand(opts);
      process.stdout.write(opts.json ? JSON.stringify(r, null, 2) + '\n' : formatAccuracy(r));
    });
}
