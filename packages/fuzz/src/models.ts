import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng, Tensor } from '@whitebox/core';
import {
  AttributeType, DataType, GraphBuilder, attrToProto, buildSimpleCnn, makeValueInfo, readModel, tensorFromProto, tensorToProto, writeModel,
  type IAttributeProto, type IModelProto, type INodeProto, type ITensorProto,
} from '@whitebox/onnx';
import { bitFlips, byteEdit, describe, pick, randomBytes, truncate } from './bytes.js';

/** The repository root (packages/fuzz/dist/.. or packages/fuzz/src/..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const SHIPPED_MODELS = ['mnist-simplecnn', 'localization-simplecnn', 'cifar10-simplecnn'] as const;

const cache = new Map<string, Uint8Array>();
export function shippedModel(name: string): Uint8Array {
  let b = cache.get(name);
  if (!b) {
    b = new Uint8Array(readFileSync(`${REPO_ROOT}models/${name}.onnx`));
    cache.set(name, b);
  }
  return b;
}

/** A SimpleCNN small enough that most of its bytes are graph structure, not weights: input [N, 1, 8, 8], 10 classes. */
export function tinyModel(): Uint8Array {
  let b = cache.get('tiny');
  if (!b) {
    b = buildSimpleCnn({ channels: 1, height: 8, width: 8, widths: [2, 3, 4], hidden: 8, seed: 3 });
    cache.set('tiny', b);
  }
  return b;
}

export interface ModelCase {
  bytes: Uint8Array;
  what: string;
}

/** The byte range of the graph's structure in a shipped model: everything except the largest initializer blobs. */
function sourceModel(rng: Rng): { name: string; bytes: Uint8Array } {
  const r = rng.next();
  const name = r < 0.4 ? 'tiny' : r < 0.7 ? 'localization-simplecnn' : r < 0.9 ? 'mnist-simplecnn' : 'cifar10-simplecnn';
  return { name, bytes: name === 'tiny' ? tinyModel() : shippedModel(name) };
}

export function randomBytesModel(rng: Rng): ModelCase {
  const n = pick(rng, [0, 1, 2, 3, 7, 16, 64, 300, 1000, 4096, 20000]);
  const bytes = randomBytes(rng, n);
  // Half start like a ModelProto (field 1 ir_version, then field 7 graph with a random length).
  if (rng.next() < 0.5 && n >= 4) { bytes[0] = 0x08; bytes[1] = 1 + rng.int(10); bytes[2] = 0x3a; }
  return { bytes, what: `${n} random bytes` };
}

export function truncatedModel(rng: Rng): ModelCase {
  const src = sourceModel(rng);
  const t = truncate(rng, src.bytes);
  return { bytes: t.bytes, what: `${src.name}: ${t.what}` };
}

export function bitFlipModel(rng: Rng): ModelCase {
  const src = sourceModel(rng);
  const count = pick(rng, [1, 1, 2, 4, 8, 32]);
  // Shipped models are mostly weights; half the flips go to the first and last 16 KiB where the structure is.
  let region: [number, number] | undefined;
  if (src.name !== 'tiny' && rng.next() < 0.5) region = rng.next() < 0.5 ? [0, 16384] : [src.bytes.length - 16384, src.bytes.length];
  const f = bitFlips(rng, src.bytes, count, region);
  return { bytes: f.bytes, what: `${src.name}: ${f.what}` };
}

