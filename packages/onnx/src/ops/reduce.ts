import { Tensor as TensorI64 } from '@whitebox/core';
import { makeValue, numbers, registerOp, sizeOfDims, stridesOf, type GradContext, type InferContext, type TensorInfo, type Value } from './registry.js';

/** Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare over axes, ArgMax/ArgMin. */

interface Reduction { axes: number[]; keepdims: boolean; noop: boolean }

function reductionOf(ctx: InferContext | GradContext, rank: number, valueOf: (i: number) => Value | undefined, has: (i: number) => boolean): Reduction {
  const keepdims = ctx.int('keepdims', 1) === 1;
  let axes = ctx.attrInts('axes');
  if (has(1)) {
    const v = valueOf(1);
    if (!v) ctx.fail('UNSUPPORTED_OP', `its axes (input 1, '${ctx.node.inputs[1]}') must be computable when the model is loaded`);
    axes = numbers(v!);
  }
  const noopEmpty = ctx.int('noop_with_empty_axes', 0) === 1;
  if (!axes || axes.length === 0) {
    if (noopEmpty) return { axes: [], keepdims, noop: true };
    axes = Array.from({ length: rank }, (_, i) => i);
  }
  const norm = axes.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) ctx.fail('INVALID_MODEL', `axis ${a} is out of range for a rank-${rank} input (valid: ${-rank} to ${rank - 1})`, { attribute: 'axes', value: a });
    return a < 0 ? a + rank : a;
  });
  if (new Set(norm).size !== norm.length) ctx.fail('INVALID_MODEL', `axes [${axes}] repeat an axis`, { attribute: 'axes' });
  return { axes: norm.sort((a, b) => a - b), keepdims, noop: false };
}

function reducedDims(dims: readonly number[], r: Reduction): number[] {
  if (r.noop) return [...dims];
  return r.keepdims ? dims.map((d, i) => (r.axes.includes(i) ? 1 : d)) : dims.filter((_, i) => !r.axes.includes(i));
}

function inferReduction(ctx: InferContext): Reduction {
  return reductionOf(ctx, ctx.input(0).dims.length, (i) => ctx.value(i), (i) => ctx.has(i));
}

function gradReduction(ctx: GradContext): Reduction {
  const rank = ctx.dims(ctx.node.inputs[0]!).length;
  return reductionOf(ctx, rank, (i) => {
    const t = ctx.constant(ctx.node.inputs[i]!);
    return t ? { dtype: 'int64', dims: [...t.dims], data: Float64Array.from(t.data as ArrayLike<number | bigint>, Number) } : undefined;
  }, (i) => !!ctx.node.inputs[i]);
}

/** Reduces a Value over axes with an accumulator. */
function reduceValue(v: Value, r: Reduction, init: number, step: (acc: number, x: number) => number, finish: (acc: number, count: number) => number): Value {
  const dims = v.dims;
  const outDims = dims.map((d, i) => (r.axes.includes(i) ? 1 : d));
  const n = sizeOfDims(outDims);
  const acc = new Float64Array(n).fill(init);
  const inStrides = stridesOf(dims);
  const outStrides = stridesOf(outDims);
  for (let i = 0; i < v.data.length; i++) {
    let rem = i;
    let o = 0;
    for (let d = 0; d < dims.length; d++) {
      const c = Math.floor(rem / inStrides[d]!);
      rem -= c * inStrides[d]!;
      if (!r.axes.includes(d)) o += c * outStrides[d]!;
    }
    acc[o] = step(acc[o]!, v.data[i]!);
  }
  const count = r.axes.reduce((a, d) => a * dims[d]!, 1);
  return makeValue(v.dtype, reducedDims(dims, r), Array.from(acc, (a) => finish(a, count)));
}

