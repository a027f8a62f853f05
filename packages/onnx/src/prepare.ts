import { Tensor, WhiteBoxError } from '@whitebox/core';
import {
  RESERVED, cloneGraph, consumers, importModel, pruneGraph, renameTensor, tensorNames,
  type ImportOptions, type IrGraph, type IrNode,
} from './graph.js';
import { getOp, isFloatType, readInt, tensorOfValue } from './ops/index.js';
import { GraphShapes, fixedBatch } from './shapes.js';

/** A model ready for gradient export: its simplified graph and shapes. */
export interface PreparedModel {
  graph: IrGraph;
  numClasses: number;
  /** Shape inference of the prepared graph at batch sizes 2 and 3 (or its fixed batch). */
  shapes: GraphShapes;
}

/** Suffixes of the gradient graph's layer outputs: model tensors named so are renamed. */
const LAYER_SUFFIXES = [':activation', ':grad'];

function uniqueName(taken: Set<string>, base: string): string {
  let n = base;
  let i = 0;
  while (taken.has(n)) n = `${base}_${++i}`;
  taken.add(n);
  return n;
}

/**
 * Folds every node whose outputs are known at load time and the same at every batch size (shape arithmetic on static
 * dims, constant subgraphs) into initializers. Shape arithmetic that depends on the batch stays as forward computation.
 */
function foldConstants(g: IrGraph): GraphShapes {
  let shapes = new GraphShapes(g);
  const folded = new Set<IrNode>();
  for (const n of g.nodes) {
    const outs = n.outputs.filter(Boolean);
    if (outs.length === 0 || outs.includes(g.output)) continue;
    const vals = outs.map((o) => shapes.constantValue(o));
    if (vals.some((v) => !v)) continue;
    outs.forEach((o, i) => {
      g.inits.set(o, tensorOfValue(vals[i]!));
      g.initTypes.set(o, vals[i]!.dtype);
    });
    folded.add(n);
  }
  if (folded.size > 0) {
    g.nodes = g.nodes.filter((n) => !folded.has(n));
    shapes = new GraphShapes(g);
  }
  return shapes;
}

/** Rewrites opset < 13 Softmax/LogSoftmax over a non-last axis (coerced to 2-D) into Flatten → Softmax → Reshape. */
function lowerLegacySoftmax(g: IrGraph, shapes: GraphShapes): boolean {
  let changed = false;
  const taken = tensorNames(g);
  const out: IrNode[] = [];
  for (const n of g.nodes) {
    if ((n.op !== 'Softmax' && n.op !== 'LogSoftmax') || !n.attrs._legacy) { out.push(n); continue; }
    const x = n.inputs[0]!;
    const rank = shapes.dims(x).length;
    let axis = readInt(n, 'axis', 1);
    if (axis < 0) axis += rank;
    delete n.attrs._legacy;
    if (axis === rank - 1) { n.attrs.axis = -1; out.push(n); continue; }
    changed = true;
    const flat = uniqueName(taken, `${n.name}/flat`);
    const soft = uniqueName(taken, `${n.name}/soft2d`);
    const shape = uniqueName(taken, `${n.name}/shape`);
    out.push(
      { op: 'Flatten', name: uniqueName(taken, `${n.name}/Flatten`), inputs: [x], outputs: [flat], attrs: { axis } },
      { op: n.op, name: n.name, inputs: [flat], outputs: [soft], attrs: { axis: -1 } },
      { op: 'Shape', name: uniqueName(taken, `${n.name}/Shape`), inputs: [x], outputs: [shape], attrs: {} },
      { op: 'Reshape', name: uniqueName(taken, `${n.name}/Reshape`), inputs: [soft, shape], outputs: [n.outputs[0]!], attrs: {} },
    );
  }
  g.nodes = out;
  return changed;
}

/** Folds BatchNormalization directly after a Conv with constant weights into the Conv. */
function foldBatchNorm(g: IrGraph): void {
  const cons = consumers(g);
  const drop = new Set<IrNode>();
  const producer = new Map<string, IrNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const taken = tensorNames(g);
  for (const bn of g.nodes) {
    if (bn.op !== 'BatchNormalization') continue;
    const conv = producer.get(bn.inputs[0]!);
    if (!conv || conv.op !== 'Conv' || (cons.get(conv.outputs[0]!) ?? []).length !== 1 || conv.outputs[0] === g.output) continue;
    const w = g.inits.get(conv.inputs[1]!);
    const b = conv.inputs[2] ? g.inits.get(conv.inputs[2]) : undefined;
    const [gamma, beta, mean, variance] = bn.inputs.slice(1).map((i) => g.inits.get(i));
    if (!w || (conv.inputs[2] && !b) || !gamma || !beta || !mean || !variance || w.dtype !== 'float32') continue;
    const eps = readInt(bn, 'epsilon', 1e-5);
    const cout = w.dims[0]!;
    const per = w.size / cout;
    const nw = new Float32Array(w.size);
    const nb = new Float32Array(cout);
    for (let c = 0; c < cout; c++) {
      const scale = (gamma.data[c] as number) / Math.sqrt((variance.data[c] as number) + eps);
      for (let j = 0; j < per; j++) nw[c * per + j] = (w.data[c * per + j] as number) * scale;
      nb[c] = ((b ? (b.data[c] as number) : 0) - (mean.data[c] as number)) * scale + (beta.data[c] as number);
    }
    const wName = uniqueName(taken, `${conv.name}/w_bnfold`);
    const bName = uniqueName(taken, `${conv.name}/b_bnfold`);
    g.inits.set(wName, new Tensor(nw, w.dims));
    g.inits.set(bName, new Tensor(nb, [cout]));
    g.initTypes.set(wName, 'float32');
    g.initTypes.set(bName, 'float32');
    conv.inputs = [conv.inputs[0]!, wName, bName];
    conv.outputs = [bn.outputs[0]!];
    drop.add(bn);
  }
  g.nodes = g.nodes.filter((n) => !drop.has(n));
}

