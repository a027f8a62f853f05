import { erfGeluBackward } from './activation.js';
import { broadcastInputs, evalBroadcast, floatUnary, isIntType, requireFloat, scalarConstant } from './common.js';
import {
  ELEM_CODES, elemTypeOfCode, isFloatType, makeValue, registerOp,
  type ElemType, type GradContext, type InferContext, type TensorInfo, type Value,
} from './registry.js';

/** Elementwise arithmetic, comparisons, logic and casts. */

const f32 = Math.fround;

function sameTypes(ctx: InferContext, indices: readonly number[]): ElemType {
  const t = ctx.input(indices[0]!).dtype;
  for (const i of indices) {
    if (ctx.has(i) && ctx.input(i).dtype !== t) ctx.fail('INVALID_MODEL', `input ${i} ('${ctx.node.inputs[i]}') is ${ctx.input(i).dtype} but input ${indices[0]} is ${t}; the inputs must have one type`, { input: i });
  }
  return t;
}

function binaryInfer(ctx: InferContext): TensorInfo[] {
  const dtype = sameTypes(ctx, [0, 1]);
  return [{ dims: broadcastInputs(ctx, [0, 1]), dtype }];
}

function arithmetic(op: string, f: (a: number, b: number) => number, backward: (ctx: GradContext, gy: string, out: number[]) => void): void {
  registerOp({
    op, family: 'elementwise', inputs: [2, 2], outputs: [1, 1],
    infer: binaryInfer,
    evaluate: (ctx) => {
      const t = ctx.input(0).dtype;
      const int = isIntType(t);
      return evalBroadcast(ctx, t, (a, b) => (int ? (op === 'Div' ? Math.trunc(a / b) : f(a, b)) : f32(f(a, b))));
    },
    backward: (ctx) => backward(ctx, ctx.gy()!, ctx.dims(ctx.node.outputs[0]!)),
  });
}

arithmetic('Add', (a, b) => a + b, (ctx, gy, out) => {
  const [x, w] = ctx.node.inputs as [string, string];
  if (ctx.active(0)) ctx.add(0, ctx.unbroadcast(gy, out, x));
  if (ctx.active(1)) ctx.add(1, ctx.unbroadcast(gy, out, w));
});
arithmetic('Sub', (a, b) => a - b, (ctx, gy, out) => {
  const [x, w] = ctx.node.inputs as [string, string];
  if (ctx.active(0)) ctx.add(0, ctx.unbroadcast(gy, out, x));
  if (ctx.active(1)) ctx.add(1, ctx.unbroadcast(ctx.one('Neg', [gy]), out, w));
});
arithmetic('Mul', (a, b) => a * b, (ctx, gy, out) => {
  if (erfGeluBackward(ctx)) return;
  const [x, w] = ctx.node.inputs as [string, string];
  if (ctx.active(0)) ctx.add(0, ctx.unbroadcast(ctx.one('Mul', [gy, w]), out, x));
  if (ctx.active(1)) ctx.add(1, ctx.unbroadcast(ctx.one('Mul', [gy, x]), out, w));
});
arithmetic('Div', (a, b) => a / b, (ctx, gy, out) => {
  const [x, w] = ctx.node.inputs as [string, string];
  const y = ctx.node.outputs[0]!;
  if (ctx.active(0)) ctx.add(0, ctx.unbroadcast(ctx.one('Div', [gy, w]), out, x));
  if (ctx.active(1)) ctx.add(1, ctx.unbroadcast(ctx.one('Neg', [ctx.one('Mul', [gy, ctx.one('Div', [y, w])])]), out, w));
});

