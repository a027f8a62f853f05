import { Tensor, WhiteBoxError, type Model, type ProgressCallback } from '@whitebox/core';
import { ATTRIBUTION_LOCALIZATION, POINTING_GAME, RELEVANCE_MASS, RELEVANCE_RANK, TOP_K_INTERSECTION, attributionLocalization, pointingGame, relevanceMass, relevanceRank, topKIntersection } from './localization.js';
import { COMPLEXITY, EFFECTIVE_COMPLEXITY, SPARSENESS, complexity, effectiveComplexity, sparseness } from './complexity.js';
import type { Explainer } from './explainer.js';
import { FAITHFULNESS_CORRELATION, faithfulnessCorrelation } from './faithfulness-correlation.js';
import { INFIDELITY, infidelity } from './infidelity.js';
import { IROF, irof } from './irof.js';
import { METRIC_FAMILIES, checkRelevance, directionArrow, type MetricFamily, type MetricInfo, type MetricInput, type MetricOutput, type UnscorablePolicy } from './metric.js';
import {
  INSERTION_DELETION, MONOTONICITY, PIXEL_FLIPPING, REGION_PERTURBATION, insertionDeletion, monotonicity, pixelFlipping, regionPerturbation,
  type InsertionDeletionBaseline, type InsertionDeletionMode, type PerturbationOrder,
} from './perturbation-curves.js';
import { MPRT_METRICS, RANDOM_LOGIT, modelParameterRandomization, randomLogit, type RandomizationMode } from './randomization.js';
import { AVG_SENSITIVITY, LOCAL_LIPSCHITZ, MAX_SENSITIVITY, localLipschitz, sensitivity } from './robustness.js';
import type { CascadeStep, SanityResult } from './sanity.js';
import type { SimilarityMeasure } from './similarity.js';

/** Every metric, family by family, in the order tables list them. */
export const METRICS: readonly MetricInfo[] = [
  FAITHFULNESS_CORRELATION,
  PIXEL_FLIPPING.morf, PIXEL_FLIPPING.lerf, PIXEL_FLIPPING.random,
  REGION_PERTURBATION.morf, REGION_PERTURBATION.lerf, REGION_PERTURBATION.random,
  INSERTION_DELETION['insertion-blur'], INSERTION_DELETION['insertion-constant'], INSERTION_DELETION['deletion-blur'], INSERTION_DELETION['deletion-constant'],
  MONOTONICITY, INFIDELITY, IROF,
  MAX_SENSITIVITY, AVG_SENSITIVITY, LOCAL_LIPSCHITZ,
  ...MPRT_METRICS, RANDOM_LOGIT,
  SPARSENESS, COMPLEXITY, EFFECTIVE_COMPLEXITY,
  POINTING_GAME, RELEVANCE_MASS, RELEVANCE_RANK, TOP_K_INTERSECTION, ATTRIBUTION_LOCALIZATION,
];
/** Ids of every metric `evaluateMetrics` knows. */
export const METRIC_IDS: readonly string[] = METRICS.map((m) => m.id);

/** The definition of the metric `id` (throws INVALID_ARGUMENT for an unknown id). */
export function metricInfo(id: string): MetricInfo {
  const m = METRICS.find((x) => x.id === id);
  if (!m) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown metric '${id}' (known: ${METRIC_IDS.join(', ')})`, { metric: id });
  return m;
}

/**
 * Resolves a metric list: comma-separated metric ids, family names (faithfulness, robustness, randomization,
 * complexity, localization) or 'all'. Unknown names are a named error listing the known ones.
 */
export function resolveMetrics(spec: string | readonly string[]): MetricInfo[] {
  const tokens = (typeof spec === 'string' ? spec.split(',') : [...spec]).map((s) => s.trim()).filter(Boolean);
  if (tokens.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `no metrics given (known: 'all', families ${METRIC_FAMILIES.join(', ')}, or ids ${METRIC_IDS.join(', ')})`);
  const out: MetricInfo[] = [];
  for (const t of tokens) {
    const picked = t === 'all' ? METRICS : (METRIC_FAMILIES as readonly string[]).includes(t) ? METRICS.filter((m) => m.family === t) : METRICS.filter((m) => m.id === t);
    if (picked.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown metric '${t}' (known: 'all', families ${METRIC_FAMILIES.join(', ')}, or ids ${METRIC_IDS.join(', ')})`, { metric: t });
    for (const m of picked) if (!out.includes(m)) out.push(m);
  }
  return METRICS.filter((m) => out.includes(m));
}

