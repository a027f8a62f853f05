import { Tensor, WhiteBoxError, type TensorData, type WhiteBoxErrorCode } from '@whitebox/core';
import { initType, type IrGraph, type IrNode } from './graph.js';
import {
  MAX_EVAL_ELEMENTS, getOp, nodeError, readInt, readInts, readString, sizeOfDims, valueOfTensor,
  type InferContext, type TensorInfo, type Value,
} from './ops/index.js';

/** What shape inference knows about every tensor of a graph at one batch size. */
export type Infos = Map<string, TensorInfo>;

/** The batch a graph runs at: its fixed batch dim, or `batch` for a symbolic one. */
export function graphBatch(g: IrGraph, batch: number): number {
  const d = g.input.dims[0];
  return typeof d === 'number' ? d : batch;
}

/** Whether the model input has a fixed (numeric) batch dim. */
export function fixedBatch(g: IrGraph): number | undefined {
  const d = g.input.dims[0];
  return typeof d === 'number' ? d : undefined;
}

function makeContext(g: IrGraph, n: IrNode, infos: Infos, batch: number, initValues: Map<string, Value>): InferContext {
  const where = { source: g.source };
  const fail = (code: WhiteBoxErrorCode, message: string, details: Record<string, unknown> = {}): never => {
    throw nodeError(n, where, code, message, details);
  };
  const value = (i: number): Value | undefined => {
    const name = n.inputs[i];
    if (!name) return undefined;
    const info = infos.get(name);
    if (info?.value) return info.value;
    const t = g.inits.get(name);
    if (!t) return undefined;
    let v = initValues.get(name);
    if (!v) { v = valueOfTensor(t, initType(g, name)); initValues.set(name, v); }
    return v;
  };
  return {
    node: n,
    graph: g,
    batch,
    has: (i) => !!n.inputs[i],
    input(i) {
      const name = n.inputs[i];
      if (!name) return fail('INVALID_MODEL', `input ${i} is required here but omitted`, { input: i });
      const info = infos.get(name);
      if (!info) return fail('INVALID_MODEL', `input '${name}' is not produced by any earlier node`, { tensor: name });
      return info;
    },
    value,
    requireValue(i, what) {
      const v = value(i);
      if (!v) {
        return fail('UNSUPPORTED_OP', `its ${what} (input ${i}, '${n.inputs[i]}') must be computable when the model is loaded (from constants and static shapes), but it depends on the image values`, { input: i });
      }
      return v;
    },
    fail,
    int: (name, def) => readInt(n, name, def, where),
    float: (name, def) => readInt(n, name, def, where),
    attrInts: (name) => readInts(n, name, where),
    attrFloats: (name) => readInts(n, name, where),
    string: (name, def) => readString(n, name, def, where),
    axis(a, rank, what) {
      if (!Number.isInteger(a) || a < -rank || a >= Math.max(rank, 1)) fail('INVALID_MODEL', `${what} ${a} is out of range for a rank-${rank} input (valid: ${-rank} to ${rank - 1})`, { attribute: what, value: a, rank });
      return a < 0 ? a + rank : a;
    },
  };
}

function valuesEqual(a: Value, b: Value): boolean {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i]) || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i] && !(Number.isNaN(a.data[i]!) && Number.isNaN(b.data[i]!))) return false;
  return true;
}

/**
 * Shape and element-type inference over the graph at one concrete batch size, evaluating load-time-computable values
 * (shape arithmetic, constant subgraphs) on the way. Every output is checked: integer dims ≥ 0, at most
 * `g.maxElements` elements per sample.
 */
