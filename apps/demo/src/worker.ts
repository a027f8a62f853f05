/// <reference lib="webworker" />
// The explanation worker: loads models once (ONNX Runtime Web, WebAssembly or WebGPU), caches them and
// their method instances, and runs predictions and attributions off the main thread.
import '@whitebox/backend-web';
import { setWasmPaths } from '@whitebox/backend-web';
import { type Device, type Model, Rng, Tensor, WhiteBoxError } from '@whitebox/core';
import { buildSimpleCnn, loadModel } from '@whitebox/onnx';
import { cardClasses, describeCard } from './card.js';
import { type AnyAttribution, createMethod, ensembleOf } from './methods.js';
import { LAYER_METHODS } from './protocol.js';
import type {
  Baseline, Ensemble, ExplainOptions, MapResult, MethodId, ModelInfo, PredictResult, Request, Response as WorkerResponse, ShippedModel, WorkerErrorInfo,
} from './protocol.js';

declare const self: DedicatedWorkerGlobalScope;

// The ort-wasm files are copied to <base>/ort/ at build time (see vite.config.ts).
setWasmPaths(new URL(`${import.meta.env.BASE_URL}ort/`, self.location.origin).href);

interface LoadedModel {
  info: ModelInfo;
  model: Model;
  methods: Map<string, AnyAttribution>;
}

const models = new Map<string, Promise<LoadedModel>>();
let latestExplain = 0;