/** Whether `to` depends on `from` through the graph. */
export function dependsOn(g: IrGraph, from: string, to: string): boolean {
  const reached = new Set([from]);
  for (const n of g.nodes) if (n.inputs.some((i) => reached.has(i))) for (const o of n.outputs) reached.add(o);
  return reached.has(to);
}

/**
 * Prepares a graph for export: renames tensors that collide with the gradient graph's own names, folds load-time
 * constants, explains the pre-softmax logits of a model that ends in Softmax, folds BatchNormalization after Conv,
 * and drops nodes that do not feed the output.
 */
export function prepareGraph(input: IrGraph): { graph: IrGraph; shapes: GraphShapes } {
  const g = cloneGraph(input);
  if (RESERVED.has(g.input.name) || LAYER_SUFFIXES.some((s) => g.input.name.endsWith(s))) {
    throw new WhiteBoxError('INVALID_MODEL', `the model's input is named '${g.input.name}', a name WhiteBox's gradient graphs reserve (${[...RESERVED].join(', ')}, *${LAYER_SUFFIXES.join(', *')}); rename it`, { file: g.source });
  }
  const taken = tensorNames(g);
  for (const name of [...taken]) {
    if (name === g.input.name || (name === 'logits' && g.output === 'logits')) continue;
    if (RESERVED.has(name) || LAYER_SUFFIXES.some((s) => name.endsWith(s))) renameTensor(g, name, uniqueName(taken, `${name}__model`));
  }
  let pruned = pruneGraph(g, [g.output]);
  let shapes = foldConstants(pruned);
  if (lowerLegacySoftmax(pruned, shapes)) shapes = new GraphShapes(pruned);
  // Trailing softmax: explain the logits.
  const producer = new Map<string, IrNode>();
  for (const n of pruned.nodes) for (const o of n.outputs) producer.set(o, n);
  const last = producer.get(pruned.output);
  if (last && last.op === 'Softmax') {
    const rank = shapes.dims(last.inputs[0]!).length;
    let axis = readInt(last, 'axis', -1);
    if (axis < 0) axis += rank;
    if (axis === rank - 1) {
      pruned.output = last.inputs[0]!;
      pruned.endsInSoftmax = true;
    }
  }
  foldBatchNorm(pruned);
  pruned = pruneGraph(pruned, [pruned.output]);
  return { graph: pruned, shapes: new GraphShapes(pruned) };
}

/** Imports and prepares a model once: structure, operators, attributes and shapes are all checked here. */
export function prepareModel(modelBytes: Uint8Array, source?: string, options: ImportOptions = {}): PreparedModel {
  const { graph: g, shapes } = prepareGraph(importModel(modelBytes, source, options));
  const where = source ? ` ${source}` : '';
  const info = shapes.info(g.output);
  if (!isFloatType(info.dtype) || info.dims.length !== 2) {
    throw new WhiteBoxError('INVALID_MODEL', `the model${where} must output float logits of shape [N, numClasses]; output '${g.originalOutput}' is ${info.dtype} [${info.dims.join(', ')}]`, { file: source, shape: info.dims });
  }
  const fixed = fixedBatch(g);
  const follows = fixed !== undefined ? info.dims[0] === fixed : shapes.batchDependent(g.output) === 'dim0';
  if (!follows) {
    throw new WhiteBoxError('INVALID_MODEL', `the model${where}'s output '${g.originalOutput}' has ${fixed !== undefined ? `${info.dims[0]} rows for a batch of ${fixed}` : 'a first dimension that does not follow the input batch'}; WhiteBox needs one row of logits per image`, { file: source, shape: info.dims });
  }
  if (info.dims[1]! < 1) throw new WhiteBoxError('INVALID_MODEL', `the model${where} has ${info.dims[1]} classes`, { file: source });
  if (!dependsOn(g, g.input.name, g.output)) {
    throw new WhiteBoxError('INVALID_MODEL', `the model${where}'s output '${g.originalOutput}' does not depend on its input '${g.input.name}'`, { file: source });
  }
  for (const n of g.nodes) if (!getOp(n.op)) throw new WhiteBoxError('UNSUPPORTED_OP', `operator ${n.op} is not supported`);
  return { graph: g, numClasses: info.dims[1]!, shapes };
}
