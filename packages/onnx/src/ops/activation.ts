import { Tensor } from '@whitebox/core';
import { floatUnary, scalarConstant } from './common.js';
import { makeValue, readInt, registerOp, type GradContext, type InferContext, type TensorInfo } from './registry.js';

/**
 * Activations. The ReLU family (Relu, LeakyRelu, PRelu, and Clip with a lower bound of 0 — ReLU6) follows the
 * gradient graph's rule: 'gradient' (plain), 'deconvnet' (the activation applied to the backward signal) or 'guided'
 * (plain mask and positive backward signal only). Every other nonlinearity (Sigmoid, Tanh, SiLU = x·Sigmoid(x), GELU,
 * HardSwish, …) passes its plain gradient under every rule, as Captum's DeconvNet and GuidedBackprop do.
 */

/**
 * [y > 0] for y = relu(x) ≥ 0 of shape [N, C, H, W] as 1 − Relu(1 − 2¹²⁷·y): two per-channel affine maps
 * (BatchNormalization with mean 0, variance 1, epsilon 0), which ONNX Runtime's NCHWc transformer runs as blocked
 * depthwise convs with the Relu fused, so the mask and the Mul stay in the blocked layout. Exact: y = 0 gives 1 − 1 = 0;
 * y ≥ 2⁻¹²⁷ gives 1 − 2¹²⁷·y ≤ 0 (−∞ for large y), so 1 − 0 = 1.
 */
function blockedReluMask(ctx: GradContext, y: string, channels: number): string {
  const vec = (v: number) => ctx.vector(v, channels);
  const zero = vec(0);
  const one = vec(1);
  const eps = { epsilon: { type: 'float', value: 0 } } as const;
  const below = ctx.one('Relu', [ctx.one('BatchNormalization', [y, vec(-(2 ** 127)), one, zero, one], eps)]);
  return ctx.one('BatchNormalization', [below, vec(-1), one, zero, one], eps);
}

/** gy masked by [y > 0] under the rule: the ReLU backward, shared with the pools that fuse a preceding ReLU. */
export function reluBackward(ctx: GradContext, gy: string, y: string): string {
  if (ctx.rule === 'deconvnet') return ctx.one('Relu', [gy]);
  const g = ctx.rule === 'guided' ? ctx.one('Relu', [gy]) : gy;
  const d = ctx.dims(y);
  if (ctx.blockedLayout && d.length === 4) return ctx.one('Mul', [g, blockedReluMask(ctx, y, d[1]!)]);
  // y = relu(x) ≥ 0, so [0 < y] is the mask [x > 0]; Cast to float and Mul (faster than Where, and than Sign(y), on
  // onnxruntime CPU).
  return ctx.one('Mul', [g, ctx.one('Cast', [ctx.one('Less', [ctx.scalar(0), y])], { to: 1 })]);
}

registerOp({
  op: 'Relu', family: 'activation', inputs: [1, 1], outputs: [1, 1],
  infer: floatUnary,
  evaluate: (ctx) => { const v = ctx.value(0)!; return [makeValue(v.dtype, v.dims, Array.from(v.data, (a) => Math.max(0, a)))]; },
  backward: (ctx) => ctx.add(0, reluBackward(ctx, ctx.gy()!, ctx.node.outputs[0]!)),
});

/** Leaky ReLU-style backward with slope tensor/scalar `slope` for x ≤ 0, under the rule. */
function leakyBackward(ctx: GradContext, slope: string, scalarSlope?: number): string {
  const gy = ctx.gy()!;
  const x = ctx.node.inputs[0]!;
  if (ctx.rule === 'deconvnet') {
    return scalarSlope !== undefined ? ctx.one('LeakyRelu', [gy], { alpha: { type: 'float', value: scalarSlope } }) : ctx.one('PRelu', [gy, slope]);
  }
  const g = ctx.rule === 'guided' ? ctx.one('Relu', [gy]) : gy;
  return ctx.one('Where', [ctx.one('Greater', [x, ctx.scalar(0)]), g, ctx.one('Mul', [g, slope])]);
}

