import { Tensor } from '@whitebox/core';
import { broadcastDims, registerOp, type GradContext, type InferContext } from './registry.js';

/** Matrix products: Gemm, MatMul (batched, broadcasting: attention's [N, h, T, d] × [N, h, d, T]), Einsum. */

registerOp({
  op: 'Gemm', family: 'matmul', inputs: [2, 3], outputs: [1, 1],
  attrs: { alpha: { type: 'float' }, beta: { type: 'float' }, transA: { type: 'int', oneOf: [0, 1] }, transB: { type: 'int', oneOf: [0, 1] }, broadcast: { type: 'int', oneOf: [0, 1] } },
  normalize: (n) => { delete n.attrs.broadcast; },
  infer: (ctx) => {
    const x = ctx.input(0).dims;
    const w = ctx.input(1).dims;
    const tA = ctx.int('transA', 0);
    const tB = ctx.int('transB', 0);
    if (x.length !== 2 || w.length !== 2) ctx.fail('SHAPE_MISMATCH', `Gemm needs 2-D operands, got [${x.join(', ')}] and [${w.join(', ')}]`);
    const a = tA ? [x[1]!, x[0]!] : x;
    const b = tB ? [w[1]!, w[0]!] : w;
    if (a[1] !== b[0]) ctx.fail('SHAPE_MISMATCH', `cannot multiply [${x.join(', ')}] and [${w.join(', ')}] (transA=${tA}, transB=${tB})`, { shape: x });
    const out = [a[0]!, b[1]!];
    if (ctx.has(2)) {
      const c = ctx.input(2).dims;
      const bc = broadcastDims(out, c);
      if (!bc || bc.some((d, i) => d !== out[i])) ctx.fail('SHAPE_MISMATCH', `C [${c.join(', ')}] does not broadcast to the output [${out.join(', ')}]`);
    }
    return [{ dims: out, dtype: ctx.input(0).dtype }];
  },
  backward: (ctx) => {
    const [x, w, c] = ctx.node.inputs as [string, string, string | undefined];
    const gy = ctx.gy()!;
    const transA = ctx.int('transA', 0);
    const transB = ctx.int('transB', 0);
    const alpha = { type: 'float' as const, value: ctx.float('alpha', 1) };
    if (ctx.active(0)) ctx.add(0, transA ? ctx.one('Gemm', [w, gy], { transA: transB, transB: 1, alpha }) : ctx.one('Gemm', [gy, w], { transB: 1 - transB, alpha }));
    if (ctx.active(1)) ctx.add(1, transB ? ctx.one('Gemm', [gy, x], { transA: 1, transB: transA, alpha }) : ctx.one('Gemm', [x, gy], { transA: 1 - transA, alpha }));
    if (c && ctx.active(2)) {
      const beta = ctx.float('beta', 1);
      ctx.add(2, ctx.unbroadcast(beta === 1 ? gy : ctx.one('Mul', [gy, ctx.scalar(beta)]), ctx.dims(ctx.node.outputs[0]!), c));
    }
  },
});

