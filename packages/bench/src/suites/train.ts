import os from 'node:os';
import { type BenchSection, type Suite, runIsolated } from '../harness.js';

export interface TrainBenchArgs {
  dataset: 'mnist' | 'cifar10';
  batch: number;
  /** Training images per epoch. */
  images: number;
  augment: boolean;
}

/**
 * In its own process: trains the full-size SimpleCNN with @whitebox/train (tfjs wasm, explicit backward pass, SGD)
 * for 2 epochs over `images` real training images; reports the second epoch (the first pays for wasm warm-up).
 */
export async function measureTraining(args: TrainBenchArgs): Promise<{ imagesPerSecond: number; imagesPerCpuSecond: number }> {
  const { loadMnist, loadCifar10Dir } = await import('@whitebox/datasets');
  const { trainSimpleCNN } = await import('@whitebox/train');
  const dir = process.env.WHITEBOX_CIFAR10_DIR ?? new URL('../../../../../shared/data/cifar10', import.meta.url).pathname;
  const { train } = args.dataset === 'mnist' ? loadMnist({ trainLimit: args.images }) : loadCifar10Dir(dir, { trainLimit: args.images });
  let cpu0 = process.cpuUsage();
  let cpuSeconds = 0;
  const clf = await trainSimpleCNN(train, {
    epochs: 2,
    batchSize: args.batch,
    validationFraction: 0,
    augment: args.augment,
    onEpoch: (r) => {
      const c = process.cpuUsage(cpu0);
      if (r.epoch === 2) cpuSeconds = (c.user + c.system) / 1e6;
      cpu0 = process.cpuUsage();
    },
  });
  const e2 = clf.history[1]!;
  return { imagesPerSecond: e2.imagesPerSecond, imagesPerCpuSecond: args.images / cpuSeconds };
}

export const suite: Suite = {
  name: 'train',
  async run({ quick }): Promise<BenchSection> {
    const loadBefore = os.loadavg()[0]!;
    const rows: (string | number)[][] = [];
    const configs: (TrainBenchArgs & { label: string; target: number })[] = [
      { label: 'MNIST 1×28×28', dataset: 'mnist', batch: 128, images: quick ? 1024 : 4096, augment: false, target: 200 },
      { label: 'CIFAR-10 3×32×32 (crop+flip)', dataset: 'cifar10', batch: 128, images: quick ? 1024 : 4096, augment: true, target: 120 },
    ];
    for (const c of configs) {
      const { result, peakRssMiB } = await runIsolated<{ imagesPerSecond: number; imagesPerCpuSecond: number }>(import.meta.url, 'measureTraining', c);
      rows.push([c.label, c.batch, c.images, result.imagesPerSecond.toFixed(0), result.imagesPerCpuSecond.toFixed(0), c.target, peakRssMiB.toFixed(0)]);
    }
    const loadAfter = os.loadavg()[0]!;
    return {
      suite: 'train',
      tables: [
        {
          title: 'SimpleCNN training throughput (tfjs WebAssembly backend, 1 thread)',
          notes:
            `Full-size SimpleCNN (32/64/128 conv, dense 1024), SGD momentum 0.9 + weight decay, real training images, second of two epochs ` +
            `(wall-clock images/s incl. batch assembly and augmentation; images per CPU-second is the rate on an uncontended core). ` +
            `Targets from the issue: MNIST ≥ 200, CIFAR-10 ≥ 120 images/s. Load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after on ${os.cpus().length} cores.`,
          columns: ['dataset', 'batch', 'images/epoch', 'images/s', 'images per CPU-s', 'target images/s', 'peak RSS MiB'],
          rows,
        },
      ],
    };
  },
};
