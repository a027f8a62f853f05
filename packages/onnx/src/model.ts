import {
  Rng, Tensor, WhiteBoxError, batchRanges, concatBatch, formatShape, mapBatches, resolveBackend, targetsToCotangent,
  type Device, type ForwardResult, type GradientOptions, type GradientResult, type InferenceSession, type LayerInfo,
  type LoadModelOptions, type Model, type ProgressCallback, type ReluRule, type Targets, type TensorData, RELU_RULES,
} from '@whitebox/core';
import { consumers, forwardModelBytes, inferShapes, type IrGraph } from './graph.js';
import { gradientGraphFromPrepared, prepareModel, type PreparedModel } from './gradient.js';
import { readModel, tensorFromProto, tensorToProto, writeModel } from './proto.js';

const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'BatchNormalization', 'Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'Tanh', 'MaxPool', 'AveragePool', 'GlobalAveragePool']);
const ACTIVATIONS = new Set(['Relu', 'LeakyRelu', 'Clip', 'Sigmoid', 'Tanh', 'BatchNormalization', 'Identity']);

/**
 * Node built-ins, imported only when a file path is used, through a variable specifier so that browser bundlers
 * neither resolve nor bundle them (the package runs in browsers on bytes).
 */
async function nodeModule<T>(name: string): Promise<T> {
  return (await import(/* @vite-ignore */ name)) as T;
}

/** Reads a model file (Node only; loaded lazily so that the package works in browsers). */
export async function readModelFile(path: string): Promise<Uint8Array> {
  const fs = await nodeModule<typeof import('node:fs/promises')>('node:fs/promises');
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new WhiteBoxError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `cannot read ONNX model ${path}: ${(err as Error).message}`, { file: path }, { cause: err });
  }
}

/** sha256 hex of bytes via WebCrypto (Node 20 and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new WhiteBoxError('RUNTIME_ERROR', 'WebCrypto (globalThis.crypto.subtle) is not available to hash the model');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const digest = new Uint8Array(await subtle.digest('SHA-256', copy.buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Candidate layers (conv/activation/pool outputs) with shapes, batch dim null. */
export function modelLayers(g: IrGraph): LayerInfo[] {
  const shapes = inferShapes(g, 2);
  const out: LayerInfo[] = [];
  for (const n of g.nodes) {
    if (!LAYER_OPS.has(n.op)) continue;
    const s = shapes.get(n.outputs[0]!);
    if (!s || n.outputs[0] === g.output) continue;
    out.push({ name: n.outputs[0]!, op: n.op, shape: [null, ...s.slice(1)] });
  }
  return out;
}

/** Output of the activation chain after the last Conv, before its pool: Grad-CAM's default layer. */
export function defaultCamLayerOf(g: IrGraph): string | undefined {
  const convs = g.nodes.filter((n) => n.op === 'Conv' || n.op === 'ConvTranspose');
  const last = convs[convs.length - 1];
  if (!last) return undefined;
  const cons = consumers(g);
  let t = last.outputs[0]!;
  for (;;) {
    const next = cons.get(t) ?? [];
    if (next.length !== 1 || !ACTIVATIONS.has(next[0]!.op)) break;
    t = next[0]!.outputs[0]!;
  }
  return t;
}

function softmaxRows(logits: Tensor): Tensor {
  const [n, k] = logits.dims as [number, number];
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits.data[i * k + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += out[i * k + j] = Math.exp(logits.data[i * k + j]! - max);
    for (let j = 0; j < k; j++) out[i * k + j]! /= sum;
  }
  return new Tensor(out, [n, k]);
}

function argmaxRows(logits: Tensor): Int32Array {
  const [n, k] = logits.dims as [number, number];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits.data[i * k + j]! > logits.data[i * k + best]!) best = j;
    out[i] = best;
  }
  return out;
}

class OnnxModel implements Model {
  readonly inputName: string;
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  readonly layers: readonly LayerInfo[];
  readonly defaultCamLayer: string | undefined;
  readonly backendName: string;
  executionProvider: Device;
  private forwardSession?: Promise<InferenceSession>;
  private readonly gradSessions = new Map<string, Promise<InferenceSession>>();
  private readonly batchSize: number;

