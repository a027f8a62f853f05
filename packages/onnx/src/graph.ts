import { LIMITS, Tensor, WhiteBoxError, type ModelWithExternalData, type TensorData } from '@whitebox/core';
import { inlineExternalData, type ExternalDataReader } from './external.js';
import { attrFromProto, attrToProto, graphToModelBytes, graphToSessionModel, type AttrValue, type GraphProtoParts } from './builder.js';
import { getOp, ELEM_CODES, elemTypeOfCode, isFloatType, nodeError, nodeWhere, readInt, readInts, readString, validateNode, type ElemType } from './ops/index.js';
import {
  DataType, makeValueInfo, modelOpset, readModel, tensorFromProto, tensorToProto, valueInfoDims,
  type INodeProto, type ITensorProto,
} from './proto.js';

/** One node of the in-memory graph IR. */
export interface IrNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

/** In-memory graph: one image input, one logits output, initializers as core Tensors. */
export interface IrGraph {
  name: string;
  /** Opset of the source model; nodes are normalized to current (opset ≥ 17) forms. */
  sourceOpset: number;
  source?: string;
  nodes: IrNode[];
  inits: Map<string, Tensor<TensorData>>;
  /** ONNX element type of each initializer (bool and float64 are held as uint8 / float32 tensors). */
  initTypes: Map<string, ElemType>;
  /** The image input; dims[0] is 'N' for a symbolic batch or the fixed batch size. */
  input: { name: string; dims: (number | string)[] };
  /** The tensor the model outputs (the logits, or the pre-softmax logits when `endsInSoftmax`). */
  output: string;
  /** The original graph output name. */
  originalOutput: string;
  /** True when the model ended in Softmax and `output` is that Softmax's input. */
  endsInSoftmax: boolean;
  /** Largest tensor, in elements per sample, that shape inference accepts. */
  maxElements: number;
}

/** Options of importing an ONNX model: which output holds the logits, and size limits. */
export interface ImportOptions {
  /** Which graph output holds the logits, when the model has several. */
  output?: string;
  /** Largest tensor, in elements per sample, the model may declare (default LIMITS.tensorElements, 2^28 = 1 GiB of float32). */
  maxElements?: number;
  /** Most nodes the graph may have (default LIMITS.modelNodes). */
  maxNodes?: number;
  /** Where the model's external data files are read from (loadModel sets it from the model's path or its externalData option). */
  externalData?: ExternalDataReader;
  /** Most bytes of external data read (default LIMITS.modelBytes). */
  maxExternalBytes?: number;
  /** Called with each external tensor's bytes as read. */
  onExternalData?: (data: Uint8Array) => void;
}

export const DEFAULT_MAX_ELEMENTS = LIMITS.tensorElements;

/** Names WhiteBox's gradient graphs reserve for their own inputs and outputs. */
export const RESERVED = new Set(['logits', 'input_grad', 'cotangent']);

// ---------- attribute helpers (kept for the method packages' and older call sites) ----------

export function attrInt(n: IrNode, key: string, def: number): number {
  return readInt(n, key, def);
}

export function attrFloat(n: IrNode, key: string, def: number): number {
  return readInt(n, key, def);
}

export function attrInts(n: IrNode, key: string, def: number[] | undefined): number[] | undefined {
  return readInts(n, key) ?? def;
}

export function attrString(n: IrNode, key: string, def: string): string {
  return readString(n, key, def);
}

export function nodeDesc(n: IrNode): string {
  return nodeWhere(n);
}

export function unsupported(n: IrNode, why: string, g?: { source?: string }): WhiteBoxError {
  return nodeError(n, g, 'UNSUPPORTED_OP', why);
}

// ---------- import ----------

