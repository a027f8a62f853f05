import { Tensor } from '@whitebox/core';
import { requireFloat } from './common.js';
import { readString, registerOp, type GradContext, type InferContext } from './registry.js';

/**
 * Resize (opset 10+) and Upsample (opset 7-9, rewritten to Resize): nearest, linear and cubic modes with every
 * coordinate transformation PyTorch and TensorFlow exporters emit. The backward is the exact adjoint of ONNX Runtime's
 * interpolation: per resized axis a constant interpolation matrix A [out, in] (y = A·x along that axis), so
 * dx = Aᵀ·dy as a MatMul; nearest upsampling by an integer factor becomes a reshape and a sum.
 */

const COORD_MODES = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'half_pixel_symmetric', 'tf_crop_and_resize'];

registerOp({
  op: 'Resize', family: 'resize', inputs: [1, 4], outputs: [1, 1], nondifferentiable: [1, 2, 3],
  attrs: {
    mode: { type: 'string', oneOf: ['nearest', 'linear', 'cubic'] },
    coordinate_transformation_mode: { type: 'string', oneOf: COORD_MODES },
    nearest_mode: { type: 'string', oneOf: ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] },
    cubic_coeff_a: { type: 'float' },
    exclude_outside: { type: 'int', oneOf: [0, 1] },
    extrapolation_value: { type: 'float' },
    antialias: { type: 'int', oneOf: [0, 1] },
    axes: { type: 'ints' },
    keep_aspect_ratio_policy: { type: 'string', oneOf: ['stretch', 'not_larger', 'not_smaller'] },
  },
  normalize: (n, opset) => {
    // Opset 10: Resize(X, scales), asymmetric coordinates, nearest rounds down (as Upsample).
    if (opset < 11) {
      n.inputs = [n.inputs[0]!, '', n.inputs[1]!];
      n.attrs.coordinate_transformation_mode = 'asymmetric';
      n.attrs.nearest_mode = 'floor';
    }
  },
  infer: (ctx) => {
    const x = requireFloat(ctx, 0).dims;
    const plan = resizePlan(ctx, x);
    return [{ dims: plan.out, dtype: 'float32' }];
  },
  backward: (ctx) => {
    const x = ctx.node.inputs[0]!;
    const xs = ctx.dims(x);
    const out = ctx.dims(ctx.node.outputs[0]!);
    const plan = resizePlan(ctx, xs, out);
    let g = ctx.gy()!;
    const r = xs.length;
    // The gradient's current dims: output dims, with each axis already handled back at its input size.
    const cur = [...out];
    for (let a = 0; a < r; a++) {
      if (xs[a] === out[a] && plan.scales[a] === 1) continue;
      if (ctx.varies(x, a)) ctx.fail('UNSUPPORTED_OP', `Resize along axis ${a}, whose size changes with the batch, is not differentiated`);
      const A = interpolationMatrix(ctx, xs[a]!, out[a]!, plan.scales[a]!);
      g = applyAdjoint(ctx, g, A, a, r, xs[a]!, out[a]!, x, cur);
      cur[a] = xs[a]!;
    }
    ctx.add(0, g);
  },
});

