import { WhiteBoxError } from './errors.js';
import type { Targets } from './model.js';
import { Tensor, formatShape } from './tensor.js';

/**
 * Turns any `Targets` into a cotangent tensor [N, numClasses] for the logits, validating
 * class indices against `numClasses` (TARGET_OUT_OF_RANGE) and the batch size.
 */
export function targetsToCotangent(targets: Targets, batch: number, numClasses: number): Tensor {
  if (targets instanceof Tensor) {
    if (targets.dims.length !== 2 || targets.dims[0] !== batch || targets.dims[1] !== numClasses) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `target cotangent must have shape [${batch}, ${numClasses}], got ${formatShape(targets.dims)}`, { got: targets.dims });
    }
    if (targets.dtype !== 'float32') {
      throw new WhiteBoxError('INVALID_ARGUMENT', `target cotangent must be float32, got ${targets.dtype}`, { dtype: targets.dtype });
    }
    const d = targets.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) {
        throw new WhiteBoxError('INVALID_ARGUMENT', `target cotangent has a non-finite value (${d[i]}) at sample ${Math.floor(i / numClasses)}, class ${i % numClasses}: it would make every map NaN`, { sample: Math.floor(i / numClasses), class: i % numClasses });
      }
    }
    return targets;
  }
  const indices = targetIndices(targets, batch, numClasses);
  const out = new Float32Array(batch * numClasses);
  for (let i = 0; i < batch; i++) out[i * numClasses + indices[i]!] = 1;
  return new Tensor(out, [batch, numClasses]);
}

/** Per-sample class indices from a number or array; validated. */
export function targetIndices(targets: Exclude<Targets, Tensor>, batch: number, numClasses: number): Int32Array {
  const out = new Int32Array(batch);
  if (typeof targets !== 'number' && !Array.isArray(targets) && !(targets instanceof Int32Array)) {
    const got = targets === null || targets === undefined ? String(targets) : (targets as object).constructor?.name ?? typeof targets;
    throw new WhiteBoxError('INVALID_ARGUMENT', `targets must be a class index, an array of class indices (one per input) or a cotangent Tensor [N, ${numClasses}], got ${got}`, { got });
  }
  if (typeof targets === 'number') {
    out.fill(targets);
  } else {
    if (targets.length !== batch) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `got ${targets.length} targets for a batch of ${batch} inputs`, { targets: targets.length, batch });
    }
    out.set(targets);
  }
  for (let i = 0; i < batch; i++) {
    const t = typeof targets === 'number' ? targets : targets[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= numClasses) {
      throw new WhiteBoxError('TARGET_OUT_OF_RANGE', `target ${t} for sample ${i} is out of range: the model has ${numClasses} classes (0..${numClasses - 1})`, { sample: i, target: t, numClasses });
    }
  }
  return out;
}

/** The slice [start, end) of a Targets value, keeping its kind. */
export function sliceTargets(targets: Targets, start: number, end: number): Targets {
  if (typeof targets === 'number') return targets;
  if (targets instanceof Tensor) return targets.slice(start, end);
  return Array.from(targets).slice(start, end);
}