  constructor(
    private readonly prepared: PreparedModel,
    readonly modelBytes: Uint8Array,
    readonly modelHash: string,
    private readonly options: LoadModelOptions,
    private readonly source: string | undefined,
  ) {
    const g = prepared.graph;
    this.inputName = g.input.name;
    this.inputShape = [null, ...(g.input.dims.slice(1) as number[])];
    this.numClasses = prepared.numClasses;
    this.layers = modelLayers(g);
    this.defaultCamLayer = defaultCamLayerOf(g);
    const backend = resolveBackend(options);
    this.backendName = backend.name;
    this.executionProvider = options.device ?? (backend.devices[0] as Device);
    this.batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new WhiteBoxError('INVALID_ARGUMENT', `batchSize must be an integer ≥ 1, got ${options.batchSize}`);
  }

  private session(bytes: () => Uint8Array): Promise<InferenceSession> {
    const backend = resolveBackend(this.options);
    return backend.createSession(bytes(), { device: this.options.device, threads: this.options.threads, enableProfiling: this.options.enableProfiling, graphOptimizationLevel: this.options.graphOptimizationLevel, spinning: this.options.spinning })
      .then((s) => { this.executionProvider = s.executionProvider; return s; });
  }

  private checkInput(input: Tensor): void {
    const expected = this.inputShape;
    const ok = input instanceof Tensor && input.dims.length === expected.length && expected.every((d, i) => d === null || d === input.dims[i]) && input.dims[0]! > 0;
    if (!ok) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `model${this.source ? ` ${this.source}` : ''} input '${this.inputName}': expected shape [N, ${expected.slice(1).join(', ')}], got ${input instanceof Tensor ? formatShape(input.dims) : String(input)}`, { expected, got: input?.dims });
    }
    if (input.dtype !== 'float32') throw new WhiteBoxError('INVALID_ARGUMENT', `model input '${this.inputName}' must be float32 pixels in [0, 1], got ${input.dtype}`);
    const d = input.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) throw new WhiteBoxError('INVALID_ARGUMENT', `model input '${this.inputName}' has a non-finite value (${d[i]}) at flat index ${i} (sample ${Math.floor(i / input.itemSize)})`, { index: i });
    }
  }

  async forward(input: Tensor, options: { batchSize?: number; onProgress?: ProgressCallback } = {}): Promise<ForwardResult> {
    this.checkInput(input);
    this.forwardSession ??= this.session(() => forwardModelBytes(this.prepared.graph, this.numClasses));
    const sess = await this.forwardSession;
    const logits = await mapBatches(input, options.batchSize ?? this.batchSize, async (chunk) => {
      const r = await sess.run({ [this.inputName]: chunk }, ['logits']);
      return r.logits as Tensor;
    }, options.onProgress, 'forward');
    return { logits, probabilities: softmaxRows(logits), predictions: argmaxRows(logits) };
  }

  /** The cached gradient-graph session for (rule, layers, inputGradient). */
  gradientSession(rule: ReluRule, layers: readonly string[], inputGradient: boolean): Promise<InferenceSession> {
    const key = `${rule}|${inputGradient}|${layers.join('\u0000')}`;
    let s = this.gradSessions.get(key);
    if (!s) {
      const bytes = gradientGraphFromPrepared(this.prepared, { rule, layers, inputGradient });
      s = this.session(() => bytes);
      s.catch(() => this.gradSessions.delete(key));
      this.gradSessions.set(key, s);
    }
    return s;
  }

  async gradients(input: Tensor, targets: Targets, options: GradientOptions & { onProgress?: ProgressCallback } = {}): Promise<GradientResult> {
    this.checkInput(input);
    const rule = options.rule ?? 'gradient';
    if (!RELU_RULES.includes(rule)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown rule '${rule}' (known: ${RELU_RULES.join(', ')})`);
    const layers = [...(options.layers ?? [])];
    const known = new Set(this.layers.map((l) => l.name));
    for (const l of layers) {
      if (!known.has(l)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown layer '${l}'; the model's layers are: ${[...known].join(', ')}`, { layer: l });
    }
    const inputGradient = options.inputGradient ?? true;
    const n = input.batchSize;
    const cot = targetsToCotangent(targets, n, this.numClasses);
    const sess = await this.gradientSession(rule, layers, inputGradient);
    const parts: Record<string, Tensor<TensorData>>[] = [];
    options.onProgress?.({ done: 0, total: n, stage: 'gradients' });
    for (const [s, e] of batchRanges(n, this.batchSize)) {
      parts.push(await sess.run({ [this.inputName]: input.slice(s, e), cotangent: cot.slice(s, e) }));
      options.onProgress?.({ done: e, total: n, stage: 'gradients' });
    }
    const cat = (name: string): Tensor => (parts.length === 1 ? parts[0]![name]! : concatBatch(parts.map((p) => p[name]!))) as Tensor;
    const result: GradientResult = { logits: cat('logits'), layers: {} };
    if (inputGradient) result.inputGradient = cat('input_grad');
    for (const l of layers) result.layers[l] = { activation: cat(`${l}:activation`), gradient: cat(`${l}:grad`) };
    return result;
  }

  async dispose(): Promise<void> {
    const all = [this.forwardSession, ...this.gradSessions.values()].filter(Boolean) as Promise<InferenceSession>[];
    this.forwardSession = undefined;
    this.gradSessions.clear();
    for (const s of all) {
      try { await (await s).release(); } catch { /* already failed to create */ }
    }
  }
}

