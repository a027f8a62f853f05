import { Tensor, WhiteBoxError, type ReluRule, type TensorData, type WhiteBoxErrorCode } from '@whitebox/core';
import type { AttrValue, Attrs } from '../builder.js';
import type { IrGraph, IrNode } from '../graph.js';

/**
 * The operator registry: one entry per ONNX operator with its arity, attributes (types, defaults, ranges), forward
 * shape/type inference, optional constant evaluation, and the reverse-mode rule — in the spirit of ONNX Runtime's
 * gradient-builder registry and tfjs's kernel registration. Op families register themselves from files named after
 * the family (`conv.ts`, `pool.ts`, `elementwise.ts`, …); `index.ts` imports them all.
 */

/** ONNX element types WhiteBox tracks through a graph. */
export type ElemType = 'float32' | 'float16' | 'float64' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool' | 'string';

/** ONNX TensorProto.DataType codes of the element types. */
export const ELEM_CODES: Record<ElemType, number> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13, bfloat16: 16,
};
const CODE_NAMES = new Map(Object.entries(ELEM_CODES).map(([k, v]) => [v, k as ElemType]));

export function elemTypeOfCode(code: number): ElemType | undefined {
  return CODE_NAMES.get(code);
}

export function isFloatType(t: ElemType): boolean {
  return t === 'float32' || t === 'float16' || t === 'float64' || t === 'bfloat16';
}

/**
 * A constant value known at load time (an initializer, or computed from initializers and static shapes): what shape
 * arithmetic (Shape → Gather → Concat → Reshape) evaluates to. Integers and booleans are held as float64 numbers.
 */
export interface Value {
  dtype: ElemType;
  dims: number[];
  data: Float32Array | Float64Array;
}

/** What shape inference knows about one tensor at one concrete batch size. */
export interface TensorInfo {
  dims: number[];
  dtype: ElemType;
  /** The value, when it is known at load time. */
  value?: Value;
}

/** An attribute's declared type. */
export type AttrType = 'int' | 'ints' | 'float' | 'floats' | 'string' | 'strings' | 'tensor' | 'graph';

export interface AttrSpec {
  type: AttrType;
  required?: boolean;
  /** Inclusive numeric bounds (each element for lists). */
  min?: number;
  max?: number;
  /** Allowed values (ints or strings). */
  oneOf?: readonly (number | string)[];
  /** Numeric values must be finite (default true for floats). */
  finite?: boolean;
  /** Exact list length, or a function of the node's spatial rank. */
  length?: number;
}

