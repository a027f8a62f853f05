import { Tensor, type TensorData } from '@whitebox/core';
import { floatTensor1, zerosLike } from './common.js';
import {
  elemTypeOfCode, isFloatType, makeValue, numbers, readInts, registerOp, sizeOfDims, stridesOf, valueOfTensor,
  type ElemType, type GradContext, type InferContext, type TensorInfo, type Value,
} from './registry.js';

/**
 * Shape and data-movement ops: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice,
 * Gather, Expand, Tile, Pad, ConstantOfShape, Range, Identity, Dropout, Constant. Their integer forms (shape
 * arithmetic such as `x.view(x.size(0), -1)`) are evaluated at load time for each batch size; the float forms are
 * differentiated.
 */

function i64(values: readonly number[]): Tensor<BigInt64Array> {
  return new Tensor(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
}

function intList(ctx: InferContext, i: number, what: string): number[] {
  return numbers(ctx.requireValue(i, what));
}

/** Constant int values of input i in a backward rule (it was required to be load-time computable and batch-free). */
function constInts(ctx: GradContext, i: number, what: string): number[] {
  const name = ctx.node.inputs[i]!;
  const t = ctx.constant(name);
  if (t) return Array.from(t.data as ArrayLike<number | bigint>, Number);
  const v = ctx.info(name).value;
  if (v && ctx.batchDependent(name) === 'none') return numbers(v);
  return ctx.fail('UNSUPPORTED_OP', `its ${what} ('${name}') changes with the batch size, which its gradient does not support`);
}

/** Reshape's value/shape. */
function reshapeDims(ctx: InferContext, x: number[], spec: number[]): number[] {
  const allowZero = ctx.int('allowzero', 0) === 1;
  const out = spec.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
  const negs = out.filter((d) => d === -1).length;
  if (negs > 1 || out.some((d) => d < -1 || !Number.isInteger(d))) ctx.fail('SHAPE_MISMATCH', `cannot reshape [${x.join(', ')}] to [${spec.join(', ')}]`, { shape: x, target: spec });
  const known = sizeOfDims(out.filter((d) => d !== -1));
  if (negs === 1) {
    const total = sizeOfDims(x);
    if (known === 0 || total % known !== 0) ctx.fail('SHAPE_MISMATCH', `cannot reshape [${x.join(', ')}] (${total} elements) to [${spec.join(', ')}]`, { shape: x, target: spec });
    out[out.indexOf(-1)] = total / known;
  }
  if (sizeOfDims(out) !== sizeOfDims(x)) ctx.fail('SHAPE_MISMATCH', `cannot reshape [${x.join(', ')}] (${sizeOfDims(x)} elements) to [${spec.join(', ')}] (${sizeOfDims(out)})`, { shape: x, target: spec });
  return out;
}

function passValue(ctx: InferContext, dims: number[]): Value[] {
  const v = ctx.value(0)!;
  return [{ dtype: v.dtype, dims, data: v.data }];
}

function reshapeBackward(ctx: GradContext): void {
  ctx.add(0, ctx.reshapeLike(ctx.gy()!, ctx.node.inputs[0]!, ctx.node.outputs[0]!));
}

registerOp({
  op: 'Shape', family: 'shape', inputs: [1, 1], outputs: [1, 1],
  attrs: { start: { type: 'int' }, end: { type: 'int' } },
  infer: (ctx) => {
    const x = ctx.input(0).dims;
    const r = x.length;
    const clamp = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
    const dims = x.slice(clamp(ctx.int('start', 0)), clamp(ctx.int('end', r)));
    return [{ dims: [dims.length], dtype: 'int64', value: makeValue('int64', [dims.length], dims) }];
  },
});

registerOp({
  op: 'Size', family: 'shape', inputs: [1, 1], outputs: [1, 1],
  infer: (ctx) => [{ dims: [], dtype: 'int64', value: makeValue('int64', [], [sizeOfDims(ctx.input(0).dims)]) }],
});

registerOp({
  op: 'Reshape', family: 'shape', inputs: [2, 2], outputs: [1, 1], nondifferentiable: [1],
  attrs: { allowzero: { type: 'int', oneOf: [0, 1] } },
  normalize: (n, _opset, addInit) => {
    if (n.attrs.shape !== undefined) {
      n.inputs = [n.inputs[0]!, addInit('shape', i64(readInts(n, 'shape')!))];
      delete n.attrs.shape;
    }
  },
  infer: (ctx) => {
    const x = ctx.input(0);
    return [{ dims: reshapeDims(ctx, x.dims, intList(ctx, 1, 'target shape')), dtype: x.dtype }];
  },
  evaluate: (ctx) => passValue(ctx, reshapeDims(ctx, ctx.input(0).dims, intList(ctx, 1, 'target shape'))),
  backward: reshapeBackward,
});

registerOp({
  op: 'Flatten', family: 'shape', inputs: [1, 1], outputs: [1, 1],
  attrs: { axis: { type: 'int' } },
  infer: (ctx) => {
    const x = ctx.input(0);
    const r = x.dims.length;
    let a = ctx.int('axis', 1);
    if (a < -r || a > r) ctx.fail('INVALID_MODEL', `attribute 'axis' ${a} is out of range for a rank-${r} input (valid: ${-r} to ${r})`, { attribute: 'axis' });
    if (a < 0) a += r;
    return [{ dims: [sizeOfDims(x.dims.slice(0, a)), sizeOfDims(x.dims.slice(a))], dtype: x.dtype }];
  },
  evaluate: (ctx) => { const x = ctx.input(0).dims; let a = ctx.int('axis', 1); if (a < 0) a += x.length; return passValue(ctx, [sizeOfDims(x.slice(0, a)), sizeOfDims(x.slice(a))]); },
  backward: reshapeBackward,
});

function axesInputNormalize(n: Parameters<NonNullable<Parameters<typeof registerOp>[0]['normalize']>>[0], opset: number, addInit: (s: string, t: Tensor<TensorData>) => string): void {
  if (opset < 13 && n.attrs.axes !== undefined) {
    n.inputs = [n.inputs[0]!, addInit('axes', i64(readInts(n, 'axes')!))];
    delete n.attrs.axes;
  }
}

function squeezeDims(ctx: InferContext): number[] {
  const x = ctx.input(0).dims;
  if (!ctx.has(1)) return x.filter((d) => d !== 1);
  const axes = intList(ctx, 1, 'axes').map((a) => ctx.axis(a, x.length, 'axis'));
  for (const a of axes) if (x[a] !== 1) ctx.fail('SHAPE_MISMATCH', `cannot squeeze axis ${a} of [${x.join(', ')}]: its size is ${x[a]}, not 1`, { shape: x });
  return x.filter((_, i) => !axes.includes(i));
}

function unsqueezeDims(ctx: InferContext): number[] {
  const x = ctx.input(0).dims;
  const axesIn = intList(ctx, 1, 'axes');
  const r = x.length + axesIn.length;
  const axes = axesIn.map((a) => ctx.axis(a, r, 'axis'));
  if (new Set(axes).size !== axes.length) ctx.fail('INVALID_MODEL', `axes [${axesIn}] repeat an axis`);
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(axes.includes(i) ? 1 : x[j++]!);
  return out;
}

registerOp({
  op: 'Squeeze', family: 'shape', inputs: [1, 2], outputs: [1, 1], nondifferentiable: [1],
  normalize: axesInputNormalize,
  infer: (ctx) => [{ dims: squeezeDims(ctx), dtype: ctx.input(0).dtype }],
  evaluate: (ctx) => passValue(ctx, squeezeDims(ctx)),
  backward: reshapeBackward,
});

registerOp({
  op: 'Unsqueeze', family: 'shape', inputs: [2, 2], outputs: [1, 1], nondifferentiable: [1],
  normalize: axesInputNormalize,
  infer: (ctx) => [{ dims: unsqueezeDims(ctx), dtype: ctx.input(0).dtype }],
  evaluate: (ctx) => passValue(ctx, unsqueezeDims(ctx)),
  backward: reshapeBackward,
});

function permOf(ctx: InferContext | GradContext, rank: number): number[] {
  const perm = ctx.attrInts('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) ctx.fail('INVALID_MODEL', `attribute 'perm' [${perm}] is not a permutation of the ${rank} axes`, { attribute: 'perm' });
  return perm;
}

/** Transposes a Value. */
function transposeValue(v: Value, perm: number[]): Value {
  const dims = perm.map((p) => v.dims[p]!);
  const inS = stridesOf(v.dims);
  const outS = stridesOf(dims);
  const out = v.dtype === 'float32' ? new Float32Array(v.data.length) : new Float64Array(v.data.length);
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let src = 0;
    for (let d = 0; d < dims.length; d++) { const c = Math.floor(rem / outS[d]!); rem -= c * outS[d]!; src += c * inS[perm[d]!]!; }
    out[i] = v.data[src]!;
  }
  return { dtype: v.dtype, dims, data: out };
}

registerOp({
  op: 'Transpose', family: 'shape', inputs: [1, 1], outputs: [1, 1],
  attrs: { perm: { type: 'ints', min: 0 } },
  infer: (ctx) => {
    const x = ctx.input(0);
    const perm = permOf(ctx, x.dims.length);
    return [{ dims: perm.map((p) => x.dims[p]!), dtype: x.dtype }];
  },
  evaluate: (ctx) => [transposeValue(ctx.value(0)!, permOf(ctx, ctx.input(0).dims.length))],
  backward: (ctx) => {
    const r = ctx.dims(ctx.node.inputs[0]!).length;
    const perm = permOf(ctx, r);
    const inv = Array<number>(r);
    perm.forEach((p, i) => { inv[p] = i; });
    ctx.add(0, ctx.one('Transpose', [ctx.gy()!], { perm: inv }));
  },
});

registerOp({
  op: 'Concat', family: 'shape', inputs: [1, Infinity], outputs: [1, 1],
  attrs: { axis: { type: 'int', required: true } },
  infer: (ctx) => {
    const first = ctx.input(0);
    const r = first.dims.length;
    const a = ctx.axis(ctx.int('axis', 0), r, "attribute 'axis'");
    const out = [...first.dims];
    out[a] = 0;
    ctx.node.inputs.forEach((_, i) => {
      const s = ctx.input(i);
      if (s.dims.length !== r || s.dims.some((d, j) => j !== a && d !== first.dims[j])) ctx.fail('SHAPE_MISMATCH', `inputs ${ctx.node.inputs.map((__, k) => `[${ctx.input(k).dims.join(', ')}]`).join(', ')} do not concatenate on axis ${a}`, { axis: a });
      if (s.dtype !== first.dtype) ctx.fail('INVALID_MODEL', `input ${i} is ${s.dtype} but input 0 is ${first.dtype}`);
      out[a] += s.dims[a]!;
    });
    return [{ dims: out, dtype: first.dtype }];
  },
  evaluate: (ctx) => {
    const vals = ctx.node.inputs.map((_, i) => ctx.value(i)!);
    const r = vals[0]!.dims.length;
    const a = ctx.axis(ctx.int('axis', 0), r, "attribute 'axis'");
    const outDims = [...vals[0]!.dims];
    outDims[a] = vals.reduce((s, v) => s + v.dims[a]!, 0);
    const outer = sizeOfDims(outDims.slice(0, a));
    const data: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const v of vals) {
        const block = sizeOfDims(v.dims.slice(a));
        for (let k = 0; k < block; k++) data.push(v.data[o * block + k]!);
      }
    }
    return [makeValue(vals[0]!.dtype, outDims, data)];
  },
  backward: (ctx) => {
    const y = ctx.node.outputs[0]!;
    const r = ctx.dims(y).length;
    let a = ctx.int('axis', 0);
    if (a < 0) a += r;
    if (ctx.varies(y, a)) ctx.fail('UNSUPPORTED_OP', `Concat along axis ${a}, whose size changes with the batch, is not differentiated`);
    const sizes = ctx.node.inputs.map((i) => ctx.dims(i)[a]!);
    const parts = ctx.emit('Split', [ctx.gy()!, ctx.ints(sizes)], { axis: a }, ctx.node.inputs.length);
    ctx.node.inputs.forEach((_, i) => { if (ctx.active(i)) ctx.add(i, parts[i]!); });
  },
});

