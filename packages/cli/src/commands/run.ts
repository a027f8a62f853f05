import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import '@whitebox/backend-node';
import { type BackendName, type Device, DEVICES, LIMITS, type Model, WhiteBoxError } from '@whitebox/core';
import { loadCifar10, loadMnist, loadMnistLocalization, type TrainTest } from '@whitebox/datasets';
import {
  SCALES, SCALES_LIST, STAGES, fromAttribution, onnxCascade, onnxIndependent, resolveMetrics, runPipeline, simpleCnnRetrainer,
  type PipelineMethod, type PipelineOutput, type Scale, type ScaleSettings, type Stage,
} from '@whitebox/metrics';
import { loadModel, readModelFile } from '@whitebox/onnx';
import { SMOOTHGRAD_VARIANTS } from '@whitebox/smoothgrad';
import { resolveMethods } from '../methods.js';
import { progressBar } from '../progress.js';
import { enumOption, ensureOutDir, intOption, nonEmptyOption, numberOption, outDirOption, validatedOption } from '../options.js';

export interface EvaluationCliOptions {
  dataset: string;
  scale: string;
  model?: string;
  dataDir?: string;
  out: string;
  methods?: string;
  stages?: string;
  cacheDir?: string;
  steps?: number;
  patch?: number;
  removal?: number;
  fractions?: string;
  seeds?: number;
  epochs?: number;
  workers?: number;
  samples?: number;
  /** Metric ids or families for the 'metrics' stage (with `evaluate`, alone: only that stage). */
  metrics?: string;
  metricSamples?: number;
  backend?: BackendName;
  device?: Device;
  threads?: number;
  batchSize?: number;
  quiet?: boolean;
}

/** mnist, cifar10, and the MNIST localization benchmark (one digit, or two with the larger deciding) with its ground-truth masks. */
const DATASETS = ['mnist', 'cifar10', 'localization', 'localization-pair'];

/** The repository (or installed package tree) root: where `models/` lives. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'models')) || existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** `--model`, or models/<dataset>-simplecnn.onnx in the current directory or the repository. */
export function defaultModelPath(dataset: string, given?: string): string {
  if (given) {
    if (!existsSync(given)) throw new WhiteBoxError('NOT_FOUND', `model file ${resolve(given)} does not exist`, { file: given });
    return given;
  }
  const base = dataset.startsWith('localization') ? 'localization' : dataset;
  const name = `${base}-simplecnn.onnx`;
  const candidates = [join(process.cwd(), 'models', name), join(repoRoot(), 'models', name)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new WhiteBoxError('NOT_FOUND', `no model given and the shipped model is missing (looked for ${candidates.join(' and ')}); pass --model <file.onnx> or train one with 'whitebox train --dataset ${base}'`, { file: candidates[0] });
  }
  return found;
}

export function loadData(dataset: string, dataDir?: string): Promise<TrainTest & { testMasks?: Uint8Array }> | (TrainTest & { testMasks?: Uint8Array }) {
  if (dataset === 'mnist') return loadMnist(dataDir ? { dir: dataDir } : {});
  if (dataset === 'localization' || dataset === 'localization-pair') {
    return loadMnistLocalization({ ...(dataDir ? { dir: dataDir } : {}), variant: dataset === 'localization' ? 'single' : 'pair', background: 'noise' });
  }
  return loadCifar10(dataDir ? { dir: dataDir } : {});
}

function parseList<T extends string>(spec: string | undefined, known: readonly T[], what: string): T[] | undefined {
  if (!spec) return undefined;
  const out = spec.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of out) if (!known.includes(s as T)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown ${what} '${s}' (known: ${known.join(', ')})`);
  return out as T[];
}

/** Parses `--fractions`: comma-separated numbers in [0, 1]. */
export function parseFractions(spec: string): number[] {
  const parts = spec.split(',').map((x) => x.trim());
  const f = parts.map((x) => (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(x) ? Number(x) : NaN));
  if (f.length === 0 || f.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `--fractions expects comma-separated numbers in [0, 1], got '${spec}'`);
  return f;
}

/** Settings for a scale with the command-line overrides applied. */
export function settingsFor(o: EvaluationCliOptions): ScaleSettings {
  if (!SCALES_LIST.includes(o.scale as Scale)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown --scale '${o.scale}' (known: ${SCALES_LIST.join(', ')})`);
  const s: ScaleSettings = { ...SCALES[o.scale as Scale] };
  if (o.steps !== undefined) s.selectivitySteps = o.steps;
  if (o.patch !== undefined) s.patchSize = o.patch;
  if (o.samples !== undefined) {
    s.selectivitySamples = o.samples;
    s.roadSamples = Math.max(o.samples, 1);
    s.sanitySamples = Math.max(1, Math.min(o.samples, s.sanitySamples));
    s.metricSamples = o.samples;
  }
  if (o.metricSamples !== undefined) s.metricSamples = o.metricSamples;
  if (o.metrics) s.metrics = resolveMetrics(o.metrics).map((m) => m.id).join(',');
  if (o.fractions) s.fractions = parseFractions(o.fractions);
  if (o.seeds !== undefined) s.seeds = Array.from({ length: o.seeds }, (_, i) => i);
  if (o.epochs !== undefined) s.epochs = o.epochs;
  return s;
}

