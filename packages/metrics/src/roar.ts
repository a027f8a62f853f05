import { Rng, WhiteBoxError, check, type ProgressCallback } from '@whitebox/core';
import { argsortDesc, validateDataset, type ImageDataset } from './data.js';
import { mean, std } from './stats.js';

/** Retrains a fresh classifier on `train` and returns its accuracy on `test`. Injected: SimpleCNN in the pipeline, a cheap learner in tests. */
export type Retrain = (train: ImageDataset, test: ImageDataset, seed: number) => Promise<number>;

/** ROAR (remove the most relevant pixels) or KAR (keep the most relevant). */
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

/** Options of `roarKar`: fractions, modes, seeds, concurrency and who runs the retrainings. */
export interface RoarKarOptions {
  /** Fractions t removed (ROAR) / not kept (KAR); default 0.1, 0.3, 0.5, 0.7, 0.9. */
  fractions?: readonly number[];
  modes?: readonly RoarMode[];
  /** Training seeds; each (method, mode, t) is retrained once per seed. Default [0]. */
  seeds?: readonly number[];
  /** Retrainings run at once (default 1; the pipeline uses 2 worker threads). */
  concurrency?: number;
  /**
   * Who runs the retrainings (default: `retrain` here, `concurrency` at once). A job queue
   * (@whitebox/queue) runs them on other machines and may report some as failed.
   */
  executor?: RoarKarExecutor;
  onProgress?: ProgressCallback;
}

/** One retraining of ROAR/KAR: the baseline (unmodified data) or one (method, mode, fraction), with one seed. */
export interface RetrainTask {
  /** 'baseline' for the unmodified data. */
  method: string;
  mode: RoarMode | 'baseline';
  /** Fraction replaced (0 for the baseline). */
  fraction: number;
  seed: number;
  /** How reports and progress name it: 'baseline seed 0', 'roar grad-cam t=0.3 seed 0'. */
  name: string;
}

/** A job that failed its last attempt (a retraining or a map shard), as the report lists it. */
export interface JobFailure {
  name: string;
  error: string;
  attempts?: number;
}

/** A retraining's outcome: its test accuracy, or why it failed. */
export type RetrainOutcome = { accuracy: number } | { failure: JobFailure };

/** Runs a list of retrainings; outcomes in task order. */
export interface RoarKarExecutor {
  /** Runs `tasks` (retrainings on data modified by the relevance rankings), resolving one outcome per task in task order. */
  run(input: {
    train: ImageDataset;
    test: ImageDataset;
    relevance: readonly RelevanceSet[];
    tasks: readonly RetrainTask[];
    onProgress?: ProgressCallback;
  }): Promise<RetrainOutcome[]>;
}

/** Accuracy after retraining for one method, mode and fraction, per seed and averaged. */
export interface RoarKarRow {
  method: string;
  mode: RoarMode;
  /** Fraction replaced by the mean: the most relevant (ROAR) or the least relevant (KAR). */
  fraction: number;
  /** Fraction of pixels left as they were, 1 − fraction (KAR's usual axis). */
  kept: number;
  accuracies: number[];
  /** The seed of each accuracy, when some seeds' retrainings failed (else the result's `seeds`). */
  seeds?: number[];
  mean: number;
  std: number;
}