registerOp({
  op: 'LeakyRelu', family: 'activation', inputs: [1, 1], outputs: [1, 1],
  attrs: { alpha: { type: 'float' } },
  infer: floatUnary,
  backward: (ctx) => {
    const alpha = ctx.float('alpha', 0.01);
    ctx.add(0, leakyBackward(ctx, ctx.scalar(alpha), alpha));
  },
});

registerOp({
  op: 'PRelu', family: 'activation', inputs: [2, 2], outputs: [1, 1], nondifferentiable: [1],
  infer: (ctx) => {
    const x = floatUnary(ctx)[0]!;
    const s = ctx.input(1).dims;
    // The slope broadcasts to x (unidirectionally).
    const r = x.dims.length;
    if (s.length > r || s.some((d, i) => d !== 1 && d !== x.dims[r - s.length + i])) ctx.fail('SHAPE_MISMATCH', `slope [${s.join(', ')}] does not broadcast to the input [${x.dims.join(', ')}]`);
    return [x];
  },
  backward: (ctx) => ctx.add(0, leakyBackward(ctx, ctx.node.inputs[1]!)),
});

registerOp({
  op: 'Clip', family: 'activation', inputs: [1, 3], outputs: [1, 1], nondifferentiable: [1, 2],
  normalize: (n, opset, addInit) => {
    if (opset >= 11) return;
    const min = readInt(n, 'min', -3.4028234663852886e38);
    const max = readInt(n, 'max', 3.4028234663852886e38);
    n.inputs = [n.inputs[0]!, addInit('min', new Tensor(Float32Array.of(min), [])), addInit('max', new Tensor(Float32Array.of(max), []))];
    n.attrs = {};
  },
  infer: (ctx) => {
    for (const i of [1, 2]) if (ctx.has(i) && ctx.input(i).dims.length > 0 && ctx.input(i).dims.some((d) => d !== 1)) ctx.fail('INVALID_MODEL', `${i === 1 ? 'min' : 'max'} must be a scalar, it has shape [${ctx.input(i).dims.join(', ')}]`);
    return [{ dims: [...ctx.input(0).dims], dtype: ctx.input(0).dtype }];
  },
  evaluate: (ctx) => {
    const v = ctx.value(0)!;
    const lo = ctx.has(1) ? ctx.value(1)!.data[0]! : -Infinity;
    const hi = ctx.has(2) ? ctx.value(2)!.data[0]! : Infinity;
    return [makeValue(v.dtype, v.dims, Array.from(v.data, (a) => Math.min(hi, Math.max(lo, a))))];
  },
  backward: (ctx) => {
    const gy = ctx.gy()!;
    const [x, lo, hi] = ctx.node.inputs;
    const y = ctx.node.outputs[0]!;
    const reluLike = !!lo && scalarConstant(ctx, lo) === 0;
    const inRange = ctx.one('Equal', [x!, y]);
    if (reluLike && ctx.rule === 'deconvnet') {
      // ReLU6 under deconvnet: the ReLU part passes relu(gy); the upper bound keeps its plain mask.
      const g = ctx.one('Relu', [gy]);
      ctx.add(0, hi ? ctx.one('Where', [ctx.one('LessOrEqual', [x!, hi]), g, ctx.scalar(0)]) : g);
      return;
    }
    const g = reluLike && ctx.rule === 'guided' ? ctx.one('Relu', [gy]) : gy;
    ctx.add(0, ctx.one('Where', [inRange, g, ctx.scalar(0)]));
  },
});