/** The reason an op entry refuses a node, raised as a WhiteBoxError naming node, op and file. */
export interface Failure {
  code: WhiteBoxErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Context handed to an op's `infer`/`evaluate` for one node at one batch size. */
export interface InferContext {
  readonly node: IrNode;
  readonly graph: IrGraph;
  /** The batch size this inference runs at (the model input's batch dim, or its fixed value). */
  readonly batch: number;
  /** Input i's info; throws a named error when the input is omitted. */
  input(i: number): TensorInfo;
  /** Whether optional input i is given (non-empty name). */
  has(i: number): boolean;
  /** Input i's value when known at load time. */
  value(i: number): Value | undefined;
  /** Input i's value, or a named UNSUPPORTED_OP error saying it must be computable at load time. */
  requireValue(i: number, what: string): Value;
  /** A named error about this node. */
  fail(code: WhiteBoxErrorCode, message: string, details?: Record<string, unknown>): never;
  int(name: string, def: number): number;
  float(name: string, def: number): number;
  attrInts(name: string): number[] | undefined;
  attrFloats(name: string): number[] | undefined;
  string(name: string, def: string): string;
  /** Normalizes an axis against `rank` (negative axes count from the end), naming the attribute in errors. */
  axis(a: number, rank: number, what: string): number;
}

/** Context handed to an op's backward rule. Gradients are tensor names in the gradient graph being emitted. */
export interface GradContext {
  readonly node: IrNode;
  readonly graph: IrGraph;
  readonly rule: ReluRule;
  /** Opset of the emitted gradient graph. */
  readonly opset: number;
  /** Tensors requested as layers (their backward must not be fused away). */
  readonly layers: readonly string[];
  /** MaxPool backward route (see GradientGraphOptions.maxPoolBackward). */
  readonly maxPoolBackward: 'auto' | 'indices' | 'mask';
  /** Emit ONNX Runtime NCHWc-friendly backward ops (see GradientGraphOptions.blockedLayout). */
  readonly blockedLayout: boolean;
  /** Gradient flowing into output i (undefined when nothing downstream depends on it). */
  gy(i?: number): string | undefined;
  /** Whether input i needs a gradient (it depends on a differentiated source and is a float tensor). */
  active(i: number): boolean;
  /** Adds a contribution to input i's gradient (ignored when input i is not active). */
  add(i: number, grad: string): void;
  /** Adds a contribution to any tensor's gradient (fused rules). */
  addTo(tensor: string, grad: string): void;
  /** Info of a tensor at batch 2. */
  info(name: string): TensorInfo;
  dims(name: string): number[];
  /** Which dims of a tensor depend on the batch size. */
  batchDependent(name: string): 'none' | 'dim0' | 'other';
  /** Whether dim `axis` of a tensor changes with the batch size. */
  varies(name: string, axis: number): boolean;
  /** The initializer behind a tensor name, if it is one. */
  constant(name: string): Tensor<TensorData> | undefined;
  /** The node producing a tensor, and the nodes consuming it. */
  producer(name: string): IrNode | undefined;
  consumers(name: string): readonly IrNode[];
  /** Marks another forward node as handled by this rule (fusion). */
  markDone(n: IrNode): void;
  /** Emits a node and returns its outputs. */
  emit(op: string, inputs: string[], attrs?: Attrs, outputs?: number): string[];
  /** Emits a node and returns its single output. */
  one(op: string, inputs: string[], attrs?: Attrs): string;
  /** Cached float32 scalar constant. */
  scalar(v: number): string;
  /** Cached float32 vector constant [length] filled with v. */
  vector(v: number, length: number): string;
  /** Cached int64 vector constant. */
  ints(values: readonly number[]): string;
  /** A new constant tensor. */
  tensor(base: string, t: Tensor<TensorData>): string;
  /** Shape of a tensor at run time (a cached Shape node, or a constant when it is batch-independent). */
  shapeOf(name: string): string;
  /**
   * `grad` (shaped like the forward tensor `gradLike`, which broadcasts to `like`) expanded to `like`'s shape. When
   * both are batch-major the target shape is the constant [1, …like's other dims], so the expanded tensor keeps the
   * symbolic batch dim in ONNX shape inference (ONNX Runtime's NCHWc transformer only runs the backward's Mul and Add
   * in its blocked layout when it can prove the shapes equal); else Shape(like) at run time.
   */
  expandTo(grad: string, gradLike: string, like: string): string;
  /** Sums a gradient of shape `outDims` over the axes input `i` was broadcast along, back to input i's shape. */
  unbroadcast(grad: string, outDims: number[], input: string): string;
  /** Reshapes a gradient to the shape of `like` (static when possible, else from its run-time shape). */
  reshapeLike(grad: string, like: string, from?: string): string;
  /** A named error about this node. */
  fail(code: WhiteBoxErrorCode, message: string, details?: Record<string, unknown>): never;
  /** Adds an extra output to the forward node (e.g. LayerNormalization's Mean/InvStdDev) and returns its name. */
  forwardOutput(i: number, base: string): string;
  int(name: string, def: number): number;
  float(name: string, def: number): number;
  attrInts(name: string): number[] | undefined;
  string(name: string, def: string): string;
}

/** What WhiteBox knows about one ONNX operator: arity, attributes, shape inference, evaluation and backward rule. */
export interface OpSchema {
  op: string;
  /** Family file (conv, pool, elementwise, activation, normalization, reduce, shape, matmul, resize). */
  family: string;
  /** [min, max] input count (trailing omitted optional inputs allowed); max Infinity for variadic. */
  inputs: readonly [number, number];
  outputs: readonly [number, number];
  /** Indices of inputs that must be given (non-empty) — default: the first `inputs[0]`. */
  required?: readonly number[];
  attrs?: Record<string, AttrSpec>;
  /** Attributes that are accepted and ignored (legacy or training-only). */
  ignoredAttrs?: readonly string[];
  /** Rewrites an older opset's form into the current one (attributes that became inputs, renamed ops …). */
  normalize?(n: IrNode, opset: number, addInit: (suffix: string, t: Tensor<TensorData>) => string): IrNode[] | void;
  /** Output infos (dims and element types) from the input infos; may also return values. */
  infer(ctx: InferContext): TensorInfo[];
  /** Output values when every given input's value is known (constant folding, shape arithmetic). */
  evaluate?(ctx: InferContext): Value[] | undefined;
  /**
   * Reverse-mode rule. Absent: the op has no float outputs that carry gradient (Shape, Equal, …) — a node whose float
   * output would need a gradient then fails with a named UNSUPPORTED_OP error.
   */
  backward?(ctx: GradContext): void;
  /** Inputs that never carry gradient (shape, axes, indices inputs) even when they are float. */
  nondifferentiable?: readonly number[];
  /** Ops rewritten on import into another (Upsample → Resize, Dropout → Identity, Constant → an initializer). */
  rewrittenAs?: string;
}

const REGISTRY = new Map<string, OpSchema>();

/** Registers an operator (called by the family modules at import). */
export function registerOp(schema: OpSchema): void {
  if (REGISTRY.has(schema.op)) throw new Error(`operator '${schema.op}' registered twice`);
  REGISTRY.set(schema.op, schema);
}

/** The schema of an operator type, if it is supported. */
export function getOp(op: string): OpSchema | undefined {
  return REGISTRY.get(op);
}

/** Every registered op, sorted by family then name. */
export function registeredOps(): OpSchema[] {
  return [...REGISTRY.values()].sort((a, b) => a.family.localeCompare(b.family) || a.op.localeCompare(b.op));
}

// ---------- attribute access and validation ----------

type Num = number;

function attrNumber(v: AttrValue): Num | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'type' in v && (v.type === 'int' || v.type === 'float')) return v.value;
  return undefined;
}