function splitSizes(ctx: InferContext): { axis: number; sizes: number[] } {
  const x = ctx.input(0).dims;
  const axis = ctx.axis(ctx.int('axis', 0), x.length, "attribute 'axis'");
  const count = ctx.node.outputs.length;
  let sizes: number[];
  if (ctx.has(1)) {
    sizes = intList(ctx, 1, 'split sizes');
    if (sizes.length !== count) ctx.fail('INVALID_MODEL', `has ${count} outputs but split sizes [${sizes}] name ${sizes.length}`, { split: sizes });
  } else {
    const parts = ctx.int('num_outputs', count);
    if (parts !== count) ctx.fail('INVALID_MODEL', `num_outputs ${parts} but ${count} outputs`);
    const chunk = Math.ceil(x[axis]! / parts);
    sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, x[axis]! - i * chunk)));
  }
  if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== x[axis]) {
    ctx.fail('INVALID_MODEL', `split sizes [${sizes}] do not add up to axis ${axis}'s size ${x[axis]} (input [${x.join(', ')}])`, { split: sizes });
  }
  return { axis, sizes };
}

registerOp({
  op: 'Split', family: 'shape', inputs: [1, 2], outputs: [1, Infinity], nondifferentiable: [1],
  attrs: { axis: { type: 'int' }, num_outputs: { type: 'int', min: 1 } },
  normalize: (n, _opset, addInit) => {
    if (n.attrs.split !== undefined) {
      n.inputs = [n.inputs[0]!, addInit('split', i64(readInts(n, 'split')!))];
      delete n.attrs.split;
    }
  },
  infer: (ctx) => {
    const x = ctx.input(0);
    const { axis, sizes } = splitSizes(ctx);
    return sizes.map((s) => ({ dims: x.dims.map((d, i) => (i === axis ? s : d)), dtype: x.dtype }));
  },
  backward: (ctx) => {
    const x = ctx.node.inputs[0]!;
    const r = ctx.dims(x).length;
    let a = ctx.int('axis', 0);
    if (a < 0) a += r;
    if (ctx.varies(x, a)) ctx.fail('UNSUPPORTED_OP', `Split along axis ${a}, whose size changes with the batch, is not differentiated`);
    const parts = ctx.node.outputs.map((o, i) => ctx.gy(i) ?? zerosLike(ctx, o));
    ctx.add(0, parts.length === 1 ? parts[0]! : ctx.one('Concat', parts, { axis: a }));
  },
});