function plain(op: string, grad: (ctx: GradContext, x: string, y: string, gy: string) => string, attrs?: Parameters<typeof registerOp>[0]['attrs'], evalF?: (a: number, ctx: InferContext) => number): void {
  registerOp({
    op, family: 'activation', inputs: [1, 1], outputs: [1, 1], attrs,
    infer: floatUnary,
    ...(evalF ? { evaluate: (ctx: InferContext) => { const v = ctx.value(0)!; return [makeValue(v.dtype, v.dims, Array.from(v.data, (a) => Math.fround(evalF(a, ctx))))]; } } : {}),
    backward: (ctx) => ctx.add(0, grad(ctx, ctx.node.inputs[0]!, ctx.node.outputs[0]!, ctx.gy()!)),
  });
}

plain('Sigmoid', (ctx, _x, y, gy) => ctx.one('Mul', [gy, ctx.one('Mul', [y, ctx.one('Sub', [ctx.scalar(1), y])])]), undefined, (a) => 1 / (1 + Math.exp(-a)));
plain('Tanh', (ctx, _x, y, gy) => ctx.one('Mul', [gy, ctx.one('Sub', [ctx.scalar(1), ctx.one('Mul', [y, y])])]), undefined, Math.tanh);
plain('HardSigmoid', (ctx, _x, y, gy) => {
  const alpha = ctx.float('alpha', 0.2);
  const inside = ctx.one('And', [ctx.one('Less', [ctx.scalar(0), y]), ctx.one('Less', [y, ctx.scalar(1)])]);
  return ctx.one('Mul', [gy, ctx.one('Mul', [ctx.one('Cast', [inside], { to: 1 }), ctx.scalar(alpha)])]);
}, { alpha: { type: 'float' }, beta: { type: 'float' } });
plain('HardSwish', (ctx, x, _y, gy) => {
  // PyTorch's hardswish backward: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above.
  const mid = ctx.one('Mul', [gy, ctx.one('Add', [ctx.one('Mul', [x, ctx.scalar(1 / 3)]), ctx.scalar(0.5)])]);
  return ctx.one('Where', [ctx.one('Less', [x, ctx.scalar(-3)]), ctx.scalar(0), ctx.one('Where', [ctx.one('Greater', [x, ctx.scalar(3)]), gy, mid])]);
});
plain('Elu', (ctx, x, y, gy) => {
  const alpha = ctx.float('alpha', 1);
  return ctx.one('Where', [ctx.one('Greater', [x, ctx.scalar(0)]), gy, ctx.one('Mul', [gy, ctx.one('Add', [y, ctx.scalar(alpha)])])]);
}, { alpha: { type: 'float' } });
plain('Selu', (ctx, x, y, gy) => {
  const alpha = ctx.float('alpha', 1.67326319217681884765625);
  const gamma = ctx.float('gamma', 1.05070102214813232421875);
  return ctx.one('Where', [ctx.one('Greater', [x, ctx.scalar(0)]), ctx.one('Mul', [gy, ctx.scalar(gamma)]), ctx.one('Mul', [gy, ctx.one('Add', [y, ctx.scalar(gamma * alpha)])])]);
}, { alpha: { type: 'float' }, gamma: { type: 'float' } });
plain('Celu', (ctx, x, y, gy) => {
  const alpha = ctx.float('alpha', 1);
  return ctx.one('Where', [ctx.one('Greater', [x, ctx.scalar(0)]), gy, ctx.one('Mul', [gy, ctx.one('Add', [ctx.one('Mul', [y, ctx.scalar(1 / alpha)]), ctx.scalar(1)])])]);
}, { alpha: { type: 'float', min: Number.MIN_VALUE } });
plain('Softplus', (ctx, x, _y, gy) => ctx.one('Mul', [gy, ctx.one('Sigmoid', [x])]));
plain('Softsign', (ctx, x, _y, gy) => {
  const d = ctx.one('Add', [ctx.scalar(1), ctx.one('Abs', [x])]);
  return ctx.one('Div', [gy, ctx.one('Mul', [d, d])]);
});
plain('Mish', (ctx, x, _y, gy) => {
  const t = ctx.one('Tanh', [ctx.one('Softplus', [x])]);
  const d = ctx.one('Add', [t, ctx.one('Mul', [ctx.one('Mul', [x, ctx.one('Sigmoid', [x])]), ctx.one('Sub', [ctx.scalar(1), ctx.one('Mul', [t, t])])])]);
  return ctx.one('Mul', [gy, d]);
});
plain('Gelu', (ctx, x, _y, gy) => {
  if (ctx.string('approximate', 'none') === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    const x2 = ctx.one('Mul', [x, x]);
    const u = ctx.one('Mul', [ctx.one('Mul', [x, ctx.one('Add', [ctx.scalar(1), ctx.one('Mul', [x2, ctx.scalar(0.044715)])])]), ctx.scalar(c)]);
    const t = ctx.one('Tanh', [u]);
    const left = ctx.one('Mul', [ctx.one('Add', [ctx.scalar(1), t]), ctx.scalar(0.5)]);
    const du = ctx.one('Mul', [ctx.one('Add', [ctx.scalar(1), ctx.one('Mul', [x2, ctx.scalar(3 * 0.044715)])]), ctx.scalar(c)]);
    const right = ctx.one('Mul', [ctx.one('Mul', [ctx.one('Mul', [x, ctx.scalar(0.5)]), ctx.one('Sub', [ctx.scalar(1), ctx.one('Mul', [t, t])])]), du]);
    return ctx.one('Mul', [gy, ctx.one('Add', [left, right])]);
  }
  // Φ(x) + x φ(x)
  const cdf = ctx.one('Mul', [ctx.one('Add', [ctx.scalar(1), ctx.one('Erf', [ctx.one('Mul', [x, ctx.scalar(Math.SQRT1_2)])])]), ctx.scalar(0.5)]);
  const pdf = ctx.one('Mul', [ctx.one('Exp', [ctx.one('Mul', [ctx.one('Mul', [x, x]), ctx.scalar(-0.5)])]), ctx.scalar(1 / Math.sqrt(2 * Math.PI))]);
  return ctx.one('Mul', [gy, ctx.one('Add', [cdf, ctx.one('Mul', [x, pdf])])]);
}, { approximate: { type: 'string', oneOf: ['none', 'tanh'] } });

