import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Attribution, BackendName, Device, Model, Tensor } from '@whitebox/core';
import os from 'node:os';
import { type BenchSection, type BenchTable, type Suite, runIsolated } from '../harness.js';

/** Captum (PyTorch 1.13) maps/s at 1 thread, batch 64, from the issue: [MNIST, CIFAR-10]. */
const CAPTUM: Record<string, [number, number]> = {
  'vanilla-gradient': [750, 849],
  'input-x-gradient': [971, 883],
  deconvnet: [680, 848],
  'guided-backprop': [620, 835],
  'integrated-gradients (50 steps)': [8.6, 5.4],
  'grad-cam': [1447, 1315],
  'guided-grad-cam': [544, 415],
  'smoothgrad (50)': [8.7, 5.6],
  'smoothgrad-squared (50)': [8.4, 5.1],
  'vargrad (50)': [8.2, 6.2],
};
const METHOD_ROWS = Object.keys(CAPTUM);

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
}

export interface MeasureResult {
  /** maps/s (wall clock) per shape and method row. */
  rates: Record<ShapeName, Record<string, number>>;
  /** maps per CPU-second of this process (user + system), per shape and method row. */
  cpuRates: Record<ShapeName, Record<string, number>>;
  models: Record<ShapeName, string>;
}

