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
import { resolveMethods, type SmoothGradSettings } from '../methods.js';
import type { QueueSession } from '@whitebox/queue';
import { progressBar } from '../progress.js';
import { enumOption, ensureOutDir, intOption, nonEmptyOption, numberOption, outDirOption, validatedOption } from '../options.js';
import { VERSION } from '../version.js';

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
  /** ROAR/KAR train and test images (balanced subsets; default: per scale). */
  roarTrain?: number;
  roarTest?: number;
  /** redis://host:port: ROAR/KAR maps and retrainings go to this queue's workers. */
  queue?: string;
  queueName?: string;
  /** The queue's content store (a directory every worker can read). */
  store?: string;
  shardSize?: number;
  attempts?: number;
  backoff?: number;
  queueClear?: boolean;
}

/** How a worker on another machine rebuilds a method of a run (`PipelineMethod.spec`). */
export interface MethodSpec {
  /** e.g. 'grad-cam', 'vargrad/guided-backprop' */
  id: string;
  ensemble: boolean;
  smoothgrad?: SmoothGradSettings;
  attributeOptions?: Record<string, unknown>;
}

/** A pipeline method from its spec: the same explainer in `run` and in `whitebox worker`. */
export function methodFromSpec(spec: MethodSpec): PipelineMethod {
  const [m] = resolveMethods(spec.id, spec.ensemble ? { smoothgrad: spec.smoothgrad ?? { samples: 50, sigma: 0.15 } } : {});
  if (!m || m.id !== spec.id) throw new WhiteBoxError('INVALID_ARGUMENT', `method spec '${spec.id}' does not name one method`, { method: spec.id });
  return {
    id: m.id,
    explainer: (mm: Model) => fromAttribution(m.factory(mm), { name: m.id, ...(spec.attributeOptions ? { attributeOptions: spec.attributeOptions } : {}) }),
    signedExplainer: (mm: Model) => fromAttribution(m.factory(mm), { name: m.id, reduction: 'sum', ...(spec.attributeOptions ? { attributeOptions: spec.attributeOptions } : {}) }),
    options: { ...(spec.attributeOptions ?? {}), ...(spec.ensemble ? spec.smoothgrad : {}), reduction: 'abs-sum' },
    skipRoar: spec.ensemble,
    spec,
  };
}