/** Whether a is within float32 rounding of b. */
const near = (a: number | undefined, b: number): boolean => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.abs(b);

/**
 * GELU as torch.onnx.export writes it (opsets 9-19): y = Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5), operands of Mul
 * and Add in either order, Div(x, √2) or Mul(x, 1/√2). Called by the tail Mul's backward: when the four inner nodes
 * feed only the next one (and none of their outputs is a requested layer), it emits dx = ½·gy·(e1 + √(2/π)·x·e^(−x²/2))
 * with e1 = 1 + erf(x/√2) taken from the forward pass — 8 element-wise nodes where the per-node rules emit 10 (each one
 * a full pass over the MLP's hidden tensor, the largest tensor of a transformer block) — and returns true.
 */
export function erfGeluBackward(ctx: GradContext): boolean {
  const tail = ctx.node;
  const single = (t: string) => ctx.consumers(t).length === 1 && !ctx.layers.includes(t) && t !== ctx.graph.output;
  const other = (n: { inputs: readonly string[] }, t: string) => (n.inputs[0] === t ? n.inputs[1]! : n.inputs[0]!);
  // Tail: Mul(h, 0.5).
  const h = [0, 1].map((i) => tail.inputs[i]!).find((t) => near(scalarConstant(ctx, other(tail, t)), 0.5) && ctx.producer(t)?.op === 'Mul');
  if (!h || !single(h)) return false;
  const mulX = ctx.producer(h)!;
  // h = Mul(x, e1), e1 = Add(Erf(u), 1), u = Div(x, √2) | Mul(x, 1/√2).
  for (const e1 of mulX.inputs) {
    const add = ctx.producer(e1);
    if (!add || add.op !== 'Add' || !single(e1)) continue;
    const erfOut = add.inputs.find((t) => ctx.producer(t)?.op === 'Erf' && near(scalarConstant(ctx, other(add, t)), 1));
    if (!erfOut || !single(erfOut)) continue;
    const erf = ctx.producer(erfOut)!;
    const u = erf.inputs[0]!;
    const scale = ctx.producer(u);
    if (!scale || !single(u)) continue;
    const x = other(mulX, e1);
    const ok = (scale.op === 'Div' && scale.inputs[0] === x && near(scalarConstant(ctx, scale.inputs[1]!), Math.SQRT2))
      || (scale.op === 'Mul' && scale.inputs.includes(x) && near(scalarConstant(ctx, other(scale, x)), Math.SQRT1_2));
    if (!ok || ctx.dims(x).join() !== ctx.dims(tail.outputs[0]!).join()) continue;
    const halfX = ctx.one('Mul', [x, ctx.scalar(-0.5)]);
    const xPdf = ctx.one('Mul', [x, ctx.one('Exp', [ctx.one('Mul', [halfX, x])])]);
    const slope = ctx.one('Add', [e1, ctx.one('Mul', [xPdf, ctx.scalar(Math.sqrt(2 / Math.PI))])]);
    ctx.addTo(x, ctx.one('Mul', [ctx.one('Mul', [ctx.gy()!, ctx.scalar(0.5)]), slope]));
    for (const n of [mulX, add, erf, scale]) ctx.markDone(n);
    return true;
  }
  return false;
}