interface SliceSpec { axes: number[]; starts: number[]; ends: number[]; steps: number[]; dims: number[] }

/** Slice's clamped starts/ends per ONNX (negative values count from the end; steps may be negative). */
function sliceSpec(x: number[], startsIn: number[], endsIn: number[], axesIn: number[] | undefined, stepsIn: number[] | undefined, fail: (m: string) => never): SliceSpec {
  const r = x.length;
  const axes = (axesIn ?? startsIn.map((_, i) => i)).map((a) => { if (a < -r || a >= r) fail(`axis ${a} is out of range for a rank-${r} input`); return a < 0 ? a + r : a; });
  const steps = stepsIn ?? axes.map(() => 1);
  if (startsIn.length !== axes.length || endsIn.length !== axes.length || steps.length !== axes.length) fail(`starts [${startsIn}], ends [${endsIn}], axes [${axes}] and steps [${steps}] differ in length`);
  if (steps.some((s) => s === 0)) fail(`steps [${steps}] contain 0`);
  const dims = [...x];
  const starts: number[] = [];
  const ends: number[] = [];
  axes.forEach((a, i) => {
    const d = x[a]!;
    const step = steps[i]!;
    let s = startsIn[i]!;
    let e = endsIn[i]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) { s = Math.min(d, Math.max(0, s)); e = Math.min(d, Math.max(0, e)); } else { s = Math.min(d - 1, Math.max(-1, s)); e = Math.min(d - 1, Math.max(-1, e)); }
    starts.push(s);
    ends.push(e);
    dims[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return { axes, starts, ends, steps, dims };
}

function inferSlice(ctx: InferContext): SliceSpec {
  const x = ctx.input(0).dims;
  return sliceSpec(x, intList(ctx, 1, 'starts'), intList(ctx, 2, 'ends'), ctx.has(3) ? intList(ctx, 3, 'axes') : undefined, ctx.has(4) ? intList(ctx, 4, 'steps') : undefined, (m) => ctx.fail('INVALID_MODEL', m));
}

registerOp({
  op: 'Slice', family: 'shape', inputs: [3, 5], outputs: [1, 1], nondifferentiable: [1, 2, 3, 4],
  normalize: (n, opset, addInit) => {
    if (opset >= 10) return;
    const starts = readInts(n, 'starts') ?? [];
    const ends = readInts(n, 'ends') ?? [];
    const axes = readInts(n, 'axes');
    n.inputs = [n.inputs[0]!, addInit('starts', i64(starts)), addInit('ends', i64(ends)), ...(axes ? [addInit('axes', i64(axes))] : [])];
    n.attrs = {};
  },
  infer: (ctx) => [{ dims: inferSlice(ctx).dims, dtype: ctx.input(0).dtype }],
  evaluate: (ctx) => {
    const v = ctx.value(0)!;
    const spec = inferSlice(ctx);
    const inS = stridesOf(v.dims);
    const outS = stridesOf(spec.dims);
    const n = sizeOfDims(spec.dims);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let rem = i;
      let src = 0;
      for (let d = 0; d < spec.dims.length; d++) {
        const c = Math.floor(rem / outS[d]!);
        rem -= c * outS[d]!;
        const k = spec.axes.indexOf(d);
        src += (k >= 0 ? spec.starts[k]! + c * spec.steps[k]! : c) * inS[d]!;
      }
      data[i] = v.data[src]!;
    }
    return [makeValue(v.dtype, spec.dims, data)];
  },
  backward: (ctx) => {
    const x = ctx.node.inputs[0]!;
    const xs = ctx.dims(x);
    const spec = sliceSpec(xs, constInts(ctx, 1, 'starts'), constInts(ctx, 2, 'ends'), ctx.node.inputs[3] ? constInts(ctx, 3, 'axes') : undefined, ctx.node.inputs[4] ? constInts(ctx, 4, 'steps') : undefined, (m) => ctx.fail('INVALID_MODEL', m));
    spec.axes.forEach((a, k) => {
      if (ctx.varies(x, a) && (spec.starts[k] !== 0 || spec.steps[k] !== 1 || spec.ends[k]! < xs[a]!)) ctx.fail('UNSUPPORTED_OP', `Slice along axis ${a}, whose size changes with the batch, is not differentiated (unless it keeps the whole axis)`);
    });
    ctx.add(0, spreadBack(ctx, ctx.gy()!, x, spec.axes.map((a, i) => ({ axis: a, positions: range(spec.starts[i]!, spec.dims[a]!, spec.steps[i]!) })).filter((p) => !ctx.varies(x, p.axis))));
  },
});

function range(start: number, count: number, step: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i * step);
}