/** Loads model, data and methods, and runs the chosen evaluation stages into `out`. */
export async function evaluateCommand(o: EvaluationCliOptions, defaultStages: readonly Stage[] = STAGES): Promise<PipelineOutput> {
  if (!DATASETS.includes(o.dataset)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown --dataset '${o.dataset}' (known: ${DATASETS.join(', ')})`);
  const settings = settingsFor(o);
  const stages = parseList(o.stages, STAGES, 'stage') ?? [...defaultStages];
  const modelPath = defaultModelPath(o.dataset, o.model);
  ensureOutDir(o.out, '--out');
  const log = (m: string): void => {
    if (!o.quiet) process.stderr.write(`${m}\n`);
  };
  const loadOptions = { backend: o.backend ?? 'node', ...(o.device ? { device: o.device } : {}), ...(o.threads ? { threads: o.threads } : {}), ...(o.batchSize ? { batchSize: o.batchSize } : {}) };
  const rel = relative(process.cwd(), modelPath);
  const modelLabel = rel && !rel.startsWith('..') ? rel : resolve(modelPath);
  const t0 = performance.now();
  const bytes = await readModelFile(modelPath);
  const model = await loadModel(bytes, loadOptions);
  const data = await loadData(o.dataset, o.dataDir);
  log(`loaded ${modelLabel} and ${o.dataset} (${data.train.count} train, ${data.test.count} test images${data.testMasks ? ', ground-truth masks' : ''}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const spec = o.methods ?? `all,${SMOOTHGRAD_VARIANTS.join(',')}`;
  const sg = { samples: settings.smoothgradSamples, sigma: 0.15 };
  // Ensembles (a SmoothGrad variant, alone or '<variant>/<method>') take this scale's sample count.
  const isEnsembleToken = (t: string): boolean => (SMOOTHGRAD_VARIANTS as readonly string[]).includes(t.split('/')[0]!);
  const resolved = spec.split(',').map((t) => t.trim()).filter(Boolean).flatMap((t) => resolveMethods(t, isEnsembleToken(t) ? { smoothgrad: sg } : {}).map((m) => ({ ...m, ensemble: isEnsembleToken(t) })));
  if (resolved.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `--methods '${spec}' names no method`);
  const unique = resolved.filter((m, i) => resolved.findIndex((x) => x.id === m.id) === i);
  const methods: PipelineMethod[] = unique.map((m) => {
    const attributeOptions = m.id === 'integrated-gradients' ? { steps: settings.igSteps } : undefined;
    return {
      id: m.id,
      explainer: (mm: Model) => fromAttribution(m.factory(mm), { name: m.id, ...(attributeOptions ? { attributeOptions } : {}) }),
      signedExplainer: (mm: Model) => fromAttribution(m.factory(mm), { name: m.id, reduction: 'sum', ...(attributeOptions ? { attributeOptions } : {}) }),
      options: { ...(attributeOptions ?? {}), ...(m.ensemble ? sg : {}), reduction: 'abs-sum' },
      skipRoar: m.ensemble,
    };
  });
  const needsTraining = stages.includes('roar-kar');
  const retrainer = needsTraining
    ? simpleCnnRetrainer({ epochs: settings.epochs ?? 10, ...(settings.retrainWidths ? { widths: settings.retrainWidths } : {}), ...(settings.retrainHidden ? { hidden: settings.retrainHidden } : {}), batchSize: 64, workers: o.workers ?? 2 })
    : undefined;
  const cacheDir = o.cacheDir ?? join(process.env.WHITEBOX_DATA_DIR ?? join(homedir(), '.cache', 'whitebox'), 'maps');
  try {
    return await runPipeline({
      dataset: o.dataset, scale: o.scale, settings, model, modelLabel,
      train: data.train, test: data.test, methods, stages,
      ...(retrainer ? { retrain: retrainer.retrain, concurrency: retrainer.concurrency } : {}),
      cascade: onnxCascade(bytes, (b) => loadModel(b, loadOptions), 0, modelPath),
      ...(stages.includes('metrics') ? { independent: onnxIndependent(bytes, (b) => loadModel(b, loadOptions), 1000, modelPath) } : {}),
      ...(data.testMasks ? { testMasks: data.testMasks } : {}),
      cacheDir, outDir: o.out, removalValue: o.removal ?? 0, log,
      progress: (label) => (o.quiet ? { update: () => {}, stop() {} } : progressBar(label)),
      command: `whitebox ${process.argv.slice(2).join(' ')}`,
    });
  } finally {
    await retrainer?.close();
    await model.dispose();
  }
}

/** @deprecated use intOption from ../options.js (kept for callers of the old helper). */
export function int(name: string, min = 1) {
  return intOption(name, { min });
}

/** Options shared by `run` and `evaluate`. */
export function evaluationOptions(cmd: Command): Command {
  return cmd
    .option('--dataset <name>', 'mnist | cifar10 | localization | localization-pair (the MNIST localization benchmark, with ground-truth masks)', enumOption('--dataset', DATASETS), 'mnist')
    .option('--scale <scale>', 'quick (≤ 10 min on MNIST, 2 cores) | standard (≤ 60 min) | full (whole datasets)', enumOption('--scale', SCALES_LIST), 'quick')
    .option('--model <file>', 'ONNX classifier (default: models/<dataset>-simplecnn.onnx)', nonEmptyOption('--model'))
    .option('--data-dir <dir>', 'dataset directory (MNIST IDX files / CIFAR-10 binary batches)', nonEmptyOption('--data-dir'))
    .option('--methods <list>', "methods to evaluate (default: all seven and the three SmoothGrad ensembles)", validatedOption((v) => { resolveMethods(v); return v; }))
    .option('--cache-dir <dir>', 'where training-set maps are cached (default $WHITEBOX_DATA_DIR/maps or ~/.cache/whitebox/maps)', outDirOption('--cache-dir'))
    .option('--steps <n>', 'selectivity steps (default 50)', intOption('--steps', { max: 100_000 }))
    .option('--patch <n>', 'selectivity: side of the square removed per step (default 1 pixel)', intOption('--patch', { max: 4096 }))
    .option('--removal <value>', 'selectivity: value a removed pixel is set to, pixel space (default 0)', numberOption('--removal', { min: 0, max: 1 }))
    .option('--samples <n>', 'test images for selectivity/ROAD/sanity/metrics (default: per scale)', intOption('--samples'))
    .option('--metrics <list>', "metrics for the 'metrics' stage: ids, families (faithfulness, robustness, randomization, complexity, localization) or 'all' (default: all the data supports)", validatedOption((v) => { resolveMetrics(v); return v; }))
    .option('--metric-samples <n>', "test images for the 'metrics' stage (default: per scale)", intOption('--metric-samples', { max: 100_000 }))
    .option('--fractions <list>', 'ROAR/KAR fractions t (default 0.1,0.3,0.5,0.7,0.9)', validatedOption((v) => { parseFractions(v); return v; }))
    .option('--seeds <n>', 'ROAR/KAR retraining seeds (mean ± std)', intOption('--seeds', { max: 1000 }))
    .option('--epochs <n>', 'ROAR/KAR retraining epochs (default: per scale)', intOption('--epochs', { max: 10_000 }))
    .option('--workers <n>', 'ROAR/KAR retrainings in parallel worker threads', intOption('--workers', { min: 0, max: 256 }), 2)
    .option('--backend <name>', 'node | web', enumOption('--backend', ['node', 'web'] as const), 'node')
    .option('--device <device>', 'cpu | cuda (node), wasm (web)', enumOption('--device', DEVICES))
    .option('--threads <n>', 'intra-op threads', intOption('--threads', { max: LIMITS.threads, maxWhy: 'the documented thread limit' }))
    .option('--batch-size <n>', 'largest batch per runtime call', intOption('--batch-size', { max: LIMITS.batchSize }))
    .option('--quiet', 'no progress output');
}

/**
 * If the event loop ever drains while the evaluation is still pending (a lost worker, a dropped
 * promise), exit with an error instead of a silent success.
 */
export async function guardEarlyExit<T>(fn: () => Promise<T>): Promise<T> {
  const onBeforeExit = (): void => {
    process.stderr.write('whitebox: error [RUNTIME_ERROR]: the evaluation stopped before finishing (nothing left to run); no report was written\n');
    process.exit(1);
  };
  process.once('beforeExit', onBeforeExit);
  try {
    return await fn();
  } finally {
    process.off('beforeExit', onBeforeExit);
  }
}

/** Registers `whitebox run`: the whole evaluation (what `pnpm start` runs) and the report. */
export function register(program: Command): void {
  evaluationOptions(program.command('run').description('run coherence, selectivity, ROAR, KAR, ROAD, the sanity check and the metrics (faithfulness, robustness, randomization, complexity, localization), write the report and print its path'))
    .option('--out <dir>', 'report directory', outDirOption('--out'), 'report')
    .action(async (opts: EvaluationCliOptions) => {
      const t0 = performance.now();
      const { files } = await guardEarlyExit(() => evaluateCommand(opts));
      process.stderr.write(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      process.stdout.write(`report: ${files.html}\n`);
    });
}
