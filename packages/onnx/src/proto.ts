import onnxProto from 'onnx-proto';
import protobuf from 'protobufjs';
import { Tensor, WhiteBoxError, sizeOf, type TensorData } from '@whitebox/core';

/** The generated protobufjs classes for the ONNX schema (ModelProto, GraphProto, ...). */
export const onnx = onnxProto.onnx;
/** ONNX ModelProto (decoded message). */
export type ModelProto = onnxProto.onnx.ModelProto;
/** ONNX ModelProto (plain object form). */
export type IModelProto = onnxProto.onnx.IModelProto;
/** ONNX GraphProto (plain object form). */
export type IGraphProto = onnxProto.onnx.IGraphProto;
/** ONNX NodeProto (plain object form). */
export type INodeProto = onnxProto.onnx.INodeProto;
/** ONNX TensorProto (plain object form). */
export type ITensorProto = onnxProto.onnx.ITensorProto;
/** ONNX AttributeProto (plain object form). */
export type IAttributeProto = onnxProto.onnx.IAttributeProto;
/** ONNX ValueInfoProto (plain object form). */
export type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** ONNX TensorProto.DataType enum. */
export const DataType = onnxProto.onnx.TensorProto.DataType;
/** ONNX AttributeProto.AttributeType enum. */
export const AttributeType = onnxProto.onnx.AttributeProto.AttributeType;

type LongLike = number | { toNumber(): number; toString(): string } | null | undefined;

/** protobufjs returns int64 fields as Long (or number): normalize to a JS number. */
export function toNum(v: LongLike): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  return v.toNumber();
}

function toBig(v: LongLike): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(v);
  return BigInt(v.toString());
}

const DTYPE_NAMES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64',
};

/** The name of an ONNX data type number, e.g. 'FLOAT'. */
export function dataTypeName(t: number): string {
  return DTYPE_NAMES[t] ?? `type ${t}`;
}

/** An ONNX TensorProto -> a core Tensor (float32, int32, int64, uint8/bool). `where` names it in errors. */
export function tensorFromProto(tp: ITensorProto, where: string): Tensor<TensorData> {
  const dims = (tp.dims ?? []).map(toNum);
  const n = sizeOf(dims);
  const type = tp.dataType ?? 0;
  const raw = tp.rawData && tp.rawData.length > 0 ? tp.rawData : undefined;
  const fromRaw = <T>(Ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): T => {
    const bytes = raw!;
    if (bytes.length !== n * Ctor.BYTES_PER_ELEMENT) {
      throw new WhiteBoxError('INVALID_MODEL', `${where}: raw data has ${bytes.length} bytes but dims [${dims.join(', ')}] need ${n * Ctor.BYTES_PER_ELEMENT}`, { where, dims });
    }
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    return new Ctor(copy.buffer);
  };
  if (tp.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new WhiteBoxError('INVALID_MODEL', `${where}: tensor data is stored in an external file that was not read (loadModel reads external data from the model file's directory, or from its externalData option)`, { where });
  }
  let data: TensorData;
  switch (type) {
    case DataType.FLOAT:
      data = raw ? fromRaw(Float32Array) : Float32Array.from(tp.floatData ?? []);
      break;
    case DataType.INT32:
      data = raw ? fromRaw(Int32Array) : Int32Array.from(tp.int32Data ?? []);
      break;
    case DataType.INT64:
      data = raw ? fromRaw(BigInt64Array) : BigInt64Array.from((tp.int64Data ?? []).map(toBig));
      break;
    case DataType.UINT8:
    case DataType.BOOL:
      data = raw ? fromRaw(Uint8Array) : Uint8Array.from(tp.int32Data ?? []);
      break;
    case DataType.DOUBLE:
      data = raw ? Float32Array.from(fromRaw(Float64Array)) : Float32Array.from(tp.doubleData ?? []);
      break;
    default:
      throw new WhiteBoxError('INVALID_MODEL', `${where}: tensor data type ${dataTypeName(type)} is not supported (float32, float64, int32, int64, uint8, bool are)`, { where, dataType: type });
  }
  if (data.length !== n) {
    throw new WhiteBoxError('INVALID_MODEL', `${where}: tensor has ${data.length} values but dims [${dims.join(', ')}] need ${n}`, { where, dims });
  }
  return new Tensor(data, dims);
}

function onnxType(t: Tensor<TensorData>): number {
  switch (t.dtype) {
    case 'float32': return DataType.FLOAT;
    case 'int32': return DataType.INT32;
    case 'int64': return DataType.INT64;
    case 'uint8': return DataType.UINT8;
  }
}

/**
 * A core Tensor -> an ONNX TensorProto (raw little-endian data): a copy of the data, or with `share` a view of it (for
 * graphs that are serialized at once and never change their tensors: a 2.5 GB model is not copied per session).
 */
export function tensorToProto(t: Tensor<TensorData>, name = '', share = false): ITensorProto {
  const d = t.data;
  return {
    name,
    dims: [...t.dims],
    dataType: onnxType(t),
    rawData: share ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)),
  };
}

