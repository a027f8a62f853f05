import { Tensor } from '@whitebox/core';
import { reluBackward } from './activation.js';
import { SPATIAL_ATTRS, floatTensor1, requireFloat, spatialAttrs, spatialOut, type SpatialAttrs } from './common.js';
import { firstMaxGrad } from './reduce.js';
import { readInt, readInts, registerOp, type GradContext, type InferContext, type TensorInfo } from './registry.js';

/** Pools: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool. */

function poolInfer(ctx: InferContext): TensorInfo[] {
  const x = requireFloat(ctx, 0).dims;
  if (x.length < 3) ctx.fail('SHAPE_MISMATCH', `expects an input of rank ≥ 3 ([N, C, spatial…]), got [${x.join(', ')}]`, { shape: x });
  const kernel = ctx.attrInts('kernel_shape')!;
  if (kernel.length !== x.length - 2) ctx.fail('INVALID_MODEL', `kernel_shape [${kernel}] does not match the ${x.length - 2} spatial axes of the input [${x.join(', ')}]`, { attribute: 'kernel_shape' });
  const sa = spatialAttrs(ctx.node, x, kernel, ctx.graph);
  for (let i = 0; i < kernel.length; i++) {
    if (sa.pads[i]! >= kernel[i]! * sa.dilations[i]! || sa.pads[i + kernel.length]! >= kernel[i]! * sa.dilations[i]!) ctx.fail('INVALID_MODEL', `pads [${sa.pads}] must be smaller than the kernel [${kernel}]`, { attribute: 'pads' });
  }
  const out = [x[0]!, x[1]!, ...kernel.map((k, i) => spatialOut(x[2 + i]!, k, sa.strides[i]!, sa.dilations[i]!, sa.pads[i]!, sa.pads[i + kernel.length]!, sa.ceil))];
  if (out.some((o) => o < 1)) ctx.fail('SHAPE_MISMATCH', `the ${kernel.join('×')} window does not fit the input [${x.join(', ')}] (pads [${sa.pads}])`, { shape: x });
  return ctx.node.outputs.length > 1 && ctx.node.outputs[1] ? [{ dims: out, dtype: 'float32' }, { dims: out, dtype: 'int64' }] : [{ dims: out, dtype: 'float32' }];
}

const POOL_ATTRS = { ...SPATIAL_ATTRS, kernel_shape: { type: 'ints', min: 1, required: true }, ceil_mode: { type: 'int', oneOf: [0, 1] } } as const;

registerOp({
  op: 'MaxPool', family: 'pool', inputs: [1, 1], outputs: [1, 2],
  attrs: { ...POOL_ATTRS, storage_order: { type: 'int', oneOf: [0, 1] } },
  infer: poolInfer,
  backward: maxPoolGrad,
});

registerOp({
  op: 'AveragePool', family: 'pool', inputs: [1, 1], outputs: [1, 1],
  attrs: { ...POOL_ATTRS, count_include_pad: { type: 'int', oneOf: [0, 1] } },
  infer: poolInfer,
  backward: (ctx) => ctx.add(0, avgPoolGrad(ctx)),
});

function globalInfer(ctx: InferContext): TensorInfo[] {
  const x = requireFloat(ctx, 0).dims;
  if (x.length < 3) ctx.fail('SHAPE_MISMATCH', `expects an input of rank ≥ 3 ([N, C, spatial…]), got [${x.join(', ')}]`, { shape: x });
  return [{ dims: [x[0]!, x[1]!, ...x.slice(2).map(() => 1)], dtype: 'float32' }];
}

/**
 * The largest H·W whose GlobalAveragePool backward is a spreading conv under blockedLayout. The conv's kernel walks
 * all H·W taps for every output pixel, padding included, so its cost grows as (H·W)²: fine for a classifier's final
 * 7×7 map, far too slow for the squeeze-excitation pools of EfficientNet or MobileNetV3 at 56×56–112×112. Those keep
 * the Expand. Only after a Relu, whose blocked mask comes next; after SiLU and the like, which have no blocked kernel,
 * the Expand is as good.
 */
const GAP_SPREAD_MAX_WINDOW = 64;