const SHIPPED: Record<ShippedModel, { file: string; card: string; title: string; channels: number; size: number; classes: string[] }> = {
  mnist: {
    file: 'models/mnist-simplecnn.onnx', card: 'models/mnist-simplecnn.json', title: 'MNIST SimpleCNN', channels: 1, size: 28,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
  cifar10: {
    file: 'models/cifar10-simplecnn.onnx', card: 'models/cifar10-simplecnn.json', title: 'CIFAR-10 SimpleCNN', channels: 3, size: 32,
    classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  },
};

const asset = (path: string) => new URL(`${import.meta.env.BASE_URL}${path}`, self.location.origin).href;

let modelFiles: Promise<Set<string>> | undefined;
/** The files under models/ that the build copied (models/index.json), so missing ones are not requested. */
function shippedFiles(): Promise<Set<string>> {
  modelFiles ??= fetch(asset('models/index.json'))
    .then((r) => (r.ok ? r.json() : { files: [] }))
    .then((j: { files?: unknown }) => new Set(Array.isArray(j.files) ? j.files.map((f) => `models/${String(f)}`) : []))
    .catch(() => new Set<string>());
  return modelFiles;
}

async function fetchOptional(path: string): Promise<Response | undefined> {
  if (path.startsWith('models/') && !(await shippedFiles()).has(path)) return undefined;
  try {
    const res = await fetch(asset(path));
    // A dev server may answer a missing file with index.html.
    if (!res.ok || (res.headers.get('content-type') ?? '').includes('text/html')) return undefined;
    return res;
  } catch {
    return undefined;
  }
}

function checkImageModel(model: Model, source: string): { channels: number; height: number; width: number } {
  const s = model.inputShape;
  const [, c, h, w] = s;
  if (s.length === 4 && (c === 1 || c === 3) && (typeof h !== 'number' || typeof w !== 'number')) {
    throw new WhiteBoxError(
      'INVALID_MODEL',
      `${source}: the model's input '${model.inputName}' has a free height/width ([N, ${c}, ${h ?? '?'}, ${w ?? '?'}]): the demo needs a fixed image size; export the model with fixed H and W`,
      { file: source, shape: s },
    );
  }
  if (s.length !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number' || !(c === 1 || c === 3)) {
    const shown = s.map((d) => (d === null ? 'N' : String(d))).join(', ');
    throw new WhiteBoxError(
      'INVALID_MODEL',
      `${source}: the model's input '${model.inputName}' has shape [${shown}], not an image: the demo needs an image classifier taking [N, 1 or 3, H, W] pixels`,
      { file: source, shape: s },
    );
  }
  if (h < 4 || w < 4 || h > 512 || w > 512) {
    throw new WhiteBoxError('INVALID_MODEL', `${source}: input '${model.inputName}' is ${h}×${w}; the demo handles images from 4×4 to 512×512`, { file: source, shape: s });
  }
  if (model.numClasses < 2) {
    throw new WhiteBoxError('INVALID_MODEL', `${source}: the model has ${model.numClasses} output(s); the demo needs a classifier with at least 2 classes`, { file: source });
  }
  return { channels: c, height: h, width: w };
}

function infoOf(model: Model, key: string, title: string, classes: string[] | undefined, shipped: boolean, note: string, loadMs: number): ModelInfo {
  const { channels, height, width } = checkImageModel(model, title);
  const names = classes && classes.length === model.numClasses ? classes : Array.from({ length: model.numClasses }, (_, i) => `class ${i}`);
  return {
    key, title, inputName: model.inputName, channels, height, width, numClasses: model.numClasses, classes: names,
    layers: model.layers.map((l) => ({ name: l.name, op: l.op, shape: [...l.shape] })),
    defaultCamLayer: model.defaultCamLayer, executionProvider: model.executionProvider, shipped, note, loadMs,
  };
}

/** Runs one forward and one backward pass so unsupported ops and runtime failures show at load time. */
async function warmUp(model: Model, shape: { channels: number; height: number; width: number }): Promise<void> {
  const x = Tensor.full([1, shape.channels, shape.height, shape.width], 0.5);
  await model.forward(x);
  await model.gradients(x, 0, { rule: 'gradient' });
}

async function loadShipped(name: ShippedModel, device: Device): Promise<LoadedModel> {
  const spec = SHIPPED[name];
  const t0 = performance.now();
  const res = await fetchOptional(spec.file);
  let bytes: Uint8Array;
  let shipped = true;
  let note = '';
  if (res) {
    bytes = new Uint8Array(await res.arrayBuffer());
    const cardRes = await fetchOptional(spec.card);
    const card = cardRes ? ((await cardRes.json().catch(() => undefined)) as Record<string, unknown> | undefined) : undefined;
    spec.classes = cardClasses(card) ?? spec.classes;
    note = describeCard(card) || `${spec.file}`;
  } else {
    bytes = buildSimpleCnn({ channels: spec.channels, height: spec.size, width: spec.size, seed: 1 });
    shipped = false;
    note = `${spec.file} is not built yet (train it with the CLI): this is a random-weight SimpleCNN, so predictions and maps are meaningless`;
  }
  const model = await loadModel(bytes, { backend: 'web', device, batchSize: 32 });
  const info = infoOf(model, name, spec.title, spec.classes, shipped, note, 0);
  await warmUp(model, info);
  info.loadMs = performance.now() - t0;
  return { info, model, methods: new Map() };
}

async function loadCustom(bytes: Uint8Array, fileName: string, device: Device): Promise<LoadedModel> {
  const t0 = performance.now();
  if (bytes.length === 0) throw new WhiteBoxError('INVALID_MODEL', `${fileName}: the file is empty`, { file: fileName });
  let model: Model;
  try {
    model = await loadModel(bytes, { backend: 'web', device, batchSize: 32 });
  } catch (err) {
    throw withFile(err, fileName);
  }
  try {
    const info = infoOf(model, `custom:${fileName}`, fileName, undefined, true, `your model, ${(bytes.length / 1024).toFixed(0)} KiB`, 0);
    await warmUp(model, info);
    info.loadMs = performance.now() - t0;
    return { info, model, methods: new Map() };
  } catch (err) {
    await model.dispose().catch(() => undefined);
    throw withFile(err, fileName);
  }
}

function withFile(err: unknown, fileName: string): unknown {
  if (err instanceof Error && !err.message.includes(fileName)) err.message = `${fileName}: ${err.message}`;
  return err;
}

function getLoaded(key: string, device: Device): Promise<LoadedModel> {
  const p = models.get(`${key}|${device}`);
  if (!p) throw new WhiteBoxError('NOT_FOUND', `model ${key} is not loaded on ${device}`);
  return p;
}

function cached(key: string, device: Device, load: () => Promise<LoadedModel>, reload = false): Promise<LoadedModel> {
  const k = `${key}|${device}`;
  const old = models.get(k);
  if (old && !reload) return old;
  if (old) void old.then((m) => m.model.dispose()).catch(() => undefined);
  const p = load();
  models.set(k, p);
  p.catch(() => models.delete(k));
  return p;
}

/** The same model on WebAssembly (cached like any other), for maps that WebGPU cannot compute. */
function wasmTwin(loaded: LoadedModel): Promise<LoadedModel> {
  const key = loaded.info.key;
  if (key === 'mnist' || key === 'cifar10') return cached(key, 'wasm', () => loadShipped(key, 'wasm'));
  const fileName = key.replace(/^custom:/, '');
  return cached(key, 'wasm', () => loadCustom(loaded.model.modelBytes, fileName, 'wasm'));
}

function baselineTensor(kind: Baseline, dims: number[]): Tensor {
  switch (kind) {
    case 'black':
      return Tensor.zeros(dims);
    case 'white':
      return Tensor.full(dims, 1);
    case 'gray':
      return Tensor.full(dims, 0.5);
    case 'noise': {
      const rng = new Rng(7);
      return Tensor.zeros(dims).map(() => rng.next());
    }
  }
}

function methodOptions(method: MethodId, input: Tensor, o: ExplainOptions): Record<string, unknown> {
  const opts: Record<string, unknown> = { batchSize: 32 };
  if (method === 'integrated-gradients') {
    opts.steps = o.igSteps;
    opts.baseline = baselineTensor(o.igBaseline, [...input.dims]);
  }
  if (LAYER_METHODS.has(method) && o.camLayer) opts.layer = o.camLayer;
  if (method === 'occlusion') {
    // About 7 windows across the image, half-overlapping: 13 × 13 positions at 28×28, 15 × 15 at 32×32.
    const [, , h, w] = input.dims as [number, number, number, number];
    const window = Math.max(2, Math.round(Math.min(h, w) / 7));
    opts.window = window;
    opts.stride = Math.max(1, Math.floor(window / 2));
  }
  return opts;
}

function method(loaded: LoadedModel, id: MethodId): AnyAttribution {
  let m = loaded.methods.get(id);
  if (!m) {
    m = createMethod(id, loaded.model);
    loaded.methods.set(id, m);
  }
  return m;
}

async function attribute(
  loaded: LoadedModel, id: MethodId, ensemble: Ensemble, input: Tensor, target: number, o: ExplainOptions,
  onProgress: (done: number, total: number) => void,
): Promise<Tensor> {
  const base = method(loaded, id);
  const opts = { ...methodOptions(id, input, o), onProgress: (p: { done: number; total: number }) => onProgress(p.done, p.total) };
  if (ensemble === 'none') return base.attribute(input, target, opts);
  const { onProgress: _p, ...baseOptions } = opts;
  return ensembleOf(base, ensemble, o.sgSamples, o.sgSigma).attribute(input, target, { onProgress: opts.onProgress, batchSize: 64, baseOptions });
}

function errorInfo(err: unknown): WorkerErrorInfo {
  if (err instanceof WhiteBoxError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'RUNTIME_ERROR', message: err.message || String(err) };
  return { code: 'RUNTIME_ERROR', message: String(err) };
}

const turns = new MessageChannel();
const turnWaiters: (() => void)[] = [];
turns.port1.onmessage = () => turnWaiters.shift()?.();
/** Resolves on the worker's next event-loop turn (after messages already queued), with no timer clamping. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    turnWaiters.push(resolve);
    turns.port2.postMessage(0);
  });
}

function post(msg: WorkerResponse, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

async function handle(req: Request): Promise<void> {
  switch (req.type) {
    case 'load': {
      const loaded = await cached(req.model, req.device, () => loadShipped(req.model, req.device));
      post({ id: req.id, type: 'done', result: loaded.info });
      return;
    }
    case 'load-custom': {
      const key = `custom:${req.fileName}`;
      const bytes = new Uint8Array(req.bytes);
      const loaded = await cached(key, req.device, () => loadCustom(bytes, req.fileName, req.device), true);
      post({ id: req.id, type: 'done', result: loaded.info });
      return;
    }
    case 'predict': {
      const loaded = await getLoaded(req.modelKey, req.device);
      const { channels, height, width } = loaded.info;
      const t0 = performance.now();
      const res = await loaded.model.forward(new Tensor(req.pixels, [1, channels, height, width]));
      const result: PredictResult = { probabilities: Array.from(res.probabilities.data), predicted: res.predictions[0]!, ms: performance.now() - t0 };
      post({ id: req.id, type: 'done', result });
      return;
    }
    case 'explain': {
      const loaded = await getLoaded(req.modelKey, req.device);
      const { channels, height, width } = loaded.info;
      const input = new Tensor(req.pixels, [1, channels, height, width]);
      // No class given: explain the prediction, computed here so the page need not wait for its predict round trip.
      const target = req.target ?? (await loaded.model.forward(input)).predictions[0]!;
      let done = 0;
      for (const task of req.tasks) {
        // Let a newer request's message in first: ONNX Runtime's runs resolve as microtasks, so without a macrotask
        // turn here the whole explain would run before onmessage sees the request that supersedes it.
        await nextTurn();
        if (latestExplain !== req.id) break; // superseded by a newer request
        let t0 = performance.now();
        const progress = (d: number, t: number) =>
          post({ id: req.id, type: 'progress', done: done + d / Math.max(1, t), total: req.tasks.length, stage: task.method });
        try {
          let map: Tensor;
          let fallback: string | undefined;
          try {
            map = await attribute(loaded, task.method, task.ensemble, input, target, req.options, progress);
          } catch (err) {
            // ONNX Runtime's WebGPU provider fails on some gradient graphs: compute that map on WebAssembly, and say so.
            if (req.device !== 'webgpu' || !(err instanceof WhiteBoxError) || err.code !== 'RUNTIME_ERROR') throw err;
            fallback = `WebGPU failed (${err.message.slice(0, 160)}…); computed on WebAssembly`;
            const wasm = await wasmTwin(loaded);
            t0 = performance.now();
            map = await attribute(wasm, task.method, task.ensemble, input, target, req.options, progress);
          }
          const ms = performance.now() - t0;
          const data = Float32Array.from(map.data.subarray(0, map.itemSize));
          const c = map.rank === 4 ? map.dims[1]! : 1;
          const result: MapResult = { method: task.method, ensemble: task.ensemble, data, channels: c, height: map.dims[map.rank - 2]!, width: map.dims[map.rank - 1]!, ms, fallback };
          post({ id: req.id, type: 'map', map: result }, [data.buffer]);
        } catch (err) {
          post({ id: req.id, type: 'map-error', method: task.method, ensemble: task.ensemble, error: errorInfo(err) });
        }
        done++;
        post({ id: req.id, type: 'progress', done, total: req.tasks.length });
      }
      post({ id: req.id, type: 'done', result: { cancelled: latestExplain !== req.id } });
      return;
    }
    case 'cancel':
      post({ id: req.id, type: 'done', result: null });
      return;
  }
}

// One request at a time (an ONNX Runtime session runs one inference at a time); a newer explain or a
// cancel supersedes the running explain at its next method boundary.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (ev: MessageEvent<Request>) => {
  const req = ev.data;
  if (req.type === 'explain' || req.type === 'cancel') latestExplain = req.id;
  queue = queue.then(() => handle(req)).catch((err) => post({ id: req.id, type: 'error', error: errorInfo(err) }));
};