/** Reads ONNX ModelProto bytes; clear INVALID_MODEL errors for anything that is not an ONNX model. */
export function readModel(bytes: Uint8Array, source?: string): ModelProto {
  const where = source ? ` in ${source}` : '';
  if (!(bytes instanceof Uint8Array)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `readModel expects ONNX bytes (Uint8Array)${where}`);
  }
  if (bytes.length === 0) throw new WhiteBoxError('INVALID_MODEL', `not an ONNX model${where}: the file is empty`, { file: source });
  let model: ModelProto;
  try {
    const graphs = topLevelFieldCount(bytes, 7);
    if (graphs > 1) {
      throw new WhiteBoxError('INVALID_MODEL', `not a valid ONNX model${where}: it holds ${graphs} graphs (two models concatenated into one file?)`, { file: source });
    }
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    if (err instanceof WhiteBoxError) throw err;
    throw new WhiteBoxError('INVALID_MODEL', `not a valid ONNX model${where} (${bytes.length} bytes; the file is truncated or not ONNX protobuf): ${(err as Error).message}`, { file: source }, { cause: err });
  }
  if (!model.graph) {
    throw new WhiteBoxError('INVALID_MODEL', `not a valid ONNX model${where}: it has no graph (${bytes.length} bytes; truncated or not an ONNX file?)`, { file: source });
  }
  if (!model.graph.node || model.graph.node.length === 0) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} has an empty graph (no nodes)`, { file: source });
  }
  if (!model.graph.output || model.graph.output.length === 0) {
    throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} has no graph outputs`, { file: source });
  }
  for (const n of model.graph.node) {
    if (!n.opType) throw new WhiteBoxError('INVALID_MODEL', `ONNX model${where} has a node without an op type (${n.name || 'unnamed'}); the file is probably corrupt`, { file: source });
  }
  return model;
}

/**
 * How often a top-level field occurs in protobuf bytes (protobufjs keeps the last of a repeated singular message,
 * which hides a file made of two concatenated models).
 */
function topLevelFieldCount(bytes: Uint8Array, field: number): number {
  const r = protobuf.Reader.create(bytes);
  let count = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === field) count++;
    r.skipType(tag & 7);
  }
  return count;
}

/** Serializes a ModelProto (or plain object) to bytes. */
export function writeModel(model: IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model as Record<string, unknown>)).finish();
}

/** The default-domain opset of a model (0 when absent). */
export function modelOpset(model: IModelProto): number {
  for (const o of model.opsetImport ?? []) {
    if (!o.domain || o.domain === 'ai.onnx') return toNum(o.version as LongLike);
  }
  return 0;
}

/** Dims of a ValueInfoProto: numbers, or a string for a symbolic dim (or '?' when unknown). */
export function valueInfoDims(vi: IValueInfoProto): (number | string)[] | undefined {
  const shape = vi.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== null && d.dimValue !== undefined ? toNum(d.dimValue as LongLike) : '?'));
}

/** An ONNX ValueInfoProto: a tensor's name, element type and dims (a string or null dim is symbolic). */
export function makeValueInfo(name: string, dims: readonly (number | string | null)[] | undefined, elemType: number = DataType.FLOAT): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: dims ? { dim: dims.map((d) => (typeof d === 'number' && d >= 0 ? { dimValue: d } : { dimParam: typeof d === 'string' ? d : 'N' })) } : undefined,
      },
    },
  };
}

/**
 * Names of the tensors whose data lives in external files (initializers, sparse initializers, Constant/attribute
 * tensors, in subgraphs too). Commands that hand a model's bytes to ONNX Runtime as they are refuse them: ONNX Runtime
 * would resolve such paths against the process's working directory, not the model's (loadModel reads them itself,
 * from the model's directory: external.ts).
 */
export function externalDataTensors(model: IModelProto): string[] {
  return externalTensorProtos(model).map((e) => e.where);
}

/** The external tensors of a model themselves, each with where it sits ("initializer 'w'"): see externalDataTensors. */
export function externalTensorProtos(model: IModelProto): Array<{ t: ITensorProto; where: string }> {
  const out: Array<{ t: ITensorProto; where: string }> = [];
  const external = onnx.TensorProto.DataLocation.EXTERNAL;
  const tensor = (t: ITensorProto | null | undefined, where: string) => {
    if (t && (t.dataLocation === external || (t.externalData?.length ?? 0) > 0)) out.push({ t, where: `${where} '${t.name || '(unnamed)'}'` });
  };
  const graph = (g: IGraphProto | null | undefined, depth: number) => {
    if (!g || depth > 64) return;
    for (const t of g.initializer ?? []) tensor(t, 'initializer');
    for (const s of g.sparseInitializer ?? []) {
      tensor(s.values, 'sparse initializer values');
      tensor(s.indices, 'sparse initializer indices');
    }
    for (const n of g.node ?? []) {
      for (const a of n.attribute ?? []) {
        tensor(a.t, `attribute '${a.name}' of node '${n.name || n.opType}'`);
        for (const t of a.tensors ?? []) tensor(t, `attribute '${a.name}' of node '${n.name || n.opType}'`);
        graph(a.g, depth + 1);
        for (const sg of a.graphs ?? []) graph(sg, depth + 1);
      }
    }
  };
  graph(model.graph, 0);
  return out;
}

/** Throws INVALID_MODEL when the model stores any tensor in an external file (see externalDataTensors). */
export function checkNoExternalData(model: IModelProto, source?: string): void {
  const ext = externalDataTensors(model);
  if (ext.length > 0) {
    throw new WhiteBoxError(
      'INVALID_MODEL',
      `ONNX model${source ? ` ${source}` : ''} stores tensor data in external files (${ext.slice(0, 3).join(', ')}${ext.length > 3 ? `, and ${ext.length - 3} more` : ''}), which this command does not read (loadModel does, from the model file's directory); save the model with its weights inside`,
      { file: source, tensors: ext.slice(0, 20) },
    );
  }
}
