import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Attribution, BackendName, Device, Model, Tensor } from '@whitebox/core';
import { type CaptumWorker, startCaptum } from '../captum.js';
import { type BenchSection, type BenchTable, type BenchWorker, type Suite, startWorker } from '../harness.js';
import { corePeak, flopsOf, type GraphFlops } from '../flops.js';

/** The method rows, in table order: the gradient methods, Grad-CAM and the CAM family beside it, the 50-sample rows. */
const METHOD_ROWS = [
  'vanilla-gradient', 'input-x-gradient', 'deconvnet', 'guided-backprop', 'integrated-gradients (50 steps)',
  'grad-cam', 'guided-grad-cam',
  'grad-cam-plus-plus', 'xgrad-cam', 'hires-cam', 'layer-cam', 'score-cam', 'ablation-cam', 'eigen-cam', 'occlusion',
  'smoothgrad (50)', 'smoothgrad-squared (50)', 'vargrad (50)',
];
/** Rows Captum has no method for (its Grad-CAM is LayerGradCam; the CAM family's other methods are not in Captum). */
const NO_CAPTUM = new Set(['grad-cam-plus-plus', 'xgrad-cam', 'hires-cam', 'layer-cam', 'score-cam', 'ablation-cam', 'eigen-cam']);
const HEAVY = (row: string) => row.includes('(50') || row === 'occlusion' || row === 'score-cam' || row === 'ablation-cam';

const SHAPES = { mnist: [1, 28, 28], cifar10: [3, 32, 32] } as const;
type ShapeName = keyof typeof SHAPES;

export interface MeasureArgs {
  backend: BackendName;
  device: Device;
  threads: number;
  batch: number;
  quick: boolean;
  /** The model's internal batch (items per runtime call). */
  modelBatch: number;
  /** Write inputs, logits and vanilla gradients here (for the Captum side's checks). */
  dumpDir?: string;
}

export interface OpenResult {
  models: Record<ShapeName, string>;
  targets: Record<ShapeName, number[]>;
}

export interface RowResult {
  /** maps/s (wall clock), best of the repetitions. */
  rate: number;
  /** maps per CPU-second of the worker process (user + system), best of the repetitions. */
  cpuRate: number;
}

export interface GraphTimes {
  /** Seconds per call, best of the repetitions: the forward model, and each gradient graph. */
  forward: number;
  graphs: Record<string, number>;
}

/** The gradient graphs timed against the forward pass (names as in the graph table). */
export const GRAPHS = ['input gradient', 'guided input gradient', 'Grad-CAM (stops at the CAM layer)', 'Guided Grad-CAM (two chains)'] as const;