async function makeMethods(model: Model): Promise<Record<string, { m: Attribution; opts: Record<string, unknown> }>> {
  const [{ VanillaGradient }, { InputXGradient }, { Deconvnet }, { GuidedBackprop }, { IntegratedGradients }, { GradCam }, { GuidedGradCam }, { SmoothGrad }] = await Promise.all([
    import('@whitebox/vanilla-gradient'), import('@whitebox/input-x-gradient'), import('@whitebox/deconvnet'), import('@whitebox/guided-backprop'),
    import('@whitebox/integrated-gradients'), import('@whitebox/grad-cam'), import('@whitebox/guided-grad-cam'), import('@whitebox/smoothgrad'),
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
    'smoothgrad (50)': { m: sg('smoothgrad'), opts: {} },
    'smoothgrad-squared (50)': { m: sg('smoothgrad-squared'), opts: {} },
    'vargrad (50)': { m: sg('vargrad'), opts: {} },
  };
}

/** The shipped model when present (models/<name>-simplecnn.onnx), else a random SimpleCNN of the same architecture. */
function modelSource(shape: ShapeName): { bytes?: Uint8Array; path?: string; label: string } {
  const path = join(process.cwd(), 'models', `${shape}-simplecnn.onnx`);
  if (existsSync(path)) return { path, label: `models/${shape}-simplecnn.onnx` };
  return { label: `random SimpleCNN ${SHAPES[shape].join('×')}` };
}

/** Runs in a child process (one backend/thread configuration per process: wasm threads are fixed per process). */
export async function measure(args: MeasureArgs): Promise<MeasureResult> {
  if (args.backend === 'node') await import('@whitebox/backend-node');
  else await import('@whitebox/backend-web');
  const { loadModel, buildSimpleCnn, randomImages } = await import('@whitebox/onnx');
  const rates = {} as MeasureResult['rates'];
  const cpuRates = {} as MeasureResult['cpuRates'];
  const models = {} as MeasureResult['models'];
  for (const shape of Object.keys(SHAPES) as ShapeName[]) {
    const [c, h, w] = SHAPES[shape];
    const src = modelSource(shape);
    const bytes = src.path ?? buildSimpleCnn({ channels: c, height: h, width: w, seed: 1 });
    const model = await loadModel(bytes, { backend: args.backend, device: args.device, threads: args.threads, batchSize: args.modelBatch });
    models[shape] = src.label;
    const x: Tensor = randomImages(args.batch, c, h, w, 3);
    const targets = Array.from((await model.forward(x)).predictions);
    const methods = await makeMethods(model);
    // Process-wide warm-up of at least 5 s: WebAssembly code starts in V8's baseline tier and is
    // optimized by background threads (whose CPU time this process pays), so without it the first
    // timed rows run slower code and are charged for the compiler.
    const first = methods[METHOD_ROWS[0]!]!;
    const w0 = performance.now();
    for (let i = 0; i < 3 || performance.now() - w0 < 5000; i++) await first.m.attribute(x, targets, first.opts);
    rates[shape] = {};
    cpuRates[shape] = {};
    for (const row of METHOD_ROWS) {
      const { m, opts } = methods[row]!;
      // Warm up on two images (creates the gradient-graph session), then time full batches.
      await m.attribute(x.slice(0, 2), targets.slice(0, 2), opts);
      const heavy = row.includes('(50');
      const reps = args.quick ? 1 : heavy ? 2 : 5;
      // Best of `reps`: the machine is shared, and the fastest run is the least disturbed one.
      // CPU time (user + system of this process) is what a single-threaded run costs when
      // other processes compete for the cores; it is reported next to the wall clock.
      let t = Infinity;
      let cpu = Infinity;
      for (let r = 0; r < reps; r++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await m.attribute(x, targets, opts);
        t = Math.min(t, (performance.now() - t0) / 1000);
        const c = process.cpuUsage(c0);
        cpu = Math.min(cpu, (c.user + c.system) / 1e6);
      }
      rates[shape][row] = args.batch / t;
      cpuRates[shape][row] = args.batch / cpu;
      process.stderr.write(`bench methods: ${args.backend}/${args.device} ${args.threads}T ${shape} ${row}: ${(args.batch / t).toFixed(1)} maps/s, ${(args.batch / cpu).toFixed(1)} maps/CPU-s\n`);
    }
    await model.dispose();
  }
  return { rates, cpuRates, models };
}

const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export const suite: Suite = {
  name: 'methods',
  async run({ quick }): Promise<BenchSection> {
    const batch = 64;
    const configs: { label: string; args: MeasureArgs }[] = [
      { label: 'node cpu 1T', args: { backend: 'node', device: 'cpu', threads: 1, batch, quick, modelBatch: 64 } },
      { label: 'node cpu 2T', args: { backend: 'node', device: 'cpu', threads: 2, batch, quick, modelBatch: 64 } },
      { label: 'web wasm 1T', args: { backend: 'web', device: 'wasm', threads: 1, batch, quick, modelBatch: 64 } },
    ];
    const load0 = os.loadavg()[0]!;
    const results: (MeasureResult | undefined)[] = [];
    const failures: string[] = [];
    for (const c of configs) {
      try {
        results.push((await runIsolated<MeasureResult>(import.meta.url, 'measure', c.args)).result);
      } catch (err) {
        results.push(undefined);
        failures.push(`${c.label}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    const load1 = os.loadavg()[0]!;
    const tables: BenchTable[] = [];
    for (const [i, shape] of (['mnist', 'cifar10'] as const).entries()) {
      const model = results.find((r) => r)?.models[shape] ?? 'SimpleCNN';
      tables.push({
        title: `Attribution throughput, ${shape === 'mnist' ? 'MNIST 1×28×28' : 'CIFAR-10 3×32×32'} (maps/s, batch ${batch})`,
        notes:
          `Model: ${model}. Each row is one \`attribute(batch of ${batch}, predicted classes)\` call, best of ${quick ? 1 : '5 (2 for the 50-step rows)'} after a warm-up that creates the gradient-graph session; ` +
          `each backend/thread configuration runs in its own process (1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end, on ${os.cpus().length} cores). ` +
          'IG: 50 Gauss–Legendre steps; SmoothGrad rows: 50 noisy copies of vanilla gradient, σ = 0.15. ' +
          'Captum column: PyTorch 1.13 + Captum at 1 thread (from the issue). "CPU" columns are maps per CPU-second of the single-threaded ' +
          'process (user + system time), which on a shared, loaded machine is the better estimate of what the wall clock gives on an idle core; ' +
          '"× Captum" compares node cpu 1T with Captum, by wall clock and by CPU time (target ≥ 2×). ' +
          "onnxruntime-web's WebAssembly backend runs single-threaded in Node (no SharedArrayBuffer workers), so web has a 1-thread column only." +
          (failures.length ? ` Not measured: ${failures.join('; ')}.` : ''),
        columns: ['method', 'Captum 1T', 'node cpu 1T', 'node cpu 1T (CPU)', '× Captum (wall / CPU)', 'node cpu 2T', 'web wasm 1T', 'web wasm 1T (CPU)'],
        rows: METHOD_ROWS.map((row) => {
          const captum = CAPTUM[row]![i]!;
          const r = results.map((res) => res?.rates[shape][row]);
          const c = results.map((res) => res?.cpuRates[shape][row]);
          const ratio = r[0] === undefined || c[0] === undefined ? 'n/a' : `${(r[0] / captum).toFixed(2)}× / ${(c[0] / captum).toFixed(2)}×`;
          return [row, fmt(captum), fmt(r[0]), fmt(c[0]), ratio, fmt(r[1]), fmt(r[2]), fmt(c[2])];
        }),
      });
    }
    return { suite: 'methods', tables };
  },
};
