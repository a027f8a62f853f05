import { WhiteBoxError } from './errors.js';
import { LIMITS } from './limits.js';
import type { Tensor, TensorData } from './tensor.js';

/** Where a session runs. `cpu`/`cuda` belong to the node backend, `wasm`/`webgpu` to the web backend. */
export type Device = 'cpu' | 'cuda' | 'wasm' | 'webgpu';
/** Name of a runtime backend: 'node' (onnxruntime-node) or 'web' (onnxruntime-web). */
export type BackendName = 'node' | 'web';
/** Every device a backend may offer. */
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'wasm', 'webgpu'];
/** ONNX Runtime's graph optimization levels, from none to all. */
export const GRAPH_OPTIMIZATION_LEVELS: readonly NonNullable<SessionOptions['graphOptimizationLevel']>[] = ['disabled', 'basic', 'extended', 'all'];

/** How a backend creates an inference session: device, threads, profiling and ONNX Runtime tuning. */
export interface SessionOptions {
  device?: Device;
  /** Intra-op thread count (node: intraOpNumThreads; web: env.wasm.numThreads). */
  threads?: number;
  /** Write an ONNX Runtime profile (node backend; web backend in Node, wasm); `endProfiling()` returns its path. */
  enableProfiling?: boolean;
  /** File name prefix of the profile (default 'whitebox-profile', in the working directory). */
  profileFilePrefix?: string;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Let intra-op worker threads busy-wait for work between parallel sections of a run (node backend, threads > 1; ONNX
   * Runtime's `session.intra_op.allow_spinning`, with `session.force_spinning_stop` so that they stop when the run
   * returns). Default true: fastest on an idle machine. Pass false when other processes keep the cores busy — a
   * spinning pool then competes with them (measured: half the throughput at 2 threads with the other core busy).
   */
  spinning?: boolean;
}

/** Named input tensors of one inference run. */
export type Feeds = Record<string, Tensor<TensorData>>;

/** A loaded ONNX model in one runtime. */
export interface InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The execution provider actually in use: 'cpu', 'cuda', 'wasm' or 'webgpu'. */
  readonly executionProvider: Device;
  /** Runs the model on `feeds`, returning the requested outputs (default all) by name. */
  run(feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, Tensor<TensorData>>>;
  /** Ends profiling and returns the profile file path, when profiling was enabled. */
  endProfiling?(): string | undefined;
  /** Frees the session's native resources. */
  release(): Promise<void>;
}

/** One file of ONNX external data: `path` as the model's tensors name it (`location`), its bytes as consecutive parts. */
export interface ExternalDataFile {
  path: string;
  /** The file's bytes, in order (parts, so that files above a typed array's size need not be copied into one). */
  parts: readonly Uint8Array[];
}

/**
 * An ONNX model whose large tensors live in external data files beside it (ONNX's external data format: each tensor
 * names a `location`, `offset` and `length`). Protobuf caps one model at 2 GiB, so larger graphs travel this way.
 */
export interface ModelWithExternalData {
  /** The ModelProto bytes, without the external tensors' data. */
  model: Uint8Array;
  externalData: readonly ExternalDataFile[];
}

/** What a backend opens a session from: ONNX bytes, a file path, or bytes with external data files. */
export type SessionModel = Uint8Array | string | ModelWithExternalData;

/** Whether `m` is a model with external data (not bytes or a path). */
export function isModelWithExternalData(m: unknown): m is ModelWithExternalData {
  return typeof m === 'object' && m !== null && !(m instanceof Uint8Array) && (m as ModelWithExternalData).model instanceof Uint8Array && Array.isArray((m as ModelWithExternalData).externalData);
}

/**
 * Checks the external data files of a model a backend is about to write or mount: each path a plain relative file
 * name (no directories, no '..', no NUL), no two alike, every part a Uint8Array. INVALID_ARGUMENT naming the file.
 */