registerOp({
  op: 'Mod', family: 'elementwise', inputs: [2, 2], outputs: [1, 1],
  attrs: { fmod: { type: 'int', oneOf: [0, 1] } },
  infer: binaryInfer,
  evaluate: (ctx) => {
    const fmod = ctx.int('fmod', 0) === 1;
    // fmod=0 (integers): the result takes the divisor's sign (Python's %); fmod=1: C's fmod (the dividend's sign).
    return evalBroadcast(ctx, ctx.input(0).dtype, (a, b) => (fmod ? a % b : ((a % b) + b) % b));
  },
  backward: (ctx) => {
    // d(a mod b)/da = 1 almost everywhere; d/db = -trunc-or-floor(a / b), taken as constant here only when b is.
    if (ctx.active(1)) ctx.fail('UNSUPPORTED_OP', 'the gradient with respect to the divisor of Mod is not supported');
    ctx.add(0, ctx.unbroadcast(ctx.gy()!, ctx.dims(ctx.node.outputs[0]!), ctx.node.inputs[0]!));
  },
});

registerOp({
  op: 'Pow', family: 'elementwise', inputs: [2, 2], outputs: [1, 1],
  infer: (ctx) => [{ dims: broadcastInputs(ctx, [0, 1]), dtype: ctx.input(0).dtype }],
  evaluate: (ctx) => evalBroadcast(ctx, ctx.input(0).dtype, (a, b) => (isIntType(ctx.input(0).dtype) ? Math.trunc(a ** b) : f32(a ** b))),
  backward: (ctx) => {
    const gy = ctx.gy()!;
    const [x, p] = ctx.node.inputs as [string, string];
    const y = ctx.node.outputs[0]!;
    const out = ctx.dims(y);
    if (ctx.active(0)) {
      const pv = scalarConstant(ctx, p);
      let dx: string;
      if (pv === 2) dx = ctx.one('Mul', [gy, ctx.one('Mul', [x, ctx.scalar(2)])]);
      else if (pv === 1) dx = gy;
      else {
        const pf = ctx.info(p).dtype === 'float32' ? p : ctx.one('Cast', [p], { to: ELEM_CODES.float32 });
        dx = ctx.one('Mul', [gy, ctx.one('Mul', [pf, ctx.one('Pow', [x, ctx.one('Sub', [pf, ctx.scalar(1)])])])]);
      }
      ctx.add(0, ctx.unbroadcast(dx, out, x));
    }
    if (ctx.active(1)) ctx.add(1, ctx.unbroadcast(ctx.one('Mul', [gy, ctx.one('Mul', [y, ctx.one('Log', [x])])]), out, p));
  },
});

/** A float unary op with its derivative expressed through x, y and gy. */
function unary(op: string, f: ((a: number) => number) | undefined, grad: ((ctx: GradContext, x: string, y: string, gy: string) => string) | null, extra: Partial<Parameters<typeof registerOp>[0]> = {}): void {
  registerOp({
    op, family: 'elementwise', inputs: [1, 1], outputs: [1, 1],
    infer: (ctx) => (isIntType(ctx.input(0).dtype) && !f ? floatUnary(ctx) : [{ dims: [...ctx.input(0).dims], dtype: ctx.input(0).dtype }]),
    ...(f ? { evaluate: (ctx: InferContext) => { const v = ctx.value(0)!; return [makeValue(v.dtype, v.dims, Array.from(v.data, (a) => (isFloatType(v.dtype) ? f32(f(a)) : f(a))))]; } } : {}),
    ...(grad === null
      ? { backward: () => {} } // zero gradient almost everywhere (Floor, Ceil, Round, Sign)
      : { backward: (ctx: GradContext) => ctx.add(0, grad!(ctx, ctx.node.inputs[0]!, ctx.node.outputs[0]!, ctx.gy()!)) }),
    ...extra,
  });
}