/**
 * The adjoint of selecting `positions` along each axis: contiguous ascending positions are padded back with zeros;
 * any other selection (steps, reversals, repeated or scattered indices) is a MatMul with a one-hot matrix on that axis.
 */
function spreadBack(ctx: GradContext, gy: string, x: string, picks: { axis: number; positions: number[] }[]): string {
  const xs = ctx.dims(x);
  const r = xs.length;
  let g = gy;
  const pads = Array<number>(2 * r).fill(0);
  for (const { axis, positions } of picks) {
    const d = xs[axis]!;
    const contiguous = positions.every((p, i) => p === positions[0]! + i);
    if (contiguous && positions.length > 0) {
      pads[axis] = positions[0]!;
      pads[axis + r] = d - positions[0]! - positions.length;
      continue;
    }
    // One-hot [count, d]: g (axis moved last) · M, then the axis moved back.
    const m = new Float32Array(positions.length * d);
    positions.forEach((p, j) => { m[j * d + p] += 1; });
    const mat = ctx.tensor('select_onehot', new Tensor(m, [positions.length, d]));
    const perm = [...Array(r).keys()].filter((i) => i !== axis).concat([axis]);
    const inv = Array<number>(r);
    perm.forEach((p, i) => { inv[p] = i; });
    const last = axis === r - 1;
    const t = last ? g : ctx.one('Transpose', [g], { perm });
    const mm = ctx.one('MatMul', [t, mat]);
    g = last ? mm : ctx.one('Transpose', [mm], { perm: inv });
  }
  return pads.some((p) => p !== 0) ? ctx.one('Pad', [g, ctx.ints(pads)]) : g;
}