export function checkExternalDataFiles(m: ModelWithExternalData): void {
  const seen = new Set<string>();
  for (const f of m.externalData) {
    const p = f?.path;
    if (typeof p !== 'string' || !/^[A-Za-z0-9._-]+$/.test(p) || p === '.' || p === '..') {
      throw new WhiteBoxError('INVALID_ARGUMENT', `external data file name ${JSON.stringify(p)} must be a plain file name (letters, digits, '.', '_', '-')`, { file: p });
    }
    if (seen.has(p)) throw new WhiteBoxError('INVALID_ARGUMENT', `external data file '${p}' is given twice`, { file: p });
    seen.add(p);
    if (!Array.isArray(f.parts) || !f.parts.every((x) => x instanceof Uint8Array)) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `external data file '${p}': parts must be Uint8Arrays`, { file: p });
    }
  }
}

/** Total bytes of a model with external data (the model and every file). */
export function externalDataBytes(m: ModelWithExternalData): number {
  return m.externalData.reduce((s, f) => s + f.parts.reduce((t, x) => t + x.byteLength, 0), 0);
}

/** A runtime that runs ONNX models. Implemented by @whitebox/backend-node and @whitebox/backend-web. */
export interface Backend {
  readonly name: BackendName | string;
  readonly devices: readonly Device[];
  /**
   * `model` is ONNX bytes, a file path where the backend can read files, or bytes with external data files (models
   * whose weights exceed protobuf's 2 GiB).
   */
  createSession(model: SessionModel, options?: SessionOptions): Promise<InferenceSession>;
}

/** How a caller picks a backend: by name and device, or by passing an instance. */
export interface BackendSelection extends SessionOptions {
  backend?: BackendName | Backend;
}

/**
 * Validates the runtime-independent session options (device name, threads against LIMITS.threads, optimization
 * level, spinning, profiling) with INVALID_ARGUMENT naming the option: backends call it before creating a session.
 */
export function checkSessionOptions(options: SessionOptions = {}): void {
  const bad = (msg: string, option: string): never => {
    throw new WhiteBoxError('INVALID_ARGUMENT', msg, { option });
  };
  if (options === null || typeof options !== 'object') bad(`session options must be an object, got ${String(options)}`, 'options');
  const { device, threads, graphOptimizationLevel, spinning, enableProfiling, profileFilePrefix } = options;
  if (device !== undefined && !DEVICES.includes(device)) bad(`unknown device '${String(device)}' (known: ${DEVICES.join(', ')}; cpu/cuda run on the node backend, wasm/webgpu on the web backend)`, 'device');
  if (threads !== undefined) {
    if (!(typeof threads === 'number' && Number.isInteger(threads) && threads >= 1)) bad(`threads must be an integer ≥ 1, got ${String(threads)}`, 'threads');
    if (threads > LIMITS.threads) {
      throw new WhiteBoxError('LIMIT_EXCEEDED', `threads is ${threads}, above the maximum of ${LIMITS.threads} intra-op threads per session (ONNX Runtime aborts or crashes creating thousands)`, { option: 'threads', value: threads, limit: LIMITS.threads });
    }
  }
  if (graphOptimizationLevel !== undefined && !GRAPH_OPTIMIZATION_LEVELS.includes(graphOptimizationLevel)) {
    bad(`unknown graphOptimizationLevel '${String(graphOptimizationLevel)}' (known: ${GRAPH_OPTIMIZATION_LEVELS.join(', ')})`, 'graphOptimizationLevel');
  }
  if (spinning !== undefined && typeof spinning !== 'boolean') bad(`spinning must be true or false, got ${String(spinning)}`, 'spinning');
  if (enableProfiling !== undefined && typeof enableProfiling !== 'boolean') bad(`enableProfiling must be true or false, got ${String(enableProfiling)}`, 'enableProfiling');
  if (profileFilePrefix !== undefined && (typeof profileFilePrefix !== 'string' || profileFilePrefix === '')) bad(`profileFilePrefix must be a non-empty string, got ${JSON.stringify(profileFilePrefix)}`, 'profileFilePrefix');
}

