import { Tensor, WhiteBoxError, type ModelWithExternalData, type TensorData } from '@whitebox/core';
import { SESSION_INLINE_WEIGHT_BYTES, externalizeInitializers } from './external.js';
import {
  AttributeType, DataType, makeValueInfo, tensorFromProto, tensorToProto, toNum, writeModel,
  type IAttributeProto, type INodeProto, type ITensorProto, type IValueInfoProto,
} from './proto.js';

/**
 * A node attribute value. A number is INT when it is an integer and FLOAT otherwise
 * (`{ type: 'float', value }` forces FLOAT), number[] is INTS, string is STRING, Tensor is TENSOR.
 */
export type AttrValue =
  | number
  | readonly number[]
  | string
  | Tensor<TensorData>
  | { type: 'float'; value: number }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'int'; value: number }
  | { type: 'ints'; value: readonly number[] };

/** ONNX node attributes by name. */
export type Attrs = Record<string, AttrValue>;

/** An ONNX AttributeProto from a name and a value. */
export function attrToProto(name: string, v: AttrValue): IAttributeProto {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (v instanceof Tensor) return { name, type: AttributeType.TENSOR, t: tensorToProto(v) };
  if (Array.isArray(v)) {
    const arr = v as readonly number[];
    if (!arr.every((x) => Number.isInteger(x))) return { name, type: AttributeType.FLOATS, floats: [...arr] };
    return { name, type: AttributeType.INTS, ints: [...arr] };
  }
  const o = v as { type: string; value: number | readonly number[] };
  switch (o.type) {
    case 'float': return { name, type: AttributeType.FLOAT, f: o.value as number };
    case 'floats': return { name, type: AttributeType.FLOATS, floats: [...(o.value as number[])] };
    case 'int': return { name, type: AttributeType.INT, i: o.value as number };
    case 'ints': return { name, type: AttributeType.INTS, ints: [...(o.value as number[])] };
  }
  throw new WhiteBoxError('INVALID_ARGUMENT', `attribute '${name}': unsupported value ${JSON.stringify(v)}`);
}

/** AttributeProto -> AttrValue (FLOAT stays `{ type: 'float' }` so that it round-trips). */
export function attrFromProto(a: IAttributeProto, where: string): AttrValue {
  switch (a.type) {
    case AttributeType.INT: return toNum(a.i as number);
    case AttributeType.FLOAT: return { type: 'float', value: a.f ?? 0 };
    case AttributeType.INTS: return (a.ints ?? []).map((x) => toNum(x as number));
    case AttributeType.FLOATS: return { type: 'floats', value: [...(a.floats ?? [])] };
    case AttributeType.STRING: return new TextDecoder().decode(a.s ?? new Uint8Array());
    case AttributeType.TENSOR: return tensorFromProto(a.t as ITensorProto, `${where} attribute '${a.name}'`);
    default:
      throw new WhiteBoxError('INVALID_MODEL', `${where}: attribute '${a.name}' has type ${a.type}, which WhiteBox does not read`, { where });
  }
}

/** Options of serializing a graph: opsets and producer. */
export interface ModelBytesOptions {
  /** Default-domain opset (default 17). */
  opset?: number;
  producer?: string;
}

/** A graph given as protos (what the model writers assemble). */
export interface GraphProtoParts {
  name: string;
  node: INodeProto[];
  initializer: ITensorProto[];
  input: IValueInfoProto[];
  output: IValueInfoProto[];
  valueInfo?: IValueInfoProto[];
}

function modelProto(graph: GraphProtoParts, options: ModelBytesOptions) {
  const opset = options.opset ?? 17;
  return {
    irVersion: opset >= 21 ? 10 : opset >= 19 ? 9 : 8,
    producerName: options.producer ?? 'whitebox',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: opset }],
    graph,
  };
}

/** Serializes a graph given as protos into ModelProto bytes. */
export function graphToModelBytes(graph: GraphProtoParts, options: ModelBytesOptions = {}): Uint8Array {
  return writeModel(modelProto(graph, options));
}

/**
 * Serializes a graph for a session: ModelProto bytes, or, when its initializers hold more than `maxInlineBytes`
 * (default SESSION_INLINE_WEIGHT_BYTES, 1.5 GiB: protobuf caps a model at 2 GiB), bytes with the large weights in
 * external data files (`{ model, externalData }`, which every backend opens).
 */
