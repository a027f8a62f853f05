/**
 * The fuzz corpus: categories of hostile input, each a seeded generator. A case is (category, index, seed) only;
 * its input is regenerated from the seed wherever it runs, so a case id is all it takes to replay it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, Tensor, WhiteBoxError, type Model } from '@whitebox/core';
import { pick, randomBytes } from './bytes.js';
import {
  BUILT, BUILT_NAMES, MUTATION_NAMES, bitFlipModel, byteEditModel, mutantModel, randomBytesModel, tinyModel, truncatedModel, type ModelCase,
} from './models.js';

export type Outcome =
  /** A WhiteBoxError (or a CLI "whitebox: error" line / usage error) whose message names what is wrong. */
  | 'named-error'
  /** A correct result: finite, with the expected shape. */
  | 'success'
  /** A WhiteBoxError whose message is empty, multi-line or unhelpful. */
  | 'bad-message'
  /** Any other exception (TypeError, RangeError, a raw runtime error, a CLI stack trace). */
  | 'other-exception'
  /** Killed by a signal or exited without reporting (segfault, abort, V8 out of memory). */
  | 'crash'
  /** Ran past the time limit. */
  | 'hang'
  /** Resident memory above the memory limit. */
  | 'memory'
  /** A result with NaN or Inf in it, returned without an error. */
  | 'nan'
  /** A result of the wrong shape or size, returned without an error. */
  | 'wrong-result';

export const ACCEPTABLE: readonly Outcome[] = ['named-error', 'success'];
export const OUTCOMES: readonly Outcome[] = ['named-error', 'success', 'bad-message', 'other-exception', 'crash', 'hang', 'memory', 'nan', 'wrong-result'];

export interface CaseResult {
  outcome: Outcome;
  /** What the input was (the mutation). */
  what: string;
  /** The error code / exception name and message, or what the success checked. */
  code?: string;
  message?: string;
}

export interface FuzzCase {
  /** `<category>#<index>`. */
  id: string;
  category: string;
  index: number;
  seed: number;
}

export interface Category {
  name: string;
  description: string;
  /** Cases in the full corpus (`pnpm fuzz`). */
  full: number;
  /** Cases in the bounded sample that the test suite runs. */
  sample: number;
  /** 'js' cases run in a child Node process; 'cli' cases run the built `whitebox` binary. */
  runner: 'js' | 'cli';
}

export const CATEGORIES: readonly Category[] = [
  { name: 'model.random-bytes', description: 'random bytes (some starting like a ModelProto) as an ONNX model', full: 60, sample: 12, runner: 'js' },
  { name: 'model.truncate', description: 'shipped and tiny models cut at a random point', full: 100, sample: 15, runner: 'js' },
  { name: 'model.bitflip', description: '1–32 bit flips in a shipped or tiny model (half in the structure, not the weights)', full: 150, sample: 20, runner: 'js' },
  { name: 'model.byte-edit', description: 'overwritten, inserted, deleted, duplicated byte ranges; a file concatenated with itself; maximal varints', full: 120, sample: 15, runner: 'js' },
  { name: 'model.mutant', description: `one structured mutation of a SimpleCNN (${MUTATION_NAMES.length} kinds: missing/extra inputs, bad attributes, NaN weights, cycles, unknown ops, huge shapes, ...)`, full: 3 * MUTATION_NAMES.length, sample: MUTATION_NAMES.length, runner: 'js' },
  { name: 'model.mutant-multi', description: '2–3 random structured mutations combined', full: 100, sample: 10, runner: 'js' },
  { name: 'model.built', description: `models built from scratch (${BUILT_NAMES.join(', ')})`, full: 80, sample: 14, runner: 'js' },
  { name: 'data.mnist', description: 'MNIST IDX directories with one file broken (magic, rank, dims, truncation, labels, gzip corruption and bombs, FIFOs, devices)', full: 100, sample: 16, runner: 'js' },
  { name: 'data.cifar', description: 'CIFAR-10 binary records and directories (lengths, labels, limits, /dev/zero, gzip bombs)', full: 50, sample: 10, runner: 'js' },
  { name: 'data.download', description: 'the dataset downloader against hostile servers on 127.0.0.1 (stalls, silence, 1 byte/s, oversized bodies, resets, bad checksums, redirect loops, bad ranges)', full: 42, sample: 14, runner: 'js' },
  { name: 'data.png', description: 'PNG inputs: random, truncated, bit flips, huge declared sizes, bad headers, bombs within the pixel limit', full: 100, sample: 16, runner: 'js' },
  { name: 'api.call', description: 'bad arguments to loadModel, forward, gradients and the attribution methods (about 290 calls)', full: 300, sample: 30, runner: 'js' },
  { name: 'cli.invocation', description: 'bad whitebox command lines: option values, --out paths, --model devices/FIFOs/mutants, --methods names', full: 120, sample: 24, runner: 'cli' },
];

