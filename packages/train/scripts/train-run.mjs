// Background training runner: node packages/train/scripts/train-run.mjs <mnist|cifar10> <epochs> [lr] [batch]
// Checkpoints in $WHITEBOX_CHECKPOINT_DIR or models/.checkpoints/<dataset>; resumes when restarted.
// CIFAR-10 across sessions (the shipped model was trained so, its checkpoints committed until training finished): WHITEBOX_CHECKPOINT_DIR=<dir> WHITEBOX_CIFAR10_DIR=../shared/data/cifar10 node packages/train/scripts/train-run.mjs cifar10 30
import { loadMnist, loadCifar10Dir } from '@whitebox/datasets';
import { trainSimpleCNN } from '@whitebox/train';
const [dataset = 'mnist', epochsArg = '6', lrArg, bsArg] = process.argv.slice(2);
const epochs = Number(epochsArg);
const mnist = dataset === 'mnist';
const { train } = mnist ? loadMnist() : loadCifar10Dir(process.env.WHITEBOX_CIFAR10_DIR ?? '/work/shared/data/cifar10');
const dir = process.env.WHITEBOX_CHECKPOINT_DIR ?? new URL(`../../../models/.checkpoints/${dataset}`, import.meta.url).pathname;
const t0 = Date.now();
let last = 0;
await trainSimpleCNN(train, {
  epochs,
  batchSize: Number(bsArg ?? 128),
  lr: Number(lrArg ?? (mnist ? 0.05 : 0.05)),
  schedule: 'cosine',
  warmupEpochs: mnist ? 0.5 : 1,
  momentum: 0.9,
  weightDecay: 5e-4,
  seed: 1,
  augment: mnist ? false : true,
  validationFraction: mnist ? 5000 / 60000 : 5000 / 50000,
  checkpointDir: dir,
  resume: true,
  onProgress: (p) => {
    const now = Date.now();
    if (now - last > 30000) {
      last = now;
      const el = (now - t0) / 1000;
      console.log(`[${new Date().toISOString()}] ${p.stage} ${p.done}/${p.total} elapsed ${el.toFixed(0)}s`);
    }
  },
  onEpoch: (r) => console.log(`[${new Date().toISOString()}] EPOCH ${JSON.stringify(r)}`),
});
console.log(`[${new Date().toISOString()}] DONE`);