function attrNumbers(v: AttrValue): Num[] | undefined {
  if (Array.isArray(v)) return [...(v as number[])];
  if (typeof v === 'object' && v !== null && 'type' in v && (v.type === 'ints' || v.type === 'floats')) return [...(v.value as number[])];
  return undefined;
}

export function nodeWhere(n: IrNode, g?: { source?: string }): string {
  return `node '${n.name}' (${n.op})${g?.source ? ` in ${g.source}` : ''}`;
}

export function nodeError(n: IrNode, g: { source?: string } | undefined, code: WhiteBoxErrorCode, message: string, details: Record<string, unknown> = {}): WhiteBoxError {
  return new WhiteBoxError(code, `${nodeWhere(n, g)}: ${message}`, { node: n.name, op: n.op, ...(g?.source ? { file: g.source } : {}), ...details });
}

export function readInt(n: IrNode, key: string, def: number, g?: { source?: string }): number {
  const v = n.attrs[key];
  if (v === undefined) return def;
  const x = attrNumber(v);
  if (x === undefined) throw nodeError(n, g, 'INVALID_MODEL', `attribute '${key}' must be a number`, { attribute: key });
  return x;
}

export function readInts(n: IrNode, key: string, g?: { source?: string }): number[] | undefined {
  const v = n.attrs[key];
  if (v === undefined) return undefined;
  const x = attrNumbers(v);
  if (x === undefined) throw nodeError(n, g, 'INVALID_MODEL', `attribute '${key}' must be a list of numbers`, { attribute: key });
  return x;
}