/** A 32-bit seed from the corpus seed, category and index (FNV-1a). */
export function caseSeed(seed: number, category: string, index: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (const ch of `${category}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** The corpus: every category's first `full` (or `sample`) cases. */
export function corpus(options: { seed?: number; sample?: boolean; only?: readonly string[] } = {}): FuzzCase[] {
  const seed = options.seed ?? 1;
  const out: FuzzCase[] = [];
  for (const c of CATEGORIES) {
    if (options.only && !options.only.some((o) => c.name.startsWith(o))) continue;
    const n = options.sample ? c.sample : c.full;
    for (let i = 0; i < n; i++) out.push({ id: `${c.name}#${i}`, category: c.name, index: i, seed: caseSeed(seed, c.name, i) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Running a JS case (in the child process)

const fmt = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : typeof x === 'bigint' ? `${x}n` : x));

/** Classifies a thrown value. */
export function classifyError(err: unknown, what: string): CaseResult {
  if (err instanceof WhiteBoxError) {
    const m = err.message;
    const bad = !m || m.length < 12 || /\n/.test(m) || /\[object Object\]/.test(m) || m.length > 4000;
    return { outcome: bad ? 'bad-message' : 'named-error', what, code: err.code, message: m.slice(0, 600) };
  }
  const e = err as Error;
  return { outcome: 'other-exception', what, code: e?.name ?? typeof err, message: `${String(e?.message ?? err).slice(0, 400)}\n${String(e?.stack ?? '').split('\n').slice(1, 6).join('\n')}` };
}

function finite(t: Tensor): number {
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1;
}

/** Checks a returned tensor: shape and finiteness; returns a failing result or undefined. */
function checkTensor(t: unknown, dims: readonly number[], what: string, name: string): CaseResult | undefined {
  if (!(t instanceof Tensor)) return { outcome: 'wrong-result', what, message: `${name} is not a Tensor (${typeof t})` };
  if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) return { outcome: 'wrong-result', what, message: `${name} has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}]` };
  const i = finite(t);
  if (i >= 0) return { outcome: 'nan', what, message: `${name}[${i}] = ${t.data[i]} returned without an error` };
  return undefined;
}

let backendLoaded = false;
async function onnx() {
  if (!backendLoaded) { await import('@whitebox/backend-node'); backendLoaded = true; }
  return import('@whitebox/onnx');
}

function inputFor(model: Model, batch: number, rng: Rng): Tensor | undefined {
  const dims = [batch, ...model.inputShape.slice(1)] as number[];
  if (dims.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1)) return undefined;
  const size = dims.reduce((a, b) => a * b, 1);
  if (size > 1 << 24) return undefined;
  const t = Tensor.zeros(dims);
  for (let i = 0; i < size; i++) t.data[i] = rng.next();
  return t;
}

