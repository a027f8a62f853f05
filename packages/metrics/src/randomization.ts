import { Tensor, WhiteBoxError, type Model, type ProgressCallback } from '@whitebox/core';
import type { Explainer } from './explainer.js';
import { ScoreCollector, checkRelevance, prepare, sampleRng, type MetricInfo, type MetricInput, type MetricOutput } from './metric.js';
import { sanityCheck, type CascadeStep, type SanityResult } from './sanity.js';
import { SIMILARITY_MEASURES, mapSimilarity, type SimilarityMeasure } from './similarity.js';

/** How layers are randomized: cascading from the top, or one layer at a time. */
export type RandomizationMode = 'cascading' | 'independent';

const MEASURE_NAMES: Record<SimilarityMeasure, string> = { spearman: 'Spearman ρ', 'spearman-abs': 'Spearman ρ of |map|', ssim: 'SSIM', hog: 'HOG similarity' };

/** The model parameter randomization test's metric ids: mprt-<mode>-<measure>. */
export function mprtInfo(mode: RandomizationMode, measure: SimilarityMeasure): MetricInfo {
  return {
    id: `mprt-${mode}-${measure}`,
    name: `Model randomization (${mode}), ${MEASURE_NAMES[measure]}`,
    family: 'randomization',
    direction: 'lower',
    paper: 'Adebayo et al. 2018',
    definition: mode === 'cascading'
      ? `${MEASURE_NAMES[measure]} between the map of the trained model and of the model with every weight layer re-initialised (cascading from the top; the last step).`
      : `${MEASURE_NAMES[measure]} between the map of the trained model and of the model with one weight layer re-initialised, mean over the layers.`,
    needsRandomizedModels: true,
  };
}

/** Metric infos of the model parameter randomization test, per mode and similarity measure. */
export const MPRT_METRICS: MetricInfo[] = (['cascading', 'independent'] as const).flatMap((mode) => SIMILARITY_MEASURES.map((m) => mprtInfo(mode, m)));

/** Metric info of Random Logit. */
export const RANDOM_LOGIT: MetricInfo = {
  id: 'random-logit', name: 'Random Logit (SSIM)', family: 'randomization', direction: 'lower', paper: 'Sixt et al. 2020',
  definition: 'SSIM between the map for the target class and the map for a random other class.',
};

/** A method the randomization metrics rebuild for each randomized model. */
export interface RandomizationMethod {
  name: string;
  /** Builds the method's explainer for a model. */
  make: (model: Model) => Explainer;
}

/** Result of the model randomization test in both modes, with one output per mode, measure and method. */
export interface ModelRandomizationResult {
  cascading?: SanityResult;
  independent?: SanityResult;
  /** One output per (mode, measure, method): the mprt-* metrics. */
  outputs: MetricOutput[];
}

/**
 * Model Parameter Randomization Test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps"), both variants of the
 * paper: *cascading* (re-initialise the weight layers from the top down, cumulatively) and *independent* (one layer
 * at a time, the rest trained), each map of the randomized model compared with the trained model's map by Spearman
 * rank correlation of the signed maps and of their absolute values, SSIM and HOG similarity. Lower is better: a
 * map that stays similar does not depend on what the model learned (a model-blind edge detector scores 1). Scores:
 * cascading = the similarity after the last step (every layer random; Quantus' `return_last_correlation`);
 * independent = the mean over layers. Extends `sanityCheck` (same cascade steps, `onnxCascade`/`onnxIndependent`).
 */
export async function modelParameterRandomization(
  model: Model, methods: readonly RandomizationMethod[], steps: Partial<Record<RandomizationMode, readonly CascadeStep[]>>, images: Tensor, targets: ArrayLike<number>,
  options: { similarities?: readonly SimilarityMeasure[]; onProgress?: ProgressCallback } = {},
): Promise<ModelRandomizationResult> {
  const measures = [...(options.similarities ?? SIMILARITY_MEASURES)];
  const modes = (['cascading', 'independent'] as const).filter((m) => steps[m] && steps[m]!.length > 0);
  if (modes.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', 'modelParameterRandomization: no randomization steps (cascading or independent) were given');
  const result: ModelRandomizationResult = { outputs: [] };
  const total = modes.reduce((s, m) => s + methods.length * (steps[m]!.length + 1), 0);
  let base = 0;
  for (const mode of modes) {
    const r = await sanityCheck(model, methods, steps[mode]!, images, targets, {
      mode, similarities: measures, onProgress: options.onProgress && ((p) => options.onProgress!({ done: base + p.done, total, stage: `randomization ${mode} ${p.stage ?? ''}`.trim() })),
    });
    base += methods.length * (steps[mode]!.length + 1);
    result[mode] = r;
    for (const measure of measures) {
      for (const m of methods) {
        const rows = r.rows.filter((x) => x.method === m.name);
        const per = rows.map((x) => x.scores![measure]!.values!);
        const out = new ScoreCollector(mprtInfo(mode, measure).id, m.name);
        for (let i = 0; i < r.samples; i++) out.add(i, mode === 'cascading' ? per.at(-1)![i]! : per.reduce((s, v) => s + v[i]!, 0) / per.length);
        result.outputs.push(out.output({ curve: { x: rows.map((x) => x.step), y: rows.map((x) => x.scores![measure]!.mean), yLabel: MEASURE_NAMES[measure] } }));
      }
    }
  }
  return result;
}

/** Options of Random Logit. */
export interface RandomLogitOptions {
  similarity?: SimilarityMeasure;
}

/**
 * Random Logit (Sixt, Granz & Landgraf 2020, "When Explanations Lie: Why Many Modified BP Attributions Fail"):
 * explain each image for its target and for a uniformly drawn other class (seeded per sample); the score is the
 * similarity of the two maps (SSIM of the |maps| scaled to [0, 1], Quantus' default), lower is better: a map that
 * does not change with the class explained is not class-specific.
 */
export async function randomLogit(input: MetricInput, options: RandomLogitOptions = {}): Promise<MetricOutput> {
  const info = RANDOM_LOGIT;
  const p = await prepare(input, info.id);
  const k = input.model.numClasses;
  if (k < 2) throw new WhiteBoxError('INVALID_ARGUMENT', `${info.id}: the model has ${k} class; a random other class needs at least 2`);
  const seed = input.seed ?? 0;
  const other = new Int32Array(p.n);
  for (let i = 0; i < p.n; i++) {
    const j = sampleRng(seed, i, 47).int(k - 1);
    other[i] = j >= p.targets[i]! ? j + 1 : j;
  }
  const rel = await input.explainer.relevance(input.images, other);
  checkRelevance(rel, p.n, p.h, p.w, info.id, input.explainer.name);
  input.onProgress?.({ done: p.n, total: p.n, stage: info.id });
  const measure = options.similarity ?? 'ssim';
  const out = new ScoreCollector(measure === 'ssim' ? info.id : `${info.id}-${measure}`, input.explainer.name, input.unscorable);
  for (let i = 0; i < p.n; i++) out.add(i, mapSimilarity(measure, p.relevance.subarray(i * p.hw, (i + 1) * p.hw), rel.subarray(i * p.hw, (i + 1) * p.hw), p.h, p.w));
  return out.output();
}
