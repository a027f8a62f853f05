import {
  LIMITS, Rng, Tensor, sizeOf, WhiteBoxError, describeTensorArg, describeValue, makeDirs, batchRanges, checkLimit, checkSessionOptions, readFileCapped, type CappedReadFs, concatBatch, formatShape, mapBatches, resolveBackend, targetsToCotangent,
  type Device, type ForwardFromOptions, type ForwardResult, type GradientOptions, type GradientResult, type InferenceSession, type LayerInfo,
  type LoadModelOptions, type Model, type ProgressCallback, type ReluRule, type SessionOptions, type Targets,
  type TensorData, type SessionModel, RELU_RULES,
} from '@whitebox/core';
import { fileExternalDataReader, memoryExternalDataReader, type ExternalDataFs, type ExternalDataPath } from './external.js';
import { forwardSessionModel, type IrNode } from './graph.js';
import { gradientSessionModel, prepareModel, type PreparedModel } from './gradient.js';
import { defaultCamLayerOf, modelLayers } from './layers.js';
import { readModel, tensorFromProto, tensorToProto, writeModel } from './proto.js';
import { isFloatType } from './ops/index.js';
import { fixedBatch } from './shapes.js';
import { cutGraphAt, runCutModel, unknownTensorHint, type CutModel } from './subgraph.js';

/**
 * Node built-ins, imported only when a file path is used, through a variable specifier so that browser bundlers
 * neither resolve nor bundle them (the package runs in browsers on bytes).
 */
async function nodeModule<T>(name: string): Promise<T> {
  return (await import(/* @vite-ignore */ name)) as T;
}

/**
 * Reads a model file (Node only; loaded lazily so that the package works in browsers): regular files only (a FIFO,
 * /dev/zero or a directory is refused without blocking), at most `maxBytes` (default LIMITS.modelBytes).
 */
export async function readModelFile(path: string, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
  const fs = await nodeModule<CappedReadFs>('node:fs');
  const maxBytes = options.maxBytes ?? LIMITS.modelBytes;
  if (!(Number.isInteger(maxBytes) && maxBytes >= 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `maxModelBytes must be an integer ≥ 1, got ${maxBytes}`);
  return readFileCapped(fs, path, { maxBytes, what: 'ONNX model', raise: 'pass maxModelBytes to loadModel to accept larger models' });
}

/** The SHA-256 digest of `bytes` via WebCrypto (Node 20 and browsers); a view of a shared buffer is copied first. */
async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new WhiteBoxError('RUNTIME_ERROR', 'WebCrypto (globalThis.crypto.subtle) is not available to hash the model');
  const own = (bytes.buffer instanceof ArrayBuffer ? bytes : Uint8Array.from(bytes)) as Uint8Array<ArrayBuffer>;
  return new Uint8Array(await subtle.digest('SHA-256', own));
}

/** sha256 hex of bytes via WebCrypto (Node 20 and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Array.from(await sha256(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * sha256 hex identifying a model with external data: the digest of the model bytes' digest followed by each external
 * tensor's digest, in the order they were read (so different weights beside the same .onnx file hash differently).
 */
export async function sha256OfParts(bytes: Uint8Array, parts: readonly Uint8Array[]): Promise<string> {
  const all = new Uint8Array(32 * (parts.length + 1));
  all.set(await sha256(bytes), 0);
  for (let i = 0; i < parts.length; i++) all.set(await sha256(parts[i]!), 32 * (i + 1));
  return sha256Hex(all);
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

/** Throws RUNTIME_ERROR at the first non-finite value of a model output, naming the sample. */
function checkFiniteOutput(t: Tensor, what: string, source: string | undefined, offset = 0): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v - v !== 0) {
      const sample = offset + Math.floor(i / Math.max(1, t.itemSize));
      throw new WhiteBoxError('NON_FINITE', `the model${source ? ` ${source}` : ''} produced a non-finite ${what} (${v}) for sample ${sample}; its weights are finite, so the computation overflowed (inputs outside the range the model expects?)`, { sample, index: i });
    }
  }
}

/** The forward activations one run holds by default: see {@link defaultBatchSize}. */
export const DEFAULT_RUN_ACTIVATION_BYTES = 2 ** 31;

