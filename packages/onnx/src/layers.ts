import type { LayerInfo } from '@whitebox/core';
import { consumers, type IrGraph, type IrNode } from './graph.js';
import { isFloatType, readInt, readInts } from './ops/index.js';
import { dependsOn } from './prepare.js';
import type { GraphShapes } from './shapes.js';

/**
 * Layers: every float tensor of a prepared graph that depends on the input (conv, activation, Add, Concat, Mul …
 * outputs), with its shape and whether CAM methods can read it as a spatial map [N, C, h, w] or as a token grid
 * [N, prefix + h·w, C] (Vision Transformers); and Grad-CAM's default layer.
 */

function reached(g: IrGraph): Set<string> {
  const r = new Set([g.input.name]);
  for (const n of g.nodes) if (n.inputs.some((i) => r.has(i))) for (const o of n.outputs) r.add(o);
  return r;
}

/**
 * Tensors every path from the input to the output passes through (the graph's articulation tensors: ResNet's block
 * outputs, an inception block's Concat, not one of its branches). Nodes are in topological order; a node on an
 * input→output path is a cut exactly when no edge between two such nodes jumps over its position.
 */
function cutTensors(g: IrGraph): Set<string> {
  const fromInput = reached(g);
  const toOutput = new Set([g.output]);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => toOutput.has(o))) for (const x of n.inputs) if (x) toOutput.add(x);
  }
  const onPath = (t: string) => fromInput.has(t) && toOutput.has(t);
  const pos = new Map<string, number>([[g.input.name, -1]]);
  g.nodes.forEach((n, i) => { for (const o of n.outputs) if (o) pos.set(o, i); });
  // cover[i] > 0: some input→output edge runs from a node before i to a node after it.
  const diff = new Int32Array(g.nodes.length + 2);
  g.nodes.forEach((n, w) => {
    for (const x of n.inputs) {
      if (!x || !onPath(x) || !n.outputs.some(onPath)) continue;
      const u = pos.get(x)!;
      if (w - u > 1) { diff[u + 2]! += 1; diff[w + 1]! -= 1; } // covers nodes u+1 … w-1 (index shifted by one)
    }
  });
  const cuts = new Set<string>();
  let cover = 0;
  g.nodes.forEach((n, i) => {
    cover += diff[i + 1]!;
    if (cover === 0) for (const o of n.outputs) if (o && onPath(o)) cuts.add(o);
  });
  return cuts;
}

/** Patch grids (h, w) of the graph's spatial tensors, last first. */
function patchGrids(g: IrGraph, shapes: GraphShapes): { h: number; w: number }[] {
  const out: { h: number; w: number }[] = [];
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      const i = o && shapes.a.get(o);
      if (i && i.dims.length === 4 && shapes.batchDependent(o) === 'dim0' && i.dims[2]! * i.dims[3]! > 1) out.push({ h: i.dims[2]!, w: i.dims[3]! });
    }
  }
  return out.reverse();
}

function gridOf(dims: readonly number[], grids: { h: number; w: number }[]): LayerInfo['grid'] {
  const t = dims[1]!;
  for (const p of [0, 1, 2]) {
    const g = grids.find((q) => q.h * q.w === t - p);
    if (g) return { prefixTokens: p, h: g.h, w: g.w };
  }
  return undefined;
}

/** The intermediate tensors of a graph that methods can explain, with op, shape and kind. */
export function modelLayers(g: IrGraph, shapes: GraphShapes): LayerInfo[] {
  const fromInput = reached(g);
  const grids = patchGrids(g, shapes);
  const out: LayerInfo[] = [];
  for (const n of g.nodes) {
    for (const name of n.outputs) {
      if (!name || name === g.output || !fromInput.has(name)) continue;
      const info = shapes.a.get(name);
      if (!info || !isFloatType(info.dtype)) continue;
      const b = shapes.b.get(name)!.dims;
      const dep = shapes.batchDependent(name);
      const shape = info.dims.map((d, i) => (d === b[i] ? d : null));
      let kind: LayerInfo['kind'] = 'other';
      let grid: LayerInfo['grid'];
      if (dep === 'dim0' && info.dims.length === 4) kind = 'spatial';
      else if (dep === 'dim0' && info.dims.length === 3) {
        grid = gridOf(info.dims, grids);
        if (grid) kind = 'tokens';
      }
      out.push({ name, op: n.op, shape, kind, ...(grid ? { grid } : {}) });
    }
  }
  return out;
}

