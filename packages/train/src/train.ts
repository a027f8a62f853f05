import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, WhiteBoxError, check, makeDirs, type ProgressCallback } from '@whitebox/core';
import { subset, shuffledIndices, validateDataset, type Dataset } from '@whitebox/datasets';
import { makeBatchNHWC, type AugmentOptions } from './augment.js';
import { BN_MOMENTUM, initParams, trainStep, paramSpecs, parameterCount, type ParamMap, type SimpleCNNConfig } from './model.js';
import { initTf, tf } from './tf.js';
import { TrainedClassifier } from './classifier.js';

/** Learning-rate schedule: a named one, or a function of the step. */
export type LrSchedule = 'cosine' | 'constant' | 'step' | ((step: number, totalSteps: number, baseLr: number) => number);

/** What one training epoch recorded: learning rate, losses, accuracies and speed. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  validationLoss?: number;
  validationAccuracy?: number;
  /** Training seconds this epoch (validation excluded). */
  seconds: number;
  /** Training images per second this epoch. */
  imagesPerSecond: number;
}

/** Options of `trainSimpleCNN`: epochs, batch size, optimizer, schedule, augmentation, seed, checkpoints. */
export interface TrainOptions {
  epochs?: number;
  batchSize?: number;
  /** Peak learning rate. */
  lr?: number;
  /** 'cosine' (default: linear warm-up then cosine decay to 0), 'step' (×0.1 at 50% and 75%), 'constant', or a function. */
  schedule?: LrSchedule;
  /** Warm-up length in epochs for 'cosine' (default 1, at most a third of the run). */
  warmupEpochs?: number;
  momentum?: number;
  weightDecay?: number;
  seed?: number;
  /** Augmentation: true = crop with padding 4 + horizontal flip (CIFAR-10), false/undefined = none, or explicit. */
  augment?: boolean | AugmentOptions;
  /** Fraction of `train` held out for validation each epoch (seeded split). Default 0.1; 0 = none. */
  validationFraction?: number;
  /** Or an explicit validation set (then validationFraction is ignored). */
  validation?: Dataset;
  /** Save `checkpoint.json/.bin` (and `best.*`) here after every epoch. */
  checkpointDir?: string;
  /** Continue from `checkpointDir`'s checkpoint when present. */
  resume?: boolean;
  /** Stop after this many epochs in this call (the schedule still spans `epochs`): for training across sessions. */
  maxEpochsThisRun?: number;
  /** Stop once this wall-clock time (ms since epoch) has passed, after finishing the epoch in progress. */
  deadline?: number;
  onProgress?: ProgressCallback;
  /** Called after each epoch with its record and the history so far. */
  onEpoch?: (record: EpochRecord, history: EpochRecord[]) => void;
  /** Model widths (tests use small ones). */
  widths?: number[];
  hidden?: number;
}

/** Training options with every default filled in (as the model card records them). */
export type ResolvedTrainOptions = Required<Omit<TrainOptions, 'validation' | 'checkpointDir' | 'onProgress' | 'onEpoch' | 'schedule' | 'augment' | 'maxEpochsThisRun' | 'deadline' | 'widths' | 'hidden'>> & {
  schedule: string;
  augment: AugmentOptions | null;
};

