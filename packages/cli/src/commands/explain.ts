import * as fs from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import '@whitebox/backend-node';
import { type BackendName, type Device, DEVICES, LIMITS, type Model, Tensor, WhiteBoxError, concatBatch, readFileCapped } from '@whitebox/core';
import { type Dataset, loadCifar10, loadMnist, toTensor } from '@whitebox/datasets';
import { loadModel } from '@whitebox/onnx';
import { COLORMAPS, type ColormapName, encodePng, imageToRgba, mapToRgba, overlay, pngToTensor, saliencyGrid, scaleNearest } from '@whitebox/visualize';
import { progressBar } from '../progress.js';
import { parseSmoothGrad, resolveMethods } from '../methods.js';
import { enumOption, ensureOutDir, intOption, nonEmptyOption, numberOption, outDirOption, targetOption, usageError, validatedOption, writeOutputFile } from '../options.js';

export interface ExplainOptions {
  model: string;
  /** PNG files (alternative to dataset + index). */
  input?: string[];
  dataset?: 'mnist' | 'cifar10';
  /** '0..9', '3', '1,5,7' */
  index?: string;
  dataDir?: string;
  methods?: string;
  /** A class index for every input; default: each input's predicted class. 'label' uses dataset labels. */
  target?: string;
  /** 'n,sigma' */
  smoothgrad?: string;
  out: string;
  backend?: BackendName;
  device?: Device;
  threads?: number;
  batchSize?: number;
  steps?: number;
  layer?: string;
  /** Occlusion window side and stride, pixels. */
  window?: number;
  stride?: number;
  colormap?: ColormapName;
  /** Overlay maps on the input in the per-map PNGs with this alpha (default 0.5; 0 = map only). */
  alpha?: number;
  quiet?: boolean;
}

export interface ExplainResult {
  outDir: string;
  files: string[];
  predictions: PredictionsJson;
}

interface PredictionsJson {
  model: string;
  backend: string;
  device: string;
  classes: string[];
  methods: { id: string; description: string; seconds: number; file: string[] }[];
  items: { source: string; label?: number; prediction: number; probability: number; probabilities: number[]; target: number }[];
  grid: string;
}

