import { WhiteBoxError, type Model, type ProgressCallback } from '@whitebox/core';
import { cachedFloat32 } from './cache.js';
import { coherence } from './coherence.js';
import { balancedIndices, imagesToTensor, subsetDataset, validateDataset, type ImageDataset } from './data.js';
import { sobelExplainer } from './baselines.js';
import { evaluateMetrics, type MetricSizes, type MetricsMethod } from './evaluate-metrics.js';
import { randomExplainer, type Explainer } from './explainer.js';
import { writeReport, type EvaluationResults, type ReportFiles } from './report.js';
import { road } from './road.js';
import { randomRelevance, roarKar, type JobFailure, type RelevanceSet, type Retrain, type RoarKarExecutor } from './roar.js';
import { sanityCheck, type CascadeStep } from './sanity.js';
import { selectivity } from './selectivity.js';

/** How much work an evaluation does: quick, standard, full, or seed (the whole data, several seeds). */
export type Scale = 'quick' | 'standard' | 'full' | 'seed';
/** The scales, smallest first. */
export const SCALES_LIST: readonly Scale[] = ['quick', 'standard', 'full', 'seed'];
/** One evaluation stage of the pipeline. */
export type Stage = 'coherence' | 'selectivity' | 'road' | 'sanity' | 'metrics' | 'roar-maps' | 'roar-kar';
/** The evaluation stages, in run order. */
export const STAGES: readonly Stage[] = ['coherence', 'selectivity', 'road', 'sanity', 'metrics', 'roar-maps', 'roar-kar'];

/** Sizes of every evaluation at one scale. `undefined` counts mean the whole split. */
export interface ScaleSettings {
  selectivitySamples: number;
  selectivitySteps: number;
  patchSize: number;
  roadSamples: number;
  roadFractions: number[];
  sanitySamples: number;
  /** ROAR/KAR training images (balanced subset) and test images; undefined = all. */
  roarTrain: number | undefined;
  roarTest: number | undefined;
  fractions: number[];
  seeds: number[];
  /** Retraining epochs; undefined = the epochs the shipped model was trained with (the caller's default). */
  epochs: number | undefined;
  /** SimpleCNN size for retraining (undefined = the shipped model's: [32, 64, 128], 1024). */
  retrainWidths?: number[];
  retrainHidden?: number;
  /** Include the SmoothGrad ensembles in ROAR/KAR (their training-set maps are costly). */
  roarEnsembles: boolean;
  /** SmoothGrad samples and integrated-gradients steps at this scale. */
  smoothgradSamples: number;
  igSteps: number;
  /** The 'metrics' stage (faithfulness, robustness, randomization, complexity, localization): test images and sizes. */
  metricSamples: number;
  metricSizes: MetricSizes;
  /** Metric ids or families (default: every metric the data supports). */
  metrics?: string;
}