const ALLOW_INF_CONSUMERS = new Set(['Clip', 'Max', 'Min', 'Where', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Equal', 'Add', 'ConstantOfShape', 'Cast']);

/**
 * Parses ONNX bytes into the IR: checks the graph's structure (one image input, one logits output, unique tensor
 * names, topological order, standard-domain operators, no sparse or non-finite weights), normalizes older operator
 * forms to current ones and folds Constant nodes into initializers.
 */
export function importModel(bytes: Uint8Array, source?: string, options: ImportOptions = {}): IrGraph {
  const model = readModel(bytes, source);
  inlineExternalData(model, options.externalData, source, {
    maxBytes: options.maxExternalBytes ?? LIMITS.modelBytes, raise: 'pass maxModelBytes to loadModel to accept larger models', onData: options.onExternalData,
  });
  const g = model.graph!;
  const where = source ? ` in ${source}` : '';
  const file = source ? { file: source } : {};
  const opset = modelOpset(model);
  if (opset > 0 && opset < 7) throw new WhiteBoxError('UNSUPPORTED_OP', `ONNX model${where} uses opset ${opset}; WhiteBox reads opset 7 and later (re-export it with a newer exporter)`, { ...file, opset });
  if ((g.sparseInitializer ?? []).length > 0) {
    const names = g.sparseInitializer!.map((s) => s.values?.name ?? '?').join(', ');
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} has sparse initializers (${names}), which WhiteBox does not read; store them dense`, file);
  }
  const inits = new Map<string, Tensor<TensorData>>();
  const initTypes = new Map<string, ElemType>();
  for (const t of g.initializer ?? []) {
    const name = t.name ?? '';
    if (!name) throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} has an initializer without a name`, file);
    if (inits.has(name)) throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} defines initializer '${name}' twice (a corrupt or concatenated file?)`, { ...file, tensor: name });
    inits.set(name, tensorFromProto(t, `initializer '${name}'${where}`));
    initTypes.set(name, elemTypeOfCode(t.dataType ?? 0) ?? 'float32');
  }
  const seenInputs = new Set<string>();
  for (const i of g.input ?? []) {
    const name = i.name ?? '';
    if (seenInputs.has(name)) throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} declares graph input '${name}' twice (a corrupt or concatenated file?)`, { ...file, input: name });
    seenInputs.add(name);
  }
  const inputs = (g.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  if (inputs.length !== 1) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} must have exactly one input (the image batch), it has ${inputs.length}${inputs.length ? `: ${inputs.map((i) => i.name).join(', ')}` : ''}`, file);
  }
  const inVi = inputs[0]!;
  const inName = inVi.name ?? '';
  if (!inName) throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: the input has no name`, file);
  const inDims = valueInfoDims(inVi);
  if (!inDims || inDims.length === 0) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: input '${inName}' has no shape; WhiteBox needs it (e.g. [N, C, H, W])`, file);
  }
  const elem = inVi.type?.tensorType?.elemType;
  if (elem !== DataType.FLOAT) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: input '${inName}' must be float32, it is ${elemTypeOfCode(elem ?? 0) ?? `type ${elem}`}`, file);
  }
  for (let i = 1; i < inDims.length; i++) {
    if (typeof inDims[i] !== 'number') {
      throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: input '${inName}' has a symbolic dim '${inDims[i]}' at axis ${i}; only the batch dim (axis 0) may be symbolic`, file);
    }
    if ((inDims[i] as number) < 1) throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: input '${inName}' has dim ${inDims[i]} at axis ${i}`, file);
  }
  if (typeof inDims[0] === 'number' && inDims[0] < 1) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: input '${inName}' has a fixed batch dim of ${inDims[0]}`, file);
  }
  const maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const perSample = inDims.slice(1).reduce<number>((a, d) => a * (d as number), 1);
  if (perSample > maxElements) {
    throw new WhiteBoxError('LIMIT_EXCEEDED', `ONNX model${where}: input '${inName}' declares [${inDims.join(', ')}], ${perSample} elements per image, over the limit of ${maxElements} (raise it with the maxElements option)`, { ...file, dims: inDims, limit: maxElements });
  }
  const outNames = (g.output ?? []).map((o) => o.name ?? '');
  let out: string;
  if (options.output !== undefined) {
    if (!outNames.includes(options.output)) throw new WhiteBoxError('INVALID_ARGUMENT', `ONNX model${where} has no output '${options.output}' (outputs: ${outNames.join(', ')})`, { ...file, output: options.output });
    out = options.output;
  } else if (outNames.length !== 1) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} has ${outNames.length} outputs (${outNames.join(', ')}); say which one holds the logits (loadModel option 'output', CLI --output)`, { ...file, outputs: outNames });
  } else out = outNames[0]!;

  const maxNodes = options.maxNodes ?? LIMITS.modelNodes;
  if ((g.node ?? []).length > maxNodes) {
    throw new WhiteBoxError('LIMIT_EXCEEDED', `ONNX model${where} has ${g.node!.length} nodes, over the limit of ${maxNodes} (raise it with the maxNodes option; session creation time grows faster than the node count)`, { ...file, nodes: g.node!.length, limit: maxNodes });
  }
  const nodes: IrNode[] = [];
  const addInit = (n: IrNode) => (suffix: string, t: Tensor<TensorData>): string => {
    let name = `${n.name}/${suffix}`;
    while (inits.has(name)) name += '_';
    inits.set(name, t);
    initTypes.set(name, t.dtype === 'float32' ? 'float32' : t.dtype);
    return name;
  };
  const usedNames = new Set<string>();
  let anon = 0;
  for (const np of g.node as INodeProto[]) {
    let name = np.name || `${np.opType}_${anon++}`;
    while (usedNames.has(name)) name = `${name}_${anon++}`;
    usedNames.add(name);
    const domain = np.domain ?? '';
    const n: IrNode = { op: np.opType ?? '', name, inputs: [...(np.input ?? [])], outputs: [...(np.output ?? [])], attrs: {} };
    if (domain !== '' && domain !== 'ai.onnx') n.op = `${domain}::${n.op}`;
    for (const a of np.attribute ?? []) {
      if (!a.name) throw nodeError(n, { source }, 'INVALID_MODEL', 'has an attribute without a name');
      n.attrs[a.name] = attrFromProto(a, `${nodeDesc(n)}${where}`);
      // Tensor attributes are read into core Tensors (bool as uint8): keep their ONNX element type beside them.
      if (a.t && a.type === 4) n.attrs[`_${a.name}Type`] = elemTypeOfCode(a.t.dataType ?? 0) ?? 'float32';
    }
    const schema = getOp(n.op);
    const normalized = schema?.normalize?.(n, opset, addInit(n));
    nodes.push(...(normalized ?? [n]));
  }
  const graph: IrGraph = {
    name: g.name || 'model', sourceOpset: opset, source, nodes, inits, initTypes,
    input: { name: inName, dims: inDims.map((d, i) => (i === 0 && typeof d !== 'number' ? 'N' : d)) },
    output: out, originalOutput: out, endsInSoftmax: false, maxElements,
  };
  checkUnsupported(graph);
  // Constants -> initializers.
  graph.nodes = graph.nodes.filter((n) => {
    if (n.op !== 'Constant') return true;
    validateNode(getOp('Constant')!, n, graph);
    const t = constantValue(n, graph);
    inits.set(n.outputs[0]!, t.tensor);
    initTypes.set(n.outputs[0]!, t.type);
    return false;
  });
  checkStructure(graph);
  for (const n of graph.nodes) validateNode(getOp(n.op)!, n, graph);
  checkInitializers(graph);
  return graph;
}