/** Ops that reduce the spatial axes away (what a classifier head does before its linear layer). */
function spatialReductionInput(n: IrNode, g: IrGraph, shapes: GraphShapes, cons: Map<string, IrNode[]>): string | undefined {
  const x = n.inputs[0];
  if (!x) return undefined;
  const xi = shapes.a.get(x);
  // A 1×1 map (a global pool's output before Flatten) is no CAM layer: every map of it would be constant; nor is a
  // one-channel [N, 1, h, C] tensor (a channel-last layout after pooling).
  if (!xi || xi.dims.length !== 4 || shapes.batchDependent(x) !== 'dim0' || xi.dims[2]! * xi.dims[3]! <= 1 || xi.dims[1]! < 2) return undefined;
  const y = shapes.a.get(n.outputs[0] ?? '');
  switch (n.op) {
    case 'GlobalAveragePool': case 'GlobalMaxPool':
      return x;
    case 'ReduceMean': case 'ReduceMax': case 'ReduceSum': {
      // Over H and W (axes 2 and 3), never over the channels (a channel-last LayerNorm's ReduceMean is no pooling).
      const t = n.inputs[1] ? g.inits.get(n.inputs[1]) : undefined;
      const raw = t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : readInts(n, 'axes');
      if (!raw) return undefined;
      const axes = raw.map((a) => (a < 0 ? a + 4 : a));
      return axes.includes(2) && axes.includes(3) && !axes.includes(0) && !axes.includes(1) ? x : undefined;
    }
    case 'AveragePool': case 'MaxPool':
      return y && y.dims[2] === 1 && y.dims[3] === 1 ? x : undefined;
    case 'Flatten': case 'Reshape': {
      // [N, C, h, w] flattened straight into a linear layer (VGG, AlexNet, SimpleCNN).
      if (!y || y.dims.length !== 2) return undefined;
      const next = cons.get(n.outputs[0]!) ?? [];
      return next.some((m) => m.op === 'Gemm' || m.op === 'MatMul') ? x : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Grad-CAM's default layer: the last spatial feature map [N, C, H, W] that the logits reach through a spatial
 * reduction (GlobalAveragePool, ReduceMean over H and W, a 1×1 pool, Flatten → Gemm) — after the final residual Add
 * and activation (ResNet's layer4 output), DenseNet's final norm + ReLU, GoogLeNet's inception5b Concat,
 * EfficientNet's last SiLU, ConvNeXt's last stage — stepping back through non-global pools to the map before them
 * (SimpleCNN's relu3, VGG's last ReLU). For token models (ViT): the normalized tokens entering the last attention.
 */
export function defaultCamLayerOf(g: IrGraph, shapes: GraphShapes): string | undefined {
  const cons = consumers(g);
  const producer = new Map<string, IrNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  // The reduction must be the head's: its input a tensor every input→output path passes through. An inner branch's
  // windowed pool that happens to end at 1×1 (Inception-v3's Mixed_7c pool branch at small inputs) is not.
  const cuts = cutTensors(g);
  let found: string | undefined;
  let anyReduction: string | undefined;
  for (const n of g.nodes) {
    const t = spatialReductionInput(n, g, shapes, cons);
    if (!t || !dependsOn(g, g.input.name, t)) continue;
    anyReduction = t;
    if (cuts.has(t)) found = t;
  }
  if (!found && anyReduction) {
    // Only branch reductions (the final map is 1×1): the last spatial map larger than 1×1 that every path crosses.
    const spatial = modelLayers(g, shapes).filter((l) => l.kind === 'spatial' && cuts.has(l.name) && (shapes.a.get(l.name)?.dims ?? []).slice(2).reduce((a, b) => a * b, 1) > 1);
    found = spatial[spatial.length - 1]?.name ?? anyReduction;
  }
  if (found) {
    for (;;) {
      const p = producer.get(found);
      if (!p || !['MaxPool', 'AveragePool', 'Identity'].includes(p.op)) break;
      const x = p.inputs[0]!;
      const xi = shapes.a.get(x);
      if (!xi || xi.dims.length !== 4 || (cuts.has(found) && !cuts.has(x))) break;
      found = x;
    }
    return found;
  }
  // Token models: the batch-major token grid nearest upstream of the last attention product (activation × activation).
  const fromInput = reached(g);
  const layers = modelLayers(g, shapes);
  const tokenLayers = new Map(layers.filter((l) => l.kind === 'tokens').map((l) => [l.name, l]));
  const attention = [...g.nodes].reverse().find((n) => (n.op === 'MatMul' || n.op === 'Einsum') && n.inputs.length === 2 && n.inputs.every((i) => fromInput.has(i)));
  if (attention) {
    // Breadth-first upstream of the attention product: the nearest token tensor that is a normalization output (the
    // block's LayerNorm, as an op or in its exported ReduceMean/Sub/Pow/Sqrt/Div form); else the nearest token tensor.
    const isNorm = (t: string): boolean => {
      let p = producer.get(t);
      for (let step = 0; p && step < 3; step++) {
        if (p.op === 'LayerNormalization') return true;
        if (p.op === 'Div') return producer.get(p.inputs[1] ?? '')?.op === 'Sqrt';
        if (p.op !== 'Add' && p.op !== 'Mul') return false;
        const dyn = p.inputs.find((i) => fromInput.has(i));
        p = dyn ? producer.get(dyn) : undefined;
      }
      return false;
    };
    const queue = [...attention.inputs];
    const seen = new Set(queue);
    let nearest: string | undefined;
    while (queue.length > 0) {
      const t = queue.shift()!;
      if (tokenLayers.has(t)) {
        if (isNorm(t)) return t;
        nearest ??= t;
      }
      const p = producer.get(t);
      for (const i of p?.inputs ?? []) if (i && !seen.has(i) && fromInput.has(i)) { seen.add(i); queue.push(i); }
    }
    if (nearest) return nearest;
  }
  // Fallback: the last spatial map.
  const spatial = layers.filter((l) => l.kind === 'spatial');
  return spatial[spatial.length - 1]?.name;
}