/** The options with every default filled in. */
export function resolveOptions(o: TrainOptions): ResolvedTrainOptions {
  const r = {
    epochs: o.epochs ?? 10,
    batchSize: o.batchSize ?? 128,
    lr: o.lr ?? 0.05,
    schedule: typeof o.schedule === 'function' ? 'custom' : (o.schedule ?? 'cosine'),
    warmupEpochs: o.warmupEpochs ?? 1,
    momentum: o.momentum ?? 0.9,
    weightDecay: o.weightDecay ?? 5e-4,
    seed: o.seed ?? 0,
    augment: o.augment === true ? { cropPadding: 4, flip: true } : o.augment ? o.augment : null,
    validationFraction: o.validation ? 0 : (o.validationFraction ?? 0.1),
    resume: o.resume ?? false,
  };
  check(Number.isInteger(r.epochs) && r.epochs >= 1, `train: epochs must be an integer ≥ 1, got ${o.epochs}`);
  check(Number.isInteger(r.batchSize) && r.batchSize >= 1, `train: batchSize must be an integer ≥ 1, got ${o.batchSize}`);
  check(Number.isFinite(r.lr) && r.lr > 0, `train: lr must be a positive number, got ${o.lr}`);
  check(r.momentum >= 0 && r.momentum < 1, `train: momentum must be in [0, 1), got ${o.momentum}`);
  check(Number.isFinite(r.weightDecay) && r.weightDecay >= 0, `train: weightDecay must be ≥ 0, got ${o.weightDecay}`);
  check(r.validationFraction >= 0 && r.validationFraction < 1, `train: validationFraction must be in [0, 1), got ${o.validationFraction}`);
  check(Number.isInteger(r.seed), `train: seed must be an integer, got ${o.seed}`);
  check(['cosine', 'constant', 'step', 'custom'].includes(r.schedule), `train: unknown schedule '${r.schedule}' (cosine, step, constant or a function)`);
  if (r.resume) check(!!o.checkpointDir, 'train: resume needs checkpointDir');
  return r;
}

/** The learning rate at `step` of `total` under the options' schedule. */
export function learningRate(o: TrainOptions, r: ResolvedTrainOptions, step: number, total: number, stepsPerEpoch: number): number {
  if (typeof o.schedule === 'function') return o.schedule(step, total, r.lr);
  if (r.schedule === 'constant') return r.lr;
  if (r.schedule === 'step') return r.lr * (step < total * 0.5 ? 1 : step < total * 0.75 ? 0.1 : 0.01);
  const warm = Math.min(Math.round(r.warmupEpochs * stepsPerEpoch), Math.floor(total / 3));
  if (step < warm) return (r.lr * (step + 1)) / warm;
  const t = (step - warm) / Math.max(1, total - warm);
  return r.lr * 0.5 * (1 + Math.cos(Math.PI * t));
}