/** Sample counts, steps, seeds and epochs of each scale. */
export const SCALES: Record<Scale, ScaleSettings> = {
  quick: {
    selectivitySamples: 32, selectivitySteps: 50, patchSize: 1, roadSamples: 200, roadFractions: [0.1, 0.3, 0.5, 0.7, 0.9], sanitySamples: 16,
    roarTrain: 2000, roarTest: 500, fractions: [0.1, 0.3, 0.5, 0.7, 0.9], seeds: [0], epochs: 2, retrainWidths: [8, 16, 32], retrainHidden: 64, roarEnsembles: false,
    smoothgradSamples: 10, igSteps: 16,
    metricSamples: 32, metricSizes: { fcRuns: 50, curveSteps: 25, infidelitySamples: 25, robustnessSamples: 10, superpixels: 50, monotonicitySteps: 16 },
  },
  standard: {
    selectivitySamples: 100, selectivitySteps: 50, patchSize: 1, roadSamples: 1000, roadFractions: [0.1, 0.3, 0.5, 0.7, 0.9], sanitySamples: 50,
    roarTrain: 6000, roarTest: 1000, fractions: [0.1, 0.3, 0.5, 0.7, 0.9], seeds: [0, 1], epochs: 3, retrainWidths: [8, 16, 32], retrainHidden: 64, roarEnsembles: false,
    smoothgradSamples: 25, igSteps: 32,
    metricSamples: 100, metricSizes: { fcRuns: 100, curveSteps: 50, infidelitySamples: 50, robustnessSamples: 20, superpixels: 100, monotonicitySteps: 16 },
  },
  full: {
    selectivitySamples: 500, selectivitySteps: 50, patchSize: 1, roadSamples: 10000, roadFractions: [0.1, 0.3, 0.5, 0.7, 0.9], sanitySamples: 200,
    roarTrain: undefined, roarTest: undefined, fractions: [0.1, 0.3, 0.5, 0.7, 0.9], seeds: [0, 1, 2], epochs: undefined, roarEnsembles: true,
    smoothgradSamples: 50, igSteps: 50,
    metricSamples: 500, metricSizes: { fcRuns: 100, curveSteps: 100, infidelitySamples: 50, robustnessSamples: 50, superpixels: 100, monotonicitySteps: 16 },
  },
  /**
   * The seed project's ROAR/KAR protocol: whole training and test sets, the full-size SimpleCNN, fractions
   * 0.1…0.9, 3 seeds, 100 epochs per retraining (`--epochs` to shorten), the seven methods and random.
   * Hundreds of full trainings: meant for a cluster (`--queue`).
   */
  seed: {
    selectivitySamples: 500, selectivitySteps: 50, patchSize: 1, roadSamples: 10000, roadFractions: [0.1, 0.3, 0.5, 0.7, 0.9], sanitySamples: 200,
    roarTrain: undefined, roarTest: undefined, fractions: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], seeds: [0, 1, 2], epochs: 100, roarEnsembles: false,
    smoothgradSamples: 50, igSteps: 50,
    metricSamples: 500, metricSizes: { fcRuns: 100, curveSteps: 100, infidelitySamples: 50, robustnessSamples: 50, superpixels: 100, monotonicitySteps: 16 },
  },
};

/** A method as the pipeline sees it: an id, how to explain with a given model, and what keys its cached maps. */
export interface PipelineMethod {
  id: string;
  /** The method's explainer for `model` (the trained model, or a retrained or randomized one). */
  explainer(model: Model): Explainer;
  /** Method options that change its maps (part of the map cache key). */
  options?: unknown;
  /** An ensemble (SmoothGrad variant): left out of ROAR/KAR unless the scale's `roarEnsembles`. */
  skipRoar?: boolean;
  /** The signed per-pixel map (channels summed, not |·|) the 'metrics' stage scores; default `explainer`. */
  signedExplainer?(model: Model): Explainer;
  /** A JSON description from which another process rebuilds this method (what a job queue sends its workers). */
  spec?: unknown;
}

/** One split's maps the ROAR/KAR stage needs. */
export interface RelevanceRequest {
  method: PipelineMethod;
  ds: ImageDataset;
  split: string;
}

/**
 * Computes the maps of several (method, split) requests at once, e.g. as map shards on a job queue;
 * results in request order, or the failures that left one without maps.
 */
export type RelevanceProvider = (model: Model, requests: readonly RelevanceRequest[], onProgress?: ProgressCallback) => Promise<Array<{ data: Float32Array; hit: boolean } | { failures: JobFailure[] }>>;

/** A progress display for one stage. */
export interface StageProgress {
  update: ProgressCallback;
  /** Ends the display. */
  stop(): void;
}

/** Everything `runPipeline` evaluates: the model, data, methods, scale and stages. */
export interface PipelineInput {
  dataset: string;
  scale: Scale | string;
  settings: ScaleSettings;
  model: Model;
  /** How the report names the model (its path). */
  modelLabel: string;
  train: ImageDataset;
  test: ImageDataset;
  methods: readonly PipelineMethod[];
  retrain?: Retrain;
  /** Retrainings at once (default 1). */
  concurrency?: number;
  /** Runs the ROAR/KAR retrainings instead of `retrain` (a job queue). */
  roarKarExecutor?: RoarKarExecutor;
  /** Computes the ROAR/KAR maps instead of `datasetRelevance` here (a job queue). */
  relevance?: RelevanceProvider;
  /** Settings the report records beside the scale's (e.g. the queue's address). */
  extraSettings?: Record<string, unknown>;
  /** The model-randomization cascade, top layer first. */
  cascade?: readonly CascadeStep[];
  /** One layer randomized at a time, top first (`onnxIndependent`): the metrics stage's independent randomization test. */
  independent?: readonly CascadeStep[];
  /** Ground truth of `test` [test.count, H*W] (a localization dataset): enables the localization metrics. */
  testMasks?: Uint8Array;
  /** Where training-set maps are cached (keyed by model hash, method and options, data). */
  cacheDir?: string;
  outDir: string;
  stages?: readonly Stage[];
  /** Removal value for selectivity, pixel space (default 0). */
  removalValue?: number;
  /** A progress display per stage (the CLI passes progress bars). */
  progress?: (label: string) => StageProgress;
  /** Receives progress messages (default none). */
  log?: (message: string) => void;
  command?: string;
  /** Seed of the random baselines (default 0). */
  seed?: number;
}

