/**
 * WhiteBox backend on onnxruntime-web (WebAssembly, WebGPU) for browsers and Node; importing it registers the "web" backend.
 *
 * @packageDocumentation
 * @module @whitebox/backend-web
 */
import * as ort from 'onnxruntime-web';
import {
  type Backend, type CappedReadFs, type Device, type Feeds, type InferenceSession, type ModelWithExternalData, type SessionModel, type SessionOptions,
  type Tensor, type TensorData, LIMITS, WhiteBoxError, checkExternalDataFiles, checkSessionOptions, externalDataBytes, fromOrtTensor,
  isModelWithExternalData, readFileCapped, registerBackend, runtimeMessage, toOrtTensor,
} from '@whitebox/core';

/** One buffer holding `parts` in order. */
function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Where the ort-wasm*.wasm files are served from (browser apps set this; Node finds them itself). */
export function setWasmPaths(prefix: string): void {
  ort.env.wasm.wasmPaths = prefix;
}

/** Whether this environment offers WebGPU (`navigator.gpu` in a browser); always false in Node. */
export function webgpuAvailable(): boolean {
  return !isNode && typeof navigator !== 'undefined' && 'gpu' in navigator;
}

/** Node's fs module, for profiles (loaded only in Node, under a name browser bundlers leave alone). */
type ProfileFs = { writeSync: (fd: number, data: string | Uint8Array, ...rest: unknown[]) => number; writeFileSync: (path: string, data: string) => void };

class WebSession implements InferenceSession {
  constructor(
    private readonly session: ort.InferenceSession,
    readonly executionProvider: Device,
    private readonly label = 'the model',
    private readonly profile?: { prefix: string; fs?: ProfileFs },
  ) {}

  /**
   * Ends profiling. onnxruntime-web has no profile file: its WebAssembly module prints the trace (the same JSON as
   * onnxruntime-node's file) to standard output, in Node through fs.writeSync(1). Here that one synchronous call's
   * output is captured and written to <prefix>_<timestamp>.json, whose path is returned, as the node backend does.
   * In a browser the trace goes to the console and nothing is returned.
   */
  endProfiling(): string | undefined {
    if (!this.profile) return undefined;
    const fs = this.profile.fs;
    if (!fs) { this.session.endProfiling(); return undefined; }
    let text = '';
    const write = fs.writeSync;
    fs.writeSync = (fd, data, ...rest) => {
      if (fd !== 1) return write(fd, data, ...rest);
      text += typeof data === 'string' ? data : new TextDecoder().decode(data);
      return typeof data === 'string' ? data.length : data.byteLength;
    };
    try { this.session.endProfiling(); } finally { fs.writeSync = write; }
    const start = text.indexOf('[');
    if (start < 0) throw new WhiteBoxError('RUNTIME_ERROR', `onnxruntime-web printed no profile for ${this.label}`);
    const d = new Date();
    const pad = (v: number, n = 2) => String(v).padStart(n, '0');
    const path = `${this.profile.prefix}_${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}_${pad(d.getHours())}-${pad(d.getMinutes())}-${pad(d.getSeconds())}_${pad(d.getMilliseconds(), 3)}.json`;
    fs.writeFileSync(path, text.slice(start, text.lastIndexOf(']') + 1));
    return path;
  }

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
      throw new WhiteBoxError('RUNTIME_ERROR', `onnxruntime-web (${this.executionProvider}) failed to run ${this.label} with inputs {${shapes}}: ${runtimeMessage(err)}`, { feeds: shapes }, { cause: err });
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
  async createSession(model: SessionModel, options: SessionOptions = {}): Promise<InferenceSession> {
    checkSessionOptions(options);
    const device = options.device ?? 'wasm';
    if (device !== 'wasm' && device !== 'webgpu') {
      throw new WhiteBoxError('BACKEND_UNAVAILABLE', `backend 'web' runs on 'wasm' or 'webgpu', not '${device}' (use @whitebox/backend-node for cpu/cuda)`, { device });
    }
    if (device === 'webgpu' && !webgpuAvailable()) {
      throw new WhiteBoxError('BACKEND_UNAVAILABLE', `device 'webgpu' is not available here (${isNode ? 'Node.js has no WebGPU; use wasm, or the node backend' : 'this browser has no navigator.gpu'})`, { device });
    }
    if (options.threads !== undefined) {
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
    let externalData: { path: string; data: Uint8Array }[] | undefined;
    if (isModelWithExternalData(model)) {
      checkExternalDataFiles(model);
      bytes = model.model;
      // onnxruntime-web mounts external data files from memory, one buffer each.
      externalData = model.externalData.map((f) => ({ path: f.path, data: f.parts.length === 1 ? f.parts[0]! : concatParts(f.parts) }));
    } else if (typeof model === 'string') {
      if (isNode) {
        const fsName = 'node:fs'; // a variable specifier: browser bundlers leave it alone
        const fs = (await import(/* @vite-ignore */ fsName)) as CappedReadFs;
        bytes = readFileCapped(fs, model, { maxBytes: LIMITS.modelBytes, what: 'ONNX model' });
      } else {
        const res = await fetch(model);
        if (!res.ok) throw new WhiteBoxError('NOT_FOUND', `could not fetch ONNX model ${model}: HTTP ${res.status}`, { file: model });
        bytes = new Uint8Array(await res.arrayBuffer());
      }
    } else if (model instanceof Uint8Array) {
      bytes = model;
    } else {
      throw new WhiteBoxError('INVALID_ARGUMENT', `createSession expects ONNX bytes (Uint8Array), a file path / URL or { model, externalData }, got ${model === null ? 'null' : typeof model}`);
    }
    let profile: { prefix: string; fs?: ProfileFs } | undefined;
    if (options.enableProfiling) {
      const fsName = 'node:fs';
      profile = { prefix: options.profileFilePrefix ?? 'whitebox-profile', fs: isNode ? ((await import(/* @vite-ignore */ fsName)) as { default: ProfileFs }).default : undefined };
    }
    const label = typeof model === 'string' ? `model ${model}` : `the model (${bytes.length.toLocaleString('en-US')} bytes${externalData ? ` and ${externalDataBytes(model as ModelWithExternalData).toLocaleString('en-US')} bytes of external data` : ''})`;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: [device],
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
        logSeverityLevel: 3,
        ...(profile ? { enableProfiling: true } : {}),
        ...(externalData ? { externalData } : {}),
      });
    } catch (err) {
      throw new WhiteBoxError('INVALID_MODEL', `onnxruntime-web could not load ${label} on ${device}: ${runtimeMessage(err)}`, { file: typeof model === 'string' ? model : undefined, device }, { cause: err });
    }
    return new WebSession(session, device, label, profile);
  },
};

registerBackend(webBackend);
export default webBackend;
