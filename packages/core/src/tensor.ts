import { WhiteBoxError, check } from './errors.js';

/** Typed arrays a tensor can hold. */
export type TensorData = Float32Array | Int32Array | Uint8Array | BigInt64Array;
/** Element type of a tensor. */
export type DType = 'float32' | 'int32' | 'uint8' | 'int64';

/** Element type of a typed array. */
export function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof BigInt64Array) return 'int64';
  throw unsupportedData(data);
}

/** The name of what a caller passed as tensor data, for messages: 'Float64Array', 'Array', 'undefined'. */
function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  return ctor?.name || typeof value;
}

function unsupportedData(data: unknown): WhiteBoxError {
  const kind = kindOf(data);
  const hint = kind === 'Float64Array' || kind === 'Array' ? ' (convert pixels with Float32Array.from(values))' : '';
  return new WhiteBoxError('INVALID_ARGUMENT', `tensor data must be a Float32Array, Int32Array, Uint8Array or BigInt64Array, got ${kind}${hint}`, { got: kind });
}

/** Number of elements of a shape (the product of its dims). */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A shape as text: `[1, 3, 224, 224]`. */
export function formatShape(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/**
 * A dense row-major tensor: a typed array plus its dims. Images are NCHW.
 * Views (`slice`, `reshape`) share the underlying buffer.
 */
export class Tensor<D extends TensorData = Float32Array> {
  readonly data: D;
  readonly dims: readonly number[];

  constructor(data: D, dims: readonly number[]) {
    if (!(data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint8Array || data instanceof BigInt64Array)) throw unsupportedData(data);
    if (!Array.isArray(dims)) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `tensor dims must be an array of non-negative integers, got ${kindOf(dims)}`, { dims });
    }
    for (const d of dims) {
      if (!Number.isInteger(d) || d < 0) throw new WhiteBoxError('SHAPE_MISMATCH', `invalid tensor dims ${formatShape(dims)}`, { dims });
    }
    if (sizeOf(dims) !== data.length) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `tensor data has ${data.length} elements but dims ${formatShape(dims)} need ${sizeOf(dims)}`, { dims, length: data.length });
    }
    this.data = data;
    this.dims = Object.freeze([...dims]);
  }

  /** A float32 tensor of zeros of shape `dims`. */
  static zeros(dims: readonly number[]): Tensor {
    return new Tensor(new Float32Array(sizeOf(dims)), dims);
  }

  /** A float32 tensor of shape `dims` filled with `value`. */
  static full(dims: readonly number[], value: number): Tensor {
    return new Tensor(new Float32Array(sizeOf(dims)).fill(value), dims);
  }

  /** A float32 tensor from any array of numbers. */
  static from(values: ArrayLike<number>, dims: readonly number[]): Tensor {
    return new Tensor(Float32Array.from(values), dims);
  }

  /** Element type of the data. */
  get dtype(): DType {
    return dtypeOf(this.data);
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.dims.length;
  }

  /** Size of dim 0 (the batch). */
  get batchSize(): number {
    check(this.dims.length > 0, 'a scalar tensor has no batch dimension');
    return this.dims[0]!;
  }

  /** Elements per batch item. */
  get itemSize(): number {
    return sizeOf(this.dims.slice(1));
  }

  /** A view with other dims (same element count). -1 infers one dim. */
  reshape(dims: readonly number[]): Tensor<D> {
    const out = [...dims];
    const unknown = out.indexOf(-1);
    if (unknown >= 0) {
      const known = sizeOf(out.filter((_, i) => i !== unknown));
      out[unknown] = known === 0 ? 0 : this.size / known;
    }
    return new Tensor(this.data, out);
  }

  /** A view of batch items [start, end). */
  slice(start: number, end: number = this.batchSize): Tensor<D> {
    check(start >= 0 && end <= this.batchSize && start <= end, () => `batch slice [${start}, ${end}) is outside batch of ${this.batchSize}`);
    const n = this.itemSize;
    return new Tensor(this.data.subarray(start * n, end * n) as D, [end - start, ...this.dims.slice(1)]);
  }

  /** One batch item as a view with batch dim 1. */
  item(i: number): Tensor<D> {
    return this.slice(i, i + 1);
  }

  /** A copy with its own data. */
  clone(): Tensor<D> {
    return new Tensor(this.data.slice() as D, this.dims);
  }

  /** Elementwise map into a new float32 tensor. */
  map(fn: (v: number, i: number) => number): Tensor {
    const out = new Float32Array(this.size);
    const src = this.data as ArrayLike<number | bigint>;
    for (let i = 0; i < out.length; i++) out[i] = fn(Number(src[i]), i);
    return new Tensor(out, this.dims);
  }

  /** Type and shape, e.g. `Tensor<float32>[1, 3, 224, 224]`. */
  toString(): string {
    return `Tensor<${this.dtype}>${formatShape(this.dims)}`;
  }
}

/** Concatenate tensors along dim 0. */
export function concatBatch<D extends TensorData>(tensors: readonly Tensor<D>[]): Tensor<D> {
  check(tensors.length > 0, 'concatBatch needs at least one tensor');
  const first = tensors[0]!;
  const rest = first.dims.slice(1);
  let total = 0;
  for (const t of tensors) {
    if (t.dims.length !== first.dims.length || t.dims.slice(1).some((d, i) => d !== rest[i])) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `concatBatch: shape ${formatShape(t.dims)} does not match ${formatShape(first.dims)} outside dim 0`);
    }
    total += t.dims[0]!;
  }
  const Ctor = first.data.constructor as new (n: number) => D;
  const out = new Ctor(total * sizeOf(rest));
  let offset = 0;
  for (const t of tensors) {
    (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data as ArrayLike<unknown>, offset);
    offset += t.size;
  }
  return new Tensor(out, [total, ...rest]);
}

/** Repeat each batch item `times` times in a row: [a, b] -> [a, a, a, b, b, b]. */
export function repeatItems(t: Tensor, times: number): Tensor {
  const n = t.itemSize;
  const out = new Float32Array(t.size * times);
  for (let b = 0; b < t.batchSize; b++) {
    const src = t.data.subarray(b * n, (b + 1) * n);
    for (let r = 0; r < times; r++) out.set(src, (b * times + r) * n);
  }
  return new Tensor(out, [t.batchSize * times, ...t.dims.slice(1)]);
}

/** Asserts a float32 NCHW-like shape; returns it typed. */
export function expectShape(t: Tensor<TensorData>, expected: readonly (number | null)[], what: string): void {
  const ok = t.dims.length === expected.length && expected.every((e, i) => e === null || e === t.dims[i]);
  if (!ok) {
    const shown = expected.map((e) => (e === null ? 'N' : String(e)));
    throw new WhiteBoxError('SHAPE_MISMATCH', `${what}: expected shape [${shown.join(', ')}], got ${formatShape(t.dims)}`, { expected, got: t.dims });
  }
}

/** What a value is, for messages about a value that should have been a Tensor: 'a Tensor [2, 3]', 'null', 'a plain object (not a core Tensor)'. */
export function describeTensorArg(v: unknown): string {
  if (v instanceof Tensor) return `${v.dtype} ${formatShape(v.dims)}`;
  if (v === null || v === undefined) return String(v);
  if (typeof v !== 'object') return `${typeof v} ${String(v).slice(0, 40)} (not a core Tensor)`;
  const name = (v as object).constructor?.name;
  return `${name && name !== 'Object' ? `a ${name}` : 'a plain object'} (not a core Tensor; build inputs with new Tensor(data, dims))`;
}