/** What `runPipeline` returns: the results and the report files written. */
export interface PipelineOutput {
  results: EvaluationResults;
  files: ReportFiles;
}

/** Images per explainer call when maps of a dataset are computed (map shards start at multiples of it, so their batches match). */
export const RELEVANCE_CHUNK = 256;

/**
 * Maps of images [start, end) of a dataset, in calls of `chunk` images counted from `start`, as a
 * Float32Array [(end − start), H*W]. `onProgress` counts images done in the range.
 */
export async function relevanceRange(explainer: Explainer, ds: ImageDataset, start: number, end: number, onProgress?: ProgressCallback, chunk = RELEVANCE_CHUNK, label = explainer.name): Promise<Float32Array> {
  const hw = ds.height * ds.width;
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= ds.count)) throw new WhiteBoxError('INVALID_ARGUMENT', `relevanceRange: images [${start}, ${end}) are not a range of dataset '${ds.name}' (${ds.count} images)`);
  const out = new Float32Array((end - start) * hw);
  for (let s = start; s < end; s += chunk) {
    const e = Math.min(end, s + chunk);
    const rel = await explainer.relevance(imagesToTensor(ds, s, e), Int32Array.from(ds.labels.subarray(s, e)));
    if (rel.length !== (e - s) * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `${label}: ${rel.length} relevance values for ${e - s} images of ${ds.height}×${ds.width}`);
    out.set(rel, (s - start) * hw);
    onProgress?.({ done: e - start, total: end - start, stage: label });
  }
  return out;
}

/** Maps of a whole dataset split, computed in chunks with progress, cached on disk. */
export async function datasetRelevance(model: Model, method: PipelineMethod, ds: ImageDataset, split: string, cacheDir: string | undefined, onProgress?: ProgressCallback, chunk = RELEVANCE_CHUNK): Promise<{ data: Float32Array; hit: boolean }> {
  const hw = ds.height * ds.width;
  const key = { kind: 'relevance', version: 2 /* 2: SmoothGrad noise keyed per input (seed, pixels, sample) */, model: model.modelHash, method: method.id, options: method.options ?? null, dataset: ds.name, split, count: ds.count, images: digest(ds.images) };
  return cachedFloat32(cacheDir, key, ds.count * hw, async () => {
    onProgress?.({ done: 0, total: ds.count, stage: `${method.id} ${split}` });
    return relevanceRange(method.explainer(model), ds, 0, ds.count, onProgress, chunk, `${method.id} ${split}`);
  });
}

function digest(bytes: Uint8Array): string {
  // FNV-1a over the bytes, 2 lanes: cheap and enough to tell subsets apart in a cache key.
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193) >>> 0;
    b = Math.imul(b ^ bytes[i]! ^ (i & 0xff), 0x811c9dc5) >>> 0;
  }
  return `${bytes.length}:${a.toString(16)}:${b.toString(16)}`;
}

/**
 * The main job: coherence, selectivity, ROAD, the sanity check and ROAR/KAR for every method
 * (plus the random baseline) on one model and dataset, then the report. Times every stage.
 */
