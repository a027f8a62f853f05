import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Model, Tensor } from '@whitebox/core';
import { type BenchTable, type Suite, runIsolated } from '../harness.js';

const SHIPPED = fileURLToPath(new URL('../../../../models/mnist-simplecnn.onnx', import.meta.url));
/** Quantus' reported ROAD time per image (the issue's reference): our target is ≥ 10× faster per image. */
const QUANTUS_ROAD_SECONDS = 6;

export interface MetricTiming {
  id: string;
  family: string;
  direction: string;
  sizes: string;
  seconds: number;
  cpuSeconds: number;
}

export interface MeasureMetricsResult {
  images: number;
  model: string;
  mapSeconds: number;
  rows: MetricTiming[];
}

/** Runs in a child process at 1 thread: every metric once over `images` MNIST test images with vanilla gradient. */
export async function measureMetrics(args: { images: number }): Promise<MeasureMetricsResult> {
  await import('@whitebox/backend-node');
  const { loadModel, buildSimpleCnn } = await import('@whitebox/onnx');
  const { loadMnist } = await import('@whitebox/datasets');
  const { vanillaGradient } = await import('@whitebox/vanilla-gradient');
  const M = await import('@whitebox/metrics');
  const shipped = existsSync(SHIPPED);
  const bytes = shipped ? new Uint8Array(readFileSync(SHIPPED)) : buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 1 });
  const load = (b: Uint8Array): Promise<Model> => loadModel(b, { backend: 'node', threads: 1, batchSize: 64 });
  const model = await load(bytes);
  const { test } = loadMnist();
  const sub = M.subsetDataset(test, M.balancedIndices(test, args.images));
  const images: Tensor = M.imagesToTensor(sub);
  const targets = Int32Array.from(sub.labels);
  const explainer = M.fromAttribution(vanillaGradient(model), { reduction: 'sum' });
  // A 14×14 box in the middle: the localization metrics only read the map and the mask.
  const masks = new Uint8Array(args.images * 784);
  for (let i = 0; i < args.images; i++) for (let y = 7; y < 21; y++) for (let x = 7; x < 21; x++) masks[i * 784 + y * 28 + x] = 1;
  // Warm-up: sessions created, WebAssembly/JIT tiers settled.
  for (let i = 0; i < 3; i++) await explainer.relevance(images, targets);
  await model.forward(images);
  const t0 = performance.now();
  const relevance = await explainer.relevance(images, targets);
  const mapSeconds = (performance.now() - t0) / 1000;
  const input = { model, explainer, images, targets, relevance, masks, seed: 0, unscorable: 'skip' as const };
  const cascade = M.onnxCascade(bytes, load, 0);
  const independent = M.onnxIndependent(bytes, load, 1000);
  const method = [{ name: 'vanilla-gradient', make: (m: Model) => M.fromAttribution(vanillaGradient(m), { reduction: 'sum' }) }];
  const jobs: Array<{ ids: string[]; sizes: string; run: () => Promise<unknown> }> = [
    { ids: ['faithfulness-correlation'], sizes: '100 subsets of 78 pixels', run: () => M.faithfulnessCorrelation(input) },
    { ids: ['pixel-flipping'], sizes: '50 steps', run: () => M.pixelFlipping(input) },
    { ids: ['pixel-flipping-lerf'], sizes: '50 steps', run: () => M.pixelFlipping(input, { order: 'lerf' }) },
    { ids: ['pixel-flipping-random'], sizes: '50 steps', run: () => M.pixelFlipping(input, { order: 'random' }) },
    { ids: ['region-perturbation'], sizes: '49 regions of 4×4', run: () => M.regionPerturbation(input) },
    { ids: ['region-perturbation-lerf'], sizes: '49 regions of 4×4', run: () => M.regionPerturbation(input, { order: 'lerf' }) },
    { ids: ['region-perturbation-random'], sizes: '49 regions of 4×4', run: () => M.regionPerturbation(input, { order: 'random' }) },
    { ids: ['insertion-blur'], sizes: '50 steps', run: () => M.insertionDeletion(input, { mode: 'insertion', baseline: 'blur' }) },
    { ids: ['insertion-constant'], sizes: '50 steps', run: () => M.insertionDeletion(input, { mode: 'insertion', baseline: 'constant' }) },
    { ids: ['deletion-blur'], sizes: '50 steps', run: () => M.insertionDeletion(input, { mode: 'deletion', baseline: 'blur' }) },
    { ids: ['deletion-constant'], sizes: '50 steps', run: () => M.insertionDeletion(input, { mode: 'deletion', baseline: 'constant' }) },
    { ids: ['monotonicity'], sizes: '16 steps', run: () => M.monotonicity(input) },
    { ids: ['infidelity'], sizes: '50 perturbations, σ = 0.03', run: () => M.infidelity(input) },
    { ids: ['irof'], sizes: '100 SLIC superpixels', run: () => M.irof(input) },
    { ids: ['max-sensitivity', 'avg-sensitivity'], sizes: '50 perturbations, re-explained (one pass for both)', run: () => M.sensitivity(input) },
    { ids: ['local-lipschitz'], sizes: '50 neighbours, re-explained', run: () => M.localLipschitz(input) },
    { ids: ['mprt-cascading-*'], sizes: '5 layers, 4 similarities', run: () => M.modelParameterRandomization(model, method, { cascading: cascade }, images, targets) },
    { ids: ['mprt-independent-*'], sizes: '5 layers, 4 similarities', run: () => M.modelParameterRandomization(model, method, { independent }, images, targets) },
    { ids: ['random-logit'], sizes: '1 extra map', run: () => M.randomLogit(input) },
    { ids: ['sparseness'], sizes: '', run: () => M.sparseness(input) },
    { ids: ['complexity'], sizes: '', run: () => M.complexity(input) },
    { ids: ['effective-complexity'], sizes: '', run: () => M.effectiveComplexity(input) },
    { ids: ['pointing-game'], sizes: '', run: () => M.pointingGame(input) },
    { ids: ['relevance-mass'], sizes: '', run: () => M.relevanceMass(input) },
    { ids: ['relevance-rank'], sizes: '', run: () => M.relevanceRank(input) },
    { ids: ['top-k-intersection'], sizes: 'k = 5 % of the pixels', run: () => M.topKIntersection(input) },
    { ids: ['attribution-localization'], sizes: '', run: () => M.attributionLocalization(input) },
    { ids: ['road (existing stage)'], sizes: '5 fractions × MoRF and LeRF, noisy linear imputation', run: () => M.road(model, [explainer], images, targets) },
  ];
  const rows: MetricTiming[] = [];
  for (const j of jobs) {
    const c = process.cpuUsage();
    const t = performance.now();
    await j.run();
    const seconds = (performance.now() - t) / 1000;
    const cu = process.cpuUsage(c);
    const info = M.METRICS.find((m) => m.id === j.ids[0]!.replace('-*', '-spearman'));
    for (const id of j.ids) {
      rows.push({ id, family: info?.family ?? 'faithfulness', direction: info ? M.directionArrow(info.direction) : '↓/↑', sizes: j.sizes, seconds: seconds / args.images, cpuSeconds: (cu.user + cu.system) / 1e6 / args.images });
    }
    process.stderr.write(`bench metrics: ${j.ids.join(', ')}: ${(seconds / args.images).toFixed(4)} s/image\n`);
  }
  await model.dispose();
  return { images: args.images, model: shipped ? 'models/mnist-simplecnn.onnx' : 'a random-weight SimpleCNN (the shipped model was missing)', mapSeconds: mapSeconds / args.images, rows };
}