/** Result of `roarKar`: the baseline and one row per method, mode and fraction. */
export interface RoarKarResult {
  fractions: number[];
  seeds: number[];
  /** Accuracy retrained on the unmodified data (t = 0), per seed. */
  baseline: { accuracies: number[]; seeds?: number[]; mean: number; std: number };
  rows: RoarKarRow[];
  /** Retrainings that failed for good (queue runs only; a local failure aborts the run). */
  failures?: JobFailure[];
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

/** Tie-break seed of test-image rankings (train images use 0): train and test ties are broken independently. */
export const TEST_TIE_SEED = 1_000_003;

/** Pixel orders of one method's train and test maps, as ROAR/KAR rank them. */
export interface RelevanceRanking {
  train: Uint16Array | Int32Array;
  test: Uint16Array | Int32Array;
}

/** Each image's pixels ranked by a method's relevance, training and test sets (what ROAR/KAR remove or keep). */
export function rankRelevanceSet(set: RelevanceSet, train: ImageDataset, test: ImageDataset): RelevanceRanking {
  const hw = train.height * train.width;
  return {
    train: rankImages(set.train, train.count, hw, `roarKar ${set.method} train maps`),
    test: rankImages(set.test, test.count, hw, `roarKar ${set.method} test maps`, TEST_TIE_SEED),
  };
}

/** The train and test sets one task retrains and evaluates on (the unmodified ones for the baseline). */
export function taskDatasets(train: ImageDataset, test: ImageDataset, ranking: RelevanceRanking | undefined, task: RetrainTask): { train: ImageDataset; test: ImageDataset } {
  if (task.mode === 'baseline') return { train, test };
  if (!ranking) throw new WhiteBoxError('INVALID_ARGUMENT', `roarKar: task '${task.name}' needs the rankings of method '${task.method}'`);
  return { train: removeByRanking(train, ranking.train, task.fraction, task.mode), test: removeByRanking(test, ranking.test, task.fraction, task.mode) };
}

/** Every retraining of a ROAR/KAR run: the baselines first (one per seed), then method × mode × fraction × seed. */
export function roarKarTasks(methods: readonly string[], modes: readonly RoarMode[], fractions: readonly number[], seeds: readonly number[]): RetrainTask[] {
  const tasks: RetrainTask[] = seeds.map((seed) => ({ method: 'baseline', mode: 'baseline', fraction: 0, seed, name: `baseline seed ${seed}` }));
  for (const method of methods) {
    for (const mode of modes) {
      for (const fraction of fractions) {
        for (const seed of seeds) tasks.push({ method, mode, fraction, seed, name: `${mode} ${method} t=${fraction} seed ${seed}` });
      }
    }
  }
  return tasks;
}

/** Checks a retraining's accuracy is a number in [0, 1]. */
export function checkAccuracy(acc: number, task: RetrainTask): number {
  if (!Number.isFinite(acc) || acc < 0 || acc > 1) throw new WhiteBoxError('RUNTIME_ERROR', `roarKar: retraining (${task.name}) returned accuracy ${acc}, expected a number in [0, 1]`);
  return acc;
}

/** Runs the tasks here with `retrain`, `concurrency` at once; a failing retraining rejects the whole run. */
export function localRoarKarExecutor(retrain: Retrain, concurrency = 1): RoarKarExecutor {
  return {
    async run({ train, test, relevance, tasks, onProgress }) {
      // Rankings are computed once per method before the retrainings start.
      const rankings = new Map(relevance.map((set) => [set.method, rankRelevanceSet(set, train, test)]));
      let done = 0;
      onProgress?.({ done, total: tasks.length, stage: 'roar/kar' });
      // Modified datasets are built when the task starts, so only `concurrency` copies live at once.
      return pool(tasks.map((task) => async (): Promise<RetrainOutcome> => {
        const d = taskDatasets(train, test, rankings.get(task.method), task);
        const accuracy = checkAccuracy(await retrain(d.train, d.test, task.seed), task);
        done++;
        onProgress?.({ done, total: tasks.length, stage: task.mode === 'baseline' ? 'baseline' : `${task.mode} ${task.method} t=${task.fraction}` });
        return { accuracy };
      }), concurrency);
    },
  };
}

/**
 * ROAR and KAR (Hooker et al. 2019, "A Benchmark for Interpretability Methods in Deep Neural
 * Networks"): for each method and fraction t, modify every train and test image by its own
 * ranking, retrain a fresh model and report test accuracy. A good ranking makes ROAR accuracy
 * fall fast and KAR accuracy stay high.
 */
export async function roarKar(train: ImageDataset, test: ImageDataset, relevance: readonly RelevanceSet[], retrain: Retrain | undefined, options: RoarKarOptions = {}): Promise<RoarKarResult> {
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
  for (const set of relevance) {
    if (set.train.length !== train.count * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `roarKar ${set.method} train maps: ${set.train.length} relevance values for ${train.count} images of ${hw} pixels`);
    if (set.test.length !== test.count * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `roarKar ${set.method} test maps: ${set.test.length} relevance values for ${test.count} images of ${hw} pixels`);
  }
  const executor = options.executor ?? (retrain ? localRoarKarExecutor(retrain, options.concurrency ?? 1) : undefined);
  if (!executor) throw new WhiteBoxError('INVALID_ARGUMENT', 'roarKar: needs a retrain function or an executor');
  const tasks = roarKarTasks(relevance.map((r) => r.method), modes, fractions, seeds);
  const outcomes = await executor.run({ train, test, relevance, tasks, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  if (outcomes.length !== tasks.length) throw new WhiteBoxError('RUNTIME_ERROR', `roarKar: the executor returned ${outcomes.length} outcomes for ${tasks.length} retrainings`);
  const failures: JobFailure[] = [];
  const collect = (from: number): { accuracies: number[]; seeds?: number[] } => {
    const accuracies: number[] = [];
    const used: number[] = [];
    for (let i = 0; i < seeds.length; i++) {
      const o = outcomes[from + i]!;
      if ('failure' in o) failures.push(o.failure);
      else {
        accuracies.push(checkAccuracy(o.accuracy, tasks[from + i]!));
        used.push(seeds[i]!);
      }
    }
    return used.length === seeds.length ? { accuracies } : { accuracies, seeds: used };
  };
  const base = collect(0);
  const rows: RoarKarRow[] = [];
  for (let i = 0; seeds.length * (1 + i) < tasks.length; i++) {
    const t = tasks[seeds.length * (1 + i)]!;
    const a = collect(seeds.length * (1 + i));
    // A (method, mode, t) whose every seed failed has no row; its failures name it.
    if (a.accuracies.length > 0) rows.push({ method: t.method, mode: t.mode as RoarMode, fraction: t.fraction, kept: 1 - t.fraction, ...a, mean: mean(a.accuracies), std: std(a.accuracies) });
  }
  return { fractions, seeds, baseline: { ...base, mean: mean(base.accuracies), std: std(base.accuracies) }, rows, ...(failures.length ? { failures } : {}) };
}