async function makeMethods(model: Model): Promise<Record<string, { m: Attribution; opts: Record<string, unknown> }>> {
  const [
    { VanillaGradient }, { InputXGradient }, { Deconvnet }, { GuidedBackprop }, { IntegratedGradients }, { GradCam }, { GuidedGradCam }, { SmoothGrad },
    { GradCamPlusPlus }, { XGradCam }, { HiResCam }, { LayerCam }, { ScoreCam }, { AblationCam }, { EigenCam }, { Occlusion },
  ] = await Promise.all([
    import('@whitebox/vanilla-gradient'), import('@whitebox/input-x-gradient'), import('@whitebox/deconvnet'), import('@whitebox/guided-backprop'),
    import('@whitebox/integrated-gradients'), import('@whitebox/grad-cam'), import('@whitebox/guided-grad-cam'), import('@whitebox/smoothgrad'),
    import('@whitebox/grad-cam-plus-plus'), import('@whitebox/xgrad-cam'), import('@whitebox/hires-cam'), import('@whitebox/layer-cam'),
    import('@whitebox/score-cam'), import('@whitebox/ablation-cam'), import('@whitebox/eigen-cam'), import('@whitebox/occlusion'),
  ]);
  const sg = (variant: 'smoothgrad' | 'smoothgrad-squared' | 'vargrad') => new SmoothGrad(new VanillaGradient(model), { variant, samples: 50, sigma: 0.15, seed: 0 });
  return {
    'vanilla-gradient': { m: new VanillaGradient(model), opts: {} },
    'input-x-gradient': { m: new InputXGradient(model), opts: {} },
    deconvnet: { m: new Deconvnet(model), opts: {} },
    'guided-backprop': { m: new GuidedBackprop(model), opts: {} },
    'integrated-gradients (50 steps)': { m: new IntegratedGradients(model), opts: { steps: 50 } },
    'grad-cam': { m: new GradCam(model), opts: {} },
    'guided-grad-cam': { m: new GuidedGradCam(model), opts: {} },
    'grad-cam-plus-plus': { m: new GradCamPlusPlus(model), opts: {} },
    'xgrad-cam': { m: new XGradCam(model), opts: {} },
    'hires-cam': { m: new HiResCam(model), opts: {} },
    'layer-cam': { m: new LayerCam(model), opts: {} },
    'score-cam': { m: new ScoreCam(model), opts: {} },
    'ablation-cam': { m: new AblationCam(model), opts: {} },
    'eigen-cam': { m: new EigenCam(model), opts: {} },
    occlusion: { m: new Occlusion(model), opts: {} },
    'smoothgrad (50)': { m: sg('smoothgrad'), opts: {} },
    'smoothgrad-squared (50)': { m: sg('smoothgrad-squared'), opts: {} },
    'vargrad (50)': { m: sg('vargrad'), opts: {} },
  };
}

/** The shipped model when present (models/<name>-simplecnn.onnx), else a random SimpleCNN of the same architecture. */
function modelSource(shape: ShapeName): { path?: string; label: string } {
  const path = join(process.cwd(), 'models', `${shape}-simplecnn.onnx`);
  if (existsSync(path)) return { path, label: `models/${shape}-simplecnn.onnx` };
  return { label: `random SimpleCNN ${SHAPES[shape].join('×')}` };
}

// ---- Worker side: one process per backend/thread configuration, state kept between calls. ----

interface Loaded { model: Model; x: Tensor; targets: number[]; methods: Awaited<ReturnType<typeof makeMethods>> }
let state: { args: MeasureArgs; loaded: Partial<Record<ShapeName, Loaded>> } | undefined;