function gatherInfer(ctx: InferContext): TensorInfo[] {
  const x = ctx.input(0);
  const idx = ctx.input(1);
  if (idx.dtype !== 'int64' && idx.dtype !== 'int32') ctx.fail('INVALID_MODEL', `indices must be int64 or int32, they are ${idx.dtype}`);
  const a = ctx.axis(ctx.int('axis', 0), x.dims.length, "attribute 'axis'");
  const iv = ctx.value(1);
  if (iv) {
    const d = x.dims[a]!;
    const bad = Array.from(iv.data).find((v) => v < -d || v >= d);
    if (bad !== undefined) ctx.fail('INVALID_MODEL', `index ${bad} is out of range for axis ${a} of size ${d}`, { index: bad });
  }
  return [{ dims: [...x.dims.slice(0, a), ...idx.dims, ...x.dims.slice(a + 1)], dtype: x.dtype }];
}

registerOp({
  op: 'Gather', family: 'shape', inputs: [2, 2], outputs: [1, 1], nondifferentiable: [1],
  attrs: { axis: { type: 'int' } },
  infer: gatherInfer,
  evaluate: (ctx) => {
    const v = ctx.value(0)!;
    const iv = ctx.value(1)!;
    const a = ctx.axis(ctx.int('axis', 0), v.dims.length, "attribute 'axis'");
    const d = v.dims[a]!;
    const outer = sizeOfDims(v.dims.slice(0, a));
    const inner = sizeOfDims(v.dims.slice(a + 1));
    const data: number[] = [];
    for (let o = 0; o < outer; o++) {
      for (const raw of iv.data) {
        const k = raw < 0 ? raw + d : raw;
        for (let j = 0; j < inner; j++) data.push(v.data[(o * d + k) * inner + j]!);
      }
    }
    return [makeValue(v.dtype, [...v.dims.slice(0, a), ...iv.dims, ...v.dims.slice(a + 1)], data)];
  },
  backward: (ctx) => {
    const x = ctx.node.inputs[0]!;
    const xs = ctx.dims(x);
    const a = ((ctx.int('axis', 0) % xs.length) + xs.length) % xs.length;
    if (ctx.varies(x, a)) ctx.fail('UNSUPPORTED_OP', `Gather along axis ${a}, whose size changes with the batch, is not differentiated`);
    const idx = constInts(ctx, 1, 'indices').map((v) => (v < 0 ? v + xs[a]! : v));
    const idxDims = ctx.dims(ctx.node.inputs[1]!);
    // gy [pre, idx…, post] -> [pre, count, post], then spread back along the axis.
    // Dims before the axis keep their positions in gy (0 copies them); after it, one dim that changes with the batch
    // is inferred (-1).
    const pre = xs.slice(0, a).map((d, i) => (ctx.varies(x, i) ? 0 : d));
    const post = xs.slice(a + 1).map((d, i) => (ctx.varies(x, a + 1 + i) ? -1 : d));
    if (idxDims.length !== 1 && post.filter((d) => d === -1).length > 1) ctx.fail('UNSUPPORTED_OP', 'Gather with multi-dimensional indices before two batch-dependent dims is not differentiated');
    const g = idxDims.length === 1 ? ctx.gy()! : ctx.one('Reshape', [ctx.gy()!, ctx.ints([...pre, idx.length, ...post])]);
    ctx.add(0, spreadBack(ctx, g, x, [{ axis: a, positions: idx }]));
  },
});

