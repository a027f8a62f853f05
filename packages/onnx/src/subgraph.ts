import {
  Tensor, WhiteBoxError, concatBatch, describeTensorArg, formatShape, type ForwardFromOptions, type InferenceSession, type ModelWithExternalData, type TensorData,
} from '@whitebox/core';
import { graphToSessionModel } from './builder.js';
import { importModel, initsToProto, nodesToProto, outputOpset, type IrGraph, type IrNode } from './graph.js';
import type { PreparedModel } from './prepare.js';
import { makeValueInfo } from './proto.js';
import { fixedBatch } from './shapes.js';

/** The part of a prepared graph after one of its tensors: an ONNX model of its own (`Model.forwardFrom`). */
export interface CutModel {
  /** The tensor the graph was cut at: the sub-model's first input (same name). */
  layer: string;
  /** The layer's shape for a batch of 2 (dims after the first are what an activation must have). */
  layerShape: number[];
  /** True when nodes after the cut also need tensors computed before it (a skip around the layer): the sub-model then takes the model input too. */
  needsInput: boolean;
  inputName: string;
  /** The sub-model (ONNX bytes, or bytes with external data for large weights): inputs [layer, (model input)], output 'logits'. */
  model: Uint8Array | ModelWithExternalData;
  /** The batch dim of the graph when it is fixed (the sub-model runs at exactly that batch). */
  fixedBatch: number | undefined;
  /** Nodes of the sub-model (for the session's optimization level). */
  nodeCount: number;
}

/** Why `name` is not a tensor of the prepared graph: for the error messages of `forwardFrom` and `gradients`. */
export function unknownTensorHint(g: IrGraph, modelBytes: Uint8Array | undefined, name: string, output?: string): string {
  if (modelBytes) {
    try {
      const source = importModel(modelBytes, g.source, output !== undefined ? { output } : {});
      if (source.nodes.some((n) => n.outputs.includes(name)) || source.input.name === name) {
        return `'${name}' is a tensor of the model file, but not one that the model's output depends on (a branch that does not feed '${g.originalOutput}', or a tensor folded away, e.g. a Conv output merged with its BatchNormalization)`;
      }
    } catch {
      // The model already loaded once; fall through to the plain message.
    }
  }
  return `'${name}' is not a tensor of the model`;
}

/**
 * Cuts the prepared graph at tensor `layer`: the layer becomes a graph input and the nodes that compute the output from
 * it are kept. Nodes after the cut that need tensors computed before it (a residual skip around the layer) are computed
 * from the model input, which the sub-model then also takes; everything else is pruned.
 */
export function cutGraphAt(prepared: PreparedModel, layer: string, modelBytes?: Uint8Array, output?: string, maxInlineBytes?: number): CutModel {
  const { graph: g, numClasses } = prepared;
  const producerIndex = g.nodes.findIndex((n) => n.outputs.includes(layer));
  if (layer === g.input.name) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `forwardFrom: '${layer}' is the model input; use forward`, { layer });
  }
  if (layer === g.output) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `forwardFrom: '${layer}' is the model's output (the logits); cut at an earlier tensor`, { layer });
  }
  if (producerIndex < 0) {
    throw new WhiteBoxError('NOT_FOUND', `forwardFrom: ${unknownTensorHint(g, modelBytes, layer, output)}; its tensors are: ${g.nodes.map((n) => n.outputs[0]).slice(0, 60).join(', ')}`, { layer });
  }
  const producer = g.nodes[producerIndex]!;
  // Backward from the output, stopping at the layer.
  const needed = new Set<string>([g.output]);
  const keep: IrNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o) && o !== layer)) continue;
    if (n === producer) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `forwardFrom: node '${n.name}' (${n.op}) produces '${layer}' and another output the model needs; cut at a tensor of a single-output node`, { layer, node: n.name });
    }
    keep.push(n);
    for (const inp of n.inputs) if (inp) needed.add(inp);
  }
  keep.reverse();
  if (!needed.has(layer)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `forwardFrom: the model's output '${g.originalOutput}' does not depend on '${layer}'`, { layer });
  }
  const needsInput = needed.has(g.input.name);
  const fixed = fixedBatch(g);
  if (fixed !== undefined ? prepared.shapes.dims(layer)[0] !== fixed : prepared.shapes.batchDependent(layer) !== 'dim0') {
    throw new WhiteBoxError('INVALID_ARGUMENT', `forwardFrom: '${layer}' is not batch-major (its first dim is not the batch), so it cannot be replaced per image`, { layer });
  }
  const layerShape = prepared.shapes.dims(layer);
  const batch = g.input.dims[0]!;
  const inputs = [makeValueInfo(layer, [batch, ...layerShape.slice(1)])];
  if (needsInput) inputs.push(makeValueInfo(g.input.name, g.input.dims));
  const nodes = nodesToProto(keep);
  if (g.output !== 'logits') nodes.push({ opType: 'Identity', name: 'wb/logits', input: [g.output], output: ['logits'] });
  const inits = new Map([...g.inits].filter(([k]) => needed.has(k)));
  const model = graphToSessionModel({
    name: `${g.name}_from_${layer}`,
    node: nodes,
    initializer: initsToProto(inits, g.initTypes),
    input: inputs,
    output: [makeValueInfo('logits', [batch, numClasses])],
  }, { opset: outputOpset(g), producer: 'whitebox', maxInlineBytes });
  return { layer, layerShape, needsInput, inputName: g.input.name, model, fixedBatch: fixed, nodeCount: keep.length };
}

