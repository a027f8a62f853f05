import { WhiteBoxError, type Model } from '@whitebox/core';
import { randomizeInitializers, readModel } from '@whitebox/onnx';
import type { CascadeStep } from './sanity.js';

const WEIGHT_OPS = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'];

/** The weight layers of an ONNX model (Conv, Gemm, MatMul nodes with initializer inputs), in graph order. */
export function weightLayers(modelBytes: Uint8Array, source?: string): Array<{ name: string; op: string; initializers: string[] }> {
  const graph = readModel(modelBytes, source).graph;
  if (!graph) throw new WhiteBoxError('INVALID_MODEL', `${source ?? 'model'}: no graph`);
  const inits = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const out: Array<{ name: string; op: string; initializers: string[] }> = [];
  for (const node of graph.node ?? []) {
    if (!WEIGHT_OPS.includes(node.opType ?? '')) continue;
    const initializers = (node.input ?? []).filter((i) => inits.has(i));
    if (initializers.length) out.push({ name: node.name || node.output?.[0] || `${node.opType}_${out.length}`, op: node.opType!, initializers });
  }
  return out;
}

/**
 * The cascading randomization of Adebayo et al. 2018 for an ONNX model: step k re-initialises the
 * top k weight layers (their weights and biases, drawn with each tensor's own mean and std, seeded),
 * and `load` turns the randomized bytes into a Model.
 */
export function onnxCascade(modelBytes: Uint8Array, load: (bytes: Uint8Array) => Promise<Model>, seed = 0, source?: string): CascadeStep[] {
  const layers = weightLayers(modelBytes, source).reverse();
  if (layers.length === 0) throw new WhiteBoxError('INVALID_MODEL', `${source ?? 'model'}: no weight layers (${WEIGHT_OPS.join(', ')} with initializers) to randomize`);
  const names: string[] = [];
  return layers.map((l, k) => {
    names.push(...l.initializers);
    const upTo = [...names];
    return { layer: l.name, model: async () => load(randomizeInitializers(modelBytes, upTo, seed + k)) };
  });
}

/**
 * The independent randomization of Adebayo et al. 2018 for an ONNX model: step k re-initialises only the k-th
 * weight layer from the top (weights and biases, each tensor's own mean and std, seeded) and keeps the others
 * trained, so each layer's own influence on the map shows.
 */
export function onnxIndependent(modelBytes: Uint8Array, load: (bytes: Uint8Array) => Promise<Model>, seed = 0, source?: string): CascadeStep[] {
  const layers = weightLayers(modelBytes, source).reverse();
  if (layers.length === 0) throw new WhiteBoxError('INVALID_MODEL', `${source ?? 'model'}: no weight layers (${WEIGHT_OPS.join(', ')} with initializers) to randomize`);
  return layers.map((l, k) => ({ layer: l.name, model: async () => load(randomizeInitializers(modelBytes, [...l.initializers], seed + k)) }));
}