registerOp({
  op: 'Expand', family: 'shape', inputs: [2, 2], outputs: [1, 1], nondifferentiable: [1],
  infer: (ctx) => {
    const x = ctx.input(0);
    const shape = intList(ctx, 1, 'target shape');
    const r = Math.max(x.dims.length, shape.length);
    const out: number[] = [];
    for (let i = 0; i < r; i++) {
      const a = x.dims[x.dims.length - r + i] ?? 1;
      const b = shape[shape.length - r + i] ?? 1;
      if (a !== b && a !== 1 && b !== 1) ctx.fail('SHAPE_MISMATCH', `cannot expand [${x.dims.join(', ')}] to [${shape.join(', ')}]`);
      out.push(a === 1 ? b : a);
    }
    return [{ dims: out, dtype: x.dtype }];
  },
  evaluate: (ctx) => {
    const v = ctx.value(0)!;
    const shape = numbers(ctx.value(1)!);
    const r = Math.max(v.dims.length, shape.length);
    const out = Array.from({ length: r }, (_, i) => { const a = v.dims[v.dims.length - r + i] ?? 1; const b = shape[shape.length - r + i] ?? 1; return a === 1 ? b : a; });
    const n = sizeOfDims(out);
    const outS = stridesOf(out);
    const inS = stridesOf(v.dims);
    const off = r - v.dims.length;
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let rem = i;
      let src = 0;
      for (let d = 0; d < r; d++) { const c = Math.floor(rem / outS[d]!); rem -= c * outS[d]!; if (d >= off && v.dims[d - off] !== 1) src += c * inS[d - off]!; }
      data[i] = v.data[src]!;
    }
    return [makeValue(v.dtype, out, data)];
  },
  backward: (ctx) => ctx.add(0, ctx.unbroadcast(ctx.gy()!, ctx.dims(ctx.node.outputs[0]!), ctx.node.inputs[0]!)),
});

registerOp({
  op: 'Tile', family: 'shape', inputs: [2, 2], outputs: [1, 1], nondifferentiable: [1],
  infer: (ctx) => {
    const x = ctx.input(0);
    const reps = intList(ctx, 1, 'repeats');
    if (reps.length !== x.dims.length || reps.some((v) => v < 0)) ctx.fail('INVALID_MODEL', `repeats [${reps}] must have one value ≥ 0 per axis of [${x.dims.join(', ')}]`);
    return [{ dims: x.dims.map((d, i) => d * reps[i]!), dtype: x.dtype }];
  },
  backward: (ctx) => {
    const x = ctx.node.inputs[0]!;
    const xs = ctx.dims(x);
    const reps = constInts(ctx, 1, 'repeats');
    const split: number[] = [];
    const sumAxes: number[] = [];
    xs.forEach((d, i) => {
      const v = ctx.varies(x, i);
      if (v && reps[i] !== 1) ctx.fail('UNSUPPORTED_OP', `Tile along axis ${i}, whose size changes with the batch, is not differentiated`);
      if (reps[i] !== 1) { sumAxes.push(split.length); split.push(reps[i]!); }
      // A batch-dependent dim: copied (0) while no repeat axis was inserted before it, else inferred (-1).
      split.push(v ? (split.length === i ? 0 : -1) : d);
    });
    if (split.filter((d) => d === -1).length > 1) ctx.fail('UNSUPPORTED_OP', 'Tile with two batch-dependent dims after a repeated axis is not differentiated');
    if (sumAxes.length === 0) { ctx.add(0, ctx.gy()!); return; }
    const r = ctx.one('Reshape', [ctx.gy()!, ctx.ints(split)]);
    ctx.add(0, ctx.one('ReduceSum', [r, ctx.ints(sumAxes)], { keepdims: 0 }));
  },
});