interface CheckpointMeta {
  format: 'whitebox-simplecnn-checkpoint';
  version: 1;
  config: SimpleCNNConfig;
  options: ResolvedTrainOptions;
  epochsDone: number;
  history: EpochRecord[];
  dataset: { name: string; classes: string[]; mean: number[]; std: number[]; trainCount: number };
  /** Byte layout of the .bin: name, offset (floats), length. */
  tensors: { name: string; offset: number; length: number }[];
  bestValidationAccuracy?: number;
  bestEpoch?: number;
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function saveCheckpoint(dir: string, base: string, meta: Omit<CheckpointMeta, 'tensors'>, arrays: Record<string, Float32Array>): void {
  makeDirs({ existsSync, mkdirSync, statSync }, dir, 'checkpoint directory');
  const names = Object.keys(arrays).sort();
  let total = 0;
  const tensors = names.map((name) => {
    const e = { name, offset: total, length: arrays[name]!.length };
    total += e.length;
    return e;
  });
  const bin = new Float32Array(total);
  for (const t of tensors) bin.set(arrays[t.name]!, t.offset);
  // .bin first, then .json: the JSON is the commit point.
  writeAtomic(join(dir, `${base}.bin`), new Uint8Array(bin.buffer));
  writeAtomic(join(dir, `${base}.json`), JSON.stringify({ ...meta, tensors }, null, 1));
}

/** Reads a checkpoint (`checkpoint` or `best`) written by training; throws NOT_FOUND / INVALID_DATA naming the file. */
export function loadCheckpoint(dir: string, base: 'checkpoint' | 'best' = 'checkpoint'): { meta: CheckpointMeta; arrays: Record<string, Float32Array> } {
  const jsonPath = join(dir, `${base}.json`);
  const binPath = join(dir, `${base}.bin`);
  if (!existsSync(jsonPath) || !existsSync(binPath)) throw new WhiteBoxError('NOT_FOUND', `checkpoint not found: ${jsonPath} (and ${binPath})`, { file: jsonPath });
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(readFileSync(jsonPath, 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new WhiteBoxError('INVALID_DATA', `${jsonPath}: not valid JSON (${(e as Error).message})`, { file: jsonPath }, { cause: e });
  }
  if (meta.format !== 'whitebox-simplecnn-checkpoint') throw new WhiteBoxError('INVALID_DATA', `${jsonPath}: not a WhiteBox SimpleCNN checkpoint`, { file: jsonPath });
  const raw = readFileSync(binPath);
  const need = meta.tensors.reduce((a, t) => Math.max(a, t.offset + t.length), 0) * 4;
  if (raw.length !== need) throw new WhiteBoxError('INVALID_DATA', `${binPath}: ${raw.length} bytes but the checkpoint lists ${need} (truncated or mismatched)`, { file: binPath });
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const arrays: Record<string, Float32Array> = {};
  for (const t of meta.tensors) arrays[t.name] = all.slice(t.offset, t.offset + t.length);
  return { meta, arrays };
}

/** Model config for a dataset. */
export function configFor(ds: Dataset, o: Pick<TrainOptions, 'widths' | 'hidden'> = {}): SimpleCNNConfig {
  return { channels: ds.channels, height: ds.height, width: ds.width, classes: ds.classes.length, widths: o.widths, hidden: o.hidden };
}

/**
 * Trains a SimpleCNN on any `Dataset` (tfjs, WebAssembly backend): SGD with momentum and weight decay,
 * learning-rate schedule, optional augmentation, validation each epoch, checkpoints and resume, seeded.
 */
export async function trainSimpleCNN(train: Dataset, options: TrainOptions = {}): Promise<TrainedClassifier> {
  validateDataset(train, train.name);
  const r = resolveOptions(options);
  await initTf();
  let trainSet = train;
  let validation = options.validation;
  if (validation) {
    validateDataset(validation, validation.name);
    if (validation.channels !== train.channels || validation.height !== train.height || validation.width !== train.width || validation.classes.length !== train.classes.length) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `train: validation set '${validation.name}' (${validation.channels}×${validation.height}×${validation.width}, ${validation.classes.length} classes) does not match training set '${train.name}' (${train.channels}×${train.height}×${train.width}, ${train.classes.length} classes)`);
    }
  } else if (r.validationFraction > 0) {
    const perm = shuffledIndices(train.count, r.seed ^ 0x5eed);
    const nVal = Math.round(train.count * r.validationFraction);
    validation = subset(train, perm.subarray(train.count - nVal), `${train.name}-validation`);
    trainSet = subset(train, perm.subarray(0, train.count - nVal), `${train.name}-train`);
  }
  if (trainSet.count < 1) throw new WhiteBoxError('INVALID_DATA', `train: dataset '${train.name}' has no training images${r.validationFraction > 0 ? ' after the validation split' : ''}`);
  const cfg = configFor(train, options);
  const specs = paramSpecs(cfg);

  let params: ParamMap = initParams(cfg, r.seed);
  let velocity: ParamMap = {};
  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let best = { acc: -1, epoch: -1 };
  if (r.resume && options.checkpointDir && existsSync(join(options.checkpointDir, 'checkpoint.json'))) {
    const { meta, arrays } = loadCheckpoint(options.checkpointDir);
    if (JSON.stringify(meta.config) !== JSON.stringify(cfg)) {
      throw new WhiteBoxError('INVALID_DATA', `${join(options.checkpointDir, 'checkpoint.json')}: checkpoint model config ${JSON.stringify(meta.config)} does not match ${JSON.stringify(cfg)}`, { file: options.checkpointDir });
    }
    params = {};
    velocity = {};
    for (const [k, v] of Object.entries(arrays)) {
      if (k.startsWith('velocity:')) velocity[k.slice(9)] = v;
      else params[k] = v;
    }
    history = meta.history;
    startEpoch = meta.epochsDone;
    best = { acc: meta.bestValidationAccuracy ?? -1, epoch: meta.bestEpoch ?? -1 };
  }