/**
 * Loads an ONNX image classifier as a core `Model` on the backend chosen by `options` (backend packages register
 * themselves on import). `bytesOrPath` is ONNX bytes, or a file path in Node.
 */
export async function loadModel(bytesOrPath: Uint8Array | string, options: LoadModelOptions = {}): Promise<Model> {
  const source = typeof bytesOrPath === 'string' ? bytesOrPath : undefined;
  const bytes = typeof bytesOrPath === 'string' ? await readModelFile(bytesOrPath) : bytesOrPath;
  const prepared = prepareModel(bytes, source);
  return new OnnxModel(prepared, bytes, await sha256Hex(bytes), options, source);
}

/**
 * Re-draws the named float initializers from a normal distribution with each tensor's own mean and standard deviation
 * (seeded), leaving everything else unchanged: the model-randomization sanity check.
 */
export function randomizeInitializers(modelBytes: Uint8Array, initializerNames: readonly string[], seed: number): Uint8Array {
  const model = readModel(modelBytes);
  const inits = model.graph!.initializer ?? [];
  const byName = new Map(inits.map((t, i) => [t.name ?? '', i]));
  const rng = new Rng(seed);
  for (const name of initializerNames) {
    const i = byName.get(name);
    if (i === undefined) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `no initializer named '${name}' in the model; initializers: ${[...byName.keys()].slice(0, 40).join(', ')}`, { initializer: name });
    }
    const t = tensorFromProto(inits[i]!, `initializer '${name}'`);
    if (t.dtype !== 'float32') throw new WhiteBoxError('INVALID_ARGUMENT', `initializer '${name}' is ${t.dtype}, only float32 weights can be randomized`, { initializer: name });
    const d = t.data as Float32Array;
    let mean = 0;
    for (const v of d) mean += v;
    mean /= Math.max(1, d.length);
    let varSum = 0;
    for (const v of d) varSum += (v - mean) ** 2;
    const std = Math.sqrt(varSum / Math.max(1, d.length)) || 1e-2;
    const nd = new Float32Array(d.length);
    for (let j = 0; j < nd.length; j++) nd[j] = mean + std * rng.normal();
    inits[i] = onnxTensor(new Tensor(nd, t.dims), name);
  }
  return writeModel(model);
}

function onnxTensor(t: Tensor, name: string) {
  return tensorToProto(t, name) as ReturnType<typeof tensorToProto>;
}

/** Writes `model.grad.<rule>.onnx` for each rule into `outDir` (Node only); returns the paths. */
export async function exportGradientGraphs(
  modelPath: string, outDir: string, rules: readonly ReluRule[] = RELU_RULES, options: { layers?: readonly string[]; onProgress?: ProgressCallback } = {},
): Promise<string[]> {
  for (const r of rules) if (!RELU_RULES.includes(r)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown rule '${r}' (known: ${RELU_RULES.join(', ')})`);
  const bytes = await readModelFile(modelPath);
  const prepared = prepareModel(bytes, modelPath);
  const fs = await nodeModule<typeof import('node:fs/promises')>('node:fs/promises');
  const path = await nodeModule<typeof import('node:path')>('node:path');
  await fs.mkdir(outDir, { recursive: true });
  const base = path.basename(modelPath).replace(/\.onnx$/i, '');
  const out: string[] = [];
  options.onProgress?.({ done: 0, total: rules.length, stage: 'export' });
  for (const rule of rules) {
    const g = gradientGraphFromPrepared(prepared, { rule, layers: options.layers });
    const file = path.join(outDir, `${base}.grad.${rule}.onnx`);
    await fs.writeFile(file, g);
    out.push(file);
    options.onProgress?.({ done: out.length, total: rules.length, stage: 'export' });
  }
  return out;
}
