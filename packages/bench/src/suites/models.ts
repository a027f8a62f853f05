import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corePeak, flopsOf } from '../flops.js';
import { type BenchSection, type Suite, runIsolated } from '../harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const python = process.env.WHITEBOX_TORCH_PYTHON ?? '/usr/bin/python3';

/** Median and fastest call as images/s, calls timed, load time, and the input gradient's GFLOP per image. */
export interface ModelResult { imagesPerSecond: number; fastestImagesPerSecond: number; calls: number; loadSeconds: number; gflopPerImage: number }

export interface ModelArgs { onnx: string; batch: number; size: number; threads: number; seconds: number; level?: 'disabled' | 'basic' | 'extended' | 'all' }

/** WhiteBox's input-gradient throughput on an exported model, in its own process (model.gradients, default options or the given level). */
export async function measureModel(args: ModelArgs): Promise<ModelResult> {
  const { Tensor } = await import('@whitebox/core');
  await import('@whitebox/backend-node');
  const { loadModel, prepareModel } = await import('@whitebox/onnx');
  const gflopPerImage = flopsOf(prepareModel(readFileSync(args.onnx), args.onnx)).graphs['input gradient']! / 1e9;
  const t0 = performance.now();
  // No batchSize: WhiteBox splits the call into runs of its default size (defaultBatchSize: 20 images for ResNet-50, so
  // one run of 16; 4 for ViT-B/16), as a user's call would.
  const model = await loadModel(args.onnx, { backend: 'node', threads: args.threads, ...(args.level ? { graphOptimizationLevel: args.level } : {}) });
  const x = new Tensor(new Float32Array(args.batch * 3 * args.size * args.size).map((_, i) => ((i * 7919) % 1000) / 1000), [args.batch, 3, args.size, args.size]);
  await model.gradients(x, 3);
  const loadSeconds = (performance.now() - t0) / 1000;
  const times: number[] = [];
  const s0 = performance.now();
  while (times.length < 3 || performance.now() - s0 < args.seconds * 1000) {
    const t = performance.now();
    await model.gradients(x, 3);
    times.push((performance.now() - t) / 1000);
  }
  await model.dispose();
  times.sort((a, b) => a - b);
  return { imagesPerSecond: args.batch / times[Math.floor(times.length / 2)]!, fastestImagesPerSecond: args.batch / times[0]!, calls: times.length, loadSeconds, gflopPerImage };
}

function torchAvailable(): boolean {
  try {
    execFileSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Large-model input gradients: ResNet-50 and ViT-B/16 at 3×224×224, batch 16, 1 and 2 threads — WhiteBox (its
 * exported gradient graph on onnxruntime-node) beside PyTorch 1.13 eager autograd on the same seeded weights,
 * interleaved in one run. Needs Debian's python3-torch and python3-torchvision (else the suite says so).
 */
export const suite: Suite = {
  name: 'models',
  async run({ quick }): Promise<BenchSection> {
    const notes = 'Input gradient of one logit (cotangent one-hot), batch images per call, median call; WhiteBox through model.gradients (gradient graph on onnxruntime-node, default optimization level, the call split into runs of the default batch size: 16 images in one run for ResNet-50, four runs of 4 for ViT-B/16, whose 441 MiB of activations per image would otherwise spill the cache), PyTorch 1.13 eager autograd (parameters frozen, torch.set_num_threads, and OMP/OpenBLAS/MKL threads to match: Debian\'s torch runs matrix products in OpenBLAS, whose pool ignores set_num_threads); both on the same seeded random weights (scripts/model-zoo/zoo.py), measured one after the other per row in the same run.';
    if (!torchAvailable()) return { suite: 'models', tables: [{ title: 'Large models vs PyTorch', notes: `${notes} Not measured: ${python} has no torch/torchvision (apt-get install python3-torch python3-torchvision).`, columns: ['model'], rows: [] }] };
    const dir = join(os.tmpdir(), 'whitebox-bench-models');
    mkdirSync(dir, { recursive: true });
    const batch = quick ? 2 : 16;
    const seconds = quick ? 1 : 8;
    const rows: (string | number)[][] = [];
    const load0 = os.loadavg()[0]!;
    const peak = corePeak();
    for (const name of ['resnet50', 'vit_b_16']) {
      const onnx = join(dir, `${name}.onnx`);
      for (const threads of [1, 2]) {
        const torchOut = JSON.parse(execFileSync(python, [join(root, 'scripts/model-zoo/bench_torch.py'), '--model', name, '--batch', String(batch), '--threads', String(threads), '--onnx', onnx, '--seconds', String(seconds)], { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n').pop()!) as { imagesPerSecond: number; fastestImagesPerSecond: number };
        if (!existsSync(onnx)) throw new Error(`bench models: ${onnx} was not exported`);
        const wb = await runIsolated<ModelResult>(new URL(import.meta.url).href, 'measureModel', { onnx, batch, size: 224, threads, seconds } satisfies ModelArgs);
        const gf = wb.result.gflopPerImage;
        const ofPeak = (ips: number) => `${(ips * gf).toFixed(0)} (${peak ? `${((100 * ips * gf) / (peak.gflops * threads)).toFixed(0)} %` : 'n/a'})`;
        rows.push([name, threads, batch, wb.result.imagesPerSecond.toFixed(2), torchOut.imagesPerSecond.toFixed(2), `${(wb.result.imagesPerSecond / torchOut.imagesPerSecond).toFixed(2)}× / ${(wb.result.fastestImagesPerSecond / torchOut.fastestImagesPerSecond).toFixed(2)}×`, gf.toFixed(1), ofPeak(wb.result.imagesPerSecond), ofPeak(torchOut.imagesPerSecond), wb.result.loadSeconds.toFixed(1), wb.peakRssMiB.toFixed(0)]);
        process.stderr.write(`bench models: ${name} ${threads} thread(s): WhiteBox ${wb.result.imagesPerSecond.toFixed(2)} img/s, PyTorch ${torchOut.imagesPerSecond.toFixed(2)} img/s\n`);
      }
    }
    return {
      suite: 'models',
      tables: [{
        title: `Large models vs PyTorch (3×224×224, batch ${batch})`,
        notes: `${notes} 1-minute load average ${load0.toFixed(2)} before, ${os.loadavg()[0]!.toFixed(2)} after. "GFLOP/image" = 2 × the multiply-adds of the forward pass plus one backward-data product per image-dependent input of every Conv/Gemm/MatMul (no weight gradients: both sides compute none); img/s and GFLOP/s are from the median call; the ratio is also given from each side's fastest call, the least disturbed one on a noisy host; the same count divides both sides' time, so "GFLOP/s (of peak)" shows how far each is from the cores' FP32 FMA peak, and the largest ratio FLOP-bound code could reach is 100 % ÷ PyTorch's fraction. ${peak ? `Peak: ${peak.note}.` : 'Peak: unknown ISA/clock.'} "load s" = loadModel + first call (graph preparation, gradient-graph export, session creation).`,
        columns: ['model', 'threads', 'batch', 'WhiteBox img/s', 'PyTorch img/s', 'WhiteBox ÷ PyTorch (median / fastest call)', 'GFLOP/image', 'WhiteBox GFLOP/s (of peak)', 'PyTorch GFLOP/s (of peak)', 'load s', 'peak RSS MiB'],
        rows,
      }],
    };
  },
};
