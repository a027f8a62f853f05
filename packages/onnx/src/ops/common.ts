import { Tensor } from '@whitebox/core';
import type { IrNode } from '../graph.js';
import {
  broadcastDims, broadcastIndex, isFloatType, makeValue, nodeError, readInt, readInts, readString, sizeOfDims,
  type ElemType, type GradContext, type InferContext, type TensorInfo, type Value,
} from './registry.js';

/** Output = input 0's shape and type. */
export function sameAsInput(ctx: InferContext): TensorInfo[] {
  const x = ctx.input(0);
  return [{ dims: [...x.dims], dtype: x.dtype }];
}

/** Input i must be a float tensor. */
export function requireFloat(ctx: InferContext, i: number, what = `input ${i}`): TensorInfo {
  const x = ctx.input(i);
  if (!isFloatType(x.dtype)) ctx.fail('INVALID_MODEL', `${what} ('${ctx.node.inputs[i]}') must be a float tensor, it is ${x.dtype}`, { input: i });
  return x;
}

/** Same-shape float unary op. */
export function floatUnary(ctx: InferContext): TensorInfo[] {
  const x = requireFloat(ctx, 0);
  return [{ dims: [...x.dims], dtype: x.dtype }];
}

/** Broadcast shape of inputs (numpy rules), with a named error. */
export function broadcastInputs(ctx: InferContext, indices: readonly number[]): number[] {
  let dims: number[] = [];
  for (const i of indices) {
    if (!ctx.has(i)) continue;
    const d = ctx.input(i).dims;
    const b = broadcastDims(dims, d);
    if (!b) ctx.fail('SHAPE_MISMATCH', `input shapes ${indices.filter((j) => ctx.has(j)).map((j) => `[${ctx.input(j).dims.join(', ')}]`).join(' and ')} do not broadcast`, { shapes: indices.map((j) => ctx.has(j) ? ctx.input(j).dims : undefined) });
    dims = b;
  }
  return dims;
}

/** Elementwise evaluation over broadcast inputs. */
export function evalBroadcast(ctx: InferContext, dtype: ElemType, f: (...xs: number[]) => number): Value[] {
  const vals = ctx.node.inputs.map((_, i) => ctx.value(i)!);
  const dims = broadcastInputs(ctx, vals.map((_, i) => i));
  const n = sizeOfDims(dims);
  const maps = vals.map((v) => (sizeOfDims(v.dims) === n && v.dims.length === dims.length ? undefined : broadcastIndex(dims, v.dims)));
  const out = new Float64Array(n);
  const args = new Array<number>(vals.length);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < vals.length; j++) args[j] = vals[j]!.data[maps[j] ? maps[j]![k]! : k]!;
    out[k] = f(...args);
  }
  return [makeValue(dtype, dims, dtype === 'float32' ? Float32Array.from(out) : out)];
}

/** Integer-valued ops (int64 division truncates, as ONNX's Div on integers). */
export function isIntType(t: ElemType): boolean {
  return t.startsWith('int') || t.startsWith('uint');
}

// ---------- spatial attributes (Conv, ConvTranspose, pools) ----------

export interface SpatialAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads then end pads, auto_pad resolved. */
  pads: number[];
  ceil: boolean;
}

/** Strides, dilations and explicit pads of a spatial op (auto_pad resolved against the input shape). */
export function spatialAttrs(n: IrNode, inShape: readonly number[], kernel: readonly number[], g?: { source?: string }): SpatialAttrs {
  const s = kernel.length;
  const strides = readInts(n, 'strides', g) ?? Array(s).fill(1);
  const dilations = readInts(n, 'dilations', g) ?? Array(s).fill(1);
  let pads = readInts(n, 'pads', g) ?? Array(2 * s).fill(0);
  const autoPad = readString(n, 'auto_pad', 'NOTSET', g);
  if (strides.length !== s || dilations.length !== s || pads.length !== 2 * s) {
    throw nodeError(n, g, 'INVALID_MODEL', `strides [${strides}], dilations [${dilations}] and pads [${pads}] do not match the ${s}-D kernel [${kernel}] (pads need ${2 * s} values)`);
  }
  if (inShape.length !== s + 2) throw nodeError(n, g, 'SHAPE_MISMATCH', `a ${s}-D kernel needs a rank-${s + 2} input, got [${inShape.join(', ')}]`);
  if (autoPad === 'VALID') pads = Array(2 * s).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = Array(2 * s).fill(0);
    for (let i = 0; i < s; i++) {
      const inDim = inShape[2 + i]!;
      const outDim = Math.ceil(inDim / strides[i]!);
      const total = Math.max(0, (outDim - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inDim);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + s] = total - pads[i]!;
    }
  }
  return { kernel: [...kernel], strides, dilations, pads, ceil: readInt(n, 'ceil_mode', 0, g) === 1 };
}

/** Output size of one spatial axis. */
export function spatialOut(inDim: number, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): number {
  const span = inDim + pb + pe - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= inDim + pb) o -= 1;
  return o;
}

/** Spatial attribute specs shared by Conv, ConvTranspose and the pools. */
export const SPATIAL_ATTRS = {
  kernel_shape: { type: 'ints', min: 1 },
  strides: { type: 'ints', min: 1 },
  dilations: { type: 'ints', min: 1 },
  pads: { type: 'ints', min: 0 },
  auto_pad: { type: 'string', oneOf: ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'] },
} as const;

// ---------- backward helpers ----------

/** ReduceX over axes with the form the emitted opset expects (axes attribute before 18, input from 18; ReduceSum from 13). */
export function emitReduce(ctx: GradContext, op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax', x: string, axes: readonly number[], keepdims = 1): string {
  if (op === 'ReduceSum' || ctx.opset >= 18) return ctx.one(op, [x, ctx.ints(axes)], { keepdims });
  return ctx.one(op, [x], { axes: [...axes], keepdims });
}

/** Zeros shaped like a tensor (ConstantOfShape of its run-time shape). */
export function zerosLike(ctx: GradContext, name: string): string {
  const dims = ctx.dims(name);
  if (ctx.batchDependent(name) === 'none') return ctx.one('ConstantOfShape', [ctx.ints(dims)], { value: floatTensor1(0) });
  return ctx.one('ConstantOfShape', [ctx.shapeOf(name)], { value: floatTensor1(0) });
}

/** The value of a one-element initializer (a scalar constant such as 0.5 or an exponent), else undefined. */
export function scalarConstant(ctx: GradContext, name: string): number | undefined {
  const t = ctx.constant(name);
  return t && t.size === 1 ? Number(t.data[0]) : undefined;
}

export function floatTensor1(v: number): Tensor {
  return new Tensor(Float32Array.of(v), [1]);
}

/** gy · f, the common shape of unary backward rules. */
export function mulGrad(ctx: GradContext, factor: string): void {
  const gy = ctx.gy()!;
  ctx.add(0, ctx.one('Mul', [gy, factor]));
}