/**
 * Images per ONNX Runtime run when LoadModelOptions.batchSize is not given: 64, or fewer where 64 images' forward
 * activations (every float tensor of the forward graph, which the gradient graph keeps for its backward pass) would
 * pass 2 GiB. The SimpleCNNs (0.5 MiB per image), ResNet-50 (101 MiB) and DenseNet-121 (171 MiB) run 64, 20 and 11;
 * ViT-B/16 (441 MiB: twelve blocks of [197, 3072] MLP tensors and [12, 197, 197] attention maps) runs 4 at a time.
 * That bounds memory (64 ViT images would need about 28 GiB, 50 Integrated-Gradients steps 22 GiB), and it is faster
 * where the backward's element-wise passes then stay in cache: ViT-B/16's input gradient of 16 images in runs of 4
 * against one run of 16, AMD Zen 4, 1.20 against 0.99 img/s at 1 thread, 1.89 against 1.69 at 2.
 */
export function defaultBatchSize(p: PreparedModel): number {
  const bytes: Record<string, number> = { float16: 2, bfloat16: 2, float32: 4, float64: 8 };
  let perImage = 0;
  for (const n of p.graph.nodes) {
    for (const o of n.outputs) {
      const a = p.shapes.a.get(o);
      const b = p.shapes.b.get(o);
      if (a && b && isFloatType(a.dtype)) perImage += Math.max(0, sizeOf(b.dims) - sizeOf(a.dims)) * (bytes[a.dtype] ?? 4);
    }
  }
  return Math.max(1, Math.min(64, Math.floor(DEFAULT_RUN_ACTIVATION_BYTES / Math.max(1, perImage))));
}

/** Forward graphs larger than this open at 'disabled' (see below); all others at 'all'. */
export const HUGE_GRAPH_NODES = 2500;

/**
 * The ONNX Runtime optimization level a model's sessions open at unless the caller chooses one, from the forward
 * graph's node count:
 * - 'all' (NCHWc blocked-layout conv kernels) up to 2,500 nodes. Measured on an Intel Xeon (AVX-512) host, batch 16
 *   at 224², 1 thread, input-gradient images/s at 'all' against 'extended': ResNet-18 +28 %, ResNet-50 +28 %,
 *   DenseNet-121 +22 %, EfficientNet-B0 +23 %, ConvNeXt-Tiny +25 %, MobileNetV2 +8 %; session creation within 20 %
 *   of 'extended' (a 2,000-node Relu or Sigmoid chain's gradient graph: 4.0–4.4 s against 3.7–4.0 s). The blocked
 *   kernels sum in another order than ONNX Runtime's NCHW kernels, so a different handful of pre-activations within
 *   float32 rounding of a ReLU kink (or of a max-pool tie) land on the other side than in PyTorch's float32 run. Either
 *   side is a correct float32 answer, and scripts/model-zoo traces each such unit (docs/models.md): at 'all', as at
 *   'extended', every model checked matches PyTorch or differs only at traced kinks.
 * - 'disabled' above 2,500 nodes: the optimizers' session creation grows super-linearly (a 5,000-node ReLU
 *   chain's gradient graph: 45 s at 'basic', 53 s at 'extended', 7 s at 'disabled').
 * `nodeCount` defaults to the graph's own (a cut sub-model passes its own count).
 */
export function sessionOptimizationLevel(graph: { nodes: readonly IrNode[] }, nodeCount = graph.nodes.length): NonNullable<SessionOptions['graphOptimizationLevel']> {
  return nodeCount > HUGE_GRAPH_NODES ? 'disabled' : 'all';
}

class OnnxModel implements Model {
  readonly inputName: string;
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  readonly layers: readonly LayerInfo[];
  readonly defaultCamLayer: string | undefined;
  readonly backendName: string;
  readonly gradientFeatures = ['layerRule'] as const;
  executionProvider: Device;
  private forwardSession?: Promise<InferenceSession>;
  private readonly gradSessions = new Map<string, Promise<InferenceSession>>();
  /** Sub-models from a layer onwards (forwardFrom), one session per layer. */
  private readonly cutSessions = new Map<string, { cut: CutModel; session: Promise<InferenceSession> }>();
  private readonly batchSize: number;
  /** The model's fixed batch dim, when it has one: every run is chunked and padded to it. */
  private readonly fixed: number | undefined;