/** The methods of `--methods` (default all seven and the three ensembles) at a scale's settings. */
export function pipelineMethods(spec: string, settings: ScaleSettings): PipelineMethod[] {
  const sg = { samples: settings.smoothgradSamples, sigma: 0.15 };
  // Ensembles (a SmoothGrad variant, alone or '<variant>/<method>') take this scale's sample count.
  const isEnsembleToken = (t: string): boolean => (SMOOTHGRAD_VARIANTS as readonly string[]).includes(t.split('/')[0]!);
  const resolved = spec.split(',').map((t) => t.trim()).filter(Boolean).flatMap((t) => resolveMethods(t, isEnsembleToken(t) ? { smoothgrad: sg } : {}).map((m) => ({ id: m.id, ensemble: isEnsembleToken(t) })));
  if (resolved.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `--methods '${spec}' names no method`);
  const unique = resolved.filter((m, i) => resolved.findIndex((x) => x.id === m.id) === i);
  return unique.map((m) => methodFromSpec({
    id: m.id, ensemble: m.ensemble, ...(m.ensemble ? { smoothgrad: sg } : {}),
    ...(m.id === 'integrated-gradients' ? { attributeOptions: { steps: settings.igSteps } } : {}),
  }));
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
  if (o.metrics) {
    resolveMetrics(o.metrics);
    s.metrics = o.metrics;
  }
  if (o.fractions) s.fractions = parseFractions(o.fractions);
  if (o.seeds !== undefined) s.seeds = Array.from({ length: o.seeds }, (_, i) => i);
  if (o.epochs !== undefined) s.epochs = o.epochs;
  if (o.roarTrain !== undefined) s.roarTrain = o.roarTrain;
  if (o.roarTest !== undefined) s.roarTest = o.roarTest;
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
  // The queue first: an unreachable Redis or a queue of another run fails before the data is loaded.
  const queue = o.queue && (stages.includes('roar-maps') || stages.includes('roar-kar')) ? await openQueue(o, bytes, modelLabel, log) : undefined;
  if (o.queue && !queue) log('--queue: no ROAR/KAR stage in this run, so nothing goes to the queue');
  const data = await loadData(o.dataset, o.dataDir);
  log(`loaded ${modelLabel} and ${o.dataset} (${data.train.count} train, ${data.test.count} test images${data.testMasks ? ', ground-truth masks' : ''}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const methods = pipelineMethods(o.methods ?? `all,${SMOOTHGRAD_VARIANTS.join(',')}`, settings);
  const needsTraining = stages.includes('roar-kar');
  // The same training options here and on queue workers: their retrainings are bit-identical.
  const training = { epochs: settings.epochs ?? 10, ...(settings.retrainWidths ? { widths: settings.retrainWidths } : {}), ...(settings.retrainHidden ? { hidden: settings.retrainHidden } : {}), batchSize: 64 };
  const retrainer = needsTraining && !queue ? simpleCnnRetrainer({ ...training, workers: o.workers ?? 2 }) : undefined;
  const stopOnInterrupt = queue ? onInterrupt(queue, log) : undefined;
  const cacheDir = o.cacheDir ?? join(process.env.WHITEBOX_DATA_DIR ?? join(homedir(), '.cache', 'whitebox'), 'maps');
  try {
    return await runPipeline({
      dataset: o.dataset, scale: o.scale, settings, model, modelLabel,
      train: data.train, test: data.test, methods, stages,
      ...(retrainer ? { retrain: retrainer.retrain, concurrency: retrainer.concurrency } : {}),
      ...(queue ? { relevance: queue.relevanceProvider(), roarKarExecutor: queue.roarKarExecutor(training), extraSettings: { queue: queue.describe } } : {}),
      cascade: onnxCascade(bytes, (b) => loadModel(b, loadOptions), 0, modelPath),
      ...(stages.includes('metrics') ? { independent: onnxIndependent(bytes, (b) => loadModel(b, loadOptions), 1000, modelPath) } : {}),
      ...(data.testMasks ? { testMasks: data.testMasks } : {}),
      cacheDir, outDir: o.out, removalValue: o.removal ?? 0, log,
      progress: (label) => (o.quiet ? { update: () => {}, stop() {} } : progressBar(label)),
      command: `whitebox ${process.argv.slice(2).join(' ')}`,
    });
  } finally {
    stopOnInterrupt?.();
    await retrainer?.close();
    await queue?.close();
    await model.dispose();
  }
}

type QueueModule = typeof import('@whitebox/queue');
type OpenQueue = QueueSession & { describe: string };

/** The default content store: $WHITEBOX_DATA_DIR/queue-store (or ~/.cache/whitebox/queue-store). */
export function defaultStoreDir(): string {
  return join(process.env.WHITEBOX_DATA_DIR ?? join(homedir(), '.cache', 'whitebox'), 'queue-store');
}

/** Opens the `--queue` (bullmq is loaded only here, so a run without --queue never needs Redis). */
async function openQueue(o: EvaluationCliOptions, bytes: Uint8Array, modelLabel: string, log: (m: string) => void): Promise<OpenQueue> {
  const q: QueueModule = await import('@whitebox/queue');
  const store = new q.DirectoryStore(o.store ?? defaultStoreDir());
  const session = await q.QueueSession.open({
    url: o.queue!, ...(o.queueName ? { queueName: o.queueName } : {}), store, version: VERSION, model: { bytes, label: modelLabel },
    ...(o.attempts !== undefined ? { attempts: o.attempts } : {}), ...(o.backoff !== undefined ? { backoffMs: o.backoff } : {}),
    ...(o.shardSize !== undefined ? { shardSize: o.shardSize } : {}), clear: !!o.queueClear, command: `whitebox ${process.argv.slice(2).join(' ')}`, log,
  });
  log(`queue '${session.queueName}' at ${q.redactUrl(o.queue!)}, store ${store.location}: ROAR/KAR maps and retrainings go to its workers ('whitebox worker --queue ${q.redactUrl(o.queue!)}${o.queueName ? ` --queue-name ${o.queueName}` : ''}')`);
  return Object.assign(session, { describe: `${q.redactUrl(o.queue!)} (${session.queueName})` });
}

/** Ctrl-C while jobs are queued: leave them (workers go on) and say how to resume. */
function onInterrupt(queue: OpenQueue, log: (m: string) => void): () => void {
  const handler = (): void => {
    log(`\ninterrupted: the jobs stay in queue '${queue.queueName}' and finished ones in the store; run the same command again to resume`);
    void queue.close().finally(() => process.exit(130));
    setTimeout(() => process.exit(130), 2000).unref();
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** @deprecated use intOption from ../options.js (kept for callers of the old helper). */
export function int(name: string, min = 1) {
  return intOption(name, { min });
}

/** Options shared by `run` and `evaluate`. */
export function evaluationOptions(cmd: Command): Command {
  return cmd
    .option('--dataset <name>', 'mnist | cifar10 | localization | localization-pair (the MNIST localization benchmark, with ground-truth masks)', enumOption('--dataset', DATASETS), 'mnist')
    .option('--scale <scale>', 'quick (≤ 10 min on MNIST, 2 cores) | standard (≤ 60 min) | full (whole datasets) | seed (the seed project\'s ROAR/KAR: whole datasets, full-size SimpleCNN, t = 0.1…0.9, 3 seeds, 100 epochs; for a cluster, see --queue)', enumOption('--scale', SCALES_LIST), 'quick')
    .option('--model <file>', 'ONNX classifier (default: models/<dataset>-simplecnn.onnx)', nonEmptyOption('--model'))
    .option('--data-dir <dir>', 'dataset directory (MNIST IDX files / CIFAR-10 binary batches)', nonEmptyOption('--data-dir'))
    .option('--methods <list>', "methods to evaluate (default: 'all', the seven gradient methods, and the three SmoothGrad ensembles; 'cam': the CAM family and occlusion)", validatedOption((v) => { resolveMethods(v); return v; }))
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
    .option('--roar-train <n>', 'ROAR/KAR training images (balanced subset; default: per scale, all at full/seed)', intOption('--roar-train'))
    .option('--roar-test <n>', 'ROAR/KAR test images (balanced subset; default: per scale)', intOption('--roar-test'))
    .option('--queue <url>', "redis://host:port: run ROAR/KAR's maps and retrainings as jobs for 'whitebox worker' processes on any machine", nonEmptyOption('--queue'))
    .option('--queue-name <name>', "the queue's name (default whitebox)", nonEmptyOption('--queue-name'))
    .option('--store <dir>', 'with --queue: where jobs keep their payloads and results, a directory every worker can read (default $WHITEBOX_DATA_DIR/queue-store)', outDirOption('--store'))
    .option('--shard-size <n>', 'with --queue: images per map job (default 2048)', intOption('--shard-size', { max: 1_000_000 }))
    .option('--attempts <n>', 'with --queue: attempts per job before it is reported as failed (default 3)', intOption('--attempts', { max: 100 }))
    .option('--backoff <ms>', 'with --queue: first retry delay, doubling per attempt (default 2000)', intOption('--backoff', { min: 0, max: 3_600_000 }))
    .option('--queue-clear', "with --queue: first drop every job in the queue (e.g. another model's)")
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

/** Names the jobs that failed for good (queue runs) and sets exit code 2: the report is written, without them. */
export function reportFailures(failures: ReadonlyArray<{ name: string; error: string; attempts?: number }> | undefined): void {
  if (!failures?.length) return;
  process.stderr.write(`${failures.length} job(s) failed after their last attempt (left out of the report's numbers, listed in its 'Failed jobs' section):\n${failures.map((f) => `  ${f.name}: ${f.error}${f.attempts ? ` (${f.attempts} attempts)` : ''}`).join('\n')}\n`);
  process.exitCode = 2;
}

/** Registers `whitebox run`: the whole evaluation (what `pnpm start` runs) and the report. */
export function register(program: Command): void {
  evaluationOptions(program.command('run').description('run coherence, selectivity, ROAR, KAR, ROAD, the sanity check and the metrics (faithfulness, robustness, randomization, complexity, localization), write the report and print its path'))
    .option('--out <dir>', 'report directory', outDirOption('--out'), 'report')
    .action(async (opts: EvaluationCliOptions) => {
      const t0 = performance.now();
      const { files, results } = await guardEarlyExit(() => evaluateCommand(opts));
      process.stderr.write(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      process.stdout.write(`report: ${files.html}\n`);
      reportFailures(results.failures);
    });
}
