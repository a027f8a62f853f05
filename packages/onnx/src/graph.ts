import { Tensor, WhiteBoxError, sizeOf, type TensorData } from '@whitebox/core';
import { attrFromProto, attrToProto, graphToModelBytes, type AttrValue } from './builder.js';
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
  /** Opset of the source model; nodes are normalized to opset-17 forms. */
  sourceOpset: number;
  source?: string;
  nodes: IrNode[];
  inits: Map<string, Tensor<TensorData>>;
  input: { name: string; dims: (number | string)[] };
  /** The tensor the model outputs (the logits, or the pre-softmax logits when `endsInSoftmax`). */
  output: string;
  /** The original graph output name. */
  originalOutput: string;
  /** True when the model ended in Softmax and `output` is that Softmax's input. */
  endsInSoftmax: boolean;
}

/** Ops WhiteBox can run forward and differentiate. */
export const SUPPORTED_OPS: readonly string[] = [
  'Conv', 'ConvTranspose', 'BatchNormalization', 'Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'Tanh', 'Softmax',
  'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Flatten',
  'Reshape', 'Transpose', 'Concat', 'Identity', 'Dropout', 'Constant', 'Pad', 'Squeeze', 'Unsqueeze',
];
const SUPPORTED = new Set(SUPPORTED_OPS);
const RESERVED = new Set(['logits', 'input_grad', 'cotangent']);

// ---------- attribute helpers ----------

export function attrInt(n: IrNode, key: string, def: number): number {
  const v = n.attrs[key];
  if (v === undefined) return def;
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && 'type' in v && (v.type === 'int' || v.type === 'float')) return v.value;
  throw badAttr(n, key);
}

export function attrFloat(n: IrNode, key: string, def: number): number {
  return attrInt(n, key, def);
}

export function attrInts(n: IrNode, key: string, def: number[] | undefined): number[] | undefined {
  const v = n.attrs[key];
  if (v === undefined) return def;
  if (Array.isArray(v)) return [...(v as number[])];
  if (typeof v === 'object' && 'type' in v && (v.type === 'ints' || v.type === 'floats')) return [...(v.value as number[])];
  throw badAttr(n, key);
}

export function attrString(n: IrNode, key: string, def: string): string {
  const v = n.attrs[key];
  if (v === undefined) return def;
  if (typeof v === 'string') return v;
  throw badAttr(n, key);
}

function badAttr(n: IrNode, key: string): WhiteBoxError {
  return new WhiteBoxError('INVALID_MODEL', `node '${n.name}' (${n.op}): attribute '${key}' has an unexpected type`, { node: n.name, op: n.op });
}

export function nodeDesc(n: IrNode): string {
  return `node '${n.name}' (${n.op})`;
}

export function unsupported(n: IrNode, why: string, g?: IrGraph): WhiteBoxError {
  return new WhiteBoxError('UNSUPPORTED_OP', `${nodeDesc(n)}${g?.source ? ` in ${g.source}` : ''}: ${why}`, { node: n.name, op: n.op, file: g?.source });
}

// ---------- import ----------

function i64(values: readonly number[]): Tensor<BigInt64Array> {
  return new Tensor(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length]);
}