  constructor(
    private readonly prepared: PreparedModel,
    readonly modelBytes: Uint8Array,
    readonly modelHash: string,
    private readonly options: LoadModelOptions,
    private readonly source: string | undefined,
  ) {
    const g = prepared.graph;
    this.fixed = fixedBatch(g);
    this.inputName = g.input.name;
    this.inputShape = [this.fixed ?? null, ...(g.input.dims.slice(1) as number[])];
    this.numClasses = prepared.numClasses;
    this.layers = modelLayers(g, prepared.shapes);
    this.defaultCamLayer = defaultCamLayerOf(g, prepared.shapes);
    const backend = resolveBackend(options);
    this.backendName = backend.name;
    this.executionProvider = options.device ?? (backend.devices[0] as Device);
    if (options.batchSize !== undefined && (!Number.isInteger(options.batchSize) || options.batchSize < 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `batchSize must be an integer ≥ 1, got ${describeValue(options.batchSize)}`);
    this.batchSize = this.fixed ?? options.batchSize ?? defaultBatchSize(prepared);
    checkLimit(this.batchSize, LIMITS.batchSize, 'batchSize');
  }

  /**
   * Whether gradient graphs use GradientGraphOptions.blockedLayout: on the node backend's CPU provider at level 'all',
   * where ONNX Runtime's NCHWc transformer runs. Input gradient at batch 16 on an AMD Zen 4 host
   * (packages/bench/scripts/ab-blocked-layout.mjs, median call, two runs): ResNet-50 +5–8 % at 1 thread, +10–13 % at
   * 2; DenseNet-121 +2 % at 1 thread; EfficientNet-B0 unchanged (no ReLU: the graph is the same).
   */
  private get blockedLayout(): boolean {
    const o = this.options;
    return this.backendName === 'node' && (o.device ?? 'cpu') === 'cpu' && (o.graphOptimizationLevel ?? sessionOptimizationLevel(this.prepared.graph)) === 'all';
  }

  /** Initializer bytes a session's model carries inline (LoadModelOptions.maxInlineWeightBytes). */
  private get maxInline(): number | undefined {
    return this.options.maxInlineWeightBytes;
  }

  private session(bytes: () => SessionModel, nodeCount: number): Promise<InferenceSession> {
    const backend = resolveBackend(this.options);
    const o = this.options;
    return backend.createSession(bytes(), {
      device: o.device, threads: o.threads, enableProfiling: o.enableProfiling, profileFilePrefix: o.profileFilePrefix,
      graphOptimizationLevel: o.graphOptimizationLevel ?? sessionOptimizationLevel(this.prepared.graph, nodeCount), spinning: o.spinning,
    }).then((s) => { this.executionProvider = s.executionProvider; return s; });
  }

  private checkInput(input: Tensor): void {
    const expected = this.inputShape;
    const ok = input instanceof Tensor && input.dims.length === expected.length && expected.every((d, i) => i === 0 || d === input.dims[i]) && input.dims[0]! > 0;
    if (!ok) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `model${this.source ? ` ${this.source}` : ''} input '${this.inputName}': expected shape [N, ${expected.slice(1).join(', ')}], got ${input instanceof Tensor ? formatShape(input.dims) : describeTensorArg(input)}`, { expected, got: input instanceof Tensor ? input.dims : undefined });
    }
    if (input.dtype !== 'float32') throw new WhiteBoxError('INVALID_ARGUMENT', `model input '${this.inputName}' must be float32 pixels in [0, 1], got ${input.dtype}`);
    const d = input.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) throw new WhiteBoxError('INVALID_ARGUMENT', `model input '${this.inputName}' has a non-finite value (${d[i]}) at flat index ${i} (sample ${Math.floor(i / input.itemSize)})`, { index: i });
    }
  }

  /** Runs `feeds` (batch-major) in chunks of the model's batch; a fixed-batch model's last chunk is padded. */
  private async runChunked(sess: InferenceSession, feeds: Record<string, Tensor>, outputs: readonly string[] | undefined, onChunk?: (done: number) => void): Promise<Record<string, Tensor>[]> {
    const n = feeds[this.inputName]!.batchSize;
    const parts: Record<string, Tensor>[] = [];
    for (const [s, e] of batchRanges(n, this.batchSize)) {
      const chunk: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(feeds)) chunk[k] = this.fixed !== undefined && e - s < this.fixed ? padBatch(t.slice(s, e), this.fixed) : t.slice(s, e);
      const r = (await sess.run(chunk, outputs)) as Record<string, Tensor>;
      if (this.fixed !== undefined && e - s < this.fixed) for (const k of Object.keys(r)) r[k] = r[k]!.slice(0, e - s);
      parts.push(r);
      onChunk?.(e);
    }
    return parts;
  }

  async forward(input: Tensor, options: { batchSize?: number; onProgress?: ProgressCallback } = {}): Promise<ForwardResult> {
    this.checkInput(input);
    this.forwardSession ??= this.session(() => forwardSessionModel(this.prepared.graph, this.numClasses, this.maxInline), this.prepared.graph.nodes.length);
    const sess = await this.forwardSession;
    const logits = await mapBatches(input, this.fixed ?? options.batchSize ?? this.batchSize, async (chunk, start) => {
      const [r] = await this.runChunked(sess, { [this.inputName]: chunk as Tensor }, ['logits']);
      checkFiniteOutput(r!.logits!, 'logit', this.source, start);
      return r!.logits!;
    }, options.onProgress, 'forward');
    return { logits, probabilities: softmaxRows(logits), predictions: argmaxRows(logits) };
  }

  /** The cached gradient-graph session for (rule, layers, inputGradient, layerRule). */
  gradientSession(rule: ReluRule, layers: readonly string[], inputGradient: boolean, layerRule: ReluRule = rule): Promise<InferenceSession> {
    const key = `${rule}|${layers.length > 0 ? layerRule : rule}|${inputGradient}|${layers.join('\u0000')}`;
    let s = this.gradSessions.get(key);
    if (!s) {
      const bytes = gradientSessionModel(this.prepared, { rule, layers, inputGradient, layerRule, maxInlineBytes: this.maxInline, blockedLayout: this.blockedLayout });
      s = this.session(() => bytes, this.prepared.graph.nodes.length);
      s.catch(() => this.gradSessions.delete(key));
      this.gradSessions.set(key, s);
    }
    return s;
  }

  async gradients(input: Tensor, targets: Targets, options: GradientOptions & { onProgress?: ProgressCallback } = {}): Promise<GradientResult> {
    this.checkInput(input);
    const rule = options.rule ?? 'gradient';
    if (!RELU_RULES.includes(rule)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown rule '${rule}' (known: ${RELU_RULES.join(', ')})`);
    const layerRule = options.layerRule ?? rule;
    if (!RELU_RULES.includes(layerRule)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown layerRule '${layerRule}' (known: ${RELU_RULES.join(', ')})`);
    const layers = [...(options.layers ?? [])];
    const known = new Set(this.layers.map((l) => l.name));
    for (const l of layers) {
      if (!known.has(l)) {
        const listed = this.layers.length > 40 ? `${this.layers.slice(0, 40).map((x) => x.name).join(', ')} … (${this.layers.length} in all; \`whitebox layers\` lists them)` : [...known].join(', ');
        throw new WhiteBoxError('INVALID_ARGUMENT', `unknown layer '${l}' (${unknownTensorHint(this.prepared.graph, this.modelBytes, l, this.options.output)}); the model's layers are: ${listed}`, { layer: l });
      }
    }
    const inputGradient = options.inputGradient ?? true;
    const n = input.batchSize;
    const cot = targetsToCotangent(targets, n, this.numClasses);
    const sess = await this.gradientSession(rule, layers, inputGradient, layerRule);
    options.onProgress?.({ done: 0, total: n, stage: 'gradients' });
    const parts = await this.runChunked(sess, { [this.inputName]: input, cotangent: cot }, undefined, (done) => options.onProgress?.({ done, total: n, stage: 'gradients' }));
    const cat = (name: string): Tensor => (parts.length === 1 ? parts[0]![name]! : concatBatch(parts.map((p) => p[name]!))) as Tensor;
    const result: GradientResult = { logits: cat('logits'), layers: {} };
    checkFiniteOutput(result.logits, 'logit', this.source);
    if (inputGradient) {
      result.inputGradient = cat('input_grad');
      checkFiniteOutput(result.inputGradient, 'input gradient', this.source);
    }
    for (const l of layers) {
      result.layers[l] = { activation: cat(`${l}:activation`), gradient: cat(`${l}:grad`) };
      checkFiniteOutput(result.layers[l]!.gradient, `gradient at layer '${l}'`, this.source);
    }
    return result;
  }

  /** Runs the model from `layer` on a replaced activation: the graph cut at that tensor (subgraph.ts), cached per layer. */
  async forwardFrom(layer: string, activation: Tensor, options: ForwardFromOptions = {}): Promise<Tensor> {
    let entry = this.cutSessions.get(layer);
    if (!entry) {
      const cut = cutGraphAt(this.prepared, layer, this.modelBytes, this.options.output, this.maxInline);
      const e = { cut, session: this.session(() => cut.model, cut.nodeCount) };
      e.session.catch(() => this.cutSessions.delete(layer));
      this.cutSessions.set(layer, e);
      entry = e;
    }
    const logits = await runCutModel(entry.cut, await entry.session, activation, options, this.batchSize, (t) => this.checkInput(t));
    checkFiniteOutput(logits, 'logit', this.source);
    return logits;
  }

  async dispose(): Promise<void> {
    const all = [this.forwardSession, ...this.gradSessions.values(), ...[...this.cutSessions.values()].map((c) => c.session)].filter(Boolean) as Promise<InferenceSession>[];
    this.forwardSession = undefined;
    this.gradSessions.clear();
    this.cutSessions.clear();
    for (const s of all) {
      try { await (await s).release(); } catch { /* already failed to create */ }
    }
  }
}

