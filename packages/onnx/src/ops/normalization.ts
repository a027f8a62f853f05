import { Tensor } from '@whitebox/core';
import { requireFloat } from './common.js';
import { registerOp, type GradContext, type InferContext, type TensorInfo } from './registry.js';

/** Normalizations in inference form: BatchNormalization, LayerNormalization, InstanceNormalization, GroupNormalization. */

const EPS = { epsilon: { type: 'float', min: 0 } } as const;

function checkPerChannel(ctx: InferContext, indices: readonly number[], c: number, what: string): void {
  for (const i of indices) {
    if (!ctx.has(i)) continue;
    const d = ctx.input(i).dims;
    if (d.length !== 1 || d[0] !== c) ctx.fail('SHAPE_MISMATCH', `input ${i} ('${ctx.node.inputs[i]}') has shape [${d.join(', ')}]; ${what} needs [${c}]`, { input: i, shape: d });
  }
}

registerOp({
  op: 'BatchNormalization', family: 'normalization', inputs: [5, 5], outputs: [1, 5], nondifferentiable: [1, 2, 3, 4],
  attrs: { ...EPS, momentum: { type: 'float' }, training_mode: { type: 'int', oneOf: [0] } },
  ignoredAttrs: ['spatial', 'is_test', 'consumed_inputs'],
  normalize: (n) => {
    delete n.attrs.spatial; delete n.attrs.is_test; delete n.attrs.consumed_inputs;
    if (n.attrs.training_mode === 0) delete n.attrs.training_mode;
    if (n.outputs.length > 1) n.outputs = [n.outputs[0]!];
  },
  infer: (ctx): TensorInfo[] => {
    const x = requireFloat(ctx, 0).dims;
    if (x.length < 2) ctx.fail('SHAPE_MISMATCH', `expects [N, C, …], got [${x.join(', ')}]`);
    checkPerChannel(ctx, [1, 2, 3, 4], x[1]!, 'a per-channel parameter');
    const v = ctx.value(4);
    const eps = ctx.float('epsilon', 1e-5);
    if (v) {
      const bad = Array.from(v.data).findIndex((s) => !(s + eps > 0));
      if (bad >= 0) ctx.fail('INVALID_MODEL', `variance + epsilon is ${v.data[bad]! + eps} for channel ${bad} (variance '${ctx.node.inputs[4]}' ${v.data[bad]}, epsilon ${eps}); it must be > 0`, { channel: bad });
    }
    return [{ dims: [...x], dtype: 'float32' }];
  },
  backward: (ctx) => {
    const n = ctx.node;
    const x = n.inputs[0]!;
    const eps = ctx.float('epsilon', 1e-5);
    const rank = ctx.dims(x).length;
    const c = ctx.dims(x)[1]!;
    const bshape = [c, ...Array(rank - 2).fill(1)];
    const gamma = ctx.constant(n.inputs[1]!);
    const variance = ctx.constant(n.inputs[4]!);
    let scale: string;
    if (gamma && variance) {
      const s = new Float32Array(c);
      for (let i = 0; i < c; i++) s[i] = Number(gamma.data[i]) / Math.sqrt(Number(variance.data[i]) + eps);
      scale = ctx.tensor('bn_scale', new Tensor(s, bshape));
    } else {
      const s = ctx.one('Div', [n.inputs[1]!, ctx.one('Sqrt', [ctx.one('Add', [n.inputs[4]!, ctx.scalar(eps)])])]);
      scale = ctx.one('Reshape', [s, ctx.ints(bshape)]);
    }
    ctx.add(0, ctx.one('Mul', [ctx.gy()!, scale]));
  },
});

/** Mean over axes with keepdims, as ReduceSum × 1/count (one form at every opset). */
function meanOver(ctx: GradContext, t: string, axes: readonly number[], count: number): string {
  return ctx.one('Mul', [ctx.one('ReduceSum', [t, ctx.ints(axes)], { keepdims: 1 }), ctx.scalar(1 / count)]);
}

/**
 * dx of y = γ·x̂ + β, x̂ = (x - μ)·r over `axes`: r·(g' - mean(g') - x̂·mean(g'·x̂)), g' = gy·γ.
 */
function normBackward(ctx: GradContext, xhat: string, r: string, gp: string, axes: readonly number[], count: number): string {
  const m1 = meanOver(ctx, gp, axes, count);
  const m2 = meanOver(ctx, ctx.one('Mul', [gp, xhat]), axes, count);
  return ctx.one('Mul', [r, ctx.one('Sub', [ctx.one('Sub', [gp, m1]), ctx.one('Mul', [xhat, m2])])]);
}

/** μ and r = 1/sqrt(var + eps) of x over axes (keepdims), recomputed in the gradient graph. */
function moments(ctx: GradContext, x: string, axes: readonly number[], count: number, eps: number): { xhat: string; r: string } {
  const mu = meanOver(ctx, x, axes, count);
  const centered = ctx.one('Sub', [x, mu]);
  const variance = meanOver(ctx, ctx.one('Mul', [centered, centered]), axes, count);
  const r = ctx.one('Reciprocal', [ctx.one('Sqrt', [ctx.one('Add', [variance, ctx.scalar(eps)])])]);
  return { xhat: ctx.one('Mul', [centered, r]), r };
}

function denyParams(ctx: GradContext): void {
  for (let i = 1; i < ctx.node.inputs.length; i++) {
    if (ctx.active(i)) ctx.fail('UNSUPPORTED_OP', `the gradient with respect to its parameter input ${i} ('${ctx.node.inputs[i]}') is not supported`);
  }
}

