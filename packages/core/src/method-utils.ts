import { WhiteBoxError, check, describeValue } from './errors.js';
import { LIMITS, checkLimit } from './limits.js';
import { mapBatches } from './batching.js';
import type { Model, ReluRule, Targets } from './model.js';
import type { ProgressCallback } from './progress.js';
import { sliceTargets, targetsToCotangent } from './targets.js';
import { Tensor, formatShape } from './tensor.js';

/**
 * Checks that `input` is a float32 [N, C, H, W] batch matching the model's input shape, and that
 * `targets` are valid for it (TARGET_OUT_OF_RANGE / SHAPE_MISMATCH). Shared by the attribution methods.
 */
export function checkAttributionInput(model: Model, input: Tensor, targets: Targets, method: string): void {
  if (!(input instanceof Tensor)) throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: input must be a Tensor`);
  if (input.dtype !== 'float32') {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: input must be float32 pixels in [0, 1], got ${input.dtype}`, { dtype: input.dtype });
  }
  const expected = model.inputShape;
  // The batch dim is never checked: a fixed-batch model chunks and pads any batch internally.
  const ok = input.rank === expected.length && expected.every((e, i) => i === 0 || e === null || e === input.dims[i]);
  if (!ok) {
    const shown = expected.map((e, i) => (e === null || i === 0 ? 'N' : String(e)));
    throw new WhiteBoxError(
      'SHAPE_MISMATCH',
      `${method}: input shape ${formatShape(input.dims)} does not match the model's input '${model.inputName}' [${shown.join(', ')}]`,
      { expected, got: input.dims, input: model.inputName },
    );
  }
  if (input.batchSize < 1) throw new WhiteBoxError('SHAPE_MISMATCH', `${method}: input batch is empty (${formatShape(input.dims)})`);
  checkFiniteValues(input, `${method}: input`);
  // Validates class indices / cotangent shape before any work is done.
  targetsToCotangent(targets, input.batchSize, model.numClasses);
}

/** Throws INVALID_ARGUMENT at the first NaN/infinite value, naming the sample and flat index. */
export function checkFiniteValues(t: Tensor, what: string): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v - v !== 0) {
      const item = t.rank > 0 && t.itemSize > 0 ? Math.floor(i / t.itemSize) : 0;
      throw new WhiteBoxError('INVALID_ARGUMENT', `${what} has a non-finite value (${v}) at flat index ${i} (sample ${item}) of ${formatShape(t.dims)}`, { index: i, sample: item });
    }
  }
}

/**
 * Checks an optional positive integer option, naming the method and option. A `batchSize` is also held to
 * LIMITS.batchSize (every method checks its batchSize here).
 */
export function checkPositiveInt(value: number | undefined, name: string, method: string, min = 1): void {
  if (value === undefined) return;
  check(Number.isInteger(value) && value >= min, `${method}: ${name} must be an integer ≥ ${min}, got ${describeValue(value)}`, { [name]: value });
  if (name === 'batchSize') checkLimit(value, LIMITS.batchSize, `${method}: batchSize`);
}

/**
 * d (target logit) / d input with one ReLU rule, in chunks of `batchSize` items (default: the whole
 * batch in one call; the model chunks further at its own batch size).
 */
export async function inputGradients(
  model: Model,
  input: Tensor,
  targets: Targets,
  rule: ReluRule,
  options: { batchSize?: number; onProgress?: ProgressCallback; stage?: string } = {},
): Promise<Tensor> {
  const batchSize = options.batchSize ?? input.batchSize;
  const total = input.batchSize;
  const progress = options.onProgress;
  const stage = options.stage;
  progress?.({ done: 0, total, stage });
  return mapBatches(
    input,
    batchSize,
    async (chunk, start, end) => {
      // The model reports each of its own runtime batches: progress moves within one long chunk too.
      const onProgress: ProgressCallback | undefined = progress && ((p) => progress({ done: start + Math.min(p.done, end - start), total, stage }));
      const res = await model.gradients(chunk as Tensor, sliceTargets(targets, start, end), { rule, inputGradient: true, ...(onProgress ? { onProgress } : {}) });
      if (!res.inputGradient) throw new WhiteBoxError('RUNTIME_ERROR', `the model returned no input gradient (rule '${rule}')`);
      return res.inputGradient;
    },
    progress && ((p) => { if (p.done > 0) progress({ done: p.done, total, stage }); }),
    stage,
  );
}

/** Repeats per-sample targets `times` times each ([a, b] -> [a, a, b, b]), for expanded batches. */
export function repeatTargets(targets: Targets, batch: number, times: number): Targets {
  if (typeof targets === 'number') return targets;
  if (targets instanceof Tensor) {
    const n = targets.itemSize;
    const out = new Float32Array(batch * times * n);
    for (let b = 0; b < batch; b++) {
      const src = targets.data.subarray(b * n, (b + 1) * n);
      for (let r = 0; r < times; r++) out.set(src, (b * times + r) * n);
    }
    return new Tensor(out, [batch * times, n]);
  }
  const out = new Int32Array(batch * times);
  for (let b = 0; b < batch; b++) out.fill(Number(targets[b]), b * times, (b + 1) * times);
  return out;
}

/** Per-sample score `cotangent · logits` (the quantity a gradient map explains). */
export function targetScores(logits: Tensor, targets: Targets): Float64Array {
  const [n, k] = logits.dims as [number, number];
  const cot = targetsToCotangent(targets, n, k);
  const out = new Float64Array(n);
  for (let b = 0; b < n; b++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += cot.data[b * k + j]! * logits.data[b * k + j]!;
    out[b] = s;
  }
  return out;
}