function constantValue(n: IrNode, g: IrGraph): { tensor: Tensor<TensorData>; type: ElemType } {
  const v = n.attrs.value;
  if (v instanceof Tensor) return { tensor: v, type: (n.attrs._valueType as string as ElemType | undefined) ?? (v.dtype === 'float32' ? 'float32' : v.dtype) };
  const f = (key: string) => readInt(n, key, 0, g);
  if (n.attrs.value_float !== undefined) return { tensor: new Tensor(Float32Array.of(f('value_float')), []), type: 'float32' };
  if (n.attrs.value_floats !== undefined) { const a = readInts(n, 'value_floats', g)!; return { tensor: new Tensor(Float32Array.from(a), [a.length]), type: 'float32' }; }
  if (n.attrs.value_int !== undefined) return { tensor: new Tensor(BigInt64Array.of(BigInt(f('value_int'))), []), type: 'int64' };
  if (n.attrs.value_ints !== undefined) { const a = readInts(n, 'value_ints', g)!; return { tensor: new Tensor(BigInt64Array.from(a.map((x) => BigInt(x))), [a.length]), type: 'int64' }; }
  throw unsupported(n, 'Constant without a tensor, float(s) or int(s) value', g);
}

/** One error listing every operator the model uses that WhiteBox does not support, with counts and a first node. */
function checkUnsupported(g: IrGraph): void {
  const missing = new Map<string, { count: number; first: string }>();
  for (const n of g.nodes) {
    if (getOp(n.op)) continue;
    const m = missing.get(n.op);
    if (m) m.count++;
    else missing.set(n.op, { count: 1, first: n.name });
  }
  if (missing.size === 0) return;
  const list = [...missing].map(([op, m]) => `${op} ×${m.count} (first: node '${m.first}')`);
  const custom = [...missing.keys()].some((op) => op.includes('::'));
  throw new WhiteBoxError(
    'UNSUPPORTED_OP',
    `the model${g.source ? ` ${g.source}` : ''} uses ${missing.size} operator type${missing.size === 1 ? '' : 's'} WhiteBox does not support: ${list.join(', ')}${custom ? ' (domain::op are non-standard domains; only standard ONNX operators are supported)' : ''}`,
    { file: g.source, ops: Object.fromEntries([...missing].map(([op, m]) => [op, m])), node: [...missing.values()][0]!.first, op: [...missing.keys()][0] },
  );
}

