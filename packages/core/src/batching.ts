import { check, describeValue } from './errors.js';
import type { ProgressCallback } from './progress.js';
import { Tensor, concatBatch, type TensorData } from './tensor.js';

/**
 * Runs `fn` over batch chunks of `input` (dim 0) of at most `batchSize` items, reports
 * progress in items, and concatenates the outputs along dim 0.
 */
export async function mapBatches<T extends TensorData = Float32Array>(
  input: Tensor<TensorData>,
  batchSize: number,
  fn: (chunk: Tensor<TensorData>, start: number, end: number) => Promise<Tensor<T>>,
  onProgress?: ProgressCallback,
  stage?: string,
): Promise<Tensor<T>> {
  check(Number.isInteger(batchSize) && batchSize >= 1, `batchSize must be an integer ≥ 1, got ${describeValue(batchSize)}`);
  const total = input.batchSize;
  const parts: Tensor<T>[] = [];
  onProgress?.({ done: 0, total, stage });
  for (let start = 0; start < total; start += batchSize) {
    const end = Math.min(total, start + batchSize);
    parts.push(await fn(input.slice(start, end), start, end));
    onProgress?.({ done: end, total, stage });
  }
  if (parts.length === 1) return parts[0]!;
  return concatBatch(parts);
}

/** Splits [0, total) into ranges of at most `size`. */
export function batchRanges(total: number, size: number): Array<[number, number]> {
  check(Number.isInteger(size) && size >= 1, `batch size must be an integer ≥ 1, got ${describeValue(size)}`);
  const out: Array<[number, number]> = [];
  for (let s = 0; s < total; s += size) out.push([s, Math.min(total, s + size)]);
  return out;
}