registerOp({
  op: 'Pad', family: 'shape', inputs: [1, 4], outputs: [1, 1], nondifferentiable: [1, 2, 3],
  attrs: { mode: { type: 'string', oneOf: ['constant', 'reflect', 'edge', 'wrap'] } },
  normalize: (n, opset, addInit) => {
    if (opset >= 11) return;
    const pads = readInts(n, 'pads') ?? readInts(n, 'paddings') ?? [];
    const value = Number((n.attrs.value as { value?: number } | undefined)?.value ?? n.attrs.value ?? 0);
    n.inputs = [n.inputs[0]!, addInit('pads', i64(pads)), addInit('value', new Tensor(Float32Array.of(value), []))];
    n.attrs = n.attrs.mode !== undefined ? { mode: n.attrs.mode } : {};
  },
  infer: (ctx) => {
    const x = ctx.input(0);
    const r = x.dims.length;
    const pads = intList(ctx, 1, 'pads');
    const axes = ctx.has(3) ? intList(ctx, 3, 'axes').map((a) => ctx.axis(a, r, 'axis')) : x.dims.map((_, i) => i);
    if (pads.length !== 2 * axes.length) ctx.fail('INVALID_MODEL', `pads [${pads}] need ${2 * axes.length} values for ${axes.length} axes`);
    const out = [...x.dims];
    axes.forEach((a, i) => { out[a] = x.dims[a]! + pads[i]! + pads[i + axes.length]!; });
    if (out.some((d) => d < 0)) ctx.fail('SHAPE_MISMATCH', `pads [${pads}] crop more than the input [${x.dims.join(', ')}] has`);
    return [{ dims: out, dtype: x.dtype }];
  },
  backward: (ctx) => {
    const mode = ctx.string('mode', 'constant');
    if (mode !== 'constant') ctx.fail('UNSUPPORTED_OP', `Pad mode '${mode}' is not differentiated (only 'constant' is)`, { attribute: 'mode' });
    const x = ctx.node.inputs[0]!;
    const xs = ctx.dims(x);
    const r = xs.length;
    const pads = constInts(ctx, 1, 'pads');
    const axes = ctx.node.inputs[3] ? constInts(ctx, 3, 'axes').map((a) => (a < 0 ? a + r : a)) : xs.map((_, i) => i);
    const k = axes.length;
    let g = ctx.gy()!;
    // Negative pads cropped x: pad the gradient back with zeros; positive pads added rows: slice them off.
    const neg = Array<number>(2 * r).fill(0);
    axes.forEach((a, i) => { neg[a] = Math.max(0, -pads[i]!); neg[a + r] = Math.max(0, -pads[i + k]!); });
    if (neg.some((p) => p > 0)) g = ctx.one('Pad', [g, ctx.ints(neg)]);
    const sliceAxes = axes.filter((_, i) => pads[i]! > 0 || pads[i + k]! > 0);
    if (sliceAxes.length > 0) {
      const starts = sliceAxes.map((a) => Math.max(0, pads[axes.indexOf(a)]!));
      const ends = sliceAxes.map((a) => { const e = pads[axes.indexOf(a) + k]!; return e > 0 ? -e : 2 ** 62; });
      g = ctx.one('Slice', [g, ctx.ints(starts), ctx.ints(ends), ctx.ints(sliceAxes)]);
    }
    ctx.add(0, g);
  },
});

function constantOfShapeValue(ctx: InferContext): { dtype: ElemType; fill: number } {
  const v = ctx.node.attrs.value;
  if (v === undefined) return { dtype: 'float32', fill: 0 };
  if (!(v instanceof Tensor) || v.size !== 1) return ctx.fail('INVALID_MODEL', "attribute 'value' must be a one-element tensor");
  const dtype = (ctx.node.attrs._valueType as ElemType | undefined) ?? (v.dtype === 'float32' ? 'float32' : v.dtype);
  return { dtype, fill: Number(v.data[0]) };
}