/** Sizes of every metric (what `ScaleSettings.metricSizes` holds); undefined = each metric's default. */
export interface MetricSizes {
  /** Faithfulness Correlation: subsets per image and pixels per subset. */
  fcRuns?: number;
  fcSubsetSize?: number;
  /** Steps of the pixel-flipping and insertion/deletion curves. */
  curveSteps?: number;
  /** Region perturbation: square side and regions perturbed. */
  regionSize?: number;
  regions?: number;
  monotonicitySteps?: number;
  infidelitySamples?: number;
  /** Perturbed copies per image for Max/Avg-Sensitivity and the Local Lipschitz estimate. */
  robustnessSamples?: number;
  /** SLIC superpixels for IROF. */
  superpixels?: number;
}

/** A method as the metrics see it: a name and its signed explainer for a given model (randomized models too). */
export interface MetricsMethod {
  name: string;
  /** Builds the method's explainer for a model (called again for each randomized model). */
  make: (model: Model) => Explainer;
}

/** Options of `evaluateMetrics`: which metrics, sizes, masks, randomized models, seed and progress. */
export interface MetricsOptions {
  /** Which metrics (default 'all' minus those the inputs cannot support: localization without masks, randomization without steps). */
  metrics?: string | readonly string[];
  sizes?: MetricSizes;
  /** Ground truth [N, H*W] for localization. */
  masks?: Uint8Array | Tensor<Uint8Array>;
  /** Randomized models for the randomization family (`onnxCascade`, `onnxIndependent`). */
  randomization?: Partial<Record<RandomizationMode, readonly CascadeStep[]>>;
  seed?: number;
  /** Unscorable samples (constant maps, ...): a named error, or left out and counted (default 'error'). */
  unscorable?: UnscorablePolicy;
  onProgress?: ProgressCallback;
}

/** One metric's score for one method: mean and std over the scored samples, and what was left out. */
export interface MetricRow {
  metric: string;
  method: string;
  /** Mean over the scored samples; null when none could be scored (`error` says why). */
  mean: number | null;
  std: number | null;
  samples: number;
  excluded: number;
  /** Why the first excluded sample was left out, when any was. */
  note?: string;
  error?: string;
}

/** A curve a metric traced for one method (e.g. deletion: probability against fraction removed). */
export interface MetricCurve {
  metric: string;
  method: string;
  x: number[];
  y: number[];
  yLabel: string;
}

/** Result of `evaluateMetrics`: rows, curves and timings of the metrics that ran. */
export interface MetricsResult {
  samples: number;
  seed: number;
  /** The metrics that ran, with their definitions and directions. */
  metrics: MetricInfo[];
  methods: string[];
  rows: MetricRow[];
  curves: MetricCurve[];
  randomization?: { cascading?: SanityResult; independent?: SanityResult };
  /** Wall seconds per metric (all methods together); robustness metrics share their pass, reported on max-sensitivity. */
  seconds: Record<string, number>;
  sizes: MetricSizes;
  /** Metrics 'all' left out because the inputs cannot support them (no masks, no randomized models). */
  skipped?: Array<{ metric: string; reason: string }>;
}

/**
 * Evaluates `methods` on `images` with every requested metric and returns one row per (metric, method): mean ±
 * std over the samples, plus the mean curves of curve metrics. Each method's signed map of `images` is computed
 * once and shared; perturbed copies run through the model in chunks; every draw is seeded per sample.
 */