// ---------- Softmax / LogSoftmax ----------

function softmaxAxis(ctx: { int(n: string, d: number): number; node: { attrs: Record<string, unknown> } }, rank: number): number {
  const legacy = !!ctx.node.attrs._legacy;
  const a = ctx.int('axis', legacy ? 1 : -1);
  return a < 0 ? a + rank : a;
}

function softmaxInfer(ctx: InferContext): TensorInfo[] {
  const x = floatUnary(ctx)[0]!;
  ctx.axis(ctx.int('axis', ctx.node.attrs._legacy ? 1 : -1), x.dims.length, "attribute 'axis'");
  return [x];
}

/** Axes a softmax normalizes over: its axis, or (opset < 13) every axis from it to the last. */
function softmaxAxes(ctx: GradContext): number[] {
  const rank = ctx.dims(ctx.node.inputs[0]!).length;
  const a = softmaxAxis(ctx, rank);
  return ctx.node.attrs._legacy ? Array.from({ length: rank - a }, (_, i) => a + i) : [a];
}

for (const op of ['Softmax', 'LogSoftmax'] as const) {
  registerOp({
    op, family: 'activation', inputs: [1, 1], outputs: [1, 1],
    attrs: { axis: { type: 'int' } },
    normalize: (n, opset) => { if (opset < 13) n.attrs._legacy = 1; },
    infer: softmaxInfer,
    backward: (ctx) => {
      const gy = ctx.gy()!;
      const y = ctx.node.outputs[0]!;
      const axes = softmaxAxes(ctx);
      if (op === 'Softmax') {
        const gyY = ctx.one('Mul', [gy, y]);
        const s = ctx.one('ReduceSum', [gyY, ctx.ints(axes)], { keepdims: 1 });
        ctx.add(0, ctx.one('Sub', [gyY, ctx.one('Mul', [y, s])]));
      } else {
        const s = ctx.one('ReduceSum', [gy, ctx.ints(axes)], { keepdims: 1 });
        ctx.add(0, ctx.one('Sub', [gy, ctx.one('Mul', [ctx.one('Exp', [y]), s])]));
      }
    },
  });
}

export { softmaxAxis };
