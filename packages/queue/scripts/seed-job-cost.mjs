#!/usr/bin/env node
// Measures what one seed-scale ROAR/KAR retraining job costs: the full-size SimpleCNN (the trainer's own widths)
// retrained the way a `whitebox worker` runs a job (simpleCnnRetrainer, one worker thread, batch 64, the run's
// training options), evaluated on the whole test set. It trains `--train N` images for 1 and for 2 epochs; the
// difference is the cost of one epoch of N images, the rest (thread and tfjs start-up, export, the test set's
// forward pass) is the per-job fixed cost. Both are extrapolated linearly to the full training set and the seed's
// 100 epochs. Wall and CPU seconds (process.cpuUsage covers the training thread): on a shared machine the CPU
// seconds are the better estimate of what an idle core takes.
//
//   node packages/queue/scripts/seed-job-cost.mjs --dataset cifar10 --train 5000 [--epochs 100] [--full-train 50000]
//
// Needs `pnpm build` (imports the built packages). CIFAR-10 from $WHITEBOX_CIFAR10_DIR.
import { loadCifar10, loadMnist, subset } from '@whitebox/datasets';
import { simpleCnnRetrainer } from '@whitebox/metrics';
import os from 'node:os';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const dataset = arg('dataset', 'cifar10');
const n = Number(arg('train', '5000'));
const seedEpochs = Number(arg('epochs', '100'));

const data = dataset === 'mnist' ? loadMnist() : await loadCifar10({ download: false });
const fullTrain = Number(arg('full-train', String(data.train.count)));
// Every class in the subset (a contiguous prefix of a shuffled split is close enough; the cost does not depend on labels).
const train = subset(data.train, Array.from({ length: Math.min(n, data.train.count) }, (_, i) => i), `${data.train.name}-first${n}`);
const test = data.test;
const training = { batchSize: 64 }; // what `whitebox run --scale seed` sends: epochs, batch 64, the trainer's default widths

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const runs = [];
for (const epochs of [1, 2]) {
  const t0 = performance.now();
  const c0 = cpu();
  const out = await simpleCnnRetrainer({ ...training, epochs, workers: 1 }).retrainWithModel(train, test, 0);
  runs.push({ epochs, wall: (performance.now() - t0) / 1000, cpu: cpu() - c0, accuracy: out.accuracy });
  process.stderr.write(`${dataset}: ${train.count} train images, ${epochs} epoch(s): ${runs.at(-1).wall.toFixed(1)} s wall, ${runs.at(-1).cpu.toFixed(1)} s CPU, test accuracy ${out.accuracy.toFixed(4)} on ${test.count}\n`);
}
const per = (k) => {
  const epoch = runs[1][k] - runs[0][k];
  const fixed = runs[0][k] - epoch;
  const perImage = epoch / train.count;
  return { epochSeconds: epoch, fixedSeconds: fixed, imagesPerSecond: 1 / perImage, fullEpochSeconds: perImage * fullTrain, jobSeconds: fixed + seedEpochs * perImage * fullTrain };
};
const result = {
  dataset, trainImages: train.count, fullTrainImages: fullTrain, testImages: test.count, seedEpochs, runs,
  wall: per('wall'), cpu: per('cpu'),
  host: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, loadavg: os.loadavg().map((x) => +x.toFixed(1)), node: process.version },
  date: new Date().toISOString(),
};
console.log(JSON.stringify(result, null, 2));