export function readString(n: IrNode, key: string, def: string, g?: { source?: string }): string {
  const v = n.attrs[key];
  if (v === undefined) return def;
  if (typeof v !== 'string') throw nodeError(n, g, 'INVALID_MODEL', `attribute '${key}' must be a string`, { attribute: key });
  return v;
}

function typeOfAttr(v: AttrValue): AttrType | undefined {
  if (typeof v === 'string') return 'string';
  if (v instanceof Tensor) return 'tensor';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (Array.isArray(v)) return (v as number[]).every((x) => Number.isInteger(x)) ? 'ints' : 'floats';
  if (typeof v === 'object' && v !== null && 'type' in v) return v.type;
  return undefined;
}

/**
 * Checks a node against its schema: input/output counts, required inputs, attribute names, types and ranges.
 * Throws INVALID_MODEL naming the node, op and attribute.
 */
export function validateNode(schema: OpSchema, n: IrNode, g?: { source?: string }): void {
  const [minIn, maxIn] = schema.inputs;
  const given = trimTrailing(n.inputs);
  if (given.length < minIn || given.length > maxIn) {
    const want = minIn === maxIn ? `${minIn}` : maxIn === Infinity ? `at least ${minIn}` : `${minIn} to ${maxIn}`;
    throw nodeError(n, g, 'INVALID_MODEL', `has ${given.length} input${given.length === 1 ? '' : 's'}, ${schema.op} takes ${want}`, { inputs: n.inputs });
  }
  const required = schema.required ?? Array.from({ length: minIn }, (_, i) => i);
  for (const i of required) {
    if (!n.inputs[i]) throw nodeError(n, g, 'INVALID_MODEL', `required input ${i} is missing (empty name)`, { input: i });
  }
  const outs = trimTrailing(n.outputs);
  const [minOut, maxOut] = schema.outputs;
  if (outs.length < minOut || outs.length > maxOut || !n.outputs[0]) {
    throw nodeError(n, g, 'INVALID_MODEL', `has ${outs.length} output${outs.length === 1 ? '' : 's'}${!n.outputs[0] ? ' (the first is unnamed)' : ''}, ${schema.op} produces ${minOut === maxOut ? minOut : `${minOut} to ${maxOut === Infinity ? 'any number' : maxOut}`}`, { outputs: n.outputs });
  }
  const specs = schema.attrs ?? {};
  const ignored = new Set(schema.ignoredAttrs ?? []);
  for (const [key, v] of Object.entries(n.attrs)) {
    if (key.startsWith('_') || ignored.has(key)) continue;
    const spec = specs[key];
    if (!spec) throw nodeError(n, g, 'UNSUPPORTED_OP', `attribute '${key}' is not an attribute of ${schema.op} that WhiteBox knows`, { attribute: key });
    const t = typeOfAttr(v);
    const compatible = t === spec.type || (spec.type === 'float' && t === 'int') || (spec.type === 'floats' && t === 'ints');
    if (!compatible) throw nodeError(n, g, 'INVALID_MODEL', `attribute '${key}' has type ${t ?? 'unknown'}, ${schema.op} expects ${spec.type}`, { attribute: key });
    const nums = spec.type === 'int' || spec.type === 'float' ? [attrNumber(v)!] : spec.type === 'ints' || spec.type === 'floats' ? attrNumbers(v)! : [];
    for (const x of nums) {
      const finite = spec.finite ?? true;
      if (finite && !Number.isFinite(x)) throw nodeError(n, g, 'INVALID_MODEL', `attribute '${key}' is ${x}; it must be finite`, { attribute: key, value: x });
      if (spec.min !== undefined && x < spec.min) throw nodeError(n, g, 'INVALID_MODEL', `attribute '${key}' is ${fmt(v)}; each value must be ≥ ${spec.min}`, { attribute: key, value: x });
      if (spec.max !== undefined && x > spec.max) throw nodeError(n, g, 'INVALID_MODEL', `attribute '${key}' is ${fmt(v)}; each value must be ≤ ${spec.max}`, { attribute: key, value: x });
      if (spec.oneOf && !spec.oneOf.includes(x)) throw nodeError(n, g, 'UNSUPPORTED_OP', `attribute '${key}' is ${x}; supported: ${spec.oneOf.join(', ')}`, { attribute: key, value: x });
    }
    if (spec.type === 'string' && spec.oneOf && !spec.oneOf.includes(v as string)) {
      throw nodeError(n, g, 'UNSUPPORTED_OP', `attribute '${key}' is '${v as string}'; supported: ${spec.oneOf.map((s) => `'${s}'`).join(', ')}`, { attribute: key, value: v });
    }
    if (spec.length !== undefined && nums.length !== spec.length) throw nodeError(n, g, 'INVALID_MODEL', `attribute '${key}' has ${nums.length} values, expected ${spec.length}`, { attribute: key });
  }
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.required && n.attrs[key] === undefined) throw nodeError(n, g, 'INVALID_MODEL', `required attribute '${key}' is missing`, { attribute: key });
  }
}

