/**
 * WhiteBox backend on onnxruntime-node (CPU, CUDA); importing it registers the "node" backend.
 *
 * @packageDocumentation
 * @module @whitebox/backend-node
 */
import * as fs from 'node:fs';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  type Backend, type Device, type Feeds, type InferenceSession, type ModelWithExternalData, type SessionModel, type SessionOptions, type Tensor,
  type TensorData, LIMITS, WhiteBoxError, checkExternalDataFiles, checkSessionOptions, externalDataBytes, fromOrtTensor, isModelWithExternalData,
  readFileCapped, registerBackend, runtimeMessage, toOrtTensor,
} from '@whitebox/core';

const require = createRequire(import.meta.url);

/** Directory holding onnxruntime-node's native libraries for this platform. */
function nativeDir(): string | undefined {
  try {
    const pkg = dirname(require.resolve('onnxruntime-node/package.json'));
    const napi = ['napi-v6', 'napi-v3'].map((v) => join(pkg, 'bin', v, process.platform, process.arch)).find((d) => existsSync(d));
    return napi;
  } catch {
    return undefined;
  }
}

/** True when the CUDA execution provider library was installed (ONNXRUNTIME_NODE_INSTALL=cuda12). */
export function cudaAvailable(): boolean {
  const dir = nativeDir();
  return !!dir && existsSync(join(dir, 'libonnxruntime_providers_cuda.so'));
}

/**
 * Spinning, stopped whenever a run returns (force_spinning_stop), measured on 2 cores (CIFAR-10 SimpleCNN gradient
 * graphs, batch 64, 2 threads, idle machine): 3,632-4,571 img/s single-session and 2,488-3,048 for two sessions used
 * in turn (Guided Grad-CAM), vs 3,124-3,132 / 2,157-2,173 without spinning and 1,832-1,882 / 1,392-1,486 spinning
 * without the stop (an idle session's pool spins against the next session's run). With another process busy on the
 * other core, spinning halved throughput (1,353 vs 2,628 img/s): pass `spinning: false` on a shared machine.
 */
const SPINNING_DEFAULT = true;

const LEVEL: Record<NonNullable<SessionOptions['graphOptimizationLevel']>, 'disabled' | 'basic' | 'extended' | 'all'> = {
  disabled: 'disabled', basic: 'basic', extended: 'extended', all: 'all',
};