/** gy (reduced shape) broadcast back over the reduced axes to x's shape. */
function expandBack(ctx: GradContext, gy: string, x: string, r: Reduction): string {
  const g = r.keepdims || r.noop ? gy : ctx.one('Unsqueeze', [gy, ctx.ints(r.axes)]);
  return ctx.expandTo(g, ctx.node.outputs[0]!, x);
}

/**
 * Gradient of a max over `axes` routed to the FIRST maximum in row-major order (as MaxPool's Indices and
 * torch.amax/argmax pick it): the reduced axes are moved last and flattened, ArgMax picks the first maximum, and a
 * one-hot mask scatters gy there.
 */
export function firstMaxGrad(ctx: GradContext, x: string, gy: string, axes: readonly number[], keepdims: boolean, op: 'ArgMax' | 'ArgMin' = 'ArgMax'): string {
  const xs = ctx.dims(x);
  const rank = xs.length;
  const kept = xs.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const R = axes.reduce((a, d) => a * xs[d]!, 1);
  if (axes.some((a) => ctx.varies(x, a))) ctx.fail('UNSUPPORTED_OP', 'a max/min over an axis whose size changes with the batch is not differentiated');
  // Kept dims come first after the transpose, so dims that change with the batch are copied (0) in place.
  const keptDims = kept.map((i) => (ctx.varies(x, i) ? 0 : xs[i]!));
  const dyn = (d: number, pos: number) => (pos < kept.length && ctx.varies(x, kept[pos]!) ? 0 : d);
  const identity = perm.every((p, i) => p === i);
  const xt = identity ? x : ctx.one('Transpose', [x], { perm });
  const flat = ctx.one('Reshape', [xt, ctx.ints([...keptDims, R])]);
  const idx = ctx.one(op, [flat], { axis: -1, keepdims: 1, select_last_index: 0 });
  const range = ctx.tensor('argmax_range', new TensorI64(BigInt64Array.from({ length: R }, (_, i) => BigInt(i)), [R]));
  const mask = ctx.one('Cast', [ctx.one('Equal', [range, idx])], { to: 1 });
  // gy's dims are the kept dims (with 1s where reduced under keepdims): at most one batch-dependent dim is inferred.
  const gyDims = kept.map((i) => (ctx.varies(x, i) ? -1 : xs[i]!));
  if (gyDims.filter((d) => d === -1).length > 1) ctx.fail('UNSUPPORTED_OP', 'a max/min keeping two batch-dependent axes is not differentiated');
  const g = ctx.one('Reshape', [gy, ctx.ints([...gyDims, 1])]);
  const spread = ctx.one('Reshape', [ctx.one('Mul', [mask, g]), ctx.ints(perm.map((p, pos) => dyn(xs[p]!, pos)))]);
  void keepdims;
  if (identity) return spread;
  const inv = Array<number>(rank);
  perm.forEach((p, i) => { inv[p] = i; });
  return ctx.one('Transpose', [spread], { perm: inv });
}

function registerReduce(op: string, evalSpec: [number, (a: number, x: number) => number, (a: number, n: number) => number] | undefined, backward: ((ctx: GradContext, r: Reduction) => void) | undefined): void {
  registerOp({
    op, family: 'reduce', inputs: [1, 2], outputs: [1, 1], nondifferentiable: [1],
    attrs: { axes: { type: 'ints' }, keepdims: { type: 'int', oneOf: [0, 1] }, noop_with_empty_axes: { type: 'int', oneOf: [0, 1] } },
    // ReduceSum's axes became an input at opset 13 (the others' at 18): WhiteBox writes opset ≥ 17, so an older
    // ReduceSum is rewritten to the input form.
    normalize: (n, opset, addInit) => {
      if (op === 'ReduceSum' && opset < 13 && n.attrs.axes !== undefined) {
        const axes = (n.attrs.axes as number[]).map(Number);
        n.inputs = [n.inputs[0]!, addInit('axes', new TensorI64(BigInt64Array.from(axes.map((a) => BigInt(a))), [axes.length]))];
        delete n.attrs.axes;
      }
    },
    infer: (ctx): TensorInfo[] => {
      const x = ctx.input(0);
      return [{ dims: reducedDims(x.dims, inferReduction(ctx)), dtype: x.dtype }];
    },
    ...(evalSpec ? { evaluate: (ctx: InferContext) => { const r = inferReduction(ctx); const v = ctx.value(0)!; return [r.noop ? v : reduceValue(v, r, ...evalSpec)]; } } : {}),
    ...(backward ? {
      backward: (ctx: GradContext) => {
        const r = gradReduction(ctx);
        if (r.noop) { ctx.add(0, ctx.gy()!); return; }
        backward(ctx, r);
      },
    } : {}),
  });
}