registerOp({
  op: 'MatMul', family: 'matmul', inputs: [2, 2], outputs: [1, 1],
  infer: (ctx) => {
    const x = ctx.input(0).dims;
    const b = ctx.input(1).dims;
    if (x.length < 2 || b.length < 2) ctx.fail('UNSUPPORTED_OP', `MatMul with a 1-D operand ([${x.join(', ')}] × [${b.join(', ')}]) is not supported`);
    if (x[x.length - 1] !== b[b.length - 2]) ctx.fail('SHAPE_MISMATCH', `cannot multiply [${x.join(', ')}] and [${b.join(', ')}]`, { shape: x });
    const batch = broadcastDims(x.slice(0, -2), b.slice(0, -2));
    if (!batch) ctx.fail('SHAPE_MISMATCH', `batch dims of [${x.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    return [{ dims: [...batch!, x[x.length - 2]!, b[b.length - 1]!], dtype: ctx.input(0).dtype }];
  },
  backward: (ctx) => {
    const [x, w] = ctx.node.inputs as [string, string];
    const gy = ctx.gy()!;
    const outDims = ctx.dims(ctx.node.outputs[0]!);
    const swapLast = (name: string): string => {
      const r = ctx.dims(name).length;
      const t = ctx.constant(name);
      if (t && t.dtype === 'float32' && r === 2) {
        const [a, b] = t.dims as [number, number];
        const d = new Float32Array(a * b);
        for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) d[j * a + i] = (t.data as Float32Array)[i * b + j]!;
        return ctx.tensor('matmul_wT', new Tensor(d, [b, a]));
      }
      const perm = [...Array(r).keys()];
      [perm[r - 1], perm[r - 2]] = [perm[r - 2]!, perm[r - 1]!];
      return ctx.one('Transpose', [name], { perm });
    };
    const wConst = ctx.constant(w);
    if (ctx.active(0) && wConst && wConst.dtype === 'float32' && wConst.dims.length === 2) {
      // A constant 2-D weight (linear layers, attention projections): gy · Wᵀ as a Gemm with transB on W itself, gy
      // flattened to rows, rather than a transposed copy of W — the gradient graph of a 300M-parameter ViT-L would
      // otherwise hold every weight twice and pass protobuf's 2 GB. x has gy's leading dims, so Shape(x) restores them.
      const b = wConst.dims[1]!;
      const rank = outDims.length;
      const rows = rank === 2 ? gy : ctx.one('Reshape', [gy, ctx.ints([-1, b])]);
      const gx = ctx.one('Gemm', [rows, w], { transB: 1 });
      ctx.add(0, rank === 2 ? gx : ctx.one('Reshape', [gx, ctx.shapeOf(x)]));
    } else if (ctx.active(0)) ctx.add(0, ctx.unbroadcast(ctx.one('MatMul', [gy, swapLast(w)]), [...outDims.slice(0, -2), ...ctx.dims(x).slice(-2)], x));
    if (ctx.active(1)) ctx.add(1, ctx.unbroadcast(ctx.one('MatMul', [swapLast(x), gy]), [...outDims.slice(0, -2), ...ctx.dims(w).slice(-2)], w));
  },
});

interface Einsum { inputs: string[]; output: string }

/** Parses an Einsum equation, expanding '...' against the operand ranks; lowercase/uppercase letters only. */
function parseEinsum(eq: string, ranks: number[], fail: (m: string) => never): Einsum {
  const clean = eq.replace(/\s+/g, '');
  const [lhs, rhs] = clean.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== ranks.length) fail(`equation '${eq}' names ${terms.length} operands, the node has ${ranks.length}`);
  const used = new Set(clean.replace(/[^a-zA-Z]/g, ''));
  const free = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').filter((c) => !used.has(c));
  let ell = '';
  const expand = (t: string, rank?: number): string => {
    if (!t.includes('...')) return t;
    const n = rank !== undefined ? rank - (t.length - 3) : ell.length;
    if (rank !== undefined && n > ell.length) ell = free.slice(0, n).join('');
    return t.replace('...', ell.slice(ell.length - n));
  };
  const inputs = terms.map((t, i) => expand(t, ranks[i]));
  for (const [i, t] of inputs.entries()) {
    if (!/^[a-zA-Z]*$/.test(t) || t.length !== ranks[i]) fail(`operand ${i}'s term '${terms[i]}' does not match its rank ${ranks[i]}`);
  }
  let output: string;
  if (rhs !== undefined) output = expand(rhs);
  else {
    const counts = new Map<string, number>();
    for (const t of inputs) for (const c of t) counts.set(c, (counts.get(c) ?? 0) + 1);
    output = ell + [...counts].filter(([c, k]) => k === 1 && !ell.includes(c)).map(([c]) => c).sort().join('');
  }
  return { inputs, output };
}

function einsumOf(ctx: InferContext | GradContext, ranks: number[]): Einsum {
  return parseEinsum(ctx.string('equation', ''), ranks, (m) => ctx.fail('UNSUPPORTED_OP', m, { attribute: 'equation' }));
}

registerOp({
  op: 'Einsum', family: 'matmul', inputs: [1, 2], outputs: [1, 1],
  attrs: { equation: { type: 'string', required: true } },
  infer: (ctx) => {
    const dims = ctx.node.inputs.map((_, i) => ctx.input(i).dims);
    const e = einsumOf(ctx, dims.map((d) => d.length));
    const size = new Map<string, number>();
    e.inputs.forEach((t, i) => {
      [...t].forEach((c, j) => {
        const d = dims[i]![j]!;
        const prev = size.get(c);
        if (prev !== undefined && prev !== d) ctx.fail('UNSUPPORTED_OP', `index '${c}' has sizes ${prev} and ${d} (broadcasting inside Einsum is not supported)`);
        size.set(c, d);
      });
      if (new Set(t).size !== t.length) ctx.fail('UNSUPPORTED_OP', `term '${t}' repeats an index (diagonals are not supported)`);
    });
    for (const c of e.output) if (!size.has(c)) ctx.fail('INVALID_MODEL', `output index '${c}' appears in no operand`);
    return [{ dims: [...e.output].map((c) => size.get(c)!), dtype: ctx.input(0).dtype }];
  },
  backward: (ctx) => {
    const names = ctx.node.inputs;
    const dims = names.map((n) => ctx.dims(n));
    const e = einsumOf(ctx, dims.map((d) => d.length));
    const gy = ctx.gy()!;
    names.forEach((name, i) => {
      if (!ctx.active(i)) return;
      const others = e.inputs.filter((_, j) => j !== i);
      const term = e.inputs[i]!;
      // Indices of this operand that appear nowhere else were summed within it: compute without them, then expand.
      const reachable = [...term].filter((c) => e.output.includes(c) || others.some((o) => o.includes(c))).join('');
      const eq = `${[e.output, ...others].join(',')}->${reachable}`;
      let g = ctx.one('Einsum', [gy, ...names.filter((_, j) => j !== i)], { equation: eq });
      if (reachable !== term) {
        const missing = [...term].map((c, k) => (reachable.includes(c) ? -1 : k)).filter((k) => k >= 0);
        g = ctx.one('Expand', [ctx.one('Unsqueeze', [g, ctx.ints(missing)]), ctx.shapeOf(name)]);
      }
      ctx.add(i, g);
    });
  },
});