unary('Neg', (a) => -a, (ctx, _x, _y, gy) => ctx.one('Neg', [gy]));
unary('Abs', Math.abs, (ctx, x, _y, gy) => ctx.one('Mul', [gy, ctx.one('Sign', [x])]));
unary('Sqrt', Math.sqrt, (ctx, _x, y, gy) => ctx.one('Div', [ctx.one('Mul', [gy, ctx.scalar(0.5)]), y]));
unary('Exp', Math.exp, (ctx, _x, y, gy) => ctx.one('Mul', [gy, y]));
unary('Log', Math.log, (ctx, x, _y, gy) => ctx.one('Div', [gy, x]));
unary('Reciprocal', (a) => 1 / a, (ctx, _x, y, gy) => ctx.one('Neg', [ctx.one('Mul', [gy, ctx.one('Mul', [y, y])])]));
unary('Erf', undefined, (ctx, x, _y, gy) => ctx.one('Mul', [gy, ctx.one('Mul', [ctx.scalar(2 / Math.sqrt(Math.PI)), ctx.one('Exp', [ctx.one('Neg', [ctx.one('Mul', [x, x])])])])]));
unary('Sin', Math.sin, (ctx, x, _y, gy) => ctx.one('Mul', [gy, ctx.one('Cos', [x])]));
unary('Cos', Math.cos, (ctx, x, _y, gy) => ctx.one('Neg', [ctx.one('Mul', [gy, ctx.one('Sin', [x])])]));
unary('Floor', Math.floor, null);
unary('Ceil', Math.ceil, null);
unary('Round', (a) => { const r = Math.round(a); return Math.abs(a % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; }, null);
unary('Sign', Math.sign, null);

function variadicInfer(ctx: InferContext): TensorInfo[] {
  const idx = ctx.node.inputs.map((_, i) => i);
  return [{ dims: broadcastInputs(ctx, idx), dtype: sameTypes(ctx, idx) }];
}

for (const op of ['Max', 'Min'] as const) {
  registerOp({
    op, family: 'elementwise', inputs: [1, Infinity], outputs: [1, 1],
    infer: variadicInfer,
    evaluate: (ctx) => evalBroadcast(ctx, ctx.input(0).dtype, op === 'Max' ? Math.max : Math.min),
    backward: (ctx) => {
      // The gradient goes to the first input that attains the extremum (ties: the earliest input), as ReduceMax's.
      const gy = ctx.gy()!;
      const y = ctx.node.outputs[0]!;
      const out = ctx.dims(y);
      let taken: string | undefined;
      ctx.node.inputs.forEach((x, i) => {
        const eq = ctx.one('Equal', [x, y]);
        const mask = taken ? ctx.one('And', [eq, ctx.one('Not', [taken])]) : eq;
        if (i < ctx.node.inputs.length - 1) taken = taken ? ctx.one('Or', [taken, eq]) : eq;
        if (ctx.active(i)) ctx.add(i, ctx.unbroadcast(ctx.one('Where', [mask, gy, ctx.scalar(0)]), out, x));
      });
    },
  });
}

registerOp({
  op: 'Sum', family: 'elementwise', inputs: [1, Infinity], outputs: [1, 1],
  infer: variadicInfer,
  evaluate: (ctx) => evalBroadcast(ctx, ctx.input(0).dtype, (...xs) => xs.reduce((a, b) => a + b, 0)),
  backward: (ctx) => {
    const out = ctx.dims(ctx.node.outputs[0]!);
    ctx.node.inputs.forEach((x, i) => { if (ctx.active(i)) ctx.add(i, ctx.unbroadcast(ctx.gy()!, out, x)); });
  },
});

registerOp({
  op: 'Mean', family: 'elementwise', inputs: [1, Infinity], outputs: [1, 1],
  infer: variadicInfer,
  evaluate: (ctx) => evalBroadcast(ctx, ctx.input(0).dtype, (...xs) => f32(xs.reduce((a, b) => a + b, 0) / xs.length)),
  backward: (ctx) => {
    const out = ctx.dims(ctx.node.outputs[0]!);
    const g = ctx.one('Mul', [ctx.gy()!, ctx.scalar(1 / ctx.node.inputs.length)]);
    ctx.node.inputs.forEach((x, i) => { if (ctx.active(i)) ctx.add(i, ctx.unbroadcast(g, out, x)); });
  },
});

registerOp({
  op: 'Where', family: 'elementwise', inputs: [3, 3], outputs: [1, 1], nondifferentiable: [0],
  infer: (ctx) => {
    if (ctx.input(0).dtype !== 'bool') ctx.fail('INVALID_MODEL', `condition '${ctx.node.inputs[0]}' must be bool, it is ${ctx.input(0).dtype}`);
    return [{ dims: broadcastInputs(ctx, [0, 1, 2]), dtype: sameTypes(ctx, [1, 2]) }];
  },
  evaluate: (ctx) => evalBroadcast(ctx, ctx.input(1).dtype, (c, a, b) => (c ? a : b)),
  backward: (ctx) => {
    const gy = ctx.gy()!;
    const [c, a, b] = ctx.node.inputs as [string, string, string];
    const out = ctx.dims(ctx.node.outputs[0]!);
    if (ctx.active(1)) ctx.add(1, ctx.unbroadcast(ctx.one('Where', [c, gy, ctx.scalar(0)]), out, a));
    if (ctx.active(2)) ctx.add(2, ctx.unbroadcast(ctx.one('Where', [c, ctx.scalar(0), gy]), out, b));
  },
});

function predicate(op: string, f: (a: number, b: number) => boolean): void {
  registerOp({
    op, family: 'elementwise', inputs: [2, 2], outputs: [1, 1],
    infer: (ctx) => { sameTypes(ctx, [0, 1]); return [{ dims: broadcastInputs(ctx, [0, 1]), dtype: 'bool' }]; },
    evaluate: (ctx) => evalBroadcast(ctx, 'bool', (a, b) => (f(a, b) ? 1 : 0)),
  });
}
predicate('Equal', (a, b) => a === b);
predicate('Less', (a, b) => a < b);
predicate('Greater', (a, b) => a > b);
predicate('LessOrEqual', (a, b) => a <= b);
predicate('GreaterOrEqual', (a, b) => a >= b);
predicate('And', (a, b) => !!a && !!b);
predicate('Or', (a, b) => !!a || !!b);
predicate('Xor', (a, b) => !!a !== !!b);

registerOp({
  op: 'Not', family: 'elementwise', inputs: [1, 1], outputs: [1, 1],
  infer: (ctx) => [{ dims: [...ctx.input(0).dims], dtype: 'bool' }],
  evaluate: (ctx) => { const v = ctx.value(0)!; return [makeValue('bool', v.dims, Array.from(v.data, (a) => (a ? 0 : 1)))]; },
});

function castValue(v: Value, to: ElemType): Value {
  const conv = isFloatType(to) ? f32 : to === 'bool' ? (a: number) => (a !== 0 ? 1 : 0) : Math.trunc;
  return makeValue(to, v.dims, Array.from(v.data, conv));
}

function castBackward(ctx: GradContext): void {
  const x = ctx.node.inputs[0]!;
  const from = ctx.info(x).dtype;
  if (!isFloatType(from)) return;
  const gy = ctx.gy()!;
  ctx.add(0, from === ctx.info(ctx.node.outputs[0]!).dtype ? gy : ctx.one('Cast', [gy], { to: ELEM_CODES[from] }));
}

registerOp({
  op: 'Cast', family: 'elementwise', inputs: [1, 1], outputs: [1, 1],
  attrs: { to: { type: 'int', required: true }, saturate: { type: 'int', oneOf: [0, 1] } },
  infer: (ctx) => {
    const to = elemTypeOfCode(ctx.int('to', 0));
    if (!to || to === 'string') ctx.fail('UNSUPPORTED_OP', `attribute 'to' is ${ctx.int('to', 0)}, which WhiteBox does not cast to`, { attribute: 'to' });
    return [{ dims: [...ctx.input(0).dims], dtype: to! }];
  },
  evaluate: (ctx) => [castValue(ctx.value(0)!, elemTypeOfCode(ctx.int('to', 0))!)],
  backward: castBackward,
});

registerOp({
  op: 'CastLike', family: 'elementwise', inputs: [2, 2], outputs: [1, 1], nondifferentiable: [1],
  attrs: { saturate: { type: 'int', oneOf: [0, 1] } },
  infer: (ctx) => [{ dims: [...ctx.input(0).dims], dtype: ctx.input(1).dtype }],
  evaluate: (ctx) => [castValue(ctx.value(0)!, ctx.input(1).dtype)],
  backward: castBackward,
});

export { requireFloat };
