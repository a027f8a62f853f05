import { Tensor, type TensorData } from '@whitebox/core';
import { nodeBackend } from '@whitebox/backend-node';

export async function runModel(bytes: Uint8Array, feeds: Record<string, Tensor<TensorData>>, threads = 1): Promise<Record<string, Tensor>> {
  const s = await nodeBackend.createSession(bytes, { threads });
  try {
    return (await s.run(feeds)) as Record<string, Tensor>;
  } finally {
    await s.release();
  }
}

export interface FdResult {
  /** Central differences per sample and coordinate. */
  grad: Float64Array;
  /** False where the one-sided differences disagree (a ReLU/MaxPool kink lies within ±h). */
  smooth: Uint8Array;
}

/**
 * Central finite differences of sum(cotangent · f(x)) for every coordinate of every sample, evaluated in batched
 * forward runs of the forward model (output `outputName` or its first output), accumulated in float64.
 */
export async function finiteDifferences(forward: Uint8Array, inputName: string, x: Tensor, cot: Tensor, h = 1e-2, outputName?: string): Promise<FdResult> {
  const n = x.batchSize;
  const m = x.itemSize;
  const k = cot.dims[1]!;
  const per = 2 * m + 1;
  const batch = new Float32Array(n * per * m);
  for (let s = 0; s < n; s++) {
    for (let j = 0; j < per; j++) {
      const off = (s * per + j) * m;
      batch.set(x.data.subarray(s * m, (s + 1) * m), off);
      if (j < 2 * m) batch[off + (j >> 1)]! += j % 2 === 0 ? h : -h;
    }
  }
  const sess = await nodeBackend.createSession(forward, { threads: 2 });
  const vals = new Float64Array(n * per);
  try {
    const CH = 4096;
    const total = n * per;
    for (let start = 0; start < total; start += CH) {
      const end = Math.min(total, start + CH);
      const res = await sess.run({ [inputName]: new Tensor(batch.subarray(start * m, end * m), [end - start, ...x.dims.slice(1)]) });
      const y = (outputName ? res[outputName] : Object.values(res)[0])!.data as Float32Array;
      for (let r = start; r < end; r++) {
        const s = Math.floor(r / per);
        let dot = 0;
        for (let c = 0; c < k; c++) dot += cot.data[s * k + c]! * y[(r - start) * k + c]!;
        vals[r] = dot;
      }
    }
  } finally {
    await sess.release();
  }
  const grad = new Float64Array(n * m);
  const smooth = new Uint8Array(n * m);
  for (let s = 0; s < n; s++) {
    const f0 = vals[s * per + 2 * m]!;
    for (let j = 0; j < m; j++) {
      const fp = vals[s * per + 2 * j]!;
      const fm = vals[s * per + 2 * j + 1]!;
      grad[s * m + j] = (fp - fm) / (2 * h);
      const fwd = (fp - f0) / h;
      const bwd = (f0 - fm) / h;
      smooth[s * m + j] = Math.abs(fwd - bwd) <= 1e-3 * Math.max(Math.abs(fwd), Math.abs(bwd)) + 2e-4 ? 1 : 0;
    }
  }
  return { grad, smooth };
}

/** Relative error over the coordinates where `keep` is set (all when absent). */
export function maskedRelError(a: ArrayLike<number>, b: ArrayLike<number>, keep?: Uint8Array): { err: number; kept: number } {
  let num = 0;
  let den = 0;
  let kept = 0;
  for (let i = 0; i < a.length; i++) {
    if (keep && !keep[i]) continue;
    kept++;
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return { err: Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12), kept: kept / a.length };
}

/** ||a - b|| / max(||b||, tiny). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

export function randomTensor(dims: number[], seed: number, lo = -1, hi = 1): Tensor {
  let s = seed >>> 0 || 1;
  const t = Tensor.zeros(dims);
  for (let i = 0; i < t.size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    t.data[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return t;
}
