import os from 'node:os';
import type { BackendName, Device, Feeds } from '@whitebox/core';
import { type BenchSection, type Suite, runIsolated } from '../harness.js';

const SHAPES = { MNIST: [1, 28, 28], 'CIFAR-10': [3, 32, 32] } as const;
type ShapeName = keyof typeof SHAPES;
const BATCHES = [1, 16, 64, 256];

export interface EngineArgs {
  shape: ShapeName;
  backend: BackendName;
  device: Device;
  threads: number;
  batch: number;
  mode: 'forward' | 'gradient';
  seconds: number;
}

/**
 * One configuration, in its own process: a random-weight SimpleCNN (the shipped architecture) run forward, or its
 * exported input-gradient graph (rule 'gradient'), at a fixed batch. Returns images/s from the median call time.
 */
export async function measureEngine(args: EngineArgs): Promise<{ imagesPerSecond: number; imagesPerCpuSecond: number; calls: number }> {
  const { Tensor, resolveBackend } = await import('@whitebox/core');
  await import(args.backend === 'node' ? '@whitebox/backend-node' : '@whitebox/backend-web');
  const { buildSimpleCnn, buildGradientGraph, forwardModelBytes, prepareModel, randomImages } = await import('@whitebox/onnx');
  const [c, h, w] = SHAPES[args.shape];
  const model = buildSimpleCnn({ channels: c, height: h, width: w, seed: 1 });
  const bytes = args.mode === 'forward' ? forwardModelBytes(prepareModel(model).graph, 10) : buildGradientGraph(model, { rule: 'gradient' });
  const session = await resolveBackend({ backend: args.backend, device: args.device }).createSession(bytes, { device: args.device, threads: args.threads });
  const x = randomImages(args.batch, c, h, w, 2);
  const cot = new Tensor(new Float32Array(args.batch * 10).map((_, i) => (i % 10 === 3 ? 1 : 0)), [args.batch, 10]);
  const feeds: Feeds = args.mode === 'forward' ? { input: x } : { input: x, cotangent: cot };
  for (let i = 0; i < 2; i++) await session.run(feeds);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (times.length < 3 || performance.now() - t0 < args.seconds * 1000) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  await session.release();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  times.sort((a, b) => a - b);
  return { imagesPerSecond: args.batch / (times[Math.floor(times.length / 2)]! / 1000), imagesPerCpuSecond: (args.batch * times.length) / cpuSeconds, calls: times.length };
}

export const suite: Suite = {
  name: 'engine',
  async run({ quick }): Promise<BenchSection> {
    const seconds = quick ? 0.3 : 1.5;
    const runtimes: { label: string; backend: BackendName; device: Device; threads: number }[] = [
      { label: 'node cpu', backend: 'node', device: 'cpu', threads: 1 },
      { label: 'node cpu', backend: 'node', device: 'cpu', threads: 2 },
      { label: 'web wasm', backend: 'web', device: 'wasm', threads: 1 },
    ];
    const loadBefore = os.loadavg()[0]!;
    const tables = [];
    for (const shape of Object.keys(SHAPES) as ShapeName[]) {
      const rows: (string | number)[][] = [];
      for (const rt of runtimes) {
        for (const batch of quick ? [1, 64] : BATCHES) {
          const row: (string | number)[] = [rt.label, rt.threads, batch];
          const rss: string[] = [];
          const perCpu: number[] = [];
          for (const mode of ['forward', 'gradient'] as const) {
            const r = await runIsolated<{ imagesPerSecond: number; imagesPerCpuSecond: number }>(import.meta.url, 'measureEngine', { shape, backend: rt.backend, device: rt.device, threads: rt.threads, batch, mode, seconds } satisfies EngineArgs);
            row.push(Math.round(r.result.imagesPerSecond));
            perCpu.push(Math.round(r.result.imagesPerCpuSecond));
            rss.push(r.peakRssMiB.toFixed(0));
          }
          row.push(...perCpu, ...rss);
          rows.push(row);
          process.stderr.write(`bench engine: ${shape} ${rt.label} ${rt.threads}T batch ${batch}: ${row.slice(3, 5).join(' / ')} img/s\n`);
        }
      }
      tables.push({
        title: `SimpleCNN ${shape} [N, ${SHAPES[shape].join(', ')}]: forward and input-gradient throughput`,
        notes:
          `Random-weight SimpleCNN (3 × Conv3×3-BN-ReLU-MaxPool, 32/64/128 channels, Gemm 1024, Gemm 10). "forward" runs the prepared forward model ` +
          `(BatchNorm folded), "gradient" the exported gradient graph (rule 'gradient': logits + input_grad). Images/s from the median call ` +
          `over ≥ ${seconds} s after 2 warm-up calls, each configuration in a fresh process (peak RSS = that process). ` +
          `"img/CPU-s" divides the images by the process's CPU time (user + system) over the same calls: at 1 thread it estimates ` +
          `the unloaded throughput when other jobs compete for the cores (wall-clock img/s then drops, CPU time much less). ` +
          `onnxruntime-web's WebAssembly backend is single-threaded in Node (no SharedArrayBuffer workers), so it has 1-thread rows only. ` +
          `Target (2× PyTorch+Captum vanilla gradient at 1 thread, batch 64): ≥ 1,500/s MNIST, ≥ 1,700/s CIFAR-10. ` +
          `Load average (1 min) when the suite started: ${loadBefore.toFixed(2)}; at the end of this table: ${os.loadavg()[0]!.toFixed(2)} (other jobs share the ${os.cpus().length} cores).`,
        columns: ['runtime', 'threads', 'batch', 'forward img/s', 'gradient img/s', 'forward img/CPU-s', 'gradient img/CPU-s', 'forward peak RSS MiB', 'gradient peak RSS MiB'],
        rows,
      });
    }
    return { suite: 'engine', tables };
  },
};