class NodeSession implements InferenceSession {
  constructor(
    private readonly session: ort.InferenceSession,
    readonly executionProvider: Device,
    private readonly profilePrefix?: string,
    /** 'model <file>' or 'the model (N bytes)': names the session in errors. */
    private readonly label = 'the model',
  ) {}

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
      throw new WhiteBoxError('RUNTIME_ERROR', `onnxruntime-node (${this.executionProvider}) failed to run ${this.label} with inputs {${shapes}}: ${runtimeMessage(err)}`, { feeds: shapes }, { cause: err });
    }
    const out: Record<string, Tensor<TensorData>> = {};
    for (const [name, t] of Object.entries(results)) out[name] = fromOrtTensor(t);
    return out;
  }

  endProfiling(): string | undefined {
    if (!this.profilePrefix) return undefined;
    this.session.endProfiling();
    // onnxruntime writes <prefix>_<timestamp>.json; return the newest such file.
    const dir = dirname(resolvePath(this.profilePrefix));
    const base = basename(this.profilePrefix);
    const files = readdirSync(dir)
      .filter((f) => f.startsWith(base + '_') && f.endsWith('.json'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    return files[0];
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Writes a model with external data into a new private directory (mode 0700 under the system's temporary directory):
 * `model.onnx` and each data file beside it, as ONNX Runtime resolves external data against the model's directory
 * (onnxruntime-node takes no external data from memory). Returns the directory; the caller removes it.
 */
function writeExternalModel(m: ModelWithExternalData): string {
  checkExternalDataFiles(m);
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(join(tmpdir(), 'whitebox-model-'));
    fs.chmodSync(dir, 0o700);
    fs.writeFileSync(join(dir, 'model.onnx'), m.model);
    for (const f of m.externalData) {
      const fd = fs.openSync(join(dir, f.path), 'wx', 0o600);
      try {
        for (const part of f.parts) {
          for (let off = 0; off < part.byteLength;) off += fs.writeSync(fd, part, off, part.byteLength - off);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    return dir;
  } catch (err) {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    const code = (err as { code?: string }).code;
    throw new WhiteBoxError(
      'RUNTIME_ERROR',
      `cannot write the model's ${externalDataBytes(m).toLocaleString('en-US')} bytes of external data under ${tmpdir()} for onnxruntime-node: ${code ?? (err as Error).message}${code === 'ENOSPC' ? ' (disk full: set TMPDIR to a larger disk)' : ''}`,
      { dir: tmpdir(), code }, { cause: err },
    );
  }
}

/** onnxruntime-node: CPU, and CUDA when its provider is installed. */
export const nodeBackend: Backend = {
  name: 'node',
  devices: ['cpu', 'cuda'],
  async createSession(model: SessionModel, options: SessionOptions = {}): Promise<InferenceSession> {
    checkSessionOptions(options);
    const device = options.device ?? 'cpu';
    if (device !== 'cpu' && device !== 'cuda') {
      throw new WhiteBoxError('BACKEND_UNAVAILABLE', `backend 'node' runs on 'cpu' or 'cuda', not '${device}' (use @whitebox/backend-web for wasm/webgpu)`, { device });
    }
    if (device === 'cuda' && !cudaAvailable()) {
      throw new WhiteBoxError(
        'BACKEND_UNAVAILABLE',
        `device 'cuda' requested, but onnxruntime-node's CUDA execution provider is not installed (no libonnxruntime_providers_cuda.so in ${nativeDir() ?? 'onnxruntime-node/bin'}). ` +
          'Reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 (needs CUDA 12 and cuDNN 9), or use device: "cpu".',
        { device },
      );
    }
    const profilePrefix = options.enableProfiling ? (options.profileFilePrefix ?? 'whitebox-profile') : undefined;
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [device],
      graphOptimizationLevel: LEVEL[options.graphOptimizationLevel ?? 'all'],
      intraOpNumThreads: options.threads ?? 0,
      interOpNumThreads: 1,
      enableProfiling: options.enableProfiling ?? false,
      // Errors only: ONNX Runtime's warnings (one line per initializer for some models) would flood the terminal.
      logSeverityLevel: 3,
      // force_spinning_stop parks the pool when Run() returns (see SPINNING_DEFAULT).
      extra: (options.spinning ?? SPINNING_DEFAULT)
        ? { session: { intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' } }
        : { session: { intra_op: { allow_spinning: '0' } } },
      // onnxruntime-node refuses enableProfiling without a prefix.
      ...(profilePrefix ? { profileFilePrefix: profilePrefix } : {}),
    };
    // What onnxruntime opens: a path (a checked file, or the directory a model with external data is written to, so
    // that it finds the data beside the model) or bytes.
    let target: string | Uint8Array;
    let label: string;
    let tempDir: string | undefined;
    if (isModelWithExternalData(model)) {
      label = `the model (${model.model.length.toLocaleString('en-US')} bytes and ${externalDataBytes(model).toLocaleString('en-US')} bytes of external data)`;
      tempDir = writeExternalModel(model);
      target = join(tempDir, 'model.onnx');
    } else if (typeof model === 'string') {
      readFileCapped(fs, model, { maxBytes: LIMITS.modelBytes, what: 'ONNX model' });
      label = `model ${model}`;
      target = resolvePath(model);
    } else if (model instanceof Uint8Array) {
      label = `the model (${model.length.toLocaleString('en-US')} bytes)`;
      target = model;
    } else {
      throw new WhiteBoxError('INVALID_ARGUMENT', `createSession expects ONNX bytes (Uint8Array), a file path or { model, externalData }, got ${model === null ? 'null' : typeof model}`);
    }
    let session: ort.InferenceSession;
    try {
      // Two calls: create's overloads take a path or bytes, not their union.
      session = typeof target === 'string' ? await ort.InferenceSession.create(target, sessionOptions) : await ort.InferenceSession.create(target, sessionOptions);
    } catch (err) {
      throw new WhiteBoxError('INVALID_MODEL', `onnxruntime-node could not load ${label} on ${device}: ${runtimeMessage(err)}`, { file: typeof model === 'string' ? model : undefined, device }, { cause: err });
    } finally {
      // The session holds the weights (read, or mapped: a mapping outlives the unlinked file).
      if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
    }
    return new NodeSession(session, device, profilePrefix, label);
  },
};

registerBackend(nodeBackend);
export default nodeBackend;