/** Unique tensor names, inputs defined before use (re-sorting an unsorted graph), no cycles. */
function checkStructure(g: IrGraph): void {
  const where = g.source ? ` in ${g.source}` : '';
  const producer = new Map<string, IrNode>();
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (!o) continue;
      const other = producer.get(o);
      if (other) throw nodeError(n, g, 'INVALID_MODEL', `output '${o}' is also produced by node '${other.name}' (each tensor must have one producer; a corrupt or concatenated file?)`, { tensor: o });
      if (g.inits.has(o)) throw nodeError(n, g, 'INVALID_MODEL', `output '${o}' has the name of an initializer`, { tensor: o });
      if (o === g.input.name) throw nodeError(n, g, 'INVALID_MODEL', `output '${o}' has the name of the graph input`, { tensor: o });
      producer.set(o, n);
    }
  }
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i && i !== g.input.name && !g.inits.has(i) && !producer.has(i)) {
        throw nodeError(n, g, 'INVALID_MODEL', `input '${i}' is not the graph input, an initializer or any node's output`, { tensor: i });
      }
    }
  }
  if (!producer.has(g.output) && g.output !== g.input.name) {
    // A Constant node's output (folded into an initializer above) or an initializer: logits that ignore the input.
    if (g.inits.has(g.output)) {
      throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: output '${g.output}' is a constant (an initializer or a Constant node's value), not computed from input '${g.input.name}'; WhiteBox needs logits that depend on the input`, { file: g.source, output: g.output });
    }
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: output '${g.output}' is not produced by any node`, { file: g.source, output: g.output });
  }
  // Topological order (ONNX requires it; re-sort when a file is out of order, refuse cycles).
  const ready = new Set<string>([g.input.name, ...g.inits.keys()]);
  let sorted = true;
  for (const n of g.nodes) {
    if (n.inputs.some((i) => i && !ready.has(i))) { sorted = false; break; }
    for (const o of n.outputs) if (o) ready.add(o);
  }
  if (sorted) return;
  const order: IrNode[] = [];
  const done = new Set<string>([g.input.name, ...g.inits.keys()]);
  let pending = [...g.nodes];
  while (pending.length > 0) {
    const next: IrNode[] = [];
    for (const n of pending) {
      if (n.inputs.every((i) => !i || done.has(i))) { order.push(n); for (const o of n.outputs) if (o) done.add(o); } else next.push(n);
    }
    if (next.length === pending.length) {
      const n = next[0]!;
      const missing = n.inputs.find((i) => i && !done.has(i));
      throw nodeError(n, g, 'INVALID_MODEL', `the graph has a cycle: input '${missing}' depends on this node's own output`, { tensor: missing });
    }
    pending = next;
  }
  g.nodes = order;
}

/** Non-finite weights: NaN anywhere; ±Inf except where only masking/clipping ops read them. Divisors with zeros. */
function checkInitializers(g: IrGraph): void {
  const consumersOf = new Map<string, IrNode[]>();
  for (const n of g.nodes) for (const [idx, i] of n.inputs.entries()) if (i && g.inits.has(i)) { const l = consumersOf.get(i) ?? []; l.push(n); consumersOf.set(i, l); void idx; }
  for (const [name, t] of g.inits) {
    if (!(t.data instanceof Float32Array)) continue;
    const d = t.data;
    const users = consumersOf.get(name) ?? [];
    const allowInf = users.length > 0 && users.every((u) => ALLOW_INF_CONSUMERS.has(u.op));
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v - v !== 0 && (Number.isNaN(v) || !allowInf)) {
        throw new WhiteBoxError('INVALID_MODEL', `initializer '${name}' [${t.dims.join(', ')}]${g.source ? ` in ${g.source}` : ''} has a non-finite value (${v}) at flat index ${i}${users[0] ? `; it is read by ${nodeDesc(users[0])}` : ''}`, { file: g.source, tensor: name, index: i });
      }
    }
    for (const u of users) {
      if ((u.op === 'Div' && u.inputs[1] === name) || (u.op === 'Reciprocal')) {
        const z = d.indexOf(0);
        if (z >= 0) throw nodeError(u, g, 'INVALID_MODEL', `divides by initializer '${name}', which is 0 at flat index ${z} (a normalization std of 0?)`, { tensor: name, index: z });
      }
    }
  }
}

