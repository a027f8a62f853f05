import { WhiteBoxError } from './errors.js';
import type { Tensor, TensorData } from './tensor.js';

/** Where a session runs. `cpu`/`cuda` belong to the node backend, `wasm`/`webgpu` to the web backend. */
export type Device = 'cpu' | 'cuda' | 'wasm' | 'webgpu';
export type BackendName = 'node' | 'web';

export interface SessionOptions {
  device?: Device;
  /** Intra-op thread count (node: intraOpNumThreads; web: env.wasm.numThreads). */
  threads?: number;
  /** Write an ONNX Runtime profile (node backend); `endProfiling()` returns its path. */
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

export type Feeds = Record<string, Tensor<TensorData>>;

/** A loaded ONNX model in one runtime. */
export interface InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The execution provider actually in use: 'cpu', 'cuda', 'wasm' or 'webgpu'. */
  readonly executionProvider: Device;
  run(feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, Tensor<TensorData>>>;
  /** Ends profiling and returns the profile file path, when profiling was enabled. */
  endProfiling?(): string | undefined;
  release(): Promise<void>;
}

/** A runtime that runs ONNX models. Implemented by @whitebox/backend-node and @whitebox/backend-web. */
export interface Backend {
  readonly name: BackendName | string;
  readonly devices: readonly Device[];
  /** `model` is ONNX bytes, or a file path where the backend can read files. */
  createSession(model: Uint8Array | string, options?: SessionOptions): Promise<InferenceSession>;
}

/** How a caller picks a backend: by name and device, or by passing an instance. */
export interface BackendSelection extends SessionOptions {
  backend?: BackendName | Backend;
}

const registry = new Map<string, Backend>();

/** Called by backend packages when they are imported. */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

export function registeredBackends(): string[] {
  return [...registry.keys()];
}

const PACKAGE_OF: Record<string, string> = { node: '@whitebox/backend-node', web: '@whitebox/backend-web' };

function deviceBackend(device: Device): BackendName {
  return device === 'cpu' || device === 'cuda' ? 'node' : 'web';
}

/** Resolves a selection to a registered backend, with a clear error naming the package to install. */
export function resolveBackend(selection: BackendSelection = {}): Backend {
  const { backend, device } = selection;
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
