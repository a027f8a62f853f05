import { expect } from 'vitest';
import { RELU_RULES, Tensor } from '@whitebox/core';
import { GraphBuilder, buildGradientGraph, importModel, inferGraph } from '@whitebox/onnx';
import { finiteDifferences, maskedRelError, randomTensor, runModel } from './helpers.js';

/** One operator (or small graph) case: x -> body -> Flatten -> Gemm(3 classes), checked against finite differences. */
export type W = (dims: number[], scale?: number, lo?: number) => string;
export type Body = (b: GraphBuilder, x: string, w: W) => string;

export interface Case {
  name: string;
  dims: number[];
  body: Body;
  opset?: number;
  lo?: number;
  hi?: number;
  /** Kinks (max, abs, clip …): drop coordinates whose one-sided differences disagree. */
  pw?: boolean;
  /** Contains a ReLU-family op, so rules differ. */
  rules?: boolean;
  h?: number;
  /** Also run the gradient graph at this other batch size (symbolic batch through shape arithmetic). */
  batch2?: number;
}

function graph(c: Case, head: number | undefined): Uint8Array {
  const b = new GraphBuilder(c.name.replace(/\W+/g, '_'));
  b.input('x', ['N', ...c.dims.slice(1)]);
  let k = 0;
  let seed = c.name.length * 131 + 7;
  const w: W = (dims, scale = 0.5, lo) => b.initializer(`w${k++}`, randomTensor(dims, (seed += 7919), lo ?? -1, 1).map((v) => (lo !== undefined ? v : v * scale)));
  const y = c.body(b, 'x', w);
  if (head === undefined) {
    b.output(y);
    return b.toModelBytes({ opset: c.opset ?? 17 });
  }
  const [f] = b.node('Flatten', [y], 1, { axis: 1 });
  const [out] = b.node('Gemm', [f!, w([3, head], 0.7), w([3], 0.1)], ['logits'], { transB: 1 });
  b.output(out!, ['N', 3]);
  return b.toModelBytes({ opset: c.opset ?? 17 });
}

export function model(c: Case): Uint8Array {
  const infos = inferGraph(importModel(graph(c, undefined)), c.dims[0]!);
  const bodyOut = importModel(graph(c, undefined)).output;
  const width = infos.get(bodyOut)!.dims.slice(1).reduce((a, d) => a * d, 1);
  return graph(c, width);
}

export async function check(c: Case): Promise<void> {
  const m = model(c);
  const x = randomTensor(c.dims, c.name.length * 31 + 7, c.lo ?? -1, c.hi ?? 1);
  const cot = randomTensor([c.dims[0]!, 3], 17);
  const fd = await finiteDifferences(m, 'x', x, cot, c.h ?? 1e-2);
  const results: Float32Array[] = [];
  for (const rule of RELU_RULES) {
    const g = await runModel(buildGradientGraph(m, { rule }), { x, cotangent: cot });
    expect(g.input_grad!.dims).toEqual(x.dims);
    results.push(g.input_grad!.data);
  }
  const { err, kept } = maskedRelError(results[0]!, fd.grad, c.pw ? fd.smooth : undefined);
  expect(kept).toBeGreaterThan(0.6);
  expect(err).toBeLessThan(1e-3);
  if (!c.rules) for (const r of results.slice(1)) expect(maskedRelError(r, results[0]!).err).toBeLessThan(1e-6);
  if (c.batch2) {
    const x2 = randomTensor([c.batch2, ...c.dims.slice(1)], 99, c.lo ?? -1, c.hi ?? 1);
    const cot2 = randomTensor([c.batch2, 3], 18);
    const fd2 = await finiteDifferences(m, 'x', x2, cot2, c.h ?? 1e-2);
    const g2 = await runModel(buildGradientGraph(m), { x: x2, cotangent: cot2 });
    expect(maskedRelError(g2.input_grad!.data, fd2.grad, c.pw ? fd2.smooth : undefined).err).toBeLessThan(1e-3);
  }
}

export const scalar = (b: GraphBuilder, name: string, v: number) => b.initializer(name, Tensor.from([v], []));
export const one = (b: GraphBuilder, op: string, inputs: string[], attrs: Record<string, unknown> = {}) => b.node(op, inputs, 1, attrs as never)[0]!;