registerOp({
  op: 'GlobalAveragePool', family: 'pool', inputs: [1, 1], outputs: [1, 1],
  infer: globalInfer,
  backward: (ctx) => {
    const x = ctx.node.inputs[0]!;
    const s = ctx.dims(x);
    const inv = 1 / s.slice(2).reduce((a, b) => a * b, 1);
    if (ctx.blockedLayout && s.length === 4 && s[2]! * s[3]! <= GAP_SPREAD_MAX_WINDOW && ctx.producer(x)?.op === 'Relu') {
      // A depthwise H×W conv of the [N, C, 1, 1] gradient padded by H−1, W−1: every output pixel sees the one input
      // pixel through one weight 1/(H·W). ONNX Runtime runs it in the NCHWc layout (Expand has no blocked kernel).
      const [, c, h, w] = s as [number, number, number, number];
      const k = ctx.tensor('gap_spread', new Tensor(new Float32Array(c * h * w).fill(inv), [c, 1, h, w]));
      ctx.add(0, ctx.one('Conv', [ctx.gy()!, k], { group: c, kernel_shape: [h, w], pads: [h - 1, w - 1, h - 1, w - 1] }));
      return;
    }
    const scaled = ctx.one('Mul', [ctx.gy()!, ctx.scalar(inv)]);
    ctx.add(0, ctx.expandTo(scaled, ctx.node.outputs[0]!, x));
  },
});

registerOp({
  op: 'GlobalMaxPool', family: 'pool', inputs: [1, 1], outputs: [1, 1],
  infer: globalInfer,
  backward: (ctx) => {
    const x = ctx.node.inputs[0]!;
    const axes = ctx.dims(x).slice(2).map((_, i) => i + 2);
    ctx.add(0, firstMaxGrad(ctx, x, ctx.gy()!, axes, true));
  },
});

/** Number of window positions p = o·s - pb + k·d (k < K) inside [lo, hi), per output index o. */
function windowCounts(outDim: number, K: number, s: number, d: number, pb: number, lo: number, hi: number): Float32Array {
  const c = new Float32Array(outDim);
  for (let o = 0; o < outDim; o++) {
    let n = 0;
    for (let k = 0; k < K; k++) { const p = o * s - pb + k * d; if (p >= lo && p < hi) n++; }
    c[o] = n;
  }
  return c;
}

/** d AveragePool / d x: gy scaled by 1/divisor per window, spread back with a ones ConvTranspose (any ceil_mode, pads). */
function avgPoolGrad(ctx: GradContext): string {
  const n = ctx.node;
  const x = n.inputs[0]!;
  const xs = ctx.dims(x);
  const ys = ctx.dims(n.outputs[0]!);
  const kernel = readInts(n, 'kernel_shape')!;
  const sa: SpatialAttrs = spatialAttrs(n, xs, kernel, ctx.graph);
  const s = kernel.length;
  const includePad = readInt(n, 'count_include_pad', 0) === 1;
  // Divisor per output position = product over axes of the window positions counted (inside the input, or inside the
  // padded input with count_include_pad), so 1/divisor is an outer product of per-axis vectors: one Mul per axis.
  let scaled = ctx.gy()!;
  const uniform = kernel.reduce((a, b) => a * b, 1);
  let allUniform = true;
  const perAxis: Float32Array[] = [];
  for (let d = 0; d < s; d++) {
    const lo = includePad ? -sa.pads[d]! : 0;
    const hi = includePad ? xs[2 + d]! + sa.pads[d + s]! : xs[2 + d]!;
    const c = windowCounts(ys[2 + d]!, kernel[d]!, sa.strides[d]!, sa.dilations[d]!, sa.pads[d]!, lo, hi);
    if (c.some((v) => v !== kernel[d])) allUniform = false;
    if (c.some((v) => v === 0)) ctx.fail('UNSUPPORTED_OP', 'an averaging window lies entirely in the padding');
    perAxis.push(c);
  }
  if (allUniform) scaled = ctx.one('Mul', [scaled, ctx.scalar(1 / uniform)]);
  else {
    perAxis.forEach((c, d) => {
      const dims = [1, 1, ...Array(s).fill(1)];
      dims[2 + d] = c.length;
      scaled = ctx.one('Mul', [scaled, ctx.tensor('avgpool_inv', new Tensor(c.map((v) => 1 / v), dims))]);
    });
  }
  const c = xs[1]!;
  const ones = ctx.tensor('avgpool_ones', new Tensor(new Float32Array(c * uniform).fill(1), [c, 1, ...kernel]));
  // ConvTranspose reproduces the input size through output_padding; ceil_mode windows past the padded end are cropped
  // with extra end pads instead.
  const pads = [...sa.pads];
  const outPad = kernel.map((k, i) => {
    const p = xs[2 + i]! - (sa.strides[i]! * (ys[2 + i]! - 1) + (k - 1) * sa.dilations[i]! + 1 - sa.pads[i]! - sa.pads[i + s]!);
    if (p < 0) { pads[i + s] = pads[i + s]! - p; return 0; }
    return p;
  });
  if (outPad.some((p, i) => p >= Math.max(sa.strides[i]!, sa.dilations[i]!))) {
    // A remainder larger than the stride (floor mode dropping input rows): pad the result instead.
    const t = ctx.one('ConvTranspose', [scaled, ones], { strides: sa.strides, pads, dilations: sa.dilations, group: c, kernel_shape: kernel });
    return ctx.one('Pad', [t, ctx.ints([0, 0, ...Array(s).fill(0), 0, 0, ...outPad])]);
  }
  return ctx.one('ConvTranspose', [scaled, ones], { strides: sa.strides, pads, dilations: sa.dilations, group: c, kernel_shape: kernel, output_padding: outPad });
}