/** Element type of an initializer. */
export function initType(g: IrGraph, name: string): ElemType {
  return g.initTypes.get(name) ?? (g.inits.get(name)?.dtype === 'float32' ? 'float32' : (g.inits.get(name)?.dtype as ElemType | undefined) ?? 'float32');
}

/** For each tensor name, the nodes that read it. */
export function consumers(g: IrGraph): Map<string, IrNode[]> {
  const m = new Map<string, IrNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) { const l = m.get(i) ?? []; if (!l.includes(n)) l.push(n); m.set(i, l); }
  return m;
}

/** Keeps only the nodes needed to compute `targets`, and the initializers they use. */
export function pruneGraph(g: IrGraph, targets: readonly string[]): IrGraph {
  const needed = new Set(targets);
  const keep: IrNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => needed.has(o))) {
      keep.push(n);
      for (const inp of n.inputs) if (inp) needed.add(inp);
    }
  }
  keep.reverse();
  const inits = new Map([...g.inits].filter(([k]) => needed.has(k)));
  return { ...g, nodes: keep, inits };
}

/** A copy of the graph whose nodes can be edited without touching the original. */
export function cloneGraph(g: IrGraph): IrGraph {
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
    inits: new Map(g.inits),
    initTypes: new Map(g.initTypes),
    input: { ...g.input, dims: [...g.input.dims] },
  };
}

/** Renames a tensor everywhere in the graph. */
export function renameTensor(g: IrGraph, from: string, to: string): void {
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    n.outputs = n.outputs.map((o) => (o === from ? to : o));
  }
  if (g.inits.has(from)) { g.inits.set(to, g.inits.get(from)!); g.inits.delete(from); }
  if (g.initTypes.has(from)) { g.initTypes.set(to, g.initTypes.get(from)!); g.initTypes.delete(from); }
  if (g.output === from) g.output = to;
}

/** Every tensor name of the graph. */
export function tensorNames(g: IrGraph): Set<string> {
  return new Set([g.input.name, ...g.inits.keys(), ...g.nodes.flatMap((n) => n.outputs.filter(Boolean))]);
}

/** Node protos for the IR nodes (internal attributes dropped). */
export function nodesToProto(nodes: readonly IrNode[]): INodeProto[] {
  return nodes.map((n) => ({
    opType: n.op,
    name: n.name,
    input: n.inputs,
    output: n.outputs,
    attribute: Object.entries(n.attrs).filter(([k]) => !k.startsWith('_')).map(([k, v]) => attrToProto(k, v)),
  }));
}

export function initsToProto(inits: Map<string, Tensor<TensorData>>, types?: Map<string, ElemType>): ITensorProto[] {
  return [...inits].map(([k, t]) => {
    // Views of the IR's tensors: the protos are serialized at once (forward, gradient and cut models).
    const p = tensorToProto(t, k, true);
    const ty = types?.get(k);
    if (ty === 'bool' && t.data instanceof Uint8Array) p.dataType = ELEM_CODES.bool;
    return p;
  });
}

function forwardModelParts(g: IrGraph, numClasses: number): GraphProtoParts {
  const nodes = nodesToProto(g.nodes);
  if (g.output !== 'logits') nodes.push({ opType: 'Identity', name: 'wb/logits', input: [g.output], output: ['logits'] });
  return {
    name: g.name,
    node: nodes,
    initializer: initsToProto(g.inits, g.initTypes),
    input: [makeValueInfo(g.input.name, g.input.dims)],
    output: [makeValueInfo('logits', [g.input.dims[0]!, numClasses])],
  };
}

/** The forward model of a prepared graph, its output renamed 'logits'. */
export function forwardModelBytes(g: IrGraph, numClasses: number): Uint8Array {
  return graphToModelBytes(forwardModelParts(g, numClasses), { opset: outputOpset(g), producer: 'whitebox' });
}

/** The forward model for a session: bytes, or bytes with external data above `maxInlineBytes` of weights (graphToSessionModel). */
export function forwardSessionModel(g: IrGraph, numClasses: number, maxInlineBytes?: number): Uint8Array | ModelWithExternalData {
  return graphToSessionModel(forwardModelParts(g, numClasses), { opset: outputOpset(g), producer: 'whitebox', maxInlineBytes });
}

/** Opset of the models WhiteBox writes from a graph: the source's, at least 17. */
export function outputOpset(g: IrGraph): number {
  return Math.max(17, g.sourceOpset);
}

export { isFloatType };