/** Loads a model and, when it loads, runs forward, input gradients and (sometimes) Grad-CAM; checks every result. */
async function exerciseModel(mc: ModelCase, rng: Rng): Promise<CaseResult> {
  const { loadModel } = await onnx();
  const what = mc.what;
  let model: Model;
  try {
    if (rng.next() < 0.2) {
      const dir = mkdtempSync(join(tmpdir(), 'wb-fuzz-'));
      const path = join(dir, 'model.onnx');
      writeFileSync(path, mc.bytes);
      try { model = await loadModel(path, { threads: 1 }); } finally { rmSync(dir, { recursive: true, force: true }); }
    } else {
      model = await loadModel(mc.bytes, { threads: 1 });
    }
  } catch (err) {
    return classifyError(err, what);
  }
  try {
    if (!(Number.isInteger(model.numClasses) && model.numClasses >= 1)) return { outcome: 'wrong-result', what, message: `a model with ${model.numClasses} classes loaded` };
    const x = inputFor(model, 2, rng);
    if (!x) return { outcome: 'success', what, message: `loaded; input [${model.inputShape.join(', ')}] too large for the harness to run` };
    const f = await model.forward(x);
    const bad = checkTensor(f.logits, [2, model.numClasses], what, 'logits') ?? checkTensor(f.probabilities, [2, model.numClasses], what, 'probabilities');
    if (bad) return bad;
    const target = rng.int(model.numClasses);
    const g = await model.gradients(x, target, { rule: pick(rng, ['gradient', 'guided', 'deconvnet'] as const) });
    const badG = checkTensor(g.inputGradient, x.dims, what, 'input gradient') ?? checkTensor(g.logits, [2, model.numClasses], what, 'gradient logits');
    if (badG) return badG;
    if (model.defaultCamLayer && rng.next() < 0.3) {
      const { gradCam } = await import('@whitebox/grad-cam');
      const map = await gradCam(model).attribute(x, target);
      const badC = checkTensor(map, [2, 1, x.dims[2]!, x.dims[3]!], what, 'Grad-CAM map');
      if (badC) return badC;
    }
    return { outcome: 'success', what, message: `${model.numClasses} classes; forward, gradients checked` };
  } catch (err) {
    return classifyError(err, what);
  } finally {
    await model.dispose().catch(() => undefined);
  }
}

function modelCase(category: string, rng: Rng, index: number): ModelCase {
  switch (category) {
    case 'model.random-bytes': return randomBytesModel(rng);
    case 'model.truncate': return truncatedModel(rng);
    case 'model.bitflip': return bitFlipModel(rng);
    case 'model.byte-edit': return byteEditModel(rng);
    case 'model.mutant': return mutantModel(rng, [MUTATION_NAMES[index % MUTATION_NAMES.length]!]);
    case 'model.mutant-multi': return mutantModel(rng, Array.from({ length: 2 + rng.int(2) }, () => pick(rng, MUTATION_NAMES)));
    case 'model.built': return BUILT[BUILT_NAMES[index % BUILT_NAMES.length]!]!(rng);
  }
  throw new Error(`unknown model category ${category}`);
}