/**
 * The first line of a runtime's error text without its source-location noise, e.g. ONNX Runtime's
 * "[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model from ... failed: /onnxruntime_src/...cc:123 void f() <message>"
 * becomes "INVALID_GRAPH: ... <message>". Backends use it to wrap runtime errors once, with their own context.
 */
export function runtimeMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  let text = raw.replace(/\r/g, '');
  text = text.replace(/\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*([A-Z_]+)\s*:\s*/g, '$1: ');
  // C++ source locations ("/onnxruntime_src/onnxruntime/core/...cc:42 <signature>") and stack frames.
  text = text.replace(/\/?[\w./-]+\.(?:cc|h|cpp|hpp):\d+\s+[^\n]*?\)\s*(?:const\s*)?/g, '');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !/^(at |Stacktrace:|\[[0-9a-fx ]+\])/.test(l) && !/^\d+\s*#/.test(l));
  let one = lines.join(' ').replace(/\s+/g, ' ').trim();
  if (one.length > 600) one = `${one.slice(0, 600)}…`;
  return one || 'unknown error';
}

const registry = new Map<string, Backend>();

/** Called by backend packages when they are imported. */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

/** Names of the backends registered so far (importing `@whitebox/backend-node` or `@whitebox/backend-web` registers one). */
export function registeredBackends(): string[] {
  return [...registry.keys()];
}

const PACKAGE_OF: Record<string, string> = { node: '@whitebox/backend-node', web: '@whitebox/backend-web' };

function deviceBackend(device: Device): BackendName {
  return device === 'cpu' || device === 'cuda' ? 'node' : 'web';
}

/** Resolves a selection to a registered backend, with a clear error naming the package to install. */
export function resolveBackend(selection: BackendSelection = {}): Backend {
  if (selection === null || typeof selection !== 'object') {
    throw new WhiteBoxError('INVALID_ARGUMENT', `backend selection must be an object ({ backend, device, ... }), got ${String(selection)}`);
  }
  const { backend, device } = selection;
  if (device !== undefined && !DEVICES.includes(device)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `unknown device '${String(device)}' (known: ${DEVICES.join(', ')}; cpu/cuda run on the node backend, wasm/webgpu on the web backend)`, { device });
  }
  if (backend !== undefined && typeof backend !== 'string' && (backend === null || typeof backend !== 'object')) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `backend must be 'node', 'web' or a Backend object, got ${String(backend)}`);
  }
  if (backend && typeof backend === 'object') return backend;
  let name: string | undefined = backend;
  if (!name && device) name = deviceBackend(device);
  if (!name) {
    name = registry.has('node') ? 'node' : registry.has('web') ? 'web' : [...registry.keys()][0];
    if (!name) {
      throw new WhiteBoxError('BACKEND_UNAVAILABLE', 'no WhiteBox backend is registered: install and import @whitebox/backend-node (Node: CPU, CUDA) or @whitebox/backend-web (WebAssembly, WebGPU)');
    }
  }
  const found = registry.get(name);
  if (!found) {
    const pkg = PACKAGE_OF[name];
    throw new WhiteBoxError(
      'BACKEND_UNAVAILABLE',
      pkg ? `backend '${name}' is not registered: install ${pkg} and import it (import '${pkg}')` : `unknown backend '${name}' (known: node, web${registry.size ? `; registered: ${[...registry.keys()].join(', ')}` : ''})`,
      { backend: name },
    );
  }
  if (device && !found.devices.includes(device)) {
    throw new WhiteBoxError('BACKEND_UNAVAILABLE', `backend '${name}' does not support device '${device}' (it supports: ${found.devices.join(', ')})`, { backend: name, device });
  }
  return found;
}