export function inferGraph(g: IrGraph, batch: number): Infos {
  const b = graphBatch(g, batch);
  const infos: Infos = new Map();
  infos.set(g.input.name, { dims: g.input.dims.map((d) => (typeof d === 'number' ? d : b)), dtype: 'float32' });
  for (const [k, t] of g.inits) infos.set(k, { dims: [...t.dims], dtype: initType(g, k) });
  const initValues = new Map<string, Value>();
  const limit = g.maxElements * Math.max(1, b);
  for (const n of g.nodes) {
    const schema = getOp(n.op);
    if (!schema) throw nodeError(n, g, 'UNSUPPORTED_OP', `operator ${n.op} is not supported`);
    const ctx = makeContext(g, n, infos, b, initValues);
    const outs = schema.infer(ctx);
    if (schema.evaluate && n.inputs.every((name, i) => !name || ctx.value(i) !== undefined) && outs.every((o) => o.value || sizeOfDims(o.dims) <= MAX_EVAL_ELEMENTS)) {
      const vals = schema.evaluate(ctx);
      vals?.forEach((v, i) => {
        const o = outs[i];
        if (o && !o.value) o.value = v;
      });
    }
    n.outputs.forEach((name, i) => {
      if (!name) return;
      const o = outs[i];
      if (!o) return;
      for (const d of o.dims) {
        if (!Number.isInteger(d) || d < 0) throw nodeError(n, g, 'SHAPE_MISMATCH', `output '${name}' would have shape [${o.dims.join(', ')}]`, { tensor: name, shape: o.dims });
      }
      const size = sizeOfDims(o.dims);
      if (size > limit) {
        throw nodeError(n, g, 'LIMIT_EXCEEDED', `output '${name}' would have shape [${o.dims.join(', ')}] (${size} elements at batch ${b}), over the limit of ${g.maxElements} elements per image (raise it with the maxElements option)`, { tensor: name, shape: o.dims });
      }
      if (o.value && (o.value.data.length !== size)) {
        throw nodeError(n, g, 'RUNTIME_ERROR', `internal: evaluated value of '${name}' has ${o.value.data.length} elements for shape [${o.dims.join(', ')}]`);
      }
      infos.set(name, o);
    });
  }
  return infos;
}

/** Concrete dims of every tensor at one batch size (the older interface). */
export function inferShapes(g: IrGraph, batch: number): Map<string, number[]> {
  return new Map([...inferGraph(g, batch)].map(([k, v]) => [k, v.dims]));
}

/** Shape inference at two batch sizes, to tell which tensors and dims depend on the batch. */
export class GraphShapes {
  readonly a: Infos;
  readonly b: Infos;
  constructor(readonly graph: IrGraph) {
    this.a = inferGraph(graph, 2);
    this.b = fixedBatch(graph) !== undefined ? this.a : inferGraph(graph, 3);
  }

  /** The inferred element type, dims and constant value of a tensor. */
  info(name: string): TensorInfo {
    const i = this.a.get(name);
    if (!i) throw new WhiteBoxError('INVALID_MODEL', `no shape is known for tensor '${name}'${this.graph.source ? ` in ${this.graph.source}` : ''}`, { tensor: name });
    return i;
  }

  /** The inferred dims of a tensor (throws when it has none). */
  dims(name: string): number[] {
    return this.info(name).dims;
  }

  /** 'none': no dim changes with the batch; 'dim0': only dim 0 does, and it equals the batch; 'other' otherwise. */
  batchDependent(name: string): 'none' | 'dim0' | 'other' {
    const x = this.info(name).dims;
    const y = this.b.get(name)!.dims;
    if (x.length !== y.length) return 'other';
    const diff = x.map((d, i) => d !== y[i]);
    if (!diff.some(Boolean)) return 'none';
    if (diff[0] && !diff.slice(1).some(Boolean) && x[0] === 2 && y[0] === 3) return 'dim0';
    return 'other';
  }

  /** Whether dim `axis` of a tensor changes with the batch size. */
  varies(name: string, axis: number): boolean {
    return this.info(name).dims[axis] !== this.b.get(name)!.dims[axis];
  }

  /** A value known at load time that is the same at every batch size. */
  constantValue(name: string): Value | undefined {
    const x = this.a.get(name)?.value;
    const y = this.b.get(name)?.value;
    return x && y && valuesEqual(x, y) ? x : undefined;
  }
}

export function tensorFromValue(v: Value): Tensor<TensorData> {
  return new Tensor(Float32Array.from(v.data), v.dims);
}
