import { Tensor, WhiteBoxError, type Model, type ProgressCallback } from '@whitebox/core';
import type { Explainer } from './explainer.js';
import { mapSimilarity, type SimilarityMeasure } from './similarity.js';
import { mean, spearman, std } from './stats.js';

/** One step of the cascade: the model with every layer from the top down to `layer` re-initialised. */
export interface CascadeStep {
  layer: string;
  /** Builds this step's randomized model. */
  model: () => Promise<Model>;
}

/** Similarity of one method's maps after one randomization step. */
export interface SanityRow {
  method: string;
  /** The last layer randomised at this step (cascading from the top). */
  layer: string;
  step: number;
  /** Spearman rank correlation of original vs randomised relevance, mean and std over samples. */
  spearman: number;
  spearmanStd: number;
  /** Mean and std over samples of every requested similarity measure (`SanityOptions.similarities`). */
  scores?: Partial<Record<SimilarityMeasure, { mean: number; std: number; values?: number[] }>>;
}

/** Result of the sanity check: similarity of original and randomized maps per method and step. */
export interface SanityResult {
  layers: string[];
  samples: number;
  rows: SanityRow[];
  /** 'cascading' (default: top k layers randomized at step k) or 'independent' (only layer k). */
  mode?: 'cascading' | 'independent';
  similarities?: SimilarityMeasure[];
}

/** Options of the model-randomization sanity check. */
export interface SanityOptions {
  onProgress?: ProgressCallback;
  /** Dispose each randomised model after use (default true). */
  dispose?: boolean;
  /** How the steps randomize, for the result's label (default 'cascading'; `onnxIndependent` makes the other kind). */
  mode?: 'cascading' | 'independent';
  /** Similarities to compute besides the Spearman ρ of the maps as given (default none). */
  similarities?: readonly SimilarityMeasure[];
}

/**
 * Model-randomization sanity check (Adebayo et al. 2018): re-initialise layers from the top
 * in cascade and measure how much each method's map changes (Spearman rank correlation with the
 * original map). A method whose maps stay highly correlated does not depend on the learned weights.
 */
export async function sanityCheck(
  model: Model,
  methods: ReadonlyArray<{ name: string; make: (model: Model) => Explainer }>,
  cascade: readonly CascadeStep[],
  images: Tensor,
  labels: ArrayLike<number>,
  options: SanityOptions = {},
): Promise<SanityResult> {
  if (images.rank !== 4) throw new WhiteBoxError('SHAPE_MISMATCH', `sanityCheck: images must be [N, C, H, W], got ${images}`);
  const n = images.batchSize;
  if (labels.length !== n) throw new WhiteBoxError('SHAPE_MISMATCH', `sanityCheck: ${labels.length} labels for ${n} images`);
  if (cascade.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', 'sanityCheck: the cascade has no layers to randomise');
  const h = images.dims[2]!;
  const w = images.dims[3]!;
  const hw = h * w;
  const measures = [...(options.similarities ?? [])];
  const targets = Int32Array.from(labels);
  const total = methods.length * (cascade.length + 1);
  let done = 0;
  options.onProgress?.({ done, total, stage: 'sanity' });
  const original = new Map<string, Float32Array>();
  for (const m of methods) {
    const rel = await m.make(model).relevance(images, targets);
    if (rel.length !== n * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `sanityCheck: explainer ${m.name} returned ${rel.length} relevance values for ${n} images of ${h}×${w}`);
    original.set(m.name, rel);
    options.onProgress?.({ done: ++done, total, stage: `sanity ${m.name}` });
  }
  const rows: SanityRow[] = [];
  for (let s = 0; s < cascade.length; s++) {
    const step = cascade[s]!;
    const randomized = await step.model();
    try {
      for (const m of methods) {
        const rel = await m.make(randomized).relevance(images, targets);
        const orig = original.get(m.name)!;
        if (rel.length !== n * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `sanityCheck: explainer ${m.name} returned ${rel.length} relevance values for ${n} images of ${h}×${w} (randomized at ${step.layer})`);
        const rho: number[] = [];
        for (let i = 0; i < n; i++) rho.push(spearman(orig.subarray(i * hw, (i + 1) * hw), rel.subarray(i * hw, (i + 1) * hw)));
        const row: SanityRow = { method: m.name, layer: step.layer, step: s + 1, spearman: mean(rho), spearmanStd: std(rho) };
        if (measures.length) {
          row.scores = {};
          for (const measure of measures) {
            const v: number[] = [];
            for (let i = 0; i < n; i++) v.push(mapSimilarity(measure, orig.subarray(i * hw, (i + 1) * hw), rel.subarray(i * hw, (i + 1) * hw), h, w));
            row.scores[measure] = { mean: mean(v), std: std(v), values: v };
          }
        }
        rows.push(row);
        options.onProgress?.({ done: ++done, total, stage: `sanity ${m.name} ${step.layer}` });
      }
    } finally {
      if (options.dispose ?? true) await randomized.dispose();
    }
  }
  return { layers: cascade.map((c) => c.layer), samples: n, rows, ...(options.mode ? { mode: options.mode } : {}), ...(measures.length ? { similarities: measures } : {}) };
}