/** Loads both models on this worker's backend, the batch and its predicted classes; warms up. */
export async function open(args: MeasureArgs): Promise<OpenResult> {
  if (args.backend === 'node') await import('@whitebox/backend-node');
  else await import('@whitebox/backend-web');
  const { loadModel, buildSimpleCnn, randomImages } = await import('@whitebox/onnx');
  state = { args, loaded: {} };
  const out: OpenResult = { models: {} as OpenResult['models'], targets: {} as OpenResult['targets'] };
  for (const shape of Object.keys(SHAPES) as ShapeName[]) {
    const [c, h, w] = SHAPES[shape];
    const src = modelSource(shape);
    const model = await loadModel(src.path ?? buildSimpleCnn({ channels: c, height: h, width: w, seed: 1 }), { backend: args.backend, device: args.device, threads: args.threads, batchSize: args.modelBatch });
    const x: Tensor = randomImages(args.batch, c, h, w, 3);
    const fwd = await model.forward(x);
    const targets = Array.from(fwd.predictions);
    const methods = await makeMethods(model);
    // Process-wide warm-up of at least 5 s (2 s quick): WebAssembly code starts in V8's baseline tier and is optimized
    // by background threads (whose CPU time this process pays), so without it the first rows run slower code.
    const first = methods['vanilla-gradient']!;
    const w0 = performance.now();
    let grad: Tensor | undefined;
    for (let i = 0; i < 3 || performance.now() - w0 < (args.quick ? 2000 : 5000); i++) grad = await first.m.attribute(x, targets, first.opts);
    if (args.dumpDir) {
      writeFileSync(join(args.dumpDir, `${shape}.input.f32`), new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
      writeFileSync(join(args.dumpDir, `${shape}.logits.f32`), new Uint8Array(fwd.logits.data.buffer, fwd.logits.data.byteOffset, fwd.logits.data.byteLength));
      writeFileSync(join(args.dumpDir, `${shape}.vanilla.f32`), new Uint8Array(grad!.data.buffer, grad!.data.byteOffset, grad!.data.byteLength));
    }
    state.loaded[shape] = { model, x, targets, methods };
    out.models[shape] = src.label;
    out.targets[shape] = targets;
  }
  return out;
}

/** Times one method row on one model: warm-up on two images, then the best of `reps` batches. */
export async function row(a: { shape: ShapeName; row: string; reps: number }): Promise<RowResult> {
  const l = state!.loaded[a.shape]!;
  const { m, opts } = l.methods[a.row]!;
  await m.attribute(l.x.slice(0, 2), l.targets.slice(0, 2), opts);
  const reps = a.reps;
  // Best of `reps`: the machine is shared, and the fastest run is the least disturbed one.
  let t = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await m.attribute(l.x, l.targets, opts);
    t = Math.min(t, (performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  const n = l.x.batchSize;
  return { rate: n / t, cpuRate: n / cpu };
}

/** Other models of the graph table (ResNet-18 exported by bench_torch.py), loaded on this worker's backend once. */
const extraModels = new Map<string, Promise<Model>>();

/**
 * Seconds per call of the forward model and of each gradient graph at `batch`, best of `reps` after a warm-up: a
 * shipped model (`shape`) or an ONNX file (`path`, e.g. ResNet-18), through the Model API as a method calls it (its
 * own runtime batch size: defaultBatchSize).
 */
export async function graphTimes(a: { shape?: ShapeName; path?: string; batch: number; reps: number }): Promise<GraphTimes> {
  const { loadModel, randomImages } = await import('@whitebox/onnx');
  let model: Model;
  let targets: number[];
  if (a.path) {
    if (!extraModels.has(a.path)) extraModels.set(a.path, loadModel(a.path, { backend: state!.args.backend, device: state!.args.device, threads: state!.args.threads }));
    model = await extraModels.get(a.path)!;
    targets = [3];
  } else {
    const l = state!.loaded[a.shape!]!;
    model = l.model;
    targets = l.targets;
  }
  const [c, h, w] = model.inputShape.slice(1) as [number, number, number];
  const x = randomImages(a.batch, c, h, w, 4);
  const t = Array.from({ length: a.batch }, (_, i) => targets[i % targets.length]!);
  const layer = model.defaultCamLayer!;
  const calls: Record<string, () => Promise<unknown>> = {
    forward: () => model.forward(x, a.path ? {} : { batchSize: a.batch }),
    'input gradient': () => model.gradients(x, t),
    'guided input gradient': () => model.gradients(x, t, { rule: 'guided' }),
    'Grad-CAM (stops at the CAM layer)': () => model.gradients(x, t, { layers: [layer], inputGradient: false }),
    'Guided Grad-CAM (two chains)': () => model.gradients(x, t, { rule: 'guided', layers: [layer], layerRule: 'gradient' }),
  };
  const best: Record<string, number> = {};
  for (const k of Object.keys(calls)) { await calls[k]!(); best[k] = Infinity; }
  // Interleaved repetitions: a disturbance on the shared machine hits every graph alike.
  for (let r = 0; r < a.reps; r++) {
    for (const [k, f] of Object.entries(calls)) {
      const t0 = performance.now();
      await f();
      best[k] = Math.min(best[k]!, (performance.now() - t0) / 1000);
    }
  }
  const { forward, ...graphs } = best;
  return { forward: forward!, graphs };
}

// ---- Parent side. ----

/** The graph table's rows of one model, thread count and batch: the forward pass, then each gradient graph. */
function graphTableRows(label: string, threads: number, b: number, flops: GraphFlops, times: GraphTimes, peak: { gflops: number } | undefined): (string | number)[][] {
  const row = (g: string, f: number, seconds: number) => {
    const rate = b / seconds;
    const gf = (f * rate) / 1e9;
    return [label, threads, b, g, (f / 1e6).toFixed(1), fmt(rate), gf.toFixed(1), peak ? `${((100 * gf) / (peak.gflops * threads)).toFixed(0)} %` : 'n/a', g === 'forward' ? '1' : (seconds / times.forward).toFixed(2)];
  };
  return [row('forward', flops.forward, times.forward), ...GRAPHS.map((g) => row(g, flops.graphs[g]!, times.graphs[g]!))];
}

/**
 * ResNet-18 ONNX files for the graph table, exported once per machine into the temp folder by bench_torch.py (Debian's
 * python3-torch and python3-torchvision). Without them: none, and a note saying so.
 */
function exportResnet18(quick: boolean, notes: string[]): { label: string; path: string; batches: number[]; reps: number }[] {
  const python = process.env.WHITEBOX_TORCH_PYTHON ?? '/usr/bin/python3';
  const root = new URL('../../../../', import.meta.url).pathname;
  const dir = join(os.tmpdir(), 'whitebox-bench-models');
  const out: { label: string; path: string; batches: number[]; reps: number }[] = [];
  for (const size of quick ? [32] : [32, 224]) {
    const path = join(dir, `resnet18_${size}.onnx`);
    try {
      if (!existsSync(path)) {
        mkdirSync(dir, { recursive: true });
        execFileSync(python, [join(root, 'scripts/model-zoo/bench_torch.py'), '--model', 'resnet18', '--size', String(size), '--onnx', path, '--export-only'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '2' } });
      }
      out.push({ label: `resnet18 ${size}²`, path, batches: quick ? [16] : size === 32 ? [64, 256] : [16, 64], reps: quick ? 1 : size === 32 ? 7 : 3 });
    } catch (err) {
      notes.push(`ResNet-18 at ${size}² not measured: ${python} could not export it (${(err as Error).message.split('\n')[0]}; needs apt-get install python3-torch python3-torchvision)`);
    }
  }
  return out;
}

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}×`);

/** The shipped model's weights for captum_bench.py: initializers as base64 float32, BatchNorm epsilons. */
function weightsJson(path: string, out: string, onnx: typeof import('@whitebox/onnx')): void {
  const m = onnx.readModel(readFileSync(path));
  const w: Record<string, unknown> = {};
  for (const t of m.graph!.initializer ?? []) {
    const tensor = onnx.tensorFromProto(t, t.name ?? '');
    const f = Float32Array.from(tensor.data as Float32Array);
    w[t.name!] = { dims: tensor.dims, data: Buffer.from(f.buffer).toString('base64') };
  }
  let i = 0;
  for (const n of m.graph!.node ?? []) {
    if (n.opType !== 'BatchNormalization') continue;
    i++;
    const eps = n.attribute?.find((a) => a.name === 'epsilon');
    w[`bn${i}.epsilon`] = eps?.f ?? 1e-5;
  }
  writeFileSync(out, JSON.stringify(w));
}

export const suite: Suite = {
  name: 'methods',
  async run({ quick, args: cliArgs = [] }): Promise<BenchSection> {
    const vsCaptum = cliArgs.includes('--vs-captum');
    // --rows=a,b: only these method rows (a smoke check); --no-graphs: skip the gradient-graph table.
    const rowsArg = cliArgs.find((a) => a.startsWith('--rows='))?.slice(7).split(',');
    const rows = rowsArg ? METHOD_ROWS.filter((r) => rowsArg.includes(r)) : METHOD_ROWS;
    const withGraphs = !cliArgs.includes('--no-graphs');
    // --reps=light,heavy: repetitions per cell (default 5,2; the heavy rows are the 50-sample ones, Score-CAM,
    // Ablation-CAM and Occlusion), for a run that has to fit a time budget on a loaded machine.
    const repsArg = cliArgs.find((a) => a.startsWith('--reps='))?.slice(7).split(',').map(Number);
    const reps = quick ? { light: 1, heavy: 1 } : { light: repsArg?.[0] || 5, heavy: repsArg?.[1] || 2 };
    const batch = 64;
    const dump = mkdtempSync(join(os.tmpdir(), 'whitebox-bench-methods-'));
    const configs: { label: string; args: MeasureArgs }[] = [
      { label: 'node cpu 1T', args: { backend: 'node', device: 'cpu', threads: 1, batch, quick, modelBatch: 64, dumpDir: dump } },
      { label: 'node cpu 2T', args: { backend: 'node', device: 'cpu', threads: 2, batch, quick, modelBatch: 64 } },
      { label: 'web wasm 1T', args: { backend: 'web', device: 'wasm', threads: 1, batch, quick, modelBatch: 64 } },
    ];
    const load0 = os.loadavg()[0]!;
    const t0 = Date.now();
    const failures: string[] = [];
    const workers: (BenchWorker | undefined)[] = [];
    const opened: (OpenResult | undefined)[] = [];
    for (const c of configs) {
      const w = startWorker(import.meta.url);
      try {
        opened.push(await w.call<OpenResult>('open', c.args));
        workers.push(w);
      } catch (err) {
        w.close();
        opened.push(undefined);
        workers.push(undefined);
        failures.push(`${c.label}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    // Captum: one Python process per thread count (OpenBLAS fixes its pool at start).
    const captum: Record<1 | 2, CaptumWorker | undefined> = { 1: undefined, 2: undefined };
    let captumNote = 'Captum not measured (run with --vs-captum, WHITEBOX_CAPTUM_PATH set to a Captum source tree).';
    const checks: string[] = [];
    if (vsCaptum) {
      const onnx = await import('@whitebox/onnx');
      for (const threads of [1, 2] as const) {
        const w = await startCaptum(threads);
        if ('reason' in w) { captumNote = `Captum not measured: ${w.reason}.`; break; }
        captum[threads] = w;
      }
      const ref = opened[0];
      if (captum[1] && !ref) captumNote = 'Captum not measured: the node cpu 1T worker (which gives the batch and targets) failed.';
      if (captum[1] && ref) {
        const h = captum[1].hello;
        captumNote = `Captum ${h.captum} (${h.captumPath.replace(/\/captum\/__init__\.py$/, '')}) on PyTorch ${h.torch}, Python ${h.python}, eval mode, parameters frozen, one batch of ${batch} per call, torch.set_num_threads(1 / 2) with OMP/OpenBLAS threads to match (one Python process per thread count); same shipped weights, same images and targets, measured right after WhiteBox's row.`;
        for (const shape of Object.keys(SHAPES) as ShapeName[]) {
          const src = modelSource(shape);
          if (!src.path) { checks.push(`${shape}: no shipped model, Captum not run`); continue; }
          weightsJson(src.path, join(dump, `${shape}.weights.json`), onnx);
          const [c, h2, w2] = SHAPES[shape];
          for (const threads of [1, 2] as const) {
            const r = await captum[threads]!.request<{ logitMaxAbsDiff: number; logitMaxAbs: number; vanillaMaxAbsDiff: number; vanillaMaxAbs: number }>({
              cmd: 'load', shape, weights: join(dump, `${shape}.weights.json`), input: join(dump, `${shape}.input.f32`), dims: [batch, c, h2, w2],
              targets: ref.targets[shape], logits: join(dump, `${shape}.logits.f32`), vanilla: join(dump, `${shape}.vanilla.f32`),
            });
            if (threads === 1) checks.push(`${shape}: torch logits − WhiteBox logits max |Δ| ${r.logitMaxAbsDiff.toExponential(1)} (max |logit| ${r.logitMaxAbs.toFixed(1)}), Captum Saliency − WhiteBox vanilla gradient max |Δ| ${r.vanillaMaxAbsDiff.toExponential(1)} (max |gradient| ${r.vanillaMaxAbs.toExponential(1)})`);
          }
        }
        process.stderr.write(`bench methods: ${captumNote}\n  ${checks.join('\n  ')}\n`);
      }
    }
    type Cell = { wb: (RowResult | undefined)[]; captum: Record<1 | 2, RowResult | undefined | 'none'> };
    const cells: Record<ShapeName, Record<string, Cell>> = { mnist: {}, cifar10: {} };
    const rowOf = async (i: number, shape: ShapeName, r: string) => {
      try { return await workers[i]?.call<RowResult>('row', { shape, row: r, reps: HEAVY(r) ? reps.heavy : reps.light }); } catch (err) { failures.push(`${configs[i]!.label} ${shape} ${r}: ${(err as Error).message.split('\n')[0]}`); return undefined; }
    };
    const captumRow = async (threads: 1 | 2, shape: ShapeName, r: string): Promise<RowResult | undefined | 'none'> => {
      if (NO_CAPTUM.has(r)) return 'none';
      const w = captum[threads];
      if (!w || !modelSource(shape).path) return undefined;
      try { return await w.request<RowResult>({ cmd: 'measure', shape, row: r, threads, reps: HEAVY(r) ? reps.heavy : reps.light }); } catch (err) { failures.push(`Captum ${threads}T ${shape} ${r}: ${(err as Error).message.split('\n')[0]}`); return undefined; }
    };
    for (const shape of Object.keys(SHAPES) as ShapeName[]) {
      for (const r of rows) {
        // Alternating: WhiteBox 1T, Captum 1T, WhiteBox 2T, Captum 2T, WhiteBox web 1T.
        const n1 = await rowOf(0, shape, r);
        const c1 = await captumRow(1, shape, r);
        const n2 = await rowOf(1, shape, r);
        const c2 = await captumRow(2, shape, r);
        const web = await rowOf(2, shape, r);
        cells[shape][r] = { wb: [n1, n2, web], captum: { 1: c1, 2: c2 } };
        const f = (x: RowResult | undefined | 'none') => (x === 'none' ? '—' : x ? x.rate.toFixed(1) : 'n/a');
        process.stderr.write(`bench methods: ${shape} ${r}: node 1T ${f(n1)} | Captum 1T ${f(c1)} | node 2T ${f(n2)} | Captum 2T ${f(c2)} | web 1T ${f(web)} maps/s\n`);
      }
    }
    // Gradient graphs against the forward pass, at batch 64 and 256, node cpu 1T and 2T.
    const graphRows: (string | number)[][] = [];
    const peak = corePeak();
    for (const shape of withGraphs ? (Object.keys(SHAPES) as ShapeName[]) : []) {
      const src = modelSource(shape);
      const onnx = await import('@whitebox/onnx');
      const { buildSimpleCnn } = onnx;
      const [c, h, w] = SHAPES[shape];
      const flops: GraphFlops = flopsOf(onnx.prepareModel(src.path ? readFileSync(src.path) : buildSimpleCnn({ channels: c, height: h, width: w, seed: 1 })));
      for (const threads of [1, 2]) {
        for (const b of [64, 256]) {
          let times: GraphTimes | undefined;
          try { times = await workers[threads - 1]?.call<GraphTimes>('graphTimes', { shape, batch: b, reps: quick ? 2 : 7 }); } catch (err) { failures.push(`graph times ${shape} ${threads}T: ${(err as Error).message.split('\n')[0]}`); }
          if (!times) continue;
          graphRows.push(...graphTableRows(shape, threads, b, flops, times, peak));
          process.stderr.write(`bench methods: graphs ${shape} ${threads}T batch ${b}: forward ${fmt(b / times.forward)} img/s, ${GRAPHS.map((g) => `${g} ${(times!.graphs[g]! / times!.forward).toFixed(2)}× forward`).join(', ')}\n`);
        }
      }
    }
    // ResNet-18 (torchvision, seeded random weights, exported by scripts/model-zoo/bench_torch.py) at 3×32×32 and
    // 3×224×224, as #15 asks: batches 64 and 256 at 32², 16 and 64 at 224² (a 224² batch of 256 takes minutes per call).
    const resnetNotes: string[] = [];
    const resnets = withGraphs ? exportResnet18(quick, resnetNotes) : [];
    for (const r of resnets) {
      const onnx = await import('@whitebox/onnx');
      const flops: GraphFlops = flopsOf(onnx.prepareModel(readFileSync(r.path), r.path));
      for (const threads of [1, 2]) {
        for (const b of r.batches) {
          let times: GraphTimes | undefined;
          try { times = await workers[threads - 1]?.call<GraphTimes>('graphTimes', { path: r.path, batch: b, reps: r.reps }); } catch (err) { failures.push(`graph times ${r.label} ${threads}T: ${(err as Error).message.split('\n')[0]}`); }
          if (!times) continue;
          graphRows.push(...graphTableRows(r.label, threads, b, flops, times, peak));
          process.stderr.write(`bench methods: graphs ${r.label} ${threads}T batch ${b}: ${GRAPHS.map((g) => `${g} ${(times!.graphs[g]! / times!.forward).toFixed(2)}× forward`).join(', ')}\n`);
        }
      }
    }
    const peakRss = workers.map((w) => w?.peakRssMiB);
    for (const w of workers) w?.close();
    captum[1]?.close();
    captum[2]?.close();
    rmSync(dump, { recursive: true, force: true });
    const load1 = os.loadavg()[0]!;
    const minutes = (Date.now() - t0) / 60000;
    const tables: BenchTable[] = [];
    const captumCell = (x: RowResult | undefined | 'none') => (x === 'none' ? '—' : x ? fmt(x.rate) : 'not measured');
    const vs = (wb: RowResult | undefined, x: RowResult | undefined | 'none', cpu = true) =>
      x === 'none' ? '—' : !x ? 'not measured' : !wb ? 'n/a' : cpu ? `${ratio(wb.rate, x.rate)} / ${ratio(wb.cpuRate, x.cpuRate)}` : ratio(wb.rate, x.rate);
    for (const shape of Object.keys(SHAPES) as ShapeName[]) {
      const model = opened.find((r) => r)?.models[shape] ?? 'SimpleCNN';
      tables.push({
        title: `Attribution throughput, ${shape === 'mnist' ? 'MNIST 1×28×28' : 'CIFAR-10 3×32×32'} (maps/s, batch ${batch}, WhiteBox and Captum in one run)`,
        notes:
          `Model: ${model}. Each cell is one \`attribute(batch of ${batch}, predicted classes)\` call, best of ${reps.light === reps.heavy ? reps.light : `${reps.light} (${reps.heavy} for the 50-sample rows, Score-CAM, Ablation-CAM and Occlusion)`} after a warm-up call (two images for those rows). ` +
          `Rows alternate: for each row WhiteBox node 1T, Captum 1T, WhiteBox node 2T, Captum 2T, WhiteBox web 1T run one after the other, each configuration in its own long-lived process (run of ${minutes.toFixed(0)} min, 1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end, on ${os.cpus().length} cores shared with other jobs). ` +
          `${captumNote} ` +
          'IG: 50 Gauss–Legendre steps (Captum: method="gausslegendre"); SmoothGrad rows: 50 noisy copies of the vanilla gradient, σ = 0.15 (Captum NoiseTunnel over Saliency(abs=False), nt_samples=50, all copies in one batch); Grad-CAM / Guided Grad-CAM at relu3 (Captum LayerGradCam / GuidedGradCam); Occlusion 4×4 windows over all channels, stride 2, baseline 0 (Captum Occlusion, perturbations_per_eval=1, i.e. forward passes of 64 images, as WhiteBox). ' +
          'CAM-family rows with "—" have no Captum method (default layer relu3, maps normalized as pytorch-grad-cam). ' +
          '"×" = WhiteBox ÷ Captum at the same thread count, by wall clock / by CPU time (maps per CPU-second of each process: on a loaded machine the better estimate of an idle core). ' +
          "onnxruntime-web's WebAssembly backend runs single-threaded in Node (no SharedArrayBuffer workers), so web has a 1-thread column, compared with Captum 1T." +
          (checks.length ? ` Same weights check: ${checks.join('; ')}.` : '') +
          (failures.length ? ` Not measured: ${failures.join('; ')}.` : '') +
          ` Peak RSS of the WhiteBox processes: ${peakRss.map((p, i) => `${configs[i]!.label} ${p ? p.toFixed(0) : 'n/a'} MiB`).join(', ')}.`,
        columns: ['method', 'Captum 1T', 'node cpu 1T', '× 1T (wall / CPU)', 'Captum 2T', 'node cpu 2T', '× 2T (wall / CPU)', 'web wasm 1T', 'web ÷ Captum 1T'],
        rows: rows.map((r) => {
          const cell = cells[shape][r]!;
          const [n1, n2, web] = cell.wb;
          return [r, captumCell(cell.captum[1]), fmt(n1?.rate), vs(n1, cell.captum[1]), captumCell(cell.captum[2]), fmt(n2?.rate), vs(n2, cell.captum[2]), fmt(web?.rate), vs(web, cell.captum[1], false)];
        }),
      });
    }
    if (withGraphs) tables.push({
      title: 'Gradient graphs against the forward pass: FLOPs, GFLOP/s, fraction of peak (node cpu)',
      notes:
        'FLOPs per image counted from the prepared graph (BatchNorm folded): 2 × multiply-adds of every Conv and Gemm for the forward pass, plus 2 × the same ' +
        'multiply-adds for the backward-data product of each Conv/Gemm the backward chain passes through (an input gradient needs no weight gradients; ' +
        'pools, ReLU masks and index chains are not counted). Grad-CAM\'s graph stops at the model\'s default CAM layer: relu3 for the SimpleCNNs (backward through fc1, fc2 only), ' +
        'the last ReLU of layer4 for ResNet-18 (backward through the pooling and fc only); Guided Grad-CAM\'s graph ' +
        'is one forward pass with two backward chains (guided to the input, vanilla to the CAM layer). Times: best of ' + (quick ? 2 : 7) + ' calls for the SimpleCNNs and ResNet-18 at 32² (3 at 224²), the graphs interleaved, ' +
        '"forward" the prepared forward model. "÷ forward" is the graph\'s time over the forward\'s at the same batch and threads (an ideal input gradient: about 2). ' +
        'ResNet-18: torchvision\'s resnet18 with seeded random weights and calibrated BatchNorm (scripts/model-zoo/bench_torch.py, opset 17), 1,000 classes, run through the Model API at its default runtime batch size (defaultBatchSize). ' +
        (resnetNotes.length ? `${resnetNotes.join('; ')}. ` : '') +
        (peak ? `Peak: ${peak.note}.` : 'Peak: unknown ISA/clock.'),
      columns: ['model', 'threads', 'batch', 'graph', 'MFLOP/image', 'images/s', 'GFLOP/s', 'of peak', '÷ forward'],
      rows: graphRows,
    });
    return { suite: 'methods', tables };
  },
};