/** Pads a batch to `size` rows by repeating its last row (outputs of the padding rows are dropped). */
function padBatch<D extends TensorData>(t: Tensor<D>, size: number): Tensor<D> {
  const n = t.batchSize;
  const item = t.itemSize;
  const Ctor = t.data.constructor as { new (len: number): D };
  const out = new Ctor(size * item);
  (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data as unknown as ArrayLike<unknown>, 0);
  for (let r = n; r < size; r++) (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data.subarray((n - 1) * item, n * item) as unknown as ArrayLike<unknown>, r * item);
  return new Tensor(out, [size, ...t.dims.slice(1)]);
}

/**
 * Loads an ONNX image classifier as a core `Model` on the backend chosen by `options` (backend packages register
 * themselves on import). `bytesOrPath` is ONNX bytes, or a file path in Node.
 */
export async function loadModel(bytesOrPath: Uint8Array | string, options: LoadModelOptions = {}): Promise<Model> {
  if (options === null || typeof options !== 'object') throw new WhiteBoxError('INVALID_ARGUMENT', `loadModel options must be an object, got ${String(options)}`);
  // Session options are checked before any work (a bad device or thread count fails here, not at the first call).
  checkSessionOptions(options);
  resolveBackend(options);
  if (typeof bytesOrPath !== 'string' && !(bytesOrPath instanceof Uint8Array)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `loadModel expects ONNX bytes (Uint8Array) or a file path, got ${bytesOrPath === null ? 'null' : typeof bytesOrPath}`);
  }
  const source = typeof bytesOrPath === 'string' ? bytesOrPath : undefined;
  const mib = options.maxInlineWeightBytes;
  if (mib !== undefined && !(Number.isInteger(mib) && mib >= 0)) throw new WhiteBoxError('INVALID_ARGUMENT', `maxInlineWeightBytes must be an integer ≥ 0, got ${describeValue(mib)}`, { option: 'maxInlineWeightBytes' });
  const bytes = typeof bytesOrPath === 'string' ? await readModelFile(bytesOrPath, { maxBytes: options.maxModelBytes }) : bytesOrPath;
  const parts: Uint8Array[] = [];
  const prepared = await prepareWithExternalData(bytes, source, options, (d) => parts.push(d));
  const hash = parts.length > 0 ? await sha256OfParts(bytes, parts) : await sha256Hex(bytes);
  parts.length = 0;
  return new OnnxModel(prepared, bytes, hash, options, source);
}