registerOp({
  op: 'Upsample', family: 'resize', rewrittenAs: 'Resize', inputs: [1, 2], outputs: [1, 1], nondifferentiable: [1],
  attrs: { mode: { type: 'string', oneOf: ['nearest', 'linear', 'bilinear'] }, scales: { type: 'floats', min: 0 } },
  normalize: (n, _opset, addInit) => {
    const mode = readString(n, 'mode', 'nearest');
    let scales = n.inputs[1];
    if (!scales) {
      const s = n.attrs.scales as { value?: number[] } | number[] | undefined;
      const values = Array.isArray(s) ? s : s?.value ?? [];
      scales = addInit('scales', new Tensor(Float32Array.from(values), [values.length]));
    }
    return [{
      op: 'Resize', name: n.name, inputs: [n.inputs[0]!, '', scales], outputs: [...n.outputs],
      attrs: { mode: mode === 'bilinear' ? 'linear' : mode, coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
    }];
  },
  infer: () => [],
});

interface Plan { out: number[]; scales: number[] }

function resizePlan(ctx: InferContext | GradContext, x: number[], known?: number[]): Plan {
  const r = x.length;
  const n = ctx.node;
  if (ctx.int('antialias', 0) === 1) ctx.fail('UNSUPPORTED_OP', 'antialias=1 is not supported', { attribute: 'antialias' });
  const coord = ctx.string('coordinate_transformation_mode', 'half_pixel');
  if (coord === 'tf_crop_and_resize' || coord === 'half_pixel_symmetric') ctx.fail('UNSUPPORTED_OP', `coordinate_transformation_mode '${coord}' is not supported`, { attribute: 'coordinate_transformation_mode' });
  if (ctx.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') ctx.fail('UNSUPPORTED_OP', "keep_aspect_ratio_policy other than 'stretch' is not supported");
  const axes = (ctx.attrInts('axes') ?? Array.from({ length: r }, (_, i) => i)).map((a) => (a < 0 ? a + r : a));
  const valueOf = (i: number): number[] | undefined => {
    if (!n.inputs[i]) return undefined;
    if ('requireValue' in ctx) return Array.from(ctx.requireValue(i, i === 2 ? 'scales' : 'sizes').data);
    const t = ctx.constant(n.inputs[i]!) ;
    if (t) return Array.from(t.data as ArrayLike<number | bigint>, Number);
    const v = ctx.info(n.inputs[i]!).value;
    return v ? Array.from(v.data) : undefined;
  };
  const scalesIn = valueOf(2);
  const sizesIn = valueOf(3);
  const scales = Array<number>(r).fill(1);
  const out = [...x];
  if (sizesIn && sizesIn.length > 0) {
    if (sizesIn.length !== axes.length) ctx.fail('INVALID_MODEL', `sizes [${sizesIn}] need ${axes.length} values`);
    axes.forEach((a, i) => { out[a] = sizesIn[i]!; scales[a] = sizesIn[i]! / x[a]!; });
  } else if (scalesIn && scalesIn.length > 0) {
    if (scalesIn.length !== axes.length) ctx.fail('INVALID_MODEL', `scales [${scalesIn}] need ${axes.length} values for the input [${x.join(', ')}]`);
    axes.forEach((a, i) => {
      const s = scalesIn[i]!;
      if (!(s > 0) || !Number.isFinite(s)) ctx.fail('INVALID_MODEL', `scale ${s} for axis ${a} must be a finite number > 0`, { scales: scalesIn });
      scales[a] = s;
      out[a] = Math.floor(x[a]! * s);
    });
  } else if (!known) ctx.fail('INVALID_MODEL', 'needs scales or sizes');
  if (known) return { out: known, scales: scales.map((s, i) => (sizesIn && sizesIn.length ? known[i]! / x[i]! : s)) };
  if (out.some((d) => d < 1)) ctx.fail('SHAPE_MISMATCH', `would produce an empty output [${out.join(', ')}] from [${x.join(', ')}]`);
  return { out, scales };
}

/** Source coordinate of output index o along one axis (ONNX Resize's coordinate_transformation_mode). */
function sourceCoord(mode: string, o: number, inDim: number, outDim: number, scale: number): number {
  switch (mode) {
    case 'asymmetric': return o / scale;
    case 'align_corners': return outDim === 1 ? 0 : (o * (inDim - 1)) / (outDim - 1);
    case 'pytorch_half_pixel': return outDim > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case 'tf_half_pixel_for_nn': return (o + 0.5) / scale;
    default: return (o + 0.5) / scale - 0.5; // half_pixel
  }
}

function nearestIndex(mode: string, x: number, scale: number): number {
  switch (mode) {
    case 'floor': return Math.floor(x);
    case 'ceil': return Math.ceil(x);
    case 'round_prefer_ceil': return Math.round(x);
    default: // round_prefer_floor; downsampling rounds like ceil in ONNX Runtime's "simple" mode is not used here
      void scale;
      return x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
  }
}

function cubicWeights(t: number, a: number): number[] {
  const w = (d: number) => {
    const x = Math.abs(d);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
  };
  return [w(t + 1), w(t), w(1 - t), w(2 - t)];
}

/** A [out, in] with y[o] = Σ_i A[o, i] x[i] along one axis, as ONNX Runtime interpolates. */
function interpolationMatrix(ctx: GradContext, inDim: number, outDim: number, scale: number): Float32Array {
  const mode = ctx.string('mode', 'nearest');
  const coord = ctx.string('coordinate_transformation_mode', 'half_pixel');
  const A = new Float32Array(outDim * inDim);
  for (let o = 0; o < outDim; o++) {
    const src = sourceCoord(coord, o, inDim, outDim, scale);
    if (mode === 'nearest') {
      const i = Math.min(inDim - 1, Math.max(0, nearestIndex(ctx.string('nearest_mode', 'round_prefer_floor'), src, scale)));
      A[o * inDim + i] = 1;
    } else if (mode === 'linear') {
      const s = Math.min(inDim - 1, Math.max(0, src));
      const i0 = Math.floor(s);
      const i1 = Math.min(inDim - 1, i0 + 1);
      const t = s - i0;
      A[o * inDim + i0] += 1 - t;
      A[o * inDim + i1] += t;
    } else {
      const i0 = Math.floor(src);
      const t = src - i0;
      const w = cubicWeights(t, ctx.float('cubic_coeff_a', -0.75));
      const exclude = ctx.int('exclude_outside', 0) === 1;
      let sum = 0;
      const idx = [-1, 0, 1, 2].map((k) => i0 + k);
      if (exclude) idx.forEach((i, k) => { if (i < 0 || i >= inDim) w[k] = 0; sum += w[k]!; });
      idx.forEach((i, k) => {
        const c = Math.min(inDim - 1, Math.max(0, i));
        A[o * inDim + c] += exclude ? w[k]! / sum : w[k]!;
      });
    }
  }
  return A;
}

/** dx along axis a: Aᵀ·dy (a MatMul, or a reshape + sum for integer nearest upsampling). */
function applyAdjoint(ctx: GradContext, g: string, A: Float32Array, a: number, r: number, inDim: number, outDim: number, x: string, cur: readonly number[]): string {
  const k = outDim / inDim;
  if (Number.isInteger(k) && k > 1) {
    let block = true;
    for (let o = 0; o < outDim && block; o++) if (A[o * inDim + Math.floor(o / k)] !== 1) block = false;
    const after = cur.map((_, i) => i > a && ctx.varies(x, i)).filter(Boolean).length;
    if (block && after <= 1) {
      // y[o] = x[floor(o / k)]: split the axis into (in, k) and sum the k copies. Dims that change with the batch are
      // copied (0) before the split axis, inferred (-1) after it.
      const dims = cur.map((d, i) => (ctx.varies(x, i) ? (i < a ? 0 : -1) : d));
      const split = [...dims.slice(0, a), inDim, k, ...dims.slice(a + 1)];
      return ctx.one('ReduceSum', [ctx.one('Reshape', [g, ctx.ints(split)]), ctx.ints([a + 1])], { keepdims: 0 });
    }
  }
  if (a === r - 1) return ctx.one('MatMul', [g, ctx.tensor('resize_A', new Tensor(A, [outDim, inDim]))]);
  const At = new Float32Array(inDim * outDim);
  for (let o = 0; o < outDim; o++) for (let i = 0; i < inDim; i++) At[i * outDim + o] = A[o * inDim + i]!;
  const mat = ctx.tensor('resize_At', new Tensor(At, [inDim, outDim]));
  if (a === r - 2) return ctx.one('MatMul', [mat, g]);
  const perm = [...Array(r).keys()].filter((i) => i !== a).concat([a]);
  const inv = Array<number>(r);
  perm.forEach((p, i) => { inv[p] = i; });
  const mm = ctx.one('MatMul', [ctx.one('Transpose', [g], { perm }), ctx.tensor('resize_A', new Tensor(A, [outDim, inDim]))]);
  return ctx.one('Transpose', [mm], { perm: inv });
}