function fmt(v: AttrValue): string {
  const nums = attrNumbers(v);
  return nums ? `[${nums.join(', ')}]` : String(attrNumber(v) ?? v);
}

export function trimTrailing(names: readonly string[]): string[] {
  let end = names.length;
  while (end > 0 && !names[end - 1]) end--;
  return names.slice(0, end);
}

// ---------- values ----------

export function makeValue(dtype: ElemType, dims: number[], data: ArrayLike<number>): Value {
  return { dtype, dims, data: dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data) };
}

/** A core Tensor as a Value (int64 as numbers; exact below 2^53, larger values saturate). */
export function valueOfTensor(t: Tensor<TensorData>, dtype?: ElemType): Value {
  const d = dtype ?? (t.dtype === 'float32' ? 'float32' : t.dtype);
  if (t.data instanceof Float32Array) return { dtype: d, dims: [...t.dims], data: t.data };
  return { dtype: d, dims: [...t.dims], data: Float64Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v)) };
}

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

/** A Value as a core Tensor for an initializer (bool as uint8; the ONNX type is kept separately). */
export function tensorOfValue(v: Value): Tensor<TensorData> {
  switch (v.dtype) {
    case 'float32': case 'float16': case 'float64': case 'bfloat16':
      return new Tensor(Float32Array.from(v.data), v.dims);
    case 'int32':
      return new Tensor(Int32Array.from(v.data), v.dims);
    case 'uint8': case 'bool':
      return new Tensor(Uint8Array.from(v.data), v.dims);
    default:
      return new Tensor(BigInt64Array.from(v.data, (x) => {
        if (!Number.isFinite(x)) return x > 0 ? I64_MAX : I64_MIN;
        const b = BigInt(Math.trunc(x));
        return b > I64_MAX ? I64_MAX : b < I64_MIN ? I64_MIN : b;
      }), v.dims);
  }
}

export function numbers(v: Value): number[] {
  return Array.from(v.data);
}

export function sizeOfDims(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Row-major strides. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]!; }
  return s;
}

/** Numpy-style broadcast of shapes, or undefined when they do not broadcast. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Maps each output index to the flat index of a broadcast input. */
export function broadcastIndex(outDims: readonly number[], inDims: readonly number[]): Int32Array {
  const n = sizeOfDims(outDims);
  const map = new Int32Array(n);
  const r = outDims.length;
  const off = r - inDims.length;
  const inStrides = stridesOf(inDims);
  const outStrides = stridesOf(outDims);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let j = 0;
    for (let d = 0; d < r; d++) {
      const c = Math.floor(rem / outStrides[d]!);
      rem -= c * outStrides[d]!;
      if (d >= off && inDims[d - off] !== 1) j += c * inStrides[d - off]!;
    }
    map[i] = j;
  }
  return map;
}

/** Largest tensor (elements) a constant evaluation may produce. */
export const MAX_EVAL_ELEMENTS = 1 << 24;