const fmt = (s: number): string => (s >= 0.1 ? s.toFixed(2) : s >= 0.001 ? s.toFixed(4) : s.toExponential(1));

export const suite: Suite = {
  name: 'metrics',
  async run({ quick }) {
    const images = quick ? 16 : 64;
    const load0 = os.loadavg()[0]!;
    const { result: r, peakRssMiB } = await runIsolated<MeasureMetricsResult>(import.meta.url, 'measureMetrics', { images });
    const load1 = os.loadavg()[0]!;
    const table: BenchTable = {
      title: `Explanation metrics: seconds per image (MNIST, vanilla gradient, node cpu 1 thread, ${images} images)`,
      notes:
        `Model: ${r.model}; ${images} MNIST test images (balanced over classes), their labels as targets; each metric's library defaults (the sizes column). ` +
        `The vanilla-gradient maps of the images are computed once beforehand (${fmt(r.mapSeconds)} s/image, not in the rows); rows include every further model ` +
        `call and re-explanation the metric makes. Reference: Quantus' ROAD ≈ ${QUANTUS_ROAD_SECONDS} s per image (the issue); the target is ≥ 10× faster per image, ` +
        `i.e. ≤ ${QUANTUS_ROAD_SECONDS / 10} s. One process (peak RSS ${peakRssMiB.toFixed(0)} MiB); 1-min load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end, ` +
        `on ${os.cpus().length} cores: wall seconds grow with the machine's other load, CPU seconds (user + system of the process) less so.`,
      columns: ['metric', 'family', 'better', 'sizes', 's/image (wall)', 's/image (CPU)', `× faster than Quantus ROAD (${QUANTUS_ROAD_SECONDS} s)`],
      rows: r.rows.map((x) => [x.id, x.family, x.direction, x.sizes, fmt(x.seconds), fmt(x.cpuSeconds), `${(QUANTUS_ROAD_SECONDS / Math.max(x.seconds, 1e-9)).toFixed(0)}×`]),
    };
    return { suite: 'metrics', tables: [table] };
  },
};