  const vars: Record<string, tf.Variable> = {};
  const vel: Record<string, tf.Variable> = {};
  for (const s of specs) {
    vars[s.name] = tf.variable(tf.tensor(params[s.name]!, s.shape), s.trainable, `p_${s.name}_${Math.random()}`);
    if (s.trainable) vel[s.name] = tf.variable(velocity[s.name] ? tf.tensor(velocity[s.name]!, s.shape) : tf.zeros(s.shape), false);
  }
  const trainable = specs.filter((s) => s.trainable);
  const stepsPerEpoch = Math.ceil(trainSet.count / r.batchSize);
  const totalSteps = stepsPerEpoch * r.epochs;
  const widthsCount = (cfg.widths ?? [32, 64, 128]).length;
  const snapshot = (): ParamMap => {
    const out: ParamMap = {};
    for (const s of specs) out[s.name] = vars[s.name]!.dataSync().slice() as Float32Array;
    return out;
  };
  const checkpointMeta = (epochsDone: number) => ({
    format: 'whitebox-simplecnn-checkpoint' as const,
    version: 1 as const,
    config: cfg,
    options: r,
    epochsDone,
    history,
    dataset: { name: train.name, classes: train.classes, mean: train.mean, std: train.std, trainCount: trainSet.count },
    bestValidationAccuracy: best.acc,
    bestEpoch: best.epoch,
  });

