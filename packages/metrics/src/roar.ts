import { Rng, WhiteBoxError, check, type ProgressCallback } from '@whitebox/core';
import { argsortDesc, validateDataset, type ImageDataset } from './data.js';
import { mean, std } from './stats.js';

/** Retrains a fresh classifier on `train` and returns its accuracy on `test`. Injected: SimpleCNN in the pipeline, a cheap learner in tests. */
export type Retrain = (train: ImageDataset, test: ImageDataset, seed: number) => Promise<number>;

export type RoarMode = 'roar' | 'kar';

/** One method's per-pixel relevance for every train and test image ([N, H*W] each). */
export interface RelevanceSet {
  method: string;
  train: Float32Array;
  test: Float32Array;
}

/**
 * Pixel order per image, most relevant first, as indices [N, H*W] (Uint16 when H*W ≤ 65536).
 */
export function rankImages(relevance: Float32Array, count: number, hw: number, where = 'rankImages', tieSeed = 0): Uint16Array | Int32Array {
  if (relevance.length !== count * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `${where}: ${relevance.length} relevance values for ${count} images of ${hw} pixels`);
  const out = hw <= 65536 ? new Uint16Array(count * hw) : new Int32Array(count * hw);
  for (let i = 0; i < count; i++) out.set(argsortDesc(relevance.subarray(i * hw, (i + 1) * hw), tieSeed + i), i * hw);
  return out;
}

/**
 * ROAR replaces the `fraction` most relevant pixels of each image, KAR the `fraction` least
 * relevant (keeping the 1 − fraction most relevant), with the dataset's per-channel mean.
 */
export function removeByRanking(ds: ImageDataset, order: Uint16Array | Int32Array, fraction: number, mode: RoarMode): ImageDataset {
  check(fraction >= 0 && fraction <= 1, `removeByRanking: fraction ${fraction} is outside [0, 1]`);
  const hw = ds.height * ds.width;
  if (order.length !== ds.count * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `removeByRanking: ranking of ${order.length} entries for dataset '${ds.name}' of ${ds.count} images of ${ds.height}×${ds.width}`);
  const k = Math.round(fraction * hw);
  const fill = ds.mean.map((m) => Math.round(Math.min(1, Math.max(0, m)) * 255));
  const images = ds.images.slice();
  const c = ds.channels;
  for (let i = 0; i < ds.count; i++) {
    const base = i * hw;
    for (let r = 0; r < k; r++) {
      const p = order[base + (mode === 'roar' ? r : hw - 1 - r)]!;
      for (let ch = 0; ch < c; ch++) images[(i * c + ch) * hw + p] = fill[ch]!;
    }
  }
  return { ...ds, images };
}

/** i.i.d. uniform relevance: the random-ranking baseline. */
export function randomRelevance(count: number, hw: number, seed = 0): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(count * hw);
  for (let i = 0; i < out.length; i++) out[i] = rng.next();
  return out;
}

export interface RoarKarOptions {
  /** Fractions t removed (ROAR) / not kept (KAR); default 0.1, 0.3, 0.5, 0.7, 0.9. */
  fractions?: readonly number[];
  modes?: readonly RoarMode[];
  /** Training seeds; each (method, mode, t) is retrained once per seed. Default [0]. */
  seeds?: readonly number[];
  /** Retrainings run at once (default 1; the pipeline uses 2 worker threads). */
  concurrency?: number;
  onProgress?: ProgressCallback;
}

export interface RoarKarRow {
  method: string;
  mode: RoarMode;
  /** Fraction replaced by the mean: the most relevant (ROAR) or the least relevant (KAR). */
  fraction: number;
  /** Fraction of pixels left as they were, 1 − fraction (KAR's usual axis). */
  kept: number;
  accuracies: number[];
  mean: number;
  std: number;
}

export interface RoarKarResult {
  fractions: number[];
  seeds: number[];
  /** Accuracy retrained on the unmodified data (t = 0), per seed. */
  baseline: { accuracies: number[]; mean: number; std: number };
  rows: RoarKarRow[];
}

async function pool<T>(tasks: Array<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, worker));
  return out;
}

/**
 * ROAR and KAR (Hooker et al. 2019, "A Benchmark for Interpretability Methods in Deep Neural
 * Networks"): for each method and fraction t, modify every train and test image by its own
 * ranking, retrain a fresh model and report test accuracy. A good ranking makes ROAR accuracy
 * fall fast and KAR accuracy stay high.
 */
export async function roarKar(train: ImageDataset, test: ImageDataset, relevance: readonly RelevanceSet[], retrain: Retrain, options: RoarKarOptions = {}): Promise<RoarKarResult> {
  validateDataset(train, 'roarKar train set');
  validateDataset(test, 'roarKar test set');
  if (train.channels !== test.channels || train.height !== test.height || train.width !== test.width) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `roarKar: train images ${train.channels}×${train.height}×${train.width} differ from test images ${test.channels}×${test.height}×${test.width}`);
  }
  const fractions = [...(options.fractions ?? [0.1, 0.3, 0.5, 0.7, 0.9])];
  for (const f of fractions) check(f >= 0 && f <= 1, `roarKar: fraction ${f} is outside [0, 1]`);
  const modes = options.modes ?? ['roar', 'kar'];
  const seeds = [...(options.seeds ?? [0])];
  check(seeds.length >= 1, 'roarKar: need at least one seed');
  const hw = train.height * train.width;
  // Rankings are computed lazily per method and dropped after use to bound memory.
  const tasks: Array<() => Promise<number>> = [];
  const total = seeds.length * (1 + relevance.length * modes.length * fractions.length);
  let done = 0;
  const report = (stage: string): void => options.onProgress?.({ done, total, stage });
  report('roar/kar');
  const run = (trainSet: ImageDataset, testSet: ImageDataset, seed: number, stage: string) => async (): Promise<number> => {
    const acc = await retrain(trainSet, testSet, seed);
    if (!Number.isFinite(acc) || acc < 0 || acc > 1) throw new WhiteBoxError('RUNTIME_ERROR', `roarKar: retraining (${stage}, seed ${seed}) returned accuracy ${acc}, expected a number in [0, 1]`);
    done++;
    report(stage);
    return acc;
  };
  for (const seed of seeds) tasks.push(run(train, test, seed, 'baseline'));
  const keys: Array<{ method: string; mode: RoarMode; fraction: number }> = [];
  for (const set of relevance) {
    const trainOrder = rankImages(set.train, train.count, hw, `roarKar ${set.method} train maps`);
    const testOrder = rankImages(set.test, test.count, hw, `roarKar ${set.method} test maps`, 1_000_003);
    for (const mode of modes) {
      for (const fraction of fractions) {
        keys.push({ method: set.method, mode, fraction });
        // Modified datasets are built when the task starts, so only `concurrency` copies live at once.
        for (const seed of seeds) {
          tasks.push(async () => run(removeByRanking(train, trainOrder, fraction, mode), removeByRanking(test, testOrder, fraction, mode), seed, `${mode} ${set.method} t=${fraction}`)());
        }
      }
    }
  }
  const acc = await pool(tasks, options.concurrency ?? 1);
  const base = acc.slice(0, seeds.length);
  const rows: RoarKarRow[] = keys.map((k, i) => {
    const a = acc.slice(seeds.length * (1 + i), seeds.length * (2 + i));
    return { ...k, kept: 1 - k.fraction, accuracies: a, mean: mean(a), std: std(a) };
  });
  return { fractions, seeds, baseline: { accuracies: base, mean: mean(base), std: std(base) }, rows };
}