function repeatRows(t: Tensor, rows: number): Tensor {
  if (t.batchSize === rows) return t;
  const out = new Float32Array(rows * t.itemSize);
  for (let r = 0; r < rows; r++) out.set(t.data.subarray((r % t.batchSize) * t.itemSize, ((r % t.batchSize) + 1) * t.itemSize), r * t.itemSize);
  return new Tensor(out, [rows, ...t.dims.slice(1)]);
}

/**
 * Runs a cut model on `activation` (and the model input when it needs it), `batchSize` rows per run (a fixed-batch
 * graph runs at its batch, the last chunk padded), with progress in rows. `checkInput` validates the model input.
 */
export async function runCutModel(
  cut: CutModel, session: InferenceSession, activation: Tensor, options: ForwardFromOptions, defaultBatch: number, checkInput: (t: Tensor) => void,
): Promise<Tensor> {
  const expected = cut.layerShape.slice(1);
  if (!(activation instanceof Tensor) || activation.dtype !== 'float32' || activation.rank !== cut.layerShape.length || expected.some((d, i) => d !== activation.dims[i + 1]) || activation.batchSize < 1) {
    const got = activation instanceof Tensor ? `${activation.dtype} ${formatShape(activation.dims)}` : describeTensorArg(activation);
    throw new WhiteBoxError('SHAPE_MISMATCH', `forwardFrom: the activation for layer '${cut.layer}' must be float32 [N ≥ 1, ${expected.join(', ')}], got ${got}`, { layer: cut.layer, expected, got: activation?.dims });
  }
  const d = activation.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) throw new WhiteBoxError('INVALID_ARGUMENT', `forwardFrom: the activation for layer '${cut.layer}' has a non-finite value (${d[i]}) at flat index ${i}`, { layer: cut.layer, index: i });
  }
  const n = activation.batchSize;
  let input: Tensor | undefined;
  if (cut.needsInput) {
    if (!options.input) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `forwardFrom: layer '${cut.layer}' is bypassed by a skip connection (the output also needs tensors computed before it); pass the model input as options.input (batch 1 or ${n})`, { layer: cut.layer });
    }
    checkInput(options.input);
    if (options.input.batchSize !== 1 && options.input.batchSize !== n) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `forwardFrom: options.input has batch ${options.input.batchSize}; it must be 1 or the activation's batch ${n}`, { layer: cut.layer });
    }
    input = options.input;
  }
  const size = cut.fixedBatch ?? options.batchSize ?? defaultBatch;
  if (!Number.isInteger(size) || size < 1) throw new WhiteBoxError('INVALID_ARGUMENT', `forwardFrom: batchSize must be an integer ≥ 1, got ${size}`, { option: 'batchSize' });
  const parts: Tensor[] = [];
  options.onProgress?.({ done: 0, total: n, stage: 'forward-from' });
  for (let s = 0; s < n; s += size) {
    const e = Math.min(n, s + size);
    const rows = cut.fixedBatch ?? e - s;
    const feeds: Record<string, Tensor<TensorData>> = { [cut.layer]: repeatRows(activation.slice(s, e), rows) };
    if (input) feeds[cut.inputName] = repeatRows(input.batchSize === 1 ? input : input.slice(s, e), rows);
    const out = (await session.run(feeds, ['logits'])).logits as Tensor;
    parts.push(out.batchSize === e - s ? out : out.slice(0, e - s));
    options.onProgress?.({ done: e, total: n, stage: 'forward-from' });
  }
  return parts.length === 1 ? parts[0]! : concatBatch(parts);
}