/**
 * Prepares a model whose external data comes from the `externalData` option's bytes, or from files beside its path
 * (Node); `maxModelBytes` caps the model bytes and the external data together. `onData` sees each external tensor.
 */
async function prepareWithExternalData(
  bytes: Uint8Array, source: string | undefined,
  options: Pick<LoadModelOptions, 'output' | 'maxElements' | 'maxNodes' | 'maxModelBytes' | 'externalData'>, onData?: (d: Uint8Array) => void,
): Promise<PreparedModel> {
  const files = options.externalData;
  if (files !== undefined && !Array.isArray(files)) throw new WhiteBoxError('INVALID_ARGUMENT', `externalData must be an array of { path, data }, got ${describeValue(files)}`, { option: 'externalData' });
  const reader = files !== undefined
    ? memoryExternalDataReader(files)
    : source !== undefined ? fileExternalDataReader(source, await nodeModule<ExternalDataFs>('node:fs'), await nodeModule<ExternalDataPath>('node:path')) : undefined;
  try {
    return prepareModel(bytes, source, {
      output: options.output, maxElements: options.maxElements, maxNodes: options.maxNodes,
      externalData: reader, maxExternalBytes: Math.max(0, (options.maxModelBytes ?? LIMITS.modelBytes) - bytes.length), onExternalData: onData,
    });
  } finally {
    reader?.close();
  }
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

/**
 * Writes `model.grad.<rule>.onnx` for each rule into `outDir` (Node only); returns the paths. A graph whose weights
 * exceed `maxInlineWeightBytes` (default 1.5 GiB) is written with them in `model.grad.<rule>.weights-<k>.bin` beside it.
 */
export async function exportGradientGraphs(
  modelPath: string, outDir: string, rules: readonly ReluRule[] = RELU_RULES, options: { layers?: readonly string[]; onProgress?: ProgressCallback; maxModelBytes?: number; maxInlineWeightBytes?: number } = {},
): Promise<string[]> {
  for (const r of rules) if (!RELU_RULES.includes(r)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown rule '${r}' (known: ${RELU_RULES.join(', ')})`);
  const bytes = await readModelFile(modelPath, { maxBytes: options.maxModelBytes });
  const prepared = await prepareWithExternalData(bytes, modelPath, { maxModelBytes: options.maxModelBytes });
  const fs = await nodeModule<typeof import('node:fs/promises')>('node:fs/promises');
  const fsSync = await nodeModule<typeof import('node:fs')>('node:fs');
  const path = await nodeModule<typeof import('node:path')>('node:path');
  makeDirs(fsSync, outDir, 'output directory');
  const base = path.basename(modelPath).replace(/\.onnx$/i, '');
  const out: string[] = [];
  options.onProgress?.({ done: 0, total: rules.length, stage: 'export' });
  for (const rule of rules) {
    // Graphs above the inline budget are written with their weights in data files beside them (ONNX external data).
    const g = gradientSessionModel(prepared, { rule, layers: options.layers, maxInlineBytes: options.maxInlineWeightBytes, dataFilePrefix: `${base}.grad.${rule}.weights` });
    const file = path.join(outDir, `${base}.grad.${rule}.onnx`);
    try {
      if (g instanceof Uint8Array) {
        await fs.writeFile(file, g);
      } else {
        await fs.writeFile(file, g.model);
        for (const f of g.externalData) await fs.writeFile(path.join(outDir, f.path), f.parts);
      }
    } catch (err) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `cannot write gradient graph ${file}: ${(err as { code?: string }).code ?? (err as Error).message}`, { file }, { cause: err });
    }
    out.push(file);
    options.onProgress?.({ done: out.length, total: rules.length, stage: 'export' });
  }
  return out;
}