export function graphToSessionModel(graph: GraphProtoParts, options: ModelBytesOptions & { maxInlineBytes?: number; dataFilePrefix?: string } = {}): Uint8Array | ModelWithExternalData {
  const { initializer, files } = externalizeInitializers(graph.initializer, options.maxInlineBytes ?? SESSION_INLINE_WEIGHT_BYTES, options.dataFilePrefix);
  if (!files) return graphToModelBytes(graph, options);
  return { model: writeModel(modelProto({ ...graph, initializer }, options)), externalData: files };
}

/**
 * Builds an ONNX model node by node:
 * `const b = new GraphBuilder('net'); b.input('x', ['N', 3]); const [y] = b.node('Relu', ['x'], 1); b.output(y, ['N', 3]);`
 */
export class GraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly inits: ITensorProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A graph input; dims are numbers or a string for a symbolic dim (e.g. 'N'). */
  input(name: string, dims: readonly (number | string)[], elemType: 'float32' | 'int64' = 'float32'): string {
    this.claim(name);
    this.inputs.push(makeValueInfo(name, dims, elemType === 'int64' ? DataType.INT64 : DataType.FLOAT));
    return name;
  }

  /** A constant weight (float32, int64 via BigInt64Array, int32, uint8). */
  initializer(name: string, tensor: Tensor<TensorData>): string {
    if (!(tensor instanceof Tensor)) throw new WhiteBoxError('INVALID_ARGUMENT', `initializer '${name}' must be a core Tensor`);
    this.claim(name);
    this.inits.push(tensorToProto(tensor, name));
    return name;
  }

  /**
   * Adds a node. `outputs` is a list of names or a count (names are generated).
   * Returns the output names. An empty input name means an omitted optional input.
   */
  node(opType: string, inputs: readonly string[], outputs: readonly string[] | number = 1, attrs: Attrs = {}, name?: string): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => this.fresh(`${opType}_${this.nodes.length}${outputs > 1 ? `_${i}` : ''}`)) : [...outputs];
    for (const o of outs) if (typeof outputs !== 'number') this.claim(o);
    for (const i of inputs) {
      if (i !== '' && !this.names.has(i)) {
        throw new WhiteBoxError('INVALID_ARGUMENT', `GraphBuilder '${this.name}': node ${name ?? opType} uses input '${i}', which is not defined yet (inputs, initializers and earlier node outputs are)`, { node: name, op: opType, input: i });
      }
    }
    this.nodes.push({
      opType,
      name: name ?? `${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attrToProto(k, v)),
    });
    return outs;
  }

  /** Marks a tensor as a graph output. */
  output(name: string, dims?: readonly (number | string)[]): string {
    if (!this.names.has(name)) throw new WhiteBoxError('INVALID_ARGUMENT', `GraphBuilder '${this.name}': output '${name}' is not a tensor of the graph`, { output: name });
    this.outputs.push(makeValueInfo(name, dims));
    return name;
  }

  /** A fresh unique tensor name with this prefix. */
  fresh(prefix: string): string {
    let n = prefix;
    while (this.names.has(n)) n = `${prefix}_${++this.counter}`;
    this.names.add(n);
    return n;
  }

  /** Whether a tensor of this name exists in the graph. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** The graph as a serialized ONNX model (throws when it has no outputs). */
  toModelBytes(options: ModelBytesOptions = {}): Uint8Array {
    if (this.outputs.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `GraphBuilder '${this.name}' has no outputs`);
    return graphToModelBytes({ name: this.name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs }, options);
  }

  private claim(name: string): void {
    if (!name) throw new WhiteBoxError('INVALID_ARGUMENT', `GraphBuilder '${this.name}': tensor names must be non-empty`);
    if (this.names.has(name)) throw new WhiteBoxError('INVALID_ARGUMENT', `GraphBuilder '${this.name}': tensor name '${name}' is already used`, { name });
    this.names.add(name);
  }
}

/** Convenience: a float32 tensor from values. */
export function f32(values: ArrayLike<number>, dims: readonly number[]): Tensor {
  return new Tensor(Float32Array.from(values), dims);
}

/** Convenience: an int64 tensor from numbers. */
export function i64(values: readonly number[], dims: readonly number[] = [values.length]): Tensor<BigInt64Array> {
  return new Tensor(BigInt64Array.from(values.map((v) => BigInt(v))), dims);
}