/** Parses ONNX bytes into the IR, normalizing older operator forms to opset 17 and folding Constant nodes. */
export function importModel(bytes: Uint8Array, source?: string): IrGraph {
  const model = readModel(bytes, source);
  const g = model.graph!;
  const where = source ? ` in ${source}` : '';
  const opset = modelOpset(model);
  const inits = new Map<string, Tensor<TensorData>>();
  for (const t of g.initializer ?? []) inits.set(t.name ?? '', tensorFromProto(t, `initializer '${t.name}'${where}`));
  const inputs = (g.input ?? []).filter((i) => !inits.has(i.name ?? ''));
  if (inputs.length !== 1) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} must have exactly one input (the image batch), it has ${inputs.length}: ${inputs.map((i) => i.name).join(', ')}`, { file: source });
  }
  const inVi = inputs[0]!;
  const inDims = valueInfoDims(inVi);
  if (!inDims || inDims.length === 0) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: input '${inVi.name}' has no shape; WhiteBox needs it (e.g. [N, C, H, W])`, { file: source });
  }
  const elem = inVi.type?.tensorType?.elemType;
  if (elem !== DataType.FLOAT) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: input '${inVi.name}' must be float32`, { file: source });
  }
  for (let i = 1; i < inDims.length; i++) {
    if (typeof inDims[i] !== 'number') {
      throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where}: input '${inVi.name}' has a symbolic dim '${inDims[i]}' at axis ${i}; only the batch dim (axis 0) may be symbolic`, { file: source });
    }
  }
  if ((g.output ?? []).length < 1) throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} has no outputs`, { file: source });
  const out = g.output![0]!.name ?? '';

  const nodes: IrNode[] = [];
  let anon = 0;
  for (const np of g.node as INodeProto[]) {
    const name = np.name || `${np.opType}_${anon++}`;
    const domain = np.domain ?? '';
    const n: IrNode = { op: np.opType ?? '', name, inputs: [...(np.input ?? [])], outputs: [...(np.output ?? [])], attrs: {} };
    if (domain !== '' && domain !== 'ai.onnx') {
      throw new WhiteBoxError('UNSUPPORTED_OP', `${nodeDesc(n)}${where}: op domain '${domain}' is not supported (only standard ONNX operators are)`, { node: name, op: n.op, file: source });
    }
    for (const a of np.attribute ?? []) n.attrs[a.name ?? ''] = attrFromProto(a, `${nodeDesc(n)}${where}`);
    nodes.push(...normalize(n, opset, inits));
  }
  const graph: IrGraph = {
    name: g.name || 'model', sourceOpset: opset, source, nodes, inits,
    input: { name: inVi.name ?? '', dims: inDims.map((d, i) => (i === 0 && typeof d !== 'number' ? 'N' : d)) },
    output: out, originalOutput: out, endsInSoftmax: false,
  };
  // Constants -> initializers.
  graph.nodes = graph.nodes.filter((n) => {
    if (n.op !== 'Constant') return true;
    inits.set(n.outputs[0]!, constantValue(n, graph));
    return false;
  });
  return graph;
}

function constantValue(n: IrNode, g: IrGraph): Tensor<TensorData> {
  const v = n.attrs.value;
  if (v instanceof Tensor) return v;
  if (n.attrs.value_float !== undefined) return new Tensor(Float32Array.of(attrFloat(n, 'value_float', 0)), []);
  if (n.attrs.value_floats !== undefined) { const a = attrInts(n, 'value_floats', [])!; return new Tensor(Float32Array.from(a), [a.length]); }
  if (n.attrs.value_int !== undefined) return new Tensor(BigInt64Array.of(BigInt(attrInt(n, 'value_int', 0))), []);
  if (n.attrs.value_ints !== undefined) return i64(attrInts(n, 'value_ints', [])!);
  throw unsupported(n, 'Constant without a tensor, float(s) or int(s) value', g);
}

/** Rewrites older opset forms into opset-17 forms (attributes that became inputs, etc.). */
function normalize(n: IrNode, opset: number, inits: Map<string, Tensor<TensorData>>): IrNode[] {
  const addInit = (suffix: string, t: Tensor<TensorData>): string => {
    let name = `${n.name}/${suffix}`;
    while (inits.has(name)) name += '_';
    inits.set(name, t);
    return name;
  };
  switch (n.op) {
    case 'Squeeze':
    case 'Unsqueeze':
      if (opset < 13 && n.attrs.axes !== undefined) {
        n.inputs = [n.inputs[0]!, addInit('axes', i64(attrInts(n, 'axes', [])!))];
        delete n.attrs.axes;
      }
      break;
    case 'Clip':
      if (opset < 11) {
        const min = attrFloat(n, 'min', -3.4028234663852886e38);
        const max = attrFloat(n, 'max', 3.4028234663852886e38);
        n.inputs = [n.inputs[0]!, addInit('min', new Tensor(Float32Array.of(min), [])), addInit('max', new Tensor(Float32Array.of(max), []))];
        n.attrs = {};
      }
      break;
    case 'Pad':
      if (opset < 11) {
        const pads = attrInts(n, 'pads', attrInts(n, 'paddings', []))!;
        const value = attrFloat(n, 'value', 0);
        n.inputs = [n.inputs[0]!, addInit('pads', i64(pads)), addInit('value', new Tensor(Float32Array.of(value), []))];
        n.attrs = { mode: attrString(n, 'mode', 'constant') };
      }
      break;
    case 'Reshape':
      if (n.attrs.shape !== undefined) {
        n.inputs = [n.inputs[0]!, addInit('shape', i64(attrInts(n, 'shape', [])!))];
        delete n.attrs.shape;
      }
      break;
    case 'Dropout':
      return [{ op: 'Identity', name: n.name, inputs: [n.inputs[0]!], outputs: [n.outputs[0]!], attrs: {} }];
    case 'BatchNormalization':
      delete n.attrs.spatial; delete n.attrs.is_test; delete n.attrs.consumed_inputs; delete n.attrs.training_mode;
      if (n.outputs.length > 1) n.outputs = [n.outputs[0]!];
      break;
    case 'Softmax':
      if (opset < 13) n.attrs._legacy = 1;
      break;
    case 'MaxPool':
    case 'AveragePool':
    case 'Conv':
    case 'ConvTranspose':
      if (n.attrs.storage_order !== undefined && attrInt(n, 'storage_order', 0) !== 0) n.attrs._storage = 1;
      break;
  }
  return [n];
}

// ---------- shape inference ----------

export type Shapes = Map<string, number[]>;

function broadcast(a: number[], b: number[], n: IrNode, g: IrGraph): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `${nodeDesc(n)}${g.source ? ` in ${g.source}` : ''}: shapes [${a}] and [${b}] do not broadcast`, { node: n.name, op: n.op });
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

export function intValues(t: Tensor<TensorData>): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Spatial attributes of Conv/ConvTranspose/pools with explicit pads (auto_pad resolved). */
export interface SpatialAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  ceil: boolean;
}

export function spatialAttrs(n: IrNode, inShape: number[], kernel: number[], g: IrGraph): SpatialAttrs {
  const s = kernel.length;
  const strides = attrInts(n, 'strides', undefined) ?? Array(s).fill(1);
  const dilations = attrInts(n, 'dilations', undefined) ?? Array(s).fill(1);
  let pads = attrInts(n, 'pads', undefined) ?? Array(2 * s).fill(0);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = Array(2 * s).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = Array(2 * s).fill(0);
    for (let i = 0; i < s; i++) {
      const inDim = inShape[2 + i]!;
      const outDim = Math.ceil(inDim / strides[i]!);
      const total = Math.max(0, (outDim - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inDim);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + s] = total - pads[i]!;
    }
  } else if (autoPad !== 'NOTSET') throw unsupported(n, `auto_pad '${autoPad}'`, g);
  if (strides.length !== s || dilations.length !== s || pads.length !== 2 * s) throw unsupported(n, 'strides/dilations/pads do not match the kernel rank', g);
  return { kernel, strides, dilations, pads, ceil: attrInt(n, 'ceil_mode', 0) === 1 };
}

function spatialOut(inDim: number, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): number {
  const span = inDim + pb + pe - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= inDim + pb) o -= 1;
  return o;
}

/** Concrete shapes of every tensor for the given batch size (the batch dim of the input is replaced by `batch`). */
export function inferShapes(g: IrGraph, batch: number): Shapes {
  const shapes: Shapes = new Map();
  shapes.set(g.input.name, g.input.dims.map((d, i) => (i === 0 && typeof d !== 'number' ? batch : (d as number))));
  for (const [k, t] of g.inits) shapes.set(k, [...t.dims]);
  const where = g.source ? ` in ${g.source}` : '';
  for (const n of g.nodes) {
    if (!SUPPORTED.has(n.op)) continue;
    const ins = n.inputs.map((i) => (i === '' ? undefined : shapes.get(i)));
    for (let i = 0; i < n.inputs.length; i++) {
      if (n.inputs[i] !== '' && !ins[i]) throw new WhiteBoxError('INVALID_MODEL', `${nodeDesc(n)}${where}: input '${n.inputs[i]}' is not produced by any earlier node (graph not topologically sorted?)`, { node: n.name, op: n.op });
    }
    const x = ins[0]!;
    const constInput = (i: number): Tensor<TensorData> => {
      const t = g.inits.get(n.inputs[i] ?? '');
      if (!t) throw unsupported(n, `input ${i} ('${n.inputs[i]}') must be a constant (initializer) for WhiteBox to differentiate it`, g);
      return t;
    };
    let out: number[];
    const needRank = (r: number) => {
      if (x.length !== r) throw new WhiteBoxError('SHAPE_MISMATCH', `${nodeDesc(n)}${where}: expected a rank-${r} input, got shape [${x.join(', ')}]`, { node: n.name, op: n.op, shape: x });
    };
    switch (n.op) {
      case 'Conv': {
        const w = ins[1]!;
        if (x.length < 3) needRank(4);
        const group = attrInt(n, 'group', 1);
        const kernel = attrInts(n, 'kernel_shape', undefined) ?? w.slice(2);
        const sa = spatialAttrs(n, x, kernel, g);
        if (x[1] !== w[1]! * group) throw new WhiteBoxError('SHAPE_MISMATCH', `${nodeDesc(n)}${where}: input has ${x[1]} channels but the weight [${w.join(', ')}] with group ${group} expects ${w[1]! * group}`, { node: n.name, op: n.op });
        out = [x[0]!, w[0]!, ...kernel.map((k, i) => spatialOut(x[2 + i]!, k, sa.strides[i]!, sa.dilations[i]!, sa.pads[i]!, sa.pads[i + kernel.length]!, false))];
        break;
      }
      case 'ConvTranspose': {
        const w = ins[1]!;
        const group = attrInt(n, 'group', 1);
        const kernel = attrInts(n, 'kernel_shape', undefined) ?? w.slice(2);
        if (n.attrs.output_shape !== undefined) throw unsupported(n, "the 'output_shape' attribute; give explicit pads/output_padding", g);
        const sa = spatialAttrs(n, x, kernel, g);
        const op = attrInts(n, 'output_padding', undefined) ?? Array(kernel.length).fill(0);
        out = [x[0]!, w[1]! * group, ...kernel.map((k, i) => sa.strides[i]! * (x[2 + i]! - 1) + op[i]! + (k - 1) * sa.dilations[i]! + 1 - sa.pads[i]! - sa.pads[i + kernel.length]!)];
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const kernel = attrInts(n, 'kernel_shape', undefined);
        if (!kernel) throw new WhiteBoxError('INVALID_MODEL', `${nodeDesc(n)}${where}: missing kernel_shape`, { node: n.name, op: n.op });
        const sa = spatialAttrs(n, x, kernel, g);
        out = [x[0]!, x[1]!, ...kernel.map((k, i) => spatialOut(x[2 + i]!, k, sa.strides[i]!, sa.dilations[i]!, sa.pads[i]!, sa.pads[i + kernel.length]!, sa.ceil))];
        if (n.outputs.length > 1 && n.outputs[1]) shapes.set(n.outputs[1], out);
        break;
      }
      case 'GlobalAveragePool':
        out = [x[0]!, x[1]!, ...x.slice(2).map(() => 1)];
        break;
      case 'BatchNormalization':
      case 'Relu': case 'LeakyRelu': case 'Clip': case 'Sigmoid': case 'Tanh': case 'Identity': case 'Dropout':
        out = [...x];
        break;
      case 'Softmax': {
        out = [...x];
        const axis = attrInt(n, 'axis', n.attrs._legacy ? 1 : -1);
        const norm = axis < 0 ? axis + x.length : axis;
        if (n.attrs._legacy && norm !== x.length - 1) throw unsupported(n, `opset<13 Softmax over axes ${norm}..${x.length - 1} (coerced to 2-D); only the last axis is supported`, g);
        break;
      }
      case 'Gemm': {
        const a = attrInt(n, 'transA', 0) ? [x[1]!, x[0]!] : x;
        const b = attrInt(n, 'transB', 0) ? [ins[1]![1]!, ins[1]![0]!] : ins[1]!;
        if (x.length !== 2 || ins[1]!.length !== 2 || a[1] !== b[0]) throw new WhiteBoxError('SHAPE_MISMATCH', `${nodeDesc(n)}${where}: cannot multiply [${x.join(', ')}] and [${ins[1]!.join(', ')}] (transA=${attrInt(n, 'transA', 0)}, transB=${attrInt(n, 'transB', 0)})`, { node: n.name, op: n.op });
        out = [a[0]!, b[1]!];
        break;
      }
      case 'MatMul': {
        const b = ins[1]!;
        if (x.length < 2 || b.length < 2) throw unsupported(n, `MatMul with a 1-D operand ([${x}] x [${b}])`, g);
        if (x[x.length - 1] !== b[b.length - 2]) throw new WhiteBoxError('SHAPE_MISMATCH', `${nodeDesc(n)}${where}: cannot multiply [${x.join(', ')}] and [${b.join(', ')}]`, { node: n.name, op: n.op });
        const batchDims = broadcast(x.slice(0, -2), b.slice(0, -2), n, g);
        out = [...batchDims, x[x.length - 2]!, b[b.length - 1]!];
        break;
      }
      case 'Add': case 'Sub': case 'Mul': case 'Div':
        out = broadcast(x, ins[1]!, n, g);
        break;
      case 'Flatten': {
        let axis = attrInt(n, 'axis', 1);
        if (axis < 0) axis += x.length;
        out = [sizeOf(x.slice(0, axis)), sizeOf(x.slice(axis))];
        break;
      }
      case 'Reshape': {
        const spec = intValues(constInput(1));
        const allowZero = attrInt(n, 'allowzero', 0);
        out = spec.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
        const neg = out.indexOf(-1);
        if (neg >= 0) out[neg] = sizeOf(x) / sizeOf(out.filter((_, i) => i !== neg));
        if (sizeOf(out) !== sizeOf(x) || !out.every((d) => Number.isInteger(d) && d >= 0)) {
          throw new WhiteBoxError('SHAPE_MISMATCH', `${nodeDesc(n)}${where}: cannot reshape [${x.join(', ')}] to [${spec.join(', ')}]`, { node: n.name, op: n.op });
        }
        break;
      }
      case 'Transpose': {
        const perm = attrInts(n, 'perm', undefined) ?? x.map((_, i) => x.length - 1 - i);
        out = perm.map((p) => x[p]!);
        break;
      }
      case 'Concat': {
        let axis = attrInt(n, 'axis', 0);
        if (axis < 0) axis += x.length;
        out = [...x];
        out[axis] = 0;
        for (const s of ins) {
          if (!s || s.length !== x.length || s.some((d, i) => i !== axis && d !== x[i])) throw new WhiteBoxError('SHAPE_MISMATCH', `${nodeDesc(n)}${where}: inputs [${ins.map((q) => `[${q}]`).join(', ')}] do not concatenate on axis ${axis}`, { node: n.name, op: n.op });
          out[axis] += s[axis]!;
        }
        break;
      }
      case 'Pad': {
        const pads = intValues(constInput(1));
        const r = x.length;
        let axes = x.map((_, i) => i);
        if (n.inputs[3]) axes = intValues(constInput(3)).map((a) => (a < 0 ? a + r : a));
        out = [...x];
        axes.forEach((a, i) => { out[a] = x[a]! + pads[i]! + pads[i + axes.length]!; });
        break;
      }
      case 'Squeeze': {
        const axes = n.inputs[1] ? intValues(constInput(1)).map((a) => (a < 0 ? a + x.length : a)) : x.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
        out = x.filter((_, i) => !axes.includes(i));
        break;
      }
      case 'Unsqueeze': {
        const r = x.length + intValues(constInput(1)).length;
        const axes = intValues(constInput(1)).map((a) => (a < 0 ? a + r : a));
        out = [];
        let j = 0;
        for (let i = 0; i < r; i++) out.push(axes.includes(i) ? 1 : x[j++]!);
        break;
      }
      default:
        continue;
    }
    shapes.set(n.outputs[0]!, out);
  }
  return shapes;
}

// ---------- validation and preprocessing ----------

/** Throws UNSUPPORTED_OP for the first op WhiteBox cannot differentiate. */
export function validateOps(g: IrGraph): void {
  for (const n of g.nodes) {
    if (!SUPPORTED.has(n.op)) {
      throw new WhiteBoxError(
        'UNSUPPORTED_OP',
        `unsupported op '${n.op}' (node '${n.name}')${g.source ? ` in ${g.source}` : ''}: WhiteBox differentiates ${SUPPORTED_OPS.join(', ')}`,
        { node: n.name, op: n.op, file: g.source },
      );
    }
    if (n.op === 'MaxPool' && n.outputs.length > 1 && n.outputs[1] && g.nodes.some((m) => m.inputs.includes(n.outputs[1]!))) {
      throw unsupported(n, 'MaxPool whose Indices output is used by the model', g);
    }
  }
}

export function consumers(g: IrGraph): Map<string, IrNode[]> {
  const m = new Map<string, IrNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) { const l = m.get(i) ?? []; l.push(n); m.set(i, l); }
  return m;
}

/**
 * Prepares a graph for export: if it ends in Softmax (over the last axis) the pre-softmax tensor becomes the output
 * (WhiteBox explains logits), BatchNormalization directly after a Conv with constant weights is folded into the Conv,
 * and nodes that do not feed the output are dropped.
 */
export function prepareGraph(g: IrGraph): IrGraph {
  validateOps(g);
  const out: IrGraph = { ...g, nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })), inits: new Map(g.inits) };
  // The gradient graph's own tensor names must not collide with the model's.
  if (RESERVED.has(out.input.name)) {
    throw new WhiteBoxError('INVALID_MODEL', `the model's input is named '${out.input.name}', a name WhiteBox's gradient graphs reserve (${[...RESERVED].join(', ')}); rename it`, { file: g.source });
  }
  for (const name of RESERVED) {
    if (name === 'logits' && out.output === 'logits') continue;
    if (!out.nodes.some((n) => n.outputs.includes(name)) && !out.inits.has(name)) continue;
    let fresh = `${name}__model`;
    while (out.inits.has(fresh) || out.nodes.some((n) => n.outputs.includes(fresh))) fresh += '_';
    for (const n of out.nodes) {
      n.inputs = n.inputs.map((i) => (i === name ? fresh : i));
      n.outputs = n.outputs.map((o) => (o === name ? fresh : o));
    }
    if (out.inits.has(name)) { out.inits.set(fresh, out.inits.get(name)!); out.inits.delete(name); }
    if (out.output === name) out.output = fresh;
  }
  const shapes = inferShapes(out, 2);
  // Trailing softmax.
  const last = out.nodes.find((n) => n.outputs[0] === out.output);
  if (last && last.op === 'Softmax') {
    const rank = shapes.get(last.inputs[0]!)!.length;
    const axis = attrInt(last, 'axis', last.attrs._legacy ? 1 : -1);
    if ((axis < 0 ? axis + rank : axis) === rank - 1) {
      out.output = last.inputs[0]!;
      out.endsInSoftmax = true;
    }
  }
  // Fold BN into Conv.
  const cons = consumers(out);
  const drop = new Set<IrNode>();
  for (const bn of out.nodes) {
    if (bn.op !== 'BatchNormalization') continue;
    const conv = out.nodes.find((n) => n.outputs[0] === bn.inputs[0]);
    if (!conv || conv.op !== 'Conv' || (cons.get(conv.outputs[0]!) ?? []).length !== 1 || conv.outputs[0] === out.output) continue;
    const w = out.inits.get(conv.inputs[1]!);
    const b = conv.inputs[2] ? out.inits.get(conv.inputs[2]) : undefined;
    const [gamma, beta, mean, variance] = bn.inputs.slice(1).map((i) => out.inits.get(i));
    if (!w || (conv.inputs[2] && !b) || !gamma || !beta || !mean || !variance || w.dtype !== 'float32') continue;
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const cout = w.dims[0]!;
    const per = w.size / cout;
    const nw = new Float32Array(w.size);
    const nb = new Float32Array(cout);
    for (let c = 0; c < cout; c++) {
      const scale = (gamma.data[c] as number) / Math.sqrt((variance.data[c] as number) + eps);
      for (let j = 0; j < per; j++) nw[c * per + j] = (w.data[c * per + j] as number) * scale;
      nb[c] = ((b ? (b.data[c] as number) : 0) - (mean.data[c] as number)) * scale + (beta.data[c] as number);
    }
    const wName = uniqueInit(out, `${conv.name}/w_bnfold`);
    const bName = uniqueInit(out, `${conv.name}/b_bnfold`);
    out.inits.set(wName, new Tensor(nw, w.dims));
    out.inits.set(bName, new Tensor(nb, [cout]));
    conv.inputs = [conv.inputs[0]!, wName, bName];
    conv.outputs = [bn.outputs[0]!];
    drop.add(bn);
  }
  out.nodes = out.nodes.filter((n) => !drop.has(n));
  return pruneGraph(out, [out.output]);
}

function uniqueInit(g: IrGraph, base: string): string {
  let n = base;
  let i = 0;
  while (g.inits.has(n)) n = `${base}_${++i}`;
  return n;
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

export function initsToProto(inits: Map<string, Tensor<TensorData>>): ITensorProto[] {
  return [...inits].map(([k, t]) => tensorToProto(t, k));
}

/** The forward model of a prepared graph, its output renamed 'logits'. */
export function forwardModelBytes(g: IrGraph, numClasses: number): Uint8Array {
  const nodes = nodesToProto(g.nodes);
  if (g.output !== 'logits') nodes.push({ opType: 'Identity', name: 'wb/logits', input: [g.output], output: ['logits'] });
  return graphToModelBytes({
    name: g.name,
    node: nodes,
    initializer: initsToProto(g.inits),
    input: [makeValueInfo(g.input.name, g.input.dims)],
    output: [makeValueInfo('logits', [g.input.dims[0]!, numClasses])],
  }, { opset: Math.max(17, g.sourceOpset), producer: 'whitebox' });
}