export async function evaluateMetrics(model: Model, methods: readonly MetricsMethod[], images: Tensor, targets: ArrayLike<number>, options: MetricsOptions = {}): Promise<MetricsResult> {
  if (methods.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', 'evaluateMetrics: no methods to evaluate');
  if (!(images instanceof Tensor) || images.rank !== 4) throw new WhiteBoxError('SHAPE_MISMATCH', `evaluateMetrics: images must be an [N, C, H, W] tensor, got ${images}`);
  const [n, , h, w] = images.dims as [number, number, number, number];
  const stepsFor = (m: MetricInfo): boolean => !m.needsRandomizedModels || !!options.randomization?.[m.id.startsWith('mprt-independent') ? 'independent' : 'cascading']?.length;
  const supported = (m: MetricInfo): boolean => (!m.needsMasks || !!options.masks) && stepsFor(m);
  // 'all' (or no list) means every metric the inputs support; metrics named explicitly must be supported.
  const tokens = options.metrics === undefined ? ['all'] : (typeof options.metrics === 'string' ? options.metrics.split(',') : [...options.metrics]).map((t) => t.trim());
  const all = tokens.includes('all');
  const named = resolveMetrics(tokens.filter((t) => t && t !== 'all').length ? tokens.filter((t) => t && t !== 'all') : ['all']);
  const requested = all ? METRICS.filter((m) => supported(m) || (named.includes(m) && tokens.some((t) => t === m.id || t === m.family))) : named;
  const skipped = all ? METRICS.filter((m) => !requested.includes(m)).map((m) => ({ metric: m.id, reason: m.needsMasks ? 'no ground-truth masks (not a localization dataset)' : 'no randomized models given' })) : [];
  for (const m of requested) {
    if (m.needsMasks && !options.masks) throw new WhiteBoxError('INVALID_ARGUMENT', `metric ${m.id} needs ground-truth masks (a localization dataset); none were given`, { metric: m.id });
    if (!stepsFor(m)) throw new WhiteBoxError('INVALID_ARGUMENT', `metric ${m.id} needs ${m.id.startsWith('mprt-independent') ? 'independent' : 'cascading'} randomization steps (randomized copies of the model); none were given`, { metric: m.id });
  }
  const ids = new Set(requested.map((m) => m.id));
  const seed = options.seed ?? 0;
  const sizes = options.sizes ?? {};
  const result: MetricsResult = { samples: n, seed, metrics: requested, methods: methods.map((m) => m.name), rows: [], curves: [], seconds: {}, sizes, ...(skipped.length ? { skipped } : {}) };
  const t = Int32Array.from(targets);
  // Units of progress: one per (metric group, method), the randomization family one per method and step.
  const groups = groupsOf(ids);
  const mprt = requested.filter((m) => m.needsRandomizedModels && m.id !== RANDOM_LOGIT.id);
  const randSteps = mprt.length ? (['cascading', 'independent'] as const).reduce((s, mode) => s + (mprt.some((m) => m.id.startsWith(`mprt-${mode}-`)) ? (options.randomization?.[mode]?.length ?? 0) + 1 : 0), 0) : 0;
  const total = (groups.length + 1) * methods.length + randSteps * methods.length;
  let done = 0;
  const progress = (stage: string): void => options.onProgress?.({ done, total, stage });
  progress('metrics');
  const relevance = new Map<string, Float32Array>();
  for (const m of methods) {
    const rel = await m.make(model).relevance(images, t);
    checkRelevance(rel, n, h, w, 'evaluateMetrics', m.name);
    relevance.set(m.name, rel);
    done++;
    progress(`maps ${m.name}`);
  }
  const record = (o: MetricOutput): void => {
    result.rows.push({ metric: o.metric, method: o.method, mean: o.mean, std: o.std, samples: o.scores.length, excluded: o.excluded.length, ...(o.excluded.length ? { note: `sample ${o.excluded[0]!.sample} ${o.excluded[0]!.reason}` } : {}) });
    if (o.curve) result.curves.push({ metric: o.metric, method: o.method, ...o.curve });
  };
  const failed = (metric: string, method: string, err: unknown): void => {
    if (!(err instanceof WhiteBoxError) || err.code !== 'INVALID_DATA' || options.unscorable !== 'skip') throw err;
    result.rows.push({ metric, method, mean: null, std: null, samples: 0, excluded: n, error: err.message });
  };
  for (const g of groups) {
    const t0 = performance.now();
    for (const m of methods) {
      const input: MetricInput = {
        model, explainer: m.make(model), images, targets: t, relevance: relevance.get(m.name)!, seed, unscorable: options.unscorable ?? 'error',
        ...(options.masks ? { masks: options.masks } : {}),
        onProgress: options.onProgress && ((p) => options.onProgress!({ done: done + p.done / Math.max(1, p.total), total, stage: `${p.stage ?? g.ids[0]} ${m.name}` })),
      };
      try {
        for (const o of await g.run(input, sizes)) if (ids.has(o.metric)) record(o);
      } catch (err) {
        for (const id of g.ids.filter((x) => ids.has(x))) failed(id, m.name, err);
      }
      done++;
      progress(`${g.ids[0]} ${m.name}`);
    }
    result.seconds[g.ids.find((x) => ids.has(x))!] = (performance.now() - t0) / 1000;
  }
  if (mprt.length) {
    const t0 = performance.now();
    const modes = (['cascading', 'independent'] as const).filter((mode) => mprt.some((m) => m.id.startsWith(`mprt-${mode}-`)));
    const measures = [...new Set(mprt.map((m) => m.id.replace(/^mprt-(cascading|independent)-/, '') as SimilarityMeasure))];
    const steps: Partial<Record<RandomizationMode, readonly CascadeStep[]>> = {};
    for (const mode of modes) {
      if (!options.randomization?.[mode]?.length) throw new WhiteBoxError('INVALID_ARGUMENT', `the ${mode} model randomization test needs ${mode} randomization steps; none were given`);
      steps[mode] = options.randomization[mode];
    }
    const base = done;
    const r = await modelParameterRandomization(model, methods, steps, images, t, {
      similarities: measures, onProgress: options.onProgress && ((p) => options.onProgress!({ done: base + p.done, total, stage: p.stage })),
    });
    done = base + randSteps * methods.length;
    for (const o of r.outputs) if (ids.has(o.metric)) record(o);
    const strip = (s: SanityResult | undefined): SanityResult | undefined => s && { ...s, rows: s.rows.map((row) => ({ ...row, scores: Object.fromEntries(Object.entries(row.scores ?? {}).map(([k, v]) => [k, { mean: v!.mean, std: v!.std }])) })) };
    result.randomization = { ...(r.cascading ? { cascading: strip(r.cascading) } : {}), ...(r.independent ? { independent: strip(r.independent) } : {}) };
    result.seconds[mprt[0]!.id] = (performance.now() - t0) / 1000;
  }
  options.onProgress?.({ done: total, total, stage: 'metrics' });
  return result;
}

interface Group {
  ids: string[];
  run: (input: MetricInput, sizes: MetricSizes) => Promise<MetricOutput[]>;
}

/** The metric computations needed for `ids`, one group per pass (Max- and Avg-Sensitivity share theirs). */
function groupsOf(ids: Set<string>): Group[] {
  const all: Group[] = [
    { ids: [FAITHFULNESS_CORRELATION.id], run: async (i, s) => [await faithfulnessCorrelation(i, { ...(s.fcRuns ? { runs: s.fcRuns } : {}), ...(s.fcSubsetSize ? { subsetSize: s.fcSubsetSize } : {}) })] },
    ...(['morf', 'lerf', 'random'] as PerturbationOrder[]).map((order) => ({ ids: [PIXEL_FLIPPING[order].id], run: async (i: MetricInput, s: MetricSizes) => [await pixelFlipping(i, { order, ...(s.curveSteps ? { steps: s.curveSteps } : {}) })] })),
    ...(['morf', 'lerf', 'random'] as PerturbationOrder[]).map((order) => ({
      ids: [REGION_PERTURBATION[order].id], run: async (i: MetricInput, s: MetricSizes) => [await regionPerturbation(i, { order, ...(s.regionSize ? { patchSize: s.regionSize } : {}), ...(s.regions ? { regions: s.regions } : {}) })],
    })),
    ...(['insertion', 'deletion'] as InsertionDeletionMode[]).flatMap((mode) => (['blur', 'constant'] as InsertionDeletionBaseline[]).map((baseline) => ({
      ids: [INSERTION_DELETION[`${mode}-${baseline}`].id], run: async (i: MetricInput, s: MetricSizes) => [await insertionDeletion(i, { mode, baseline, ...(s.curveSteps ? { steps: s.curveSteps } : {}) })],
    }))),
    { ids: [MONOTONICITY.id], run: async (i, s) => [await monotonicity(i, s.monotonicitySteps ? { steps: s.monotonicitySteps } : {})] },
    { ids: [INFIDELITY.id], run: async (i, s) => [await infidelity(i, s.infidelitySamples ? { samples: s.infidelitySamples } : {})] },
    { ids: [IROF.id], run: async (i, s) => [await irof(i, s.superpixels ? { segments: s.superpixels } : {})] },
    { ids: [MAX_SENSITIVITY.id, AVG_SENSITIVITY.id], run: async (i, s) => { const r = await sensitivity(i, s.robustnessSamples ? { samples: s.robustnessSamples } : {}); return [r.max, r.avg]; } },
    { ids: [LOCAL_LIPSCHITZ.id], run: async (i, s) => [await localLipschitz(i, s.robustnessSamples ? { samples: s.robustnessSamples } : {})] },
    { ids: [RANDOM_LOGIT.id], run: async (i) => [await randomLogit(i)] },
    { ids: [SPARSENESS.id], run: async (i) => [await sparseness(i)] },
    { ids: [COMPLEXITY.id], run: async (i) => [await complexity(i)] },
    { ids: [EFFECTIVE_COMPLEXITY.id], run: async (i) => [await effectiveComplexity(i)] },
    { ids: [POINTING_GAME.id], run: async (i) => [await pointingGame(i)] },
    { ids: [RELEVANCE_MASS.id], run: async (i) => [await relevanceMass(i)] },
    { ids: [RELEVANCE_RANK.id], run: async (i) => [await relevanceRank(i)] },
    { ids: [TOP_K_INTERSECTION.id], run: async (i) => [await topKIntersection(i)] },
    { ids: [ATTRIBUTION_LOCALIZATION.id], run: async (i) => [await attributionLocalization(i)] },
  ];
  return all.filter((g) => g.ids.some((id) => ids.has(id)));
}

/** "name ↑" etc.: a metric's label with its direction, as every table shows it. */
export function metricLabel(m: MetricInfo): string {
  return `${m.name} ${directionArrow(m.direction)}`;
}

/** Metrics of one family, in table order. */
export function metricsOfFamily(family: MetricFamily, among: readonly MetricInfo[] = METRICS): MetricInfo[] {
  return among.filter((m) => m.family === family);
}