  let bestParams: ParamMap | null = null;
  const endEpoch = Math.min(r.epochs, options.maxEpochsThisRun !== undefined ? startEpoch + options.maxEpochsThisRun : r.epochs);
  try {
    for (let epoch = startEpoch; epoch < endEpoch; epoch++) {
      if (options.deadline !== undefined && Date.now() > options.deadline && epoch > startEpoch) break;
      const order = shuffledIndices(trainSet.count, (r.seed * 7919 + epoch * 104729) | 0);
      const augRng = new Rng((r.seed * 31 + epoch) | 0);
      const t0 = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lr = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const step = epoch * stepsPerEpoch + b;
        lr = learningRate(options, r, step, totalSteps, stepsPerEpoch);
        const idx = order.subarray(b * r.batchSize, Math.min(trainSet.count, (b + 1) * r.batchSize));
        const { x, y } = makeBatchNHWC(trainSet, idx, r.augment, augRng);
        const n = idx.length;
        const step_ = tf.tidy(() => {
          const res = trainStep(cfg, vars, tf.tensor4d(x, [n, cfg.height, cfg.width, cfg.channels]), tf.tensor1d(y, 'int32'));
          return { ...res, pred: tf.argMax(res.logits, 1) };
        });
        const value = step_.loss;
        const grads = step_.grads;
        const momentsKept = step_.moments;
        const lossValue = value.dataSync()[0]!;
        if (!Number.isFinite(lossValue)) {
          throw new WhiteBoxError('RUNTIME_ERROR', `train: loss became ${lossValue} at epoch ${epoch + 1}, step ${b + 1} (lr ${lr}); lower the learning rate`, { epoch: epoch + 1, step: b + 1 });
        }
        const pred = step_.pred.dataSync() as Int32Array;
        for (let i = 0; i < n; i++) if (pred[i] === y[i]) correct++;
        lossSum += lossValue * n;
        seen += n;
        tf.tidy(() => {
          for (const s of trainable) {
            const w = vars[s.name]!;
            let g = grads[s.name]!;
            if (s.decay && r.weightDecay > 0) g = tf.add(g, tf.mul(w, r.weightDecay));
            const v = vel[s.name]!;
            v.assign(tf.add(tf.mul(v, r.momentum), g));
            w.assign(tf.sub(w, tf.mul(v, lr)));
          }
          let hh = cfg.height;
          let ww = cfg.width;
          for (let i = 1; i <= widthsCount; i++) {
            const m = momentsKept[i - 1]!;
            const count = n * hh * ww;
            const corr = count > 1 ? count / (count - 1) : 1;
            hh = Math.floor(hh / 2);
            ww = Math.floor(ww / 2);
            const rm = vars[`bn${i}.mean`]!;
            const rv = vars[`bn${i}.var`]!;
            rm.assign(tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(m.mean, BN_MOMENTUM)));
            rv.assign(tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(m.variance, BN_MOMENTUM * corr)));
          }
        });
        tf.dispose([value, step_.logits, step_.pred, ...Object.values(grads), ...momentsKept.flatMap((m) => [m.mean, m.variance])]);
        options.onProgress?.({ done: epoch * trainSet.count + seen, total: r.epochs * trainSet.count, stage: `epoch ${epoch + 1}/${r.epochs}` });
      }
      const seconds = (performance.now() - t0) / 1000;
      const rec: EpochRecord = { epoch: epoch + 1, lr, trainLoss: lossSum / seen, trainAccuracy: correct / seen, seconds, imagesPerSecond: seen / seconds };
      params = snapshot();
      if (validation) {
        const ev = new TrainedClassifier(cfg, params, { classes: train.classes, mean: train.mean, std: train.std, history: [], options: r }).evaluate(validation);
        rec.validationLoss = ev.loss;
        rec.validationAccuracy = ev.accuracy;
      }
      history.push(rec);
      const improved = rec.validationAccuracy !== undefined && rec.validationAccuracy > best.acc;
      if (improved) {
        best = { acc: rec.validationAccuracy!, epoch: epoch + 1 };
        bestParams = params;
      }
      if (options.checkpointDir) {
        const arrays: Record<string, Float32Array> = { ...params };
        for (const s of trainable) arrays[`velocity:${s.name}`] = vel[s.name]!.dataSync().slice() as Float32Array;
        saveCheckpoint(options.checkpointDir, 'checkpoint', checkpointMeta(epoch + 1), arrays);
        if (improved) saveCheckpoint(options.checkpointDir, 'best', checkpointMeta(epoch + 1), params);
      }
      options.onEpoch?.(rec, history);
    }
    if (startEpoch >= endEpoch || history.length === 0) params = snapshot();
    else params = snapshot();
  } finally {
    tf.dispose([...Object.values(vars), ...Object.values(vel)]);
  }
  void bestParams;
  return new TrainedClassifier(cfg, params, { classes: train.classes, mean: train.mean, std: train.std, history, options: r, parameterCount: parameterCount(cfg), bestValidationAccuracy: best.acc, bestEpoch: best.epoch });
}

/** Rebuilds a classifier from a checkpoint directory (`checkpoint` = last epoch, `best` = best validation accuracy). */
export async function classifierFromCheckpoint(dir: string, which: 'checkpoint' | 'best' = 'checkpoint'): Promise<TrainedClassifier> {
  await initTf();
  const { meta, arrays } = loadCheckpoint(dir, which);
  const params: ParamMap = {};
  for (const [k, v] of Object.entries(arrays)) if (!k.startsWith('velocity:')) params[k] = v;
  return new TrainedClassifier(meta.config, params, {
    classes: meta.dataset.classes,
    mean: meta.dataset.mean,
    std: meta.dataset.std,
    history: meta.history,
    options: meta.options,
    parameterCount: parameterCount(meta.config),
    bestValidationAccuracy: meta.bestValidationAccuracy,
    bestEpoch: meta.bestEpoch,
    epochsDone: meta.epochsDone,
  });
}