registerOp({
  op: 'LayerNormalization', family: 'normalization', inputs: [2, 3], outputs: [1, 3], nondifferentiable: [1, 2],
  attrs: { ...EPS, axis: { type: 'int' }, stash_type: { type: 'int', oneOf: [1] } },
  infer: (ctx) => {
    const x = requireFloat(ctx, 0).dims;
    const a = ctx.axis(ctx.int('axis', -1), x.length, "attribute 'axis'");
    const norm = x.slice(a);
    for (const i of [1, 2]) {
      if (!ctx.has(i)) continue;
      const d = ctx.input(i).dims;
      if (d.length > norm.length || d.some((v, j) => v !== 1 && v !== norm[norm.length - d.length + j])) ctx.fail('SHAPE_MISMATCH', `${i === 1 ? 'scale' : 'bias'} [${d.join(', ')}] does not broadcast over the normalized axes [${norm.join(', ')}]`);
    }
    const stat = x.map((d, i) => (i < a ? d : 1));
    return [{ dims: [...x], dtype: 'float32' }, { dims: stat, dtype: 'float32' }, { dims: stat, dtype: 'float32' }];
  },
  backward: (ctx) => {
    denyParams(ctx);
    const x = ctx.node.inputs[0]!;
    const xs = ctx.dims(x);
    const a = ((ctx.int('axis', -1) % xs.length) + xs.length) % xs.length;
    const axes = xs.map((_, i) => i).filter((i) => i >= a);
    const count = axes.reduce((p, d) => p * xs[d]!, 1);
    const mean = ctx.forwardOutput(1, `${ctx.node.name}_mean`);
    const r = ctx.forwardOutput(2, `${ctx.node.name}_invstd`);
    const xhat = ctx.one('Mul', [ctx.one('Sub', [x, mean]), r]);
    const gp = ctx.one('Mul', [ctx.gy()!, ctx.node.inputs[1]!]);
    ctx.add(0, normBackward(ctx, xhat, r, gp, axes, count));
  },
});

registerOp({
  op: 'InstanceNormalization', family: 'normalization', inputs: [3, 3], outputs: [1, 1], nondifferentiable: [1, 2],
  attrs: { ...EPS },
  infer: (ctx) => {
    const x = requireFloat(ctx, 0).dims;
    if (x.length < 3) ctx.fail('SHAPE_MISMATCH', `expects [N, C, spatial…], got [${x.join(', ')}]`);
    checkPerChannel(ctx, [1, 2], x[1]!, 'a per-channel parameter');
    return [{ dims: [...x], dtype: 'float32' }];
  },
  backward: (ctx) => {
    denyParams(ctx);
    const x = ctx.node.inputs[0]!;
    const xs = ctx.dims(x);
    const axes = xs.map((_, i) => i).filter((i) => i >= 2);
    const count = axes.reduce((p, d) => p * xs[d]!, 1);
    const { xhat, r } = moments(ctx, x, axes, count, ctx.float('epsilon', 1e-5));
    const gamma = ctx.one('Reshape', [ctx.node.inputs[1]!, ctx.ints([xs[1]!, ...axes.map(() => 1)])]);
    ctx.add(0, normBackward(ctx, xhat, r, ctx.one('Mul', [ctx.gy()!, gamma]), axes, count));
  },
});

registerOp({
  op: 'GroupNormalization', family: 'normalization', inputs: [3, 3], outputs: [1, 1], nondifferentiable: [1, 2],
  attrs: { ...EPS, num_groups: { type: 'int', min: 1, required: true }, stash_type: { type: 'int', oneOf: [1] } },
  infer: (ctx) => {
    const x = requireFloat(ctx, 0).dims;
    if (x.length < 3) ctx.fail('SHAPE_MISMATCH', `expects [N, C, spatial…], got [${x.join(', ')}]`);
    const g = ctx.int('num_groups', 1);
    if (x[1]! % g !== 0) ctx.fail('INVALID_MODEL', `${x[1]} channels are not divisible by num_groups ${g}`, { attribute: 'num_groups' });
    const per = ctx.input(1).dims[0];
    if (per !== g && per !== x[1]) ctx.fail('SHAPE_MISMATCH', `scale has ${per} values; it needs num_groups (${g}, opset 18) or channels (${x[1]}, opset 21)`);
    return [{ dims: [...x], dtype: 'float32' }];
  },
  backward: (ctx) => {
    denyParams(ctx);
    const x = ctx.node.inputs[0]!;
    const xs = ctx.dims(x);
    const G = ctx.int('num_groups', 1);
    const C = xs[1]!;
    const spatial = xs.slice(2);
    const per = (C / G) * spatial.reduce((a, b) => a * b, 1);
    const batch0 = ctx.batchDependent(x) === 'dim0' ? 0 : xs[0]!;
    const xr = ctx.one('Reshape', [x, ctx.ints([batch0, G, per])]);
    const { xhat, r } = moments(ctx, xr, [2], per, ctx.float('epsilon', 1e-5));
    const scale = ctx.node.inputs[1]!;
    const scaleDims = ctx.dims(scale)[0] === C && C !== G
      ? ctx.one('Reshape', [scale, ctx.ints([C, ...spatial.map(() => 1)])])
      : ctx.one('Reshape', [ctx.one('Expand', [ctx.one('Reshape', [scale, ctx.ints([G, 1])]), ctx.ints([G, C / G])]), ctx.ints([C, ...spatial.map(() => 1)])]);
    const gp = ctx.one('Reshape', [ctx.one('Mul', [ctx.gy()!, scaleDims]), ctx.ints([batch0, G, per])]);
    ctx.add(0, ctx.reshapeLike(normBackward(ctx, xhat, r, gp, [2], per), x));
  },
});
