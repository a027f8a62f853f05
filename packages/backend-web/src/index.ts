import * as ort from 'onnxruntime-web';
import {
  type Backend, type Device, type Feeds, type InferenceSession, type SessionOptions, type Tensor, type TensorData, WhiteBoxError,
  fromOrtTensor, registerBackend, toOrtTensor,
} from '@whitebox/core';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Where the ort-wasm*.wasm files are served from (browser apps set this; Node finds them itself). */
export function setWasmPaths(prefix: string): void {
  ort.env.wasm.wasmPaths = prefix;
}

export function webgpuAvailable(): boolean {
  return !isNode && typeof navigator !== 'undefined' && 'gpu' in navigator;
}

class WebSession implements InferenceSession {
  constructor(private readonly session: ort.InferenceSession, readonly executionProvider: Device) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Feeds, outputNames?: readonly string[]): Promise<Record<string, Tensor<TensorData>>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(ort.Tensor, t);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = outputNames ? await this.session.run(ortFeeds, outputNames as string[]) : await this.session.run(ortFeeds);
    } catch (err) {
      const shapes = Object.entries(feeds).map(([n, t]) => `${n}: [${t.dims.join(', ')}]`).join('; ');
      throw new WhiteBoxError('RUNTIME_ERROR', `onnxruntime-web (${this.executionProvider}) failed to run the model with inputs {${shapes}}: ${(err as Error).message}`, { feeds: shapes }, { cause: err });
    }
    const out: Record<string, Tensor<TensorData>> = {};
    for (const [name, t] of Object.entries(results)) {
      // WebGPU outputs may live on the GPU; getData() downloads them.
      const data = t.location && t.location !== 'cpu' ? await t.getData(true) : t.data;
      out[name] = fromOrtTensor({ type: t.type, data, dims: t.dims });
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

let configuredThreads: number | undefined;

/** onnxruntime-web: WebAssembly (Node and browsers) and WebGPU (browsers that have it). */
export const webBackend: Backend = {
  name: 'web',
  devices: ['wasm', 'webgpu'],
  async createSession(model: Uint8Array | string, options: SessionOptions = {}): Promise<InferenceSession> {
    const device = options.device ?? 'wasm';
    if (device !== 'wasm' && device !== 'webgpu') {
      throw new WhiteBoxError('BACKEND_UNAVAILABLE', `backend 'web' runs on 'wasm' or 'webgpu', not '${device}' (use @whitebox/backend-node for cpu/cuda)`, { device });
    }
    if (device === 'webgpu' && !webgpuAvailable()) {
      throw new WhiteBoxError('BACKEND_UNAVAILABLE', `device 'webgpu' is not available here (${isNode ? 'Node.js has no WebGPU; use wasm, or the node backend' : 'this browser has no navigator.gpu'})`, { device });
    }
    if (options.threads !== undefined) {
      if (!(Number.isInteger(options.threads) && options.threads >= 1)) {
        throw new WhiteBoxError('INVALID_ARGUMENT', `threads must be an integer ≥ 1, got ${options.threads}`);
      }
      // The wasm thread pool is fixed at the first session; later requests must agree.
      if (configuredThreads === undefined) {
        ort.env.wasm.numThreads = options.threads;
        configuredThreads = options.threads;
      } else if (configuredThreads !== options.threads) {
        throw new WhiteBoxError('INVALID_ARGUMENT', `onnxruntime-web's WebAssembly thread count is fixed per process; it is ${configuredThreads}, not ${options.threads}`);
      }
    } else if (configuredThreads === undefined) {
      configuredThreads = isNode ? 1 : Math.min(4, (globalThis.navigator?.hardwareConcurrency ?? 1));
      ort.env.wasm.numThreads = configuredThreads;
    }
    let bytes: Uint8Array;
    if (typeof model === 'string') {
      if (isNode) {
        const { readFile } = await import('node:fs/promises');
        try {
          bytes = await readFile(model);
        } catch {
          throw new WhiteBoxError('NOT_FOUND', `ONNX model file not found: ${model}`, { file: model });
        }
      } else {
        const res = await fetch(model);
        if (!res.ok) throw new WhiteBoxError('NOT_FOUND', `could not fetch ONNX model ${model}: HTTP ${res.status}`, { file: model });
        bytes = new Uint8Array(await res.arrayBuffer());
      }
    } else {
      bytes = model;
    }
    try {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: [device],
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      });
      return new WebSession(session, device);
    } catch (err) {
      const where = typeof model === 'string' ? ` from ${model}` : '';
      throw new WhiteBoxError('INVALID_MODEL', `onnxruntime-web could not load the model${where} on ${device}: ${(err as Error).message}`, { file: typeof model === 'string' ? model : undefined, device }, { cause: err });
    }
  },
};

registerBackend(webBackend);
export default webBackend;