registerOp({
  op: 'ConstantOfShape', family: 'shape', inputs: [1, 1], outputs: [1, 1],
  attrs: { value: { type: 'tensor' } },
  infer: (ctx) => {
    const dims = intList(ctx, 0, 'shape');
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) ctx.fail('INVALID_MODEL', `shape [${dims}] has a negative or non-integer dim`);
    return [{ dims, dtype: constantOfShapeValue(ctx).dtype }];
  },
  evaluate: (ctx) => {
    const dims = numbers(ctx.value(0)!);
    const { dtype, fill } = constantOfShapeValue(ctx);
    return [makeValue(dtype, dims, new Float64Array(sizeOfDims(dims)).fill(fill))];
  },
});

registerOp({
  op: 'Range', family: 'shape', inputs: [3, 3], outputs: [1, 1],
  infer: (ctx) => {
    const [s, l, d] = [0, 1, 2].map((i) => ctx.requireValue(i, ['start', 'limit', 'delta'][i]!).data[0]!);
    if (d === 0) ctx.fail('INVALID_MODEL', 'delta is 0');
    const n = Math.max(0, Math.ceil((l! - s!) / d!));
    return [{ dims: [n], dtype: ctx.input(0).dtype }];
  },
  evaluate: (ctx) => {
    const [s, l, d] = [0, 1, 2].map((i) => ctx.value(i)!.data[0]!);
    const n = Math.max(0, Math.ceil((l! - s!) / d!));
    return [makeValue(ctx.input(0).dtype, [n], Array.from({ length: n }, (_, i) => s! + i * d!))];
  },
});

registerOp({
  op: 'ScatterND', family: 'shape', inputs: [3, 3], outputs: [1, 1], nondifferentiable: [1],
  attrs: { reduction: { type: 'string', oneOf: ['none', 'add', 'mul', 'max', 'min'] } },
  infer: (ctx) => {
    const x = ctx.input(0);
    const idx = ctx.input(1).dims;
    const k = idx[idx.length - 1]!;
    if (k > x.dims.length) ctx.fail('INVALID_MODEL', `indices [${idx.join(', ')}] address ${k} axes of a rank-${x.dims.length} input`);
    return [{ dims: [...x.dims], dtype: x.dtype }];
  },
  evaluate: (ctx) => {
    const v = ctx.value(0)!;
    const iv = ctx.value(1)!;
    const up = ctx.value(2)!;
    const k = iv.dims[iv.dims.length - 1]!;
    const strides = stridesOf(v.dims);
    const block = sizeOfDims(v.dims.slice(k));
    const out = Float64Array.from(v.data);
    const reduction = ctx.string('reduction', 'none');
    const count = iv.data.length / k;
    for (let j = 0; j < count; j++) {
      let off = 0;
      for (let a = 0; a < k; a++) {
        let i = iv.data[j * k + a]!;
        if (i < 0) i += v.dims[a]!;
        if (i < 0 || i >= v.dims[a]!) ctx.fail('INVALID_MODEL', `index ${iv.data[j * k + a]} is out of range for axis ${a} of size ${v.dims[a]}`);
        off += i * strides[a]!;
      }
      for (let e = 0; e < block; e++) {
        const u = up.data[j * block + e]!;
        const o = out[off + e]!;
        out[off + e] = reduction === 'add' ? o + u : reduction === 'mul' ? o * u : reduction === 'max' ? Math.max(o, u) : reduction === 'min' ? Math.min(o, u) : u;
      }
    }
    return [makeValue(v.dtype, [...v.dims], out)];
  },
});

registerOp({
  op: 'Identity', family: 'shape', inputs: [1, 1], outputs: [1, 1],
  infer: (ctx) => [{ ...ctx.input(0), dims: [...ctx.input(0).dims] }],
  evaluate: (ctx) => [ctx.value(0)!],
  backward: (ctx) => ctx.add(0, ctx.gy()!),
});

registerOp({
  op: 'Dropout', family: 'shape', rewrittenAs: 'Identity', inputs: [1, 3], outputs: [1, 2],
  attrs: { ratio: { type: 'float', min: 0, max: 1 }, seed: { type: 'int' } },
  ignoredAttrs: ['is_test', 'consumed_inputs'],
  // Inference: Dropout is the identity (its mask output, when present and used, becomes an all-true constant-shape).
  normalize: (n) => [{ op: 'Identity', name: n.name, inputs: [n.inputs[0]!], outputs: [n.outputs[0]!], attrs: {} }],
  infer: (ctx) => [{ ...ctx.input(0) }],
});

registerOp({
  op: 'Constant', family: 'shape', rewrittenAs: 'an initializer', inputs: [0, 0], outputs: [1, 1],
  attrs: { value: { type: 'tensor' }, value_float: { type: 'float', finite: false }, value_floats: { type: 'floats', finite: false }, value_int: { type: 'int' }, value_ints: { type: 'ints' } },
  infer: () => [],
});

export { floatTensor1, isFloatType, elemTypeOfCode, valueOfTensor };