export async function runPipeline(input: PipelineInput): Promise<PipelineOutput> {
  const stages = new Set(input.stages ?? STAGES);
  for (const s of stages) if (!STAGES.includes(s)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown evaluation stage '${s}' (known: ${STAGES.join(', ')})`);
  validateDataset(input.train, 'pipeline train set');
  validateDataset(input.test, 'pipeline test set');
  const { model, settings: cfg } = input;
  const shape = model.inputShape;
  if (shape[1] !== input.test.channels || shape[2] !== input.test.height || shape[3] !== input.test.width) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `model ${input.modelLabel} takes [N, ${shape.slice(1).join(', ')}] images but dataset '${input.test.name}' has ${input.test.channels}×${input.test.height}×${input.test.width}`);
  }
  if (model.numClasses !== input.test.classes.length) throw new WhiteBoxError('SHAPE_MISMATCH', `model ${input.modelLabel} has ${model.numClasses} classes but dataset '${input.test.name}' has ${input.test.classes.length}`);
  if (input.methods.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', 'no attribution methods to evaluate');
  const log = input.log ?? (() => {});
  const seed = input.seed ?? 0;
  const timings: Record<string, number> = {};
  const cpuTimings: Record<string, number> = {};
  const withProgress = async <T>(stage: string, label: string, fn: (p: ProgressCallback | undefined) => Promise<T>): Promise<T> => {
    const bar = input.progress?.(label);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    try {
      return await fn(bar?.update);
    } finally {
      bar?.stop();
      const c = process.cpuUsage(c0);
      timings[stage] = (timings[stage] ?? 0) + (performance.now() - t0) / 1000;
      cpuTimings[stage] = (cpuTimings[stage] ?? 0) + (c.user + c.system) / 1e6;
      log(`${label}: ${timings[stage]!.toFixed(1)} s`);
    }
  };
  const explainers = (m: Model): Explainer[] => input.methods.map((x) => x.explainer(m));
  const results: EvaluationResults = {
    meta: {
      dataset: input.dataset, scale: String(input.scale), model: input.modelLabel, modelHash: model.modelHash,
      methods: input.methods.map((m) => m.id), createdAt: new Date().toISOString(), timings, cpuTimings, settings: { ...cfg, removalValue: input.removalValue ?? 0, concurrency: input.concurrency ?? 1, ...(input.extraSettings ?? {}) },
      ...(input.command ? { command: input.command } : {}),
    },
  };
  const evalSubset = (n: number, name: string): ImageDataset => subsetDataset(input.test, balancedIndices(input.test, n), `${input.test.name}-${name}${n}`);

  if (stages.has('coherence')) {
    results.coherence = await withProgress('coherence', 'coherence', (p) => coherence(input.test, explainers(model), { onProgress: p }));
  }
  if (stages.has('selectivity')) {
    const sub = evalSubset(cfg.selectivitySamples, 'sel');
    results.selectivity = await withProgress('selectivity', 'selectivity', (p) =>
      selectivity(model, [...explainers(model), randomExplainer(seed)], imagesToTensor(sub), sub.labels, { steps: cfg.selectivitySteps, patchSize: cfg.patchSize, removalValue: input.removalValue ?? 0, onProgress: p }));
  }
  if (stages.has('road')) {
    const sub = evalSubset(cfg.roadSamples, 'road');
    results.road = await withProgress('road', 'ROAD', (p) => road(model, [...explainers(model), randomExplainer(seed + 1)], imagesToTensor(sub), sub.labels, { fractions: cfg.roadFractions, seed, onProgress: p }));
  }
  if (stages.has('sanity')) {
    if (!input.cascade || input.cascade.length === 0) log('sanity check skipped: no randomization cascade given');
    else {
      const sub = evalSubset(cfg.sanitySamples, 'sanity');
      results.sanity = await withProgress('sanity', 'sanity check', (p) =>
        sanityCheck(model, input.methods.map((m) => ({ name: m.id, make: (mm: Model) => m.explainer(mm) })), input.cascade!, imagesToTensor(sub), sub.labels, { onProgress: p }));
    }
  }
  if (stages.has('metrics')) {
    const hw = input.test.height * input.test.width;
    if (input.testMasks && input.testMasks.length !== input.test.count * hw) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `test masks have ${input.testMasks.length} values but dataset '${input.test.name}' has ${input.test.count} images of ${input.test.height}×${input.test.width}`);
    }
    const idx = balancedIndices(input.test, cfg.metricSamples);
    const sub = subsetDataset(input.test, idx, `${input.test.name}-metrics${cfg.metricSamples}`);
    const masks = input.testMasks ? new Uint8Array(idx.length * hw) : undefined;
    if (masks) idx.forEach((i, k) => masks.set(input.testMasks!.subarray(i * hw, (i + 1) * hw), k * hw));
    const random = randomExplainer(seed + 21);
    const sobel = sobelExplainer();
    const methods: MetricsMethod[] = [
      ...input.methods.map((m) => ({ name: m.id, make: (mm: Model) => (m.signedExplainer ?? m.explainer)(mm) })),
      { name: 'random', make: () => random },
      { name: 'sobel', make: () => sobel },
    ];
    results.metrics = await withProgress('metrics', 'metrics', (p) =>
      evaluateMetrics(model, methods, imagesToTensor(sub), sub.labels, {
        ...(cfg.metrics ? { metrics: cfg.metrics } : {}), sizes: cfg.metricSizes, seed, unscorable: 'skip', onProgress: p,
        ...(masks ? { masks } : {}),
        randomization: { ...(input.cascade?.length ? { cascading: input.cascade } : {}), ...(input.independent?.length ? { independent: input.independent } : {}) },
      }));
  }
  if (stages.has('roar-maps') || stages.has('roar-kar')) {
    const train = cfg.roarTrain !== undefined && cfg.roarTrain < input.train.count ? subsetDataset(input.train, balancedIndices(input.train, cfg.roarTrain), `${input.train.name}-${cfg.roarTrain}`) : input.train;
    const test = cfg.roarTest !== undefined && cfg.roarTest < input.test.count ? subsetDataset(input.test, balancedIndices(input.test, cfg.roarTest), `${input.test.name}-${cfg.roarTest}`) : input.test;
    const roarMethods = input.methods.filter((m) => !m.skipRoar || cfg.roarEnsembles);
    const hw = train.height * train.width;
    const sets: RelevanceSet[] = [];
    const failures: JobFailure[] = [];
    await withProgress('roar-maps', 'ROAR/KAR maps', async (p) => {
      if (input.relevance) {
        // All (method, split) maps at once: a queue spreads their shards over its workers.
        const requests = roarMethods.flatMap((method) => [{ method, ds: train, split: 'train' }, { method, ds: test, split: 'test' }]);
        const out = await input.relevance(model, requests, p);
        roarMethods.forEach((m, i) => {
          const tr = out[2 * i]!;
          const te = out[2 * i + 1]!;
          if ('failures' in tr || 'failures' in te) {
            const f = [...('failures' in tr ? tr.failures : []), ...('failures' in te ? te.failures : [])];
            failures.push(...f);
            log(`${m.id}: left out of ROAR/KAR, ${f.length} map job(s) failed: ${f.map((x) => x.name).join(', ')}`);
          } else sets.push({ method: m.id, train: tr.data, test: te.data });
        });
      } else {
        const total = roarMethods.length * (train.count + test.count);
        let base = 0;
        const sub: ProgressCallback | undefined = p && ((q) => p({ done: base + q.done, total, stage: q.stage }));
        for (const m of roarMethods) {
          const tr = await datasetRelevance(model, m, train, 'train', input.cacheDir, sub);
          base += train.count;
          const te = await datasetRelevance(model, m, test, 'test', input.cacheDir, sub);
          base += test.count;
          p?.({ done: base, total, stage: `${m.id}${tr.hit && te.hit ? ' (cached)' : ''}` });
          sets.push({ method: m.id, train: tr.data, test: te.data });
        }
      }
      sets.push({ method: 'random', train: randomRelevance(train.count, hw, seed + 11), test: randomRelevance(test.count, hw, seed + 12) });
    });
    if (stages.has('roar-kar')) {
      if (!input.retrain && !input.roarKarExecutor) throw new WhiteBoxError('INVALID_ARGUMENT', 'ROAR/KAR needs a retrain function');
      results.roarKar = await withProgress('roar-kar', 'ROAR/KAR retraining', (p) =>
        roarKar(train, test, sets, input.retrain, { fractions: cfg.fractions, seeds: cfg.seeds, concurrency: input.concurrency ?? 1, onProgress: p, ...(input.roarKarExecutor ? { executor: input.roarKarExecutor } : {}) }));
      failures.push(...(results.roarKar.failures ?? []));
    }
    if (failures.length) {
      results.failures = failures;
      log(`${failures.length} job(s) failed for good: ${failures.map((f) => `${f.name} (${f.error})`).join('; ')}`);
    }
  }
  await withProgress('report', 'report', async () => writeReport(results, input.outDir));
  // Written again so that the report's own time is in it (cheap: the charts are small).
  return { results, files: await writeReport(results, input.outDir) };
}
