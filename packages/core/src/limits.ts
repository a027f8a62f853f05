import { WhiteBoxError } from './errors.js';
import { formatShape, type Tensor } from './tensor.js';

/**
 * Documented limits on the sizes WhiteBox accepts (docs/reliability.md). Each guards against a value that would
 * hang, exhaust memory or crash the runtime; the ones marked "raise with" have an option to go higher.
 */
export const LIMITS = {
  /** Intra-op threads of a session (ONNX Runtime aborts or crashes creating thousands). Fixed. */
  threads: 256,
  /** Items per runtime call (`batchSize` options). Fixed. */
  batchSize: 65_536,
  /** Integrated Gradients path points per input; raise with the `maxSteps` option. */
  integratedGradientsSteps: 10_000,
  /** SmoothGrad noisy copies per input; raise with the `maxSamples` option. */
  smoothGradSamples: 10_000,
  /** Pixels (width × height) of a decoded PNG; raise with the `maxPixels` option. */
  imagePixels: 4096 * 4096,
  /** Bytes of a model file; raise with the `maxModelBytes` option. */
  modelBytes: 1 << 30,
  /** Elements of any one tensor a model declares or infers, per image; raise with the `maxElements` option. */
  tensorElements: 2 ** 28,
  /** Nodes of a model graph (session creation grows super-linearly with them); raise with the `maxNodes` option. */
  modelNodes: 20_000,
  /** Bytes of a data file, and after decompression (IDX, CIFAR-10 batches, .gz); raise with the `maxBytes` option. */
  dataBytes: 512 * (1 << 20),
} as const;

/**
 * Throws LIMIT_EXCEEDED when `value` > `limit`: `what` names the setting, `raise` says how to allow more
 * (e.g. "pass maxSteps"), or is omitted for fixed limits.
 */
export function checkLimit(value: number, limit: number, what: string, raise?: string): void {
  if (value > limit) {
    throw new WhiteBoxError(
      'LIMIT_EXCEEDED',
      `${what} is ${value.toLocaleString('en-US')}, above the limit of ${limit.toLocaleString('en-US')}${raise ? ` (${raise})` : ''}`,
      { value, limit },
    );
  }
}

/**
 * Throws NON_FINITE at the first NaN or infinite value of a result (a map, logits, scores), naming it, the
 * sample and the index: a result is never returned with NaN in it. One pass over the data.
 */
export function checkFiniteResult(t: Tensor | Float32Array | Float64Array, what: string): void {
  const data = 'dims' in t ? t.data : t;
  const itemSize = 'dims' in t && t.dims.length > 1 ? t.data.length / Math.max(1, t.dims[0]!) : 1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v - v !== 0) {
      const sample = Math.floor(i / Math.max(1, itemSize));
      const shape = 'dims' in t ? ` of ${formatShape(t.dims)}` : '';
      throw new WhiteBoxError('NON_FINITE', `${what} has a non-finite value (${v}) at index ${i}${shape} (sample ${sample}): the model or its inputs produce NaN/Inf here`, { index: i, sample });
    }
  }
}