async function dataCase(category: string, rng: Rng, index: number): Promise<CaseResult> {
  const ds = await import('@whitebox/datasets');
  const data = await import('./data.js');
  const dir = mkdtempSync(join(tmpdir(), 'wb-fuzz-data-'));
  let what = category;
  try {
    if (category === 'data.download') {
      what = 'downloader';
      return await (await import('./download.js')).downloadCase(rng, index, dir);
    }
    if (category === 'data.mnist') {
      const c = data.writeMnistDir(rng, dir);
      what = c.what;
      const tt = ds.loadMnist({ dir, ...c.options });
      for (const split of [tt.train, tt.test]) {
        const bad = checkDataset(split, what);
        if (bad) return bad;
      }
      return { outcome: 'success', what, message: `train ${tt.train.count}, test ${tt.test.count} images of ${tt.train.height}×${tt.train.width}` };
    }
    if (category === 'data.cifar') {
      if (rng.next() < 0.6) {
        const c = data.cifarBytes(rng);
        what = `parseCifar10Batch: ${c.what}${c.limit !== undefined ? `, limit ${c.limit}` : ''}`;
        const r = ds.parseCifar10Batch(c.bytes, 'batch.bin', c.limit);
        if (!(Number.isInteger(r.count) && r.count >= 0 && r.images.length === r.count * 3072 && r.labels.length === r.count && r.labels.every((l) => l < 10))) {
          return { outcome: 'wrong-result', what, message: `count ${r.count}, ${r.images.length} pixels, ${r.labels.length} labels` };
        }
        return { outcome: 'success', what, message: `${r.count} records` };
      }
      what = `loadCifar10Dir: ${data.writeCifarDir(rng, dir)}`;
      const tt = ds.loadCifar10Dir(dir);
      return { outcome: 'wrong-result', what, message: `loaded ${tt.train.count} images from a broken directory` };
    }
    if (category === 'data.png') {
      const c = data.pngCase(rng);
      what = c.what;
      const { pngToTensor } = await import('@whitebox/visualize');
      const channels = pick(rng, [1, 3]);
      const t = await pngToTensor(c.bytes, { channels, height: 28, width: 28 }, 'fuzz.png');
      const bad = checkTensor(t, [1, channels, 28, 28], what, 'PNG tensor');
      if (bad) return bad;
      const d = t.data as Float32Array;
      if (d.some((v) => v < 0 || v > 1)) return { outcome: 'wrong-result', what, message: 'pixels outside [0, 1]' };
      return { outcome: 'success', what, message: 'decoded to [1, C, 28, 28] in [0, 1]' };
    }
    throw new Error(`unknown data category ${category}`);
  } catch (err) {
    return classifyError(err, what);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkDataset(ds: { count: number; images: Uint8Array | Float32Array; labels: Uint8Array; height: number; width: number; channels: number; mean: number[]; std: number[] }, what: string): CaseResult | undefined {
  const item = ds.channels * ds.height * ds.width;
  if (!(Number.isInteger(ds.count) && ds.count >= 0 && ds.images.length === ds.count * item && ds.labels.length === ds.count)) {
    return { outcome: 'wrong-result', what, message: `count ${ds.count} but ${ds.images.length} pixels / ${ds.labels.length} labels` };
  }
  if (![...ds.mean, ...ds.std].every(Number.isFinite)) return { outcome: 'nan', what, message: `mean ${ds.mean}, std ${ds.std}` };
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// API calls: bad arguments on a valid tiny model

const BAD_VALUES: readonly unknown[] = [0, -1, NaN, Infinity, -Infinity, 1e9, 1.5, '3', null, {}, [], true, '__proto__', 2 ** 53];

interface ApiCall {
  what: string;
  /** Runs the call; returns the tensor to check and its expected dims, or nothing for calls that must throw. */
  run(model: Model, x: Tensor): Promise<{ out: unknown; dims: number[] } | undefined>;
}

function apiCalls(rng: Rng): ApiCall[] {
  const x2 = [2, 1, 8, 8];
  const calls: ApiCall[] = [];
  const targets: unknown[] = [undefined, null, -1, 10, 1.5, NaN, '3', {}, [0], [0, 99], [0, 1, 2], Int32Array.from([0, 1]), true, [NaN, 0], [0, -0]];
  for (const t of targets) calls.push({ what: `gradients(x, ${fmt(t)})`, run: async (m, x) => ({ out: (await m.gradients(x, t as never)).inputGradient, dims: x2 }) });
  const cot = (dims: number[], fill: (d: Float32Array) => void) => { const t = Tensor.zeros(dims); fill(t.data as Float32Array); return t; };
  calls.push({ what: 'gradients with a NaN cotangent', run: async (m, x) => ({ out: (await m.gradients(x, cot([2, 10], (d) => { d[3] = NaN; }))).inputGradient, dims: x2 }) });
  calls.push({ what: 'gradients with an Inf cotangent', run: async (m, x) => ({ out: (await m.gradients(x, cot([2, 10], (d) => { d[0] = Infinity; }))).inputGradient, dims: x2 }) });
  calls.push({ what: 'gradients with a [2, 9] cotangent', run: async (m, x) => ({ out: (await m.gradients(x, cot([2, 9], () => undefined))).inputGradient, dims: x2 }) });
  calls.push({ what: 'gradients with rule bogus', run: async (m, x) => ({ out: (await m.gradients(x, 0, { rule: 'bogus' as never })).inputGradient, dims: x2 }) });
  calls.push({ what: "gradients with layers ['__proto__']", run: async (m, x) => ({ out: (await m.gradients(x, 0, { layers: ['__proto__'] })).inputGradient, dims: x2 }) });
  calls.push({ what: "gradients with layers ['relu1', 'relu1']", run: async (m, x) => ({ out: (await m.gradients(x, 0, { layers: ['relu1', 'relu1'] })).layers.relu1?.gradient, dims: [2, 2, 8, 8] }) });
  const inputs: [string, () => unknown][] = [
    ['a Float64Array input', () => new Tensor(new Float64Array(128) as unknown as Float32Array, x2)],
    ['an Int32Array input', () => new Tensor(new Int32Array(128), x2)],
    ['input [2, 1, 8, 9]', () => Tensor.zeros([2, 1, 8, 9])],
    ['input [0, 1, 8, 8]', () => Tensor.zeros([0, 1, 8, 8])],
    ['input [1, 8, 8]', () => Tensor.zeros([1, 8, 8])],
    ['a NaN pixel', () => { const t = Tensor.zeros(x2); t.data[5] = NaN; return t; }],
    ['an Infinity pixel', () => { const t = Tensor.zeros(x2); t.data[0] = Infinity; return t; }],
    ['null input', () => null],
    ['a plain object input', () => ({ dims: x2, data: new Float32Array(128), dtype: 'float32' })],
  ];
  for (const [w, mk] of inputs) {
    calls.push({ what: `forward(${w})`, run: async (m) => ({ out: (await m.forward(mk() as Tensor)).logits, dims: [2, 10] }) });
    calls.push({ what: `gradients(${w}, 0)`, run: async (m) => ({ out: (await m.gradients(mk() as Tensor, 0)).inputGradient, dims: x2 }) });
  }
  for (const bs of [0, -1, 1.5, NaN, 1e9, '8']) calls.push({ what: `forward(x, { batchSize: ${fmt(bs)} })`, run: async (m, x) => ({ out: (await m.forward(x, { batchSize: bs as number })).logits, dims: [2, 10] }) });
  // loadModel options.
  const loadOpts: Record<string, unknown>[] = [
    { threads: 0 }, { threads: -1 }, { threads: 5000 }, { threads: 100000 }, { threads: 1.5 }, { threads: NaN }, { threads: '4' },
    { batchSize: 0 }, { batchSize: -1 }, { batchSize: 1e9 }, { batchSize: 1.5 }, { device: 'gpu' }, { backend: 'bogus' },
    { graphOptimizationLevel: 'bogus' }, { output: 'nope' }, { output: '__proto__' }, { maxNodes: 0 }, { maxNodes: 1.5 }, { maxElements: 0 },
    { maxElements: -1 }, { enableProfiling: 'yes' }, { spinning: 3 }, { device: '__proto__' }, { backend: 'constructor' },
  ];
  for (const o of loadOpts) {
    calls.push({
      what: `loadModel(tiny, ${fmt(o)})`,
      run: async (_m, x) => {
        const { loadModel } = await onnx();
        const m = await loadModel(tinyModel(), o as never);
        try { return { out: (await m.forward(x)).logits, dims: [2, 10] }; } finally { await m.dispose(); }
      },
    });
  }
  for (const o of [null, 'x', 42]) calls.push({ what: `loadModel(tiny, ${fmt(o)})`, run: async () => { const { loadModel } = await onnx(); await loadModel(tinyModel(), o as never); return undefined; } });
  for (const src of [null, undefined, 42, '', '/dev/zero', '/dev/urandom', '/', '/nonexistent/model.onnx', new Uint8Array(0), [1, 2, 3]]) {
    calls.push({ what: `loadModel(${fmt(src)})`, run: async () => { const { loadModel } = await onnx(); await loadModel(src as never, { threads: 1 }); return undefined; } });
  }
  // Attribution methods.
  const methodOpts: [string, string, unknown][] = [];
  for (const v of BAD_VALUES) {
    methodOpts.push(['integrated-gradients', 'steps', v], ['integrated-gradients', 'batchSize', v], ['integrated-gradients', 'baseline', v], ['integrated-gradients', 'maxSteps', v]);
    methodOpts.push(['smoothgrad', 'samples', v], ['smoothgrad', 'sigma', v], ['smoothgrad', 'seed', v], ['smoothgrad', 'variant', v], ['smoothgrad', 'maxSamples', v]);
    methodOpts.push(['grad-cam', 'layer', v], ['occlusion', 'window', v], ['occlusion', 'stride', v], ['occlusion', 'baseline', v], ['vanilla-gradient', 'batchSize', v]);
  }
  methodOpts.push(['integrated-gradients', 'method', 'bogus'], ['integrated-gradients', 'steps', 100_000], ['smoothgrad', 'samples', 1e9], ['grad-cam', 'layer', 'constructor'], ['grad-cam', 'layer', 'input'], ['grad-cam', 'layer', 'logits'], ['grad-cam', 'layer', 'fc1']);
  methodOpts.push(['integrated-gradients', 'baseline', Tensor.zeros([3, 1, 8, 8])], ['integrated-gradients', 'baseline', (() => { const t = Tensor.zeros([1, 1, 8, 8]); t.data[2] = NaN; return t; })()]);
  methodOpts.push(['smoothgrad', 'noise', Tensor.zeros([3, 1, 8, 8])], ['smoothgrad', 'keys', [1]], ['smoothgrad', 'noise', (() => { const t = Tensor.zeros([20, 1, 8, 8]); t.data[7] = NaN; return t; })()]);
  methodOpts.push(['occlusion', 'window', [100, 100]], ['occlusion', 'window', [1]], ['occlusion', 'stride', [0, 1]]);
  // A few at random, the rest in order, so the full corpus covers each once.
  rng.shuffle(methodOpts);
  for (const [method, key, value] of methodOpts) {
    calls.push({
      what: `${method} with ${key} = ${fmt(value)}`,
      run: async (m, x) => {
        const map = await runMethod(method, m, x, { [key]: value });
        return { out: map, dims: method === 'grad-cam' ? [2, 1, 8, 8] : x2 };
      },
    });
  }
  return calls;
}

async function runMethod(method: string, model: Model, x: Tensor, options: Record<string, unknown>): Promise<Tensor> {
  switch (method) {
    case 'integrated-gradients': return (await import('@whitebox/integrated-gradients')).integratedGradients(model).attribute(x, 0, options);
    case 'smoothgrad': {
      const { smoothGrad } = await import('@whitebox/smoothgrad');
      const { vanillaGradient } = await import('@whitebox/vanilla-gradient');
      return smoothGrad(vanillaGradient)(model).attribute(x, 0, { samples: 4, ...options });
    }
    case 'grad-cam': return (await import('@whitebox/grad-cam')).gradCam(model).attribute(x, 0, options);
    case 'occlusion': return (await import('@whitebox/occlusion')).occlusion(model).attribute(x, 0, options);
    default: return (await import('@whitebox/vanilla-gradient')).vanillaGradient(model).attribute(x, 0, options);
  }
}

let apiCallCount: number | undefined;
export function apiCallTotal(): number {
  apiCallCount ??= apiCalls(new Rng(0)).length;
  return apiCallCount;
}

async function apiCase(rng: Rng, index: number): Promise<CaseResult> {
  // The list is fixed (its order shuffled with a fixed seed); the index picks one call through a stride that is
  // prime to the list's length, so a sample's first indices spread over the whole list and the full corpus covers it.
  const calls = apiCalls(new Rng(7));
  const call = calls[(index * 7919) % calls.length]!;
  const { loadModel } = await onnx();
  let model: Model | undefined;
  try {
    model = await loadModel(tinyModel(), { threads: 1 });
    const x = Tensor.zeros([2, 1, 8, 8]);
    for (let i = 0; i < x.size; i++) x.data[i] = rng.next();
    const r = await call.run(model, x);
    if (!r) return { outcome: 'success', what: call.what, message: 'returned without a value' };
    return checkTensor(r.out, r.dims, call.what, 'result') ?? { outcome: 'success', what: call.what, message: `[${r.dims.join(', ')}] finite` };
  } catch (err) {
    return classifyError(err, call.what);
  } finally {
    await model?.dispose().catch(() => undefined);
  }
}

/** Runs one JS case in this process (the runner's child). */
export async function executeCase(c: FuzzCase): Promise<CaseResult> {
  const rng = new Rng(c.seed);
  if (c.category.startsWith('model.')) {
    let mc: ModelCase;
    try {
      mc = modelCase(c.category, rng, c.index);
    } catch (err) {
      // A generator bug, not a WhiteBox failure: reported as such.
      return { outcome: 'other-exception', what: 'generator', code: 'GeneratorError', message: String((err as Error).stack) };
    }
    return exerciseModel(mc, rng);
  }
  if (c.category.startsWith('data.')) return dataCase(c.category, rng, c.index);
  if (c.category === 'api.call') return apiCase(rng, c.index);
  throw new Error(`unknown category ${c.category}`);
}

export { randomBytes };