function maxPoolGrad(ctx: GradContext): void {
  const n = ctx.node;
  const gy = ctx.gy()!;
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = ctx.dims(x);
  const ys = ctx.dims(y);
  const kernel = readInts(n, 'kernel_shape')!;
  const sa = spatialAttrs(n, xs, kernel, ctx.graph);
  const relu = ctx.producer(x);
  const storage = readInt(n, 'storage_order', 0) === 1;
  const nonOverlapping = sa.pads.every((p) => p === 0) && sa.dilations.every((d) => d === 1) && kernel.every((k, i) => k === sa.strides[i]) && !storage;
  // A ReLU whose only consumer is this pool (and whose output is not a requested layer): its backward rule runs at the
  // pooled resolution, since every position that receives a gradient holds its window's max, so [x > 0] = [max > 0].
  const fuseRelu = !!relu && relu.op === 'Relu' && ctx.consumers(x).length === 1 && !ctx.layers.includes(x) && nonOverlapping;
  let g = gy;
  if (fuseRelu) g = reluBackward(ctx, gy, y);
  const target = fuseRelu ? relu!.inputs[0]! : x;
  if (fuseRelu) ctx.markDone(relu!);
  const add = (grad: string) => ctx.addTo(target, grad);
  const [ho, wo] = [ys[2]!, ys[3]!];
  const square = kernel.length === 2 && kernel[0] === kernel[1] && nonOverlapping && ho * kernel[0]! <= xs[2]! && wo * kernel[0]! <= xs[3]!;
  const k = kernel[0]!;
  const cropped = square && (ho * k !== xs[2] || wo * k !== xs[3]);
  const crop = (t: string) => (cropped ? ctx.one('Slice', [t, ctx.ints([0, 0]), ctx.ints([ho * k, wo * k]), ctx.ints([2, 3])]) : t);
  if (square && ctx.maxPoolBackward === 'mask' && fuseRelu && ctx.rule !== 'deconvnet') {
    // Opt-in approximation: positions equal to their window's (nearest-upsampled) max all get the gradient, so
    // tied maxima (e.g. constant image regions) each receive it. Faster than the exact routes.
    const uncrop = (t: string) => (cropped ? ctx.one('Pad', [t, ctx.ints([0, 0, 0, 0, 0, 0, xs[2]! - ho * k, xs[3]! - wo * k])]) : t);
    const scales = ctx.tensor('pool_scales', new Tensor(Float32Array.of(1, 1, k, k), [4]));
    const up = (t: string) => ctx.one('Resize', [t, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
    add(uncrop(ctx.one('Where', [ctx.one('Equal', [crop(x), up(y)]), up(g), ctx.scalar(0)])));
    return;
  }
  const [C, H, W] = xs.slice(1) as [number, number, number];
  if (square && ctx.maxPoolBackward !== 'indices' && C * H * W < 2 ** 24) {
    // Exact for non-overlapping square windows, without MaxPool's slow Indices output: the flat index (MaxPool's
    // Indices layout) of each window's FIRST maximum — the position MaxPool's Indices and PyTorch use — is built at
    // the pooled resolution, and MaxUnpool scatters the pooled gradient there (the only full-resolution op).
    // Slot t of a window (raster order) is the plane x[:, :, i::k, j::k], t = i·k + j. L_t = [max of slots 0..t < y]
    // is 1 exactly for the slots before the first maximum, so the first maximum's offset in its window is
    // Σ_t L_t·(offset(t+1) - offset(t)), offset(i·k + j) = i·W + j. Within-sample indices (origin of the window plus
    // that offset) are exact in float32 below 2^24; the int64 sample offset n·C·H·W is added after the Cast.
    const less = (m: string) => ctx.one('Less', [m, y]);
    const L: string[] = [];
    if (k === 2) {
      // 2×2: the maxima of the leading slots are max-pools of x (run in onnxruntime's blocked layout without copying
      // x out of it): slot 0 = pool 1×1, slots 0-1 = pool 1×2, and [max(slots 0-2) < y] = L_1 and [pool 2×1 < y].
      const xc = crop(x);
      const pool = (kh: number, kw: number) => ctx.one('MaxPool', [xc], { kernel_shape: [kh, kw], strides: [2, 2] });
      const l1 = less(pool(1, 2));
      L.push(less(pool(1, 1)), l1, ctx.one('And', [l1, less(pool(2, 1))]));
    } else {
      let lead = '';
      for (let t = 0; t < k * k - 1; t++) {
        const [i, j] = [Math.floor(t / k), t % k];
        const plane = ctx.one('Slice', [x, ctx.ints([i, j]), ctx.ints([i + ho * k, j + wo * k]), ctx.ints([2, 3]), ctx.ints([k, k])]);
        lead = lead ? ctx.one('Max', [lead, plane]) : plane;
        L.push(less(lead));
      }
    }
    const origin = new Float32Array(C * ho * wo);
    for (let c = 0; c < C; c++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) origin[(c * ho + i) * wo + j] = (c * H + k * i) * W + k * j;
    let local = ctx.tensor('pool_origin', new Tensor(origin, [1, C, ho, wo]));
    L.forEach((l, t) => {
      const step = (t + 1) % k === 0 ? W - (k - 1) : 1;
      const c = ctx.one('Cast', [l], { to: 1 });
      local = ctx.one('Add', [local, step === 1 ? c : ctx.one('Mul', [c, ctx.scalar(step)])]);
    });
    // Shapes from the pooled y: x's Shape would make onnxruntime copy x out of its blocked layout.
    const yShape = ctx.one('Shape', [y]);
    const batch = ctx.one('Slice', [yShape, ctx.ints([0]), ctx.ints([1])]);
    const chw = ctx.tensor('pool_chw', new Tensor(BigInt64Array.of(BigInt(C * H * W)), []));
    const zero = ctx.tensor('pool_zero', new Tensor(BigInt64Array.of(0n), []));
    const sampleOffsets = ctx.one('Reshape', [ctx.one('Range', [zero, ctx.one('Mul', [ctx.one('Squeeze', [batch, ctx.ints([0])]), chw]), chw]), ctx.ints([-1, 1, 1, 1])]);
    const idx = ctx.one('Add', [ctx.one('Cast', [local], { to: 7 }), sampleOffsets]);
    const outShape = ctx.one('Concat', [batch, ctx.ints([C, H, W])], { axis: 0 });
    add(ctx.one('MaxUnpool', [g, idx, outShape], { kernel_shape: kernel, strides: sa.strides }));
    return;
  }
  // Exact: scatter-add through the flattened Indices (first max wins ties; handles overlapping windows and padding).
  if (storage) ctx.fail('UNSUPPORTED_OP', 'MaxPool with storage_order=1 (column-major indices) is not differentiated');
  const idx = ctx.forwardOutput(1, `${n.name}_indices`);
  const flatX = ctx.one('Reshape', [x, ctx.ints([-1])]);
  const zeros = ctx.one('ConstantOfShape', [ctx.one('Shape', [flatX])], { value: floatTensor1(0) });
  const scat = ctx.one('ScatterElements', [zeros, ctx.one('Reshape', [idx, ctx.ints([-1])]), ctx.one('Reshape', [g, ctx.ints([-1])])], { axis: 0, reduction: 'add' });
  add(ctx.one('Reshape', [scat, ctx.shapeOf(x)]));
}