/** Parses '0..9', '3', '1,5,7' (and combinations '0..3,8') into indices. */
export function parseIndices(spec: string, count: number): number[] {
  const out: number[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:\.\.(\d+))?$/.exec(part);
    if (!m) throw new WhiteBoxError('INVALID_ARGUMENT', `--index expects 'a..b', 'n' or a comma list, got '${spec}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new WhiteBoxError('INVALID_ARGUMENT', `--index range '${part}' is empty (end before start)`);
    for (let i = a; i <= b; i++) {
      if (i >= count) throw new WhiteBoxError('INVALID_ARGUMENT', `--index ${i} is outside the test set (${count} images)`, { index: i, count });
      out.push(i);
    }
  }
  if (out.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `--index '${spec}' selects no images`);
  return out;
}

function maxIndex(spec: string): number {
  return Math.max(...(spec.match(/\d+/g) ?? ['0']).map(Number));
}

async function loadInputs(model: Model, o: ExplainOptions): Promise<{ x: Tensor; sources: string[]; labels?: number[]; classes?: string[] }> {
  const [, c, h, w] = model.inputShape as [null, number, number, number];
  if (o.input?.length) {
    if (o.dataset) throw new WhiteBoxError('INVALID_ARGUMENT', 'give either --input files or --dataset with --index, not both');
    const parts: Tensor[] = [];
    for (const file of o.input) {
      // A PNG file is at most 64 MiB; its pixel count is checked from the header before decoding.
      const bytes = readFileCapped(fs, file, { maxBytes: 64 << 20, what: 'input image' });
      parts.push(await pngToTensor(bytes, { channels: c, height: h, width: w }, file));
    }
    return { x: concatBatch(parts), sources: o.input };
  }
  if (!o.dataset) throw new WhiteBoxError('INVALID_ARGUMENT', 'nothing to explain: give --input <file.png> or --dataset mnist|cifar10 with --index');
  const spec = o.index ?? '0';
  let ds: Dataset;
  if (o.dataset === 'mnist') ds = loadMnist({ dir: o.dataDir, trainLimit: 0, testLimit: maxIndex(spec) + 1 }).test;
  else if (o.dataset === 'cifar10') ds = (await loadCifar10({ dir: o.dataDir, trainLimit: 0, testLimit: maxIndex(spec) + 1 })).test;
  else throw new WhiteBoxError('INVALID_ARGUMENT', `unknown dataset '${String(o.dataset)}' (known: mnist, cifar10)`);
  if (ds.channels !== c || ds.height !== h || ds.width !== w) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `dataset ${o.dataset} images are [${ds.channels}, ${ds.height}, ${ds.width}] but the model ${o.model} takes [${c}, ${h}, ${w}]`, { file: o.model });
  }
  const idx = parseIndices(spec, ds.count);
  const x = concatBatch(idx.map((i) => toTensor(ds, i, i + 1)));
  return { x, sources: idx.map((i) => `${o.dataset}-test#${i}`), labels: idx.map((i) => ds.labels[i]!), classes: ds.classes };
}

/** `whitebox explain` as a function (the command wraps it). */
export async function explain(o: ExplainOptions): Promise<ExplainResult> {
  const colormap = o.colormap ?? 'inferno';
  if (!COLORMAPS.includes(colormap)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown colormap '${colormap}' (known: ${COLORMAPS.join(', ')})`);
  const alpha = o.alpha ?? 0.5;
  if (!(typeof alpha === 'number' && alpha >= 0 && alpha <= 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `--alpha must be a number in [0, 1], got ${o.alpha}`);
  const methods = resolveMethods(o.methods ?? 'all', { smoothgrad: o.smoothgrad ? parseSmoothGrad(o.smoothgrad) : undefined });
  if (o.backend === 'web') await import('@whitebox/backend-web');
  const model = await loadModel(o.model, { backend: o.backend, device: o.device, threads: o.threads });
  try {
    const { x, sources, labels, classes } = await loadInputs(model, o);
    const n = x.batchSize;
    const fwd = await model.forward(x);
    let targets: number[];
    if (o.target === undefined || o.target === 'predicted') targets = Array.from(fwd.predictions);
    else if (o.target === 'label') {
      if (!labels) throw new WhiteBoxError('INVALID_ARGUMENT', "--target label needs --dataset (PNG inputs have no labels)");
      targets = labels;
    } else {
      const t = Number(o.target);
      if (!Number.isInteger(t) || t < 0 || t >= model.numClasses) {
        throw new WhiteBoxError('TARGET_OUT_OF_RANGE', `--target ${o.target} is out of range: the model has ${model.numClasses} classes (0..${model.numClasses - 1}); or use 'predicted' / 'label'`);
      }
      targets = Array(n).fill(t);
    }
    ensureOutDir(o.out, '--out');
    const files: string[] = [];
    const write = (name: string, bytes: Uint8Array | string) => {
      const p = join(o.out, name);
      writeOutputFile(p, bytes);
      files.push(p);
      return name;
    };
    const [, , h, w] = x.dims as [number, number, number, number];
    const scale = Math.max(1, Math.ceil(112 / Math.max(h, w)));
    const stem = (s: string) => basename(s).replace(/\.png$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_');
    for (let b = 0; b < n; b++) write(`${String(b).padStart(2, '0')}-${stem(sources[b]!)}-input.png`, await encodePng(scaleNearest(imageToRgba(x.item(b)), scale)));
    const columns: { name: string; maps: Tensor }[] = [];
    const methodInfo: PredictionsJson['methods'] = [];
    for (const m of methods) {
      const bar = o.quiet ? undefined : progressBar(`explain ${m.id}`);
      const t0 = performance.now();
      const attribution = m.factory(model);
      const extra = {
        ...(o.steps !== undefined ? { steps: o.steps } : {}), ...(o.layer !== undefined ? { layer: o.layer } : {}),
        ...(o.window !== undefined ? { window: o.window } : {}), ...(o.stride !== undefined ? { stride: o.stride } : {}),
      };
      const maps = await attribution.attribute(x, targets, { batchSize: o.batchSize, onProgress: bar?.update, ...extra, baseOptions: extra });
      bar?.stop();
      const seconds = (performance.now() - t0) / 1000;
      columns.push({ name: m.id, maps });
      const mfiles: string[] = [];
      for (let b = 0; b < n; b++) {
        let img = mapToRgba(maps.item(b), { colormap });
        if (alpha > 0) img = overlay(imageToRgba(x.item(b)), img, alpha);
        mfiles.push(write(`${String(b).padStart(2, '0')}-${stem(sources[b]!)}-${m.id.replace('/', '-')}.png`, await encodePng(scaleNearest(img, scale))));
      }
      methodInfo.push({ id: m.id, description: m.description, seconds: +seconds.toFixed(3), file: mfiles });
    }
    const grid = write('grid.png', await encodePng(saliencyGrid(x, columns, { colormap, labels: true })));
    const k = model.numClasses;
    const predictions: PredictionsJson = {
      model: o.model,
      backend: model.backendName,
      device: model.executionProvider,
      classes: classes ?? Array.from({ length: k }, (_, i) => String(i)),
      methods: methodInfo,
      items: sources.map((source, b) => ({
        source,
        ...(labels ? { label: labels[b]! } : {}),
        prediction: fwd.predictions[b]!,
        probability: +fwd.probabilities.data[b * k + fwd.predictions[b]!]!.toFixed(6),
        probabilities: Array.from(fwd.probabilities.data.subarray(b * k, (b + 1) * k), (v) => +v.toFixed(6)),
        target: targets[b]!,
      })),
      grid,
    };
    write('predictions.json', JSON.stringify(predictions, null, 2) + '\n');
    return { outDir: o.out, files, predictions };
  } finally {
    await model.dispose();
  }
}

/** Registers `whitebox explain`. */
export function register(program: Command): void {
  program
    .command('explain')
    .description('Explain predictions: saliency maps as PNGs (one per image and method, plus a grid) and predictions.json')
    .requiredOption('--model <file>', 'ONNX image classifier (pixels in [0, 1], NCHW)', nonEmptyOption('--model'))
    .option('--input <files...>', 'PNG image(s), resized to the model input')
    .option('--dataset <name>', 'mnist | cifar10 (test split)', enumOption('--dataset', ['mnist', 'cifar10'] as const))
    .option('--index <spec>', "test-set indices: '0..9', '3' or '1,5,7'", (v: string) => { if (!/^\s*\d+(\.\.\d+)?(\s*,\s*\d+(\.\.\d+)?)*\s*$/.test(v)) throw usageError(`--index expects 'a..b', 'n' or a comma list, got '${v}'`); return v; }, '0')
    .option('--data-dir <dir>', 'dataset directory (IDX files / CIFAR-10 binary batches)')
    .option('--methods <list>', "'all' (the seven gradient methods), 'cam' (the CAM family and occlusion) or comma-separated method ids (score-cam, vargrad, smoothgrad-squared/guided-backprop, ...)", validatedOption((v) => { resolveMethods(v); return v; }), 'all')
    .option('--target <class>', "class to explain: a class index, 'predicted' (default) or 'label'", targetOption('--target'))
    .option('--smoothgrad <n,sigma>', 'wrap every method in SmoothGrad with n samples and noise σ (fraction of max − min)', validatedOption((v) => { parseSmoothGrad(v); return v; }))
    .option('--steps <n>', 'integrated-gradients steps (default 50)', intOption('--steps', { max: LIMITS.integratedGradientsSteps, maxWhy: 'the integrated-gradients step limit' }))
    .option('--layer <name>', 'layer of the CAM methods (default: the last conv block)', nonEmptyOption('--layer'))
    .option('--window <n>', 'occlusion: window side in pixels (default 4)', intOption('--window'))
    .option('--stride <n>', 'occlusion: window stride in pixels (default 2)', intOption('--stride'))
    .option('--colormap <name>', `${COLORMAPS.join(' | ')}`, enumOption('--colormap', COLORMAPS), 'inferno')
    .option('--alpha <a>', 'overlay alpha of maps on the input in the per-map PNGs (0 = map only)', numberOption('--alpha', { min: 0, max: 1 }), 0.5)
    .option('--out <dir>', 'output directory', outDirOption('--out'), 'maps')
    .option('--backend <name>', 'node | web', enumOption('--backend', ['node', 'web'] as const), 'node')
    .option('--device <device>', 'cpu | cuda (node), wasm (web)', enumOption('--device', DEVICES))
    .option('--threads <n>', 'intra-op threads', intOption('--threads', { max: LIMITS.threads, maxWhy: 'the documented thread limit' }))
    .option('--batch-size <n>', 'largest batch per runtime call', intOption('--batch-size', { max: LIMITS.batchSize }))
    .action(async (opts: ExplainOptions) => {
      const r = await explain(opts);
      const lines = r.predictions.items.map((it) => `${it.source}: predicted ${r.predictions.classes[it.prediction]} (p = ${it.probability.toFixed(3)})${it.label !== undefined ? `, label ${r.predictions.classes[it.label]}` : ''}`);
      process.stdout.write(`${lines.join('\n')}\nwrote ${r.files.length} files to ${r.outDir} (grid: ${join(r.outDir, r.predictions.grid)})\n`);
    });
}