registerReduce('ReduceSum', [0, (a, x) => a + x, (a) => a], (ctx, r) => ctx.add(0, expandBack(ctx, ctx.gy()!, ctx.node.inputs[0]!, r)));
registerReduce('ReduceMean', [0, (a, x) => a + x, (a, n) => Math.fround(a / n)], (ctx, r) => {
  const x = ctx.node.inputs[0]!;
  const count = r.axes.reduce((a, d) => a * ctx.dims(x)[d]!, 1);
  ctx.add(0, expandBack(ctx, ctx.one('Mul', [ctx.gy()!, ctx.scalar(1 / count)]), x, r));
});
for (const [op, arg] of [['ReduceMax', 'ArgMax'], ['ReduceMin', 'ArgMin']] as const) {
  registerReduce(op, [op === 'ReduceMax' ? -Infinity : Infinity, op === 'ReduceMax' ? Math.max : Math.min, (a) => a], (ctx, r) => {
    ctx.add(0, firstMaxGrad(ctx, ctx.node.inputs[0]!, ctx.gy()!, r.axes, r.keepdims, arg));
  });
}
registerReduce('ReduceProd', [1, (a, x) => a * x, (a) => a], undefined);
registerReduce('ReduceSumSquare', undefined, (ctx, r) => {
  const x = ctx.node.inputs[0]!;
  ctx.add(0, ctx.one('Mul', [expandBack(ctx, ctx.gy()!, x, r), ctx.one('Mul', [x, ctx.scalar(2)])]));
});
registerReduce('ReduceL1', undefined, (ctx, r) => {
  const x = ctx.node.inputs[0]!;
  ctx.add(0, ctx.one('Mul', [expandBack(ctx, ctx.gy()!, x, r), ctx.one('Sign', [x])]));
});
registerReduce('ReduceL2', undefined, (ctx, r) => {
  const x = ctx.node.inputs[0]!;
  const y = ctx.node.outputs[0]!;
  // d ||x|| / dx = x / ||x|| (0 where the norm is 0, as PyTorch's norm backward).
  const yb = expandBack(ctx, y, x, r);
  const ratio = ctx.one('Where', [ctx.one('Equal', [yb, ctx.scalar(0)]), ctx.scalar(0), ctx.one('Div', [x, yb])]);
  ctx.add(0, ctx.one('Mul', [expandBack(ctx, ctx.gy()!, x, r), ratio]));
});

for (const op of ['ArgMax', 'ArgMin'] as const) {
  registerOp({
    op, family: 'reduce', inputs: [1, 1], outputs: [1, 1],
    attrs: { axis: { type: 'int' }, keepdims: { type: 'int', oneOf: [0, 1] }, select_last_index: { type: 'int', oneOf: [0, 1] } },
    infer: (ctx) => {
      const x = ctx.input(0).dims;
      const a = ctx.axis(ctx.int('axis', 0), x.length, "attribute 'axis'");
      const keep = ctx.int('keepdims', 1) === 1;
      return [{ dims: keep ? x.map((d, i) => (i === a ? 1 : d)) : x.filter((_, i) => i !== a), dtype: 'int64' }];
    },
  });
}