export function byteEditModel(rng: Rng): ModelCase {
  const src = sourceModel(rng);
  let region: [number, number] | undefined;
  if (src.name !== 'tiny' && rng.next() < 0.6) region = rng.next() < 0.5 ? [0, 16384] : [src.bytes.length - 16384, src.bytes.length];
  const e = byteEdit(rng, src.bytes, region);
  return { bytes: e.bytes, what: `${src.name}: ${e.what}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Structured mutants: the tiny SimpleCNN read as a ModelProto, edited field by field, written back.

type Mutation = (m: IModelProto, rng: Rng) => string;

const nodesOf = (m: IModelProto) => m.graph!.node!;
const initsOf = (m: IModelProto) => m.graph!.initializer!;
const nodeWith = (m: IModelProto, rng: Rng, pred: (n: INodeProto) => boolean = () => true): INodeProto => {
  const ns = nodesOf(m).filter(pred);
  return ns.length ? pick(rng, ns) : pick(rng, nodesOf(m));
};
const label = (n: INodeProto) => `${n.opType} '${n.name}'`;

function setInit(m: IModelProto, name: string, t: Tensor): void {
  const i = initsOf(m).findIndex((x) => x.name === name);
  initsOf(m)[i] = tensorToProto(t, name);
}
function getInit(m: IModelProto, name: string): Tensor {
  return tensorFromProto(initsOf(m).find((x) => x.name === name)!, name) as Tensor;
}

const BAD_INTS: readonly (readonly number[])[] = [[], [0], [0, 0], [-1, -1], [1_000_000_000, 1_000_000_000], [1, 2, 3, 4, 5, 6, 7], [3], [2 ** 40, 1]];
const BAD_INT: readonly number[] = [0, -1, -7, 2, 5, 1_000_000, 2 ** 40];
const BAD_FLOAT: readonly number[] = [NaN, Infinity, -Infinity, 0, -1, -1e-5, 1e38];

function badAttr(rng: Rng, a: IAttributeProto): IAttributeProto {
  const name = a.name!;
  const r = rng.next();
  if (r < 0.15) {
    // Wrong type for the name.
    return pick(rng, [
      attrToProto(name, 'BOGUS'),
      attrToProto(name, { type: 'float', value: 1.5 }),
      attrToProto(name, { type: 'ints', value: [1, 1] }),
      attrToProto(name, { type: 'floats', value: [0.5] }),
      attrToProto(name, new Tensor(new Float32Array([1]), [1])),
    ]);
  }
  switch (a.type) {
    case AttributeType.INTS: return attrToProto(name, { type: 'ints', value: pick(rng, BAD_INTS) });
    case AttributeType.INT: return attrToProto(name, { type: 'int', value: pick(rng, BAD_INT) });
    case AttributeType.FLOAT: return attrToProto(name, { type: 'float', value: pick(rng, BAD_FLOAT) });
    case AttributeType.STRING: return attrToProto(name, pick(rng, ['', 'BOGUS', 'SAME_UPPER', 'VALID', 'NOTSET']));
    default: return attrToProto(name, 0);
  }
}

export const MUTATIONS: Record<string, Mutation> = {
  'drop-inputs': (m, rng) => {
    const n = nodeWith(m, rng, (x) => (x.input?.length ?? 0) > 0);
    const keep = rng.int(n.input!.length);
    const before = n.input!.length;
    n.input = n.input!.slice(0, keep);
    return `${label(n)} keeps ${keep} of ${before} inputs`;
  },
  'extra-inputs': (m, rng) => {
    const n = nodeWith(m, rng);
    const extra = 1 + rng.int(3);
    for (let i = 0; i < extra; i++) n.input!.push(pick(rng, ['input', 'norm_mean', 'fc1.bias', n.input![0] ?? 'input']));
    return `${label(n)} gets ${extra} extra inputs`;
  },
  'empty-input-name': (m, rng) => {
    const n = nodeWith(m, rng, (x) => (x.input?.length ?? 0) > 0);
    const i = rng.int(n.input!.length);
    n.input![i] = '';
    return `${label(n)} input ${i} is ''`;
  },
  'unknown-input': (m, rng) => {
    const n = nodeWith(m, rng, (x) => (x.input?.length ?? 0) > 0);
    const i = rng.int(n.input!.length);
    n.input![i] = pick(rng, ['nope', 'logits', ' input', 'input\u0000']);
    return `${label(n)} input ${i} renamed to ${JSON.stringify(n.input![i])}`;
  },
  'node-outputs': (m, rng) => {
    const n = nodeWith(m, rng);
    const r = rng.int(4);
    if (r === 0) n.output = [];
    else if (r === 1) n.output!.push(`${n.output![0]}_extra`, `${n.output![0]}_extra2`);
    else if (r === 2) n.output = [''];
    else n.output = ['input'];
    return `${label(n)} outputs set to ${JSON.stringify(n.output)}`;
  },
  'remove-attr': (m, rng) => {
    const n = nodeWith(m, rng, (x) => (x.attribute?.length ?? 0) > 0);
    if (!n.attribute?.length) return 'no attribute to remove';
    const i = rng.int(n.attribute.length);
    const [a] = n.attribute.splice(i, 1);
    return `${label(n)} loses attribute '${a!.name}'`;
  },
  'bad-attr': (m, rng) => {
    const n = nodeWith(m, rng, (x) => (x.attribute?.length ?? 0) > 0);
    if (!n.attribute?.length) return 'no attribute';
    const i = rng.int(n.attribute.length);
    n.attribute[i] = badAttr(rng, n.attribute[i]!);
    return `${label(n)} attribute '${n.attribute[i]!.name}' set to ${describe(n.attribute[i])}`;
  },
  'add-attr': (m, rng) => {
    const n = nodeWith(m, rng);
    const [name, value] = pick(rng, [
      ['bogus', 1], ['group', 0], ['group', 3], ['dilations', [0, 0]], ['strides', [0, 0]], ['auto_pad', 'BOGUS'], ['auto_pad', 'SAME_UPPER'],
      ['alpha', { type: 'float', value: NaN }], ['beta', { type: 'float', value: Infinity }], ['transA', 1], ['transB', 2], ['axis', 7], ['axis', -9],
      ['ceil_mode', 1], ['count_include_pad', 1], ['storage_order', 1], ['momentum', { type: 'float', value: 2 }], ['training_mode', 1],
      ['pads', [-1, -1, -1, -1]], ['pads', [1000, 1000, 1000, 1000]], ['kernel_shape', [100, 100]],
    ] as [string, number | number[] | string | { type: 'float'; value: number }][]);
    n.attribute = (n.attribute ?? []).filter((a) => a.name !== name);
    n.attribute.push(attrToProto(name, value as never));
    return `${label(n)} gets ${name}=${JSON.stringify(value)}`;
  },
  'nan-weight': (m, rng) => {
    const floats = initsOf(m).filter((t) => t.dataType === DataType.FLOAT);
    const tp = pick(rng, floats);
    const t = getInit(m, tp.name!);
    const v = pick(rng, [NaN, Infinity, -Infinity, 3e38]);
    const i = rng.int(t.size);
    t.data[i] = v;
    setInit(m, tp.name!, t);
    return `initializer '${tp.name}'[${i}] = ${v}`;
  },
  'batchnorm': (m, rng) => {
    const n = nodeWith(m, rng, (x) => x.opType === 'BatchNormalization');
    if (rng.next() < 0.5) {
      const eps = pick(rng, [0, -1e-5, -1, NaN]);
      n.attribute = [attrToProto('epsilon', { type: 'float', value: eps })];
      return `${label(n)} epsilon = ${eps}`;
    }
    const name = n.input![4]!;
    const t = getInit(m, name);
    const i = rng.int(t.size);
    t.data[i] = pick(rng, [-1, -1e-3, -0.5]);
    setInit(m, name, t);
    return `${label(n)} variance[${i}] = ${t.data[i]}`;
  },
  'normalization': (m, rng) => {
    const which = rng.next() < 0.7 ? 'norm_std' : 'norm_mean';
    const t = getInit(m, which);
    t.data[0] = which === 'norm_std' ? pick(rng, [0, -0, 1e-45]) : NaN;
    setInit(m, which, t);
    return `${which} = ${t.data[0]}`;
  },
  'input-shape': (m, rng) => {
    const inp = m.graph!.input![0]!;
    const dims = pick(rng, [
      ['N', 1, 20000, 20000], ['N', 1, 1_000_000_000, 1_000_000_000], ['N', 1, 0, 8], ['N', 0, 8, 8], [0, 1, 8, 8], ['N', 1, 'H', 'W'],
      [1_000_000, 1, 8, 8], ['N', 1, 8, 9], ['N', 3, 8, 8], ['N', 1, 16, 16], ['N', 1, 2 ** 40, 1],
    ] as (number | string)[][]);
    m.graph!.input![0] = makeValueInfo(inp.name!, dims);
    return `input '${inp.name}' declared ${JSON.stringify(dims)}`;
  },
  'input-negative-dim': (m) => {
    const inp = m.graph!.input![0]!;
    inp.type!.tensorType!.shape!.dim![2] = { dimValue: -5 };
    return `input dim 2 = -5`;
  },
  'input-rank': (m, rng) => {
    const inp = m.graph!.input![0]!;
    const dims = pick(rng, [['N', 64], ['N', 1, 8], ['N', 1, 1, 8, 8], [], ['N']] as (number | string)[][]);
    m.graph!.input![0] = makeValueInfo(inp.name!, dims);
    return `input declared ${JSON.stringify(dims)}`;
  },
  'input-dtype': (m, rng) => {
    const inp = m.graph!.input![0]!;
    const t = pick(rng, [DataType.INT64, DataType.UINT8, DataType.DOUBLE, DataType.STRING, DataType.FLOAT16, DataType.BOOL, 0, 99]);
    inp.type!.tensorType!.elemType = t;
    return `input elem type ${t}`;
  },
  'input-missing-type': (m) => {
    m.graph!.input![0]!.type = undefined;
    return 'input without a type';
  },
  cycle: (m, rng) => {
    const ns = nodesOf(m);
    const i = rng.int(ns.length);
    const j = i + rng.int(ns.length - i);
    ns[i]!.input![0] = ns[j]!.output![0]!;
    return `${label(ns[i]!)} reads the output of ${label(ns[j]!)}${i === j ? ' (itself)' : ''}`;
  },
  'unknown-op': (m, rng) => {
    const n = nodeWith(m, rng);
    const r = rng.int(5);
    const before = label(n);
    if (r === 0) n.opType = 'FooBar';
    else if (r === 1) n.opType = n.opType!.toLowerCase();
    else if (r === 2) n.domain = 'com.microsoft';
    else if (r === 3) n.opType = pick(rng, ['If', 'Loop', 'Scan', 'NonMaxSuppression', 'Dropout', 'LSTM', 'Einsum', 'TopK', 'ConvTranspose']);
    else n.opType = `${n.opType} `;
    return `${before} becomes ${n.domain ? `${n.domain}::` : ''}${JSON.stringify(n.opType)}`;
  },
  'duplicate-output': (m, rng) => {
    const ns = nodesOf(m);
    const i = rng.int(ns.length);
    let j = rng.int(ns.length);
    if (j === i) j = (i + 1) % ns.length;
    ns[j]!.output![0] = ns[i]!.output![0]!;
    return `${label(ns[j]!)} writes ${ns[i]!.output![0]} too`;
  },
  'shadow-initializer': (m, rng) => {
    const n = nodeWith(m, rng);
    const t = pick(rng, initsOf(m));
    n.output![0] = t.name!;
    return `${label(n)} writes initializer '${t.name}'`;
  },
  'graph-outputs': (m, rng) => {
    const g = m.graph!;
    const r = rng.int(6);
    if (r === 0) { g.output = [makeValueInfo('nope', ['N', 10])]; return 'output names an unknown tensor'; }
    if (r === 1) { g.output = [makeValueInfo('relu4', ['N', 8]), ...g.output!]; return 'relu4 is the first of two outputs'; }
    if (r === 2) { g.output = [makeValueInfo('logits', ['N', 7])]; return 'logits declared [N, 7]'; }
    if (r === 3) { g.output = [makeValueInfo('input', ['N', 1, 8, 8])]; return 'output is the graph input'; }
    if (r === 4) { g.output = [makeValueInfo('fc2.bias', [10])]; return 'output is an initializer'; }
    g.output = [...g.output!, ...g.output!];
    return 'logits listed twice as output';
  },
  'zero-classes': (m, rng) => {
    const k = pick(rng, [0, 1]);
    setInit(m, 'fc2.weight', new Tensor(new Float32Array(k * 8), [k, 8]));
    setInit(m, 'fc2.bias', new Tensor(new Float32Array(k), [k]));
    return `${k}-class head`;
  },
  'batch-changing': (m, rng) => {
    const g = m.graph!;
    if (rng.next() < 0.5) {
      g.node!.push({ opType: 'Concat', name: 'cat0', input: ['logits', 'logits'], output: ['logits2'], attribute: [attrToProto('axis', 0)] });
    } else {
      g.node!.push({ opType: 'ReduceMean', name: 'mean0', input: ['logits'], output: ['logits2'], attribute: [attrToProto('axes', [0]), attrToProto('keepdims', 1)] });
    }
    g.output = [makeValueInfo('logits2', ['M', 10])];
    return `logits2 = ${g.node!.at(-1)!.opType}(logits) over the batch axis`;
  },
  'constant-output': (m) => {
    const g = m.graph!;
    g.node!.push({ opType: 'Constant', name: 'c0', input: [], output: ['const_logits'], attribute: [attrToProto('value', new Tensor(new Float32Array(10), [1, 10]))] });
    g.output = [makeValueInfo('const_logits', [1, 10])];
    return 'output is a Constant that ignores the input';
  },
  'init-dtype': (m, rng) => {
    const tp = pick(rng, initsOf(m));
    const t = pick(rng, [DataType.INT64, DataType.DOUBLE, DataType.FLOAT16, DataType.STRING, DataType.UINT8, DataType.BOOL, 0, 77]);
    tp.dataType = t;
    return `initializer '${tp.name}' dataType ${t} (raw data unchanged)`;
  },
  'init-dims': (m, rng) => {
    const tp = pick(rng, initsOf(m));
    const dims = (tp.dims ?? []).map((d) => Number(String(d)));
    const r = rng.int(4);
    if (r === 0) dims[0] = (dims[0] ?? 1) + 1;
    else if (r === 1) dims[0] = -1;
    else if (r === 2) dims.push(2 ** 31);
    else dims.splice(0, dims.length);
    tp.dims = dims;
    return `initializer '${tp.name}' dims ${describe(dims)}`;
  },
  'init-short-data': (m, rng) => {
    const tp = pick(rng, initsOf(m));
    const raw = tp.rawData as Uint8Array;
    tp.rawData = raw.slice(0, rng.int(raw.length));
    return `initializer '${tp.name}' raw data cut to ${(tp.rawData as Uint8Array).length} bytes`;
  },
  'init-float-data': (m, rng) => {
    // float_data instead of raw_data, with a NaN or the wrong length.
    const tp = pick(rng, initsOf(m).filter((t) => t.dataType === DataType.FLOAT));
    const t = getInit(m, tp.name!);
    const vals = Array.from(t.data as Float32Array);
    if (rng.next() < 0.5) vals[rng.int(vals.length)] = NaN; else vals.pop();
    tp.rawData = undefined;
    tp.floatData = vals;
    return `initializer '${tp.name}' as float_data (${vals.length} values)`;
  },
  'remove-initializer': (m, rng) => {
    const i = rng.int(initsOf(m).length);
    const [t] = initsOf(m).splice(i, 1);
    return `initializer '${t!.name}' removed`;
  },
  'duplicate-initializer': (m, rng) => {
    const t = pick(rng, initsOf(m));
    initsOf(m).push({ ...t });
    return `initializer '${t.name}' twice`;
  },
  'external-data': (m, rng) => {
    const tp = pick(rng, initsOf(m)) as ITensorProto;
    tp.rawData = undefined;
    tp.dataLocation = 1;
    tp.externalData = [{ key: 'location', value: pick(rng, ['weights.bin', '../../../../etc/passwd', '/dev/zero', 'package.json']) }];
    return `initializer '${tp.name}' in external file ${tp.externalData[0]!.value}`;
  },
  'sparse-initializer': (m, rng) => {
    const i = rng.int(initsOf(m).length);
    const [t] = initsOf(m).splice(i, 1);
    m.graph!.sparseInitializer = [{ values: { ...t!, dims: [1] }, indices: tensorToProto(new Tensor(BigInt64Array.from([0n]), [1]), ''), dims: t!.dims }];
    return `initializer '${t!.name}' stored as a sparse tensor`;
  },
  opset: (m, rng) => {
    const r = rng.int(6);
    if (r === 0) m.opsetImport = [];
    else if (r === 1) m.opsetImport = [{ domain: '', version: 1 }];
    else if (r === 2) m.opsetImport = [{ domain: '', version: 999 }];
    else if (r === 3) m.opsetImport = [{ domain: 'ai.onnx.ml', version: 3 }];
    else if (r === 4) m.irVersion = pick(rng, [0, 99, -1]);
    else m.opsetImport = [{ domain: '', version: 6 }];
    return `opset/ir: ${describe({ ir: m.irVersion, opset: m.opsetImport })}`;
  },
  'reorder-nodes': (m, rng) => {
    rng.shuffle(nodesOf(m));
    return 'nodes shuffled';
  },
  'duplicate-node': (m, rng) => {
    const n = pick(rng, nodesOf(m));
    nodesOf(m).push({ ...n, name: `${n.name}_copy` });
    return `${label(n)} twice`;
  },
  'conv-weight-shape': (m, rng) => {
    const k = 1 + rng.int(3);
    const name = `conv${k}.weight`;
    const t = getInit(m, name);
    const dims = pick(rng, [[t.dims[0]!, t.dims[1]! + 1, 3, 3], [t.dims[0]!, t.dims[1]!, 9, 9], [t.dims[0]!, t.dims[1]!, 3], [t.dims[0]! + 1, t.dims[1]!, 3, 3], [0, t.dims[1]!, 3, 3]]);
    setInit(m, name, new Tensor(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.1), dims));
    return `${name} dims ${JSON.stringify(dims)}`;
  },
  'gemm-weight-shape': (m, rng) => {
    const name = pick(rng, ['fc1.weight', 'fc2.weight', 'fc1.bias']);
    const t = getInit(m, name);
    const dims = t.dims.length === 2 ? pick(rng, [[t.dims[1]!, t.dims[0]!], [t.dims[0]!, t.dims[1]! + 3], [t.dims[0]!]]) : [t.dims[0]! + 1];
    setInit(m, name, new Tensor(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.01), dims));
    return `${name} dims ${JSON.stringify(dims)}`;
  },
  'node-name': (m, rng) => {
    const n = pick(rng, nodesOf(m));
    n.name = pick(rng, ['', 'relu1', 'x'.repeat(10000), '\u0000', 'input']);
    return `a node renamed to ${JSON.stringify(n.name!.slice(0, 20))}`;
  },
  'layer-name-collision': (m) => {
    // A tensor named like the gradient graph's own outputs.
    const n = nodesOf(m).find((x) => x.opType === 'Relu')!;
    const old = n.output![0]!;
    const renamed = `${old}:activation`;
    n.output![0] = renamed;
    for (const x of nodesOf(m)) x.input = x.input!.map((i) => (i === old ? renamed : i));
    return `tensor '${old}' renamed '${renamed}'`;
  },
};

export const MUTATION_NAMES = Object.keys(MUTATIONS);

/** The tiny SimpleCNN with mutation `names` applied (seeded). */
export function mutantModel(rng: Rng, names: readonly string[]): ModelCase {
  const m = readModel(tinyModel()) as IModelProto;
  const whats = names.map((n) => {
    try {
      return `${n}: ${MUTATIONS[n]!(m, rng)}`;
    } catch (err) {
      // An earlier mutation can leave nothing for this one to edit (e.g. dims no longer match the data).
      return `${n}: not applicable (${(err as Error).message.slice(0, 80)})`;
    }
  });
  return { bytes: writeModel(m), what: whats.join('; ') };
}

/** Structured models built from scratch: long chains, huge declared shapes, ops with wrong arity and attributes. */
export const BUILT: Record<string, (rng: Rng) => ModelCase> = {
  'relu-chain': (rng) => {
    const length = pick(rng, [20_001, 50_000, 25_000]);
    const b = new GraphBuilder('chain');
    b.input('input', ['N', 1, 2, 2]);
    let x = 'input';
    for (let i = 0; i < length; i++) x = b.node('Relu', [x], [`r${i}`])[0]!;
    b.node('Flatten', [x], ['flat'], { axis: 1 });
    b.initializer('w', new Tensor(new Float32Array(4 * 2).fill(0.5), [2, 4]));
    b.node('Gemm', ['flat', 'w'], ['logits'], { transB: 1 });
    b.output('logits', ['N', 2]);
    return { bytes: b.toModelBytes(), what: `a ${length}-node Relu chain` };
  },
  'avgpool-huge': (rng) => {
    const side = pick(rng, [20000, 46341, 100000]);
    const b = new GraphBuilder('pool');
    b.input('input', ['N', 1, side, side]);
    b.node('AveragePool', ['input'], ['p'], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] });
    b.node('GlobalAveragePool', ['p'], ['g']);
    b.node('Flatten', ['g'], ['flat'], { axis: 1 });
    b.initializer('w', new Tensor(new Float32Array(2).fill(0.5), [2, 1]));
    b.node('Gemm', ['flat', 'w'], ['logits'], { transB: 1 });
    b.output('logits', ['N', 2]);
    return { bytes: b.toModelBytes(), what: `AveragePool with pads on a declared [N, 1, ${side}, ${side}] input` };
  },
  'op-arity': (rng) => {
    // One op with a random number of inputs, between 0 and 4, after a valid stem.
    const op = pick(rng, ['Conv', 'Gemm', 'Relu', 'Sub', 'Add', 'Mul', 'Div', 'MatMul', 'BatchNormalization', 'MaxPool', 'AveragePool', 'Flatten', 'Reshape', 'Concat', 'Softmax', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Transpose', 'GlobalAveragePool', 'Clip', 'Pad', 'Resize', 'ReduceMean', 'Squeeze', 'Unsqueeze', 'Slice', 'Gather', 'LayerNormalization', 'Erf', 'Sqrt', 'Pow', 'Identity', 'Dropout']);
    const arity = rng.int(5);
    const b = new GraphBuilder('arity');
    b.input('input', ['N', 2, 4, 4]);
    b.initializer('c', new Tensor(new Float32Array(2 * 2 * 3 * 3).fill(0.1), [2, 2, 3, 3]));
    const inputs = Array.from({ length: arity }, () => pick(rng, ['input', 'c', 'input', '']));
    b.node(op, inputs, ['y'], {}, 'target');
    b.node('Flatten', ['y'], ['flat'], { axis: 1 });
    b.node('ReduceMean', ['flat'], ['logits0'], { axes: [1], keepdims: 1 });
    b.node('Concat', ['logits0', 'logits0'], ['logits'], { axis: 1 });
    b.output('logits', ['N', 2]);
    return { bytes: b.toModelBytes({ opset: 13 }), what: `${op} with inputs ${JSON.stringify(inputs)}` };
  },
  'conv-attrs': (rng) => {
    const b = new GraphBuilder('conv');
    b.input('input', ['N', 2, 6, 6]);
    const k = pick(rng, [1, 3, 7, 0]);
    b.initializer('w', new Tensor(new Float32Array(4 * 2 * Math.max(k, 1) ** 2).fill(0.1), [4, 2, Math.max(k, 1), Math.max(k, 1)]));
    const attrs: Record<string, number[] | number | string> = {};
    if (rng.next() < 0.6) attrs.strides = pick(rng, [[0, 0], [1, 0], [-1, 1], [1, 1], [100, 100], [1]]);
    if (rng.next() < 0.6) attrs.pads = pick(rng, [[-1, 0, 0, 0], [0, 0, 0, 0], [10, 10, 10, 10], [1, 1], [2 ** 31, 0, 0, 0]]);
    if (rng.next() < 0.5) attrs.dilations = pick(rng, [[0, 1], [1, 1], [5, 5], [-2, 1]]);
    if (rng.next() < 0.4) attrs.group = pick(rng, [0, 2, 3, -1, 4]);
    if (rng.next() < 0.4) attrs.kernel_shape = pick(rng, [[k, k], [k + 1, k], [0, 0], [k]]);
    if (rng.next() < 0.2) attrs.auto_pad = pick(rng, ['SAME_UPPER', 'VALID', 'BOGUS', 'SAME_LOWER']);
    b.node('Conv', ['input', 'w'], ['y'], attrs, 'conv');
    b.node('GlobalAveragePool', ['y'], ['g']);
    b.node('Flatten', ['g'], ['logits'], { axis: 1 });
    b.output('logits', ['N', 4]);
    return { bytes: b.toModelBytes(), what: `Conv k=${k} ${JSON.stringify(attrs)}` };
  },
  'pool-attrs': (rng) => {
    const op = pick(rng, ['MaxPool', 'AveragePool']);
    const b = new GraphBuilder('pool');
    b.input('input', ['N', 2, 6, 6]);
    const attrs: Record<string, number[] | number | string> = { kernel_shape: pick(rng, [[2, 2], [0, 0], [7, 7], [2], [-1, 2], [100, 100]]) };
    if (rng.next() < 0.6) attrs.strides = pick(rng, [[0, 0], [2, 2], [-1, 1]]);
    if (rng.next() < 0.5) attrs.pads = pick(rng, [[1, 1, 1, 1], [5, 5, 5, 5], [-1, 0, 0, 0], [3, 3, 3, 3]]);
    if (rng.next() < 0.3) attrs.ceil_mode = pick(rng, [0, 1, 2]);
    if (rng.next() < 0.3) attrs.dilations = pick(rng, [[0, 0], [2, 2]]);
    b.node(op, ['input'], ['y'], attrs, 'pool');
    b.node('GlobalAveragePool', ['y'], ['g']);
    b.node('Flatten', ['g'], ['logits'], { axis: 1 });
    b.output('logits', ['N', 2]);
    return { bytes: b.toModelBytes(), what: `${op} ${JSON.stringify(attrs)}` };
  },
  'gemm-attrs': (rng) => {
    const b = new GraphBuilder('gemm');
    b.input('input', ['N', 4]);
    b.initializer('w', new Tensor(new Float32Array(12).fill(0.2), [3, 4]));
    b.initializer('bias', new Tensor(new Float32Array(3).fill(0.1), [3]));
    const attrs: Record<string, number | { type: 'float'; value: number }> = { transB: pick(rng, [1, 0, 2, -1]) };
    if (rng.next() < 0.5) attrs.alpha = { type: 'float', value: pick(rng, [NaN, Infinity, 0, 1e30, -1]) };
    if (rng.next() < 0.5) attrs.beta = { type: 'float', value: pick(rng, [NaN, -Infinity, 0, 2]) };
    if (rng.next() < 0.3) attrs.transA = pick(rng, [1, 3]);
    b.node('Gemm', ['input', 'w', 'bias'], ['logits'], attrs, 'fc');
    b.output('logits', ['N', 3]);
    return { bytes: b.toModelBytes(), what: `Gemm ${JSON.stringify(attrs, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}` };
  },
};

export const BUILT_NAMES = Object.keys(BUILT);
