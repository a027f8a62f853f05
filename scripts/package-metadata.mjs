#!/usr/bin/env node
// Writes the npm metadata every published @whitebox/* package carries (repository, homepage, bugs, engines,
// license, publishConfig, files with LICENSE, exports with types first, sideEffects) and copies the root LICENSE
// into each package. Descriptions and keywords are per package (below). `node scripts/package-metadata.mjs`
// rewrites the package.json files; `--check` only reports what differs (packages/core/test/metadata.test.ts
// checks the same things).
import { copyFileSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_URL = 'git+https://github.com/whitebox-xai/whitebox.git';
export const HOMEPAGE = 'https://github.com/whitebox-xai/whitebox';
export const BUGS = 'https://github.com/whitebox-xai/whitebox/issues';
export const ENGINES = { node: '>=20.19' };
const COMMON = ['whitebox', 'explainable-ai', 'xai', 'onnx', 'interpretability'];
const METHOD = [...COMMON, 'attribution', 'saliency-map', 'image-classification'];
const CAM = [...METHOD, 'cam', 'class-activation-map', 'grad-cam'];

/**
 * Per package: description, extra keywords, and the modules with import-time side effects (undefined: none,
 * `sideEffects: false`). The metadata test checks the side-effect list against the compiled modules.
 */
export const PACKAGES = {
  core: { description: 'Tensors, the backend, model and attribution interfaces, seeded RNG, batching and map post-processing shared by every WhiteBox package', keywords: [...COMMON, 'tensor', 'attribution'] },
  onnx: { description: 'ONNX model loading, graph building, shape inference and gradient-graph export (reverse-mode differentiation of ONNX models) for WhiteBox explanations', keywords: [...COMMON, 'onnxruntime', 'autodiff', 'gradient', 'reverse-mode'], sideEffects: ['./dist/ops/*.js'] },
  'backend-node': { description: 'WhiteBox backend on onnxruntime-node (CPU, CUDA); importing it registers the "node" backend', keywords: [...COMMON, 'onnxruntime', 'onnxruntime-node', 'cuda'], sideEffects: ['./dist/index.js'] },
  'backend-web': { description: 'WhiteBox backend on onnxruntime-web (WebAssembly, WebGPU) for browsers and Node; importing it registers the "web" backend', keywords: [...COMMON, 'onnxruntime', 'onnxruntime-web', 'webassembly', 'webgpu', 'browser'], sideEffects: ['./dist/index.js'] },
  'vanilla-gradient': { description: 'Vanilla gradient saliency maps (Simonyan et al. 2013) for ONNX image classifiers', keywords: [...METHOD, 'gradient', 'saliency'] },
  'input-x-gradient': { description: 'Input × Gradient attributions (Shrikumar et al. 2016) for ONNX image classifiers', keywords: [...METHOD, 'input-x-gradient', 'gradient'] },
  deconvnet: { description: 'Deconvnet attributions (Zeiler & Fergus 2014): gradients with the ReLU rule applied to the upstream signal, for ONNX image classifiers', keywords: [...METHOD, 'deconvnet', 'deconvolution'] },
  'guided-backprop': { description: 'Guided Backpropagation attributions (Springenberg et al. 2015) for ONNX image classifiers', keywords: [...METHOD, 'guided-backprop', 'guided-backpropagation'] },
  'integrated-gradients': { description: 'Integrated Gradients attributions (Sundararajan et al. 2017) with baselines and completeness delta, for ONNX image classifiers', keywords: [...METHOD, 'integrated-gradients', 'axiomatic-attribution'] },
  'grad-cam': { description: 'Grad-CAM class activation maps (Selvaraju et al. 2017) for ONNX CNNs and Vision Transformers', keywords: CAM },
  'guided-grad-cam': { description: 'Guided Grad-CAM: Grad-CAM upsampled and multiplied by Guided Backpropagation, for ONNX image classifiers', keywords: [...CAM, 'guided-grad-cam', 'guided-backprop'] },
  smoothgrad: { description: 'SmoothGrad, SmoothGrad² and VarGrad: noise-averaged ensembles around any WhiteBox attribution method', keywords: [...METHOD, 'smoothgrad', 'vargrad', 'noise-tunnel'] },
  'grad-cam-plus-plus': { description: 'Grad-CAM++ class activation maps (Chattopadhyay et al. 2018, pytorch-grad-cam definition) for ONNX image classifiers', keywords: [...CAM, 'grad-cam-plus-plus'] },
  'xgrad-cam': { description: 'XGrad-CAM class activation maps (Fu et al. 2020, pytorch-grad-cam definition) for ONNX image classifiers', keywords: [...CAM, 'xgrad-cam'] },
  'hires-cam': { description: 'HiResCAM class activation maps (Draelos & Carin 2020): gradient ⊙ activation summed over channels, for ONNX image classifiers', keywords: [...CAM, 'hires-cam'] },
  'layer-cam': { description: 'Layer-CAM class activation maps (Jiang et al. 2021), one or several layers fused, for ONNX image classifiers', keywords: [...CAM, 'layer-cam'] },
  'score-cam': { description: 'Score-CAM class activation maps (Wang et al. 2020): gradient-free, channel weights from masked forward passes, for ONNX image classifiers', keywords: [...CAM, 'score-cam', 'gradient-free'] },
  'ablation-cam': { description: 'Ablation-CAM class activation maps (Desai & Ramaswamy 2020): channel weights from ablating each channel, for ONNX image classifiers', keywords: [...CAM, 'ablation-cam', 'gradient-free'] },
  'eigen-cam': { description: 'Eigen-CAM (Muhammad & Yeasin 2020): the first principal component of a layer\'s activations, class-agnostic, for ONNX image classifiers', keywords: [...CAM, 'eigen-cam', 'pca'] },
  occlusion: { description: 'Occlusion attributions (Zeiler & Fergus 2014, Captum definition): sliding-window score drops, for ONNX image classifiers', keywords: [...METHOD, 'occlusion', 'perturbation', 'gradient-free'] },
  'cam-utils': { description: 'What the WhiteBox CAM methods share: layer resolution, ViT token grids, ReLU/upsampling/normalization, augSmooth and eigenSmooth', keywords: [...CAM, 'vision-transformer'] },
  visualize: { description: 'Saliency maps to pictures: colormaps, heat-map overlays on images and PNG grids, in pure TypeScript', keywords: [...COMMON, 'visualization', 'heatmap', 'colormap', 'png', 'overlay'] },
  datasets: { description: 'MNIST, CIFAR-10 and a seeded MNIST localization benchmark for WhiteBox: loaders, checksummed downloader with cache, the Dataset type', keywords: [...COMMON, 'dataset', 'mnist', 'cifar-10', 'localization'] },
  train: { description: 'Train the WhiteBox SimpleCNN with tfjs on the WebAssembly backend and export it to ONNX (ROAR/KAR retraining)', keywords: [...COMMON, 'training', 'tfjs', 'cnn', 'roar'], sideEffects: ['./dist/kernels.js', './dist/worker.js'] },
  metrics: { description: 'Evaluate attribution methods: coherence, selectivity, ROAR, KAR, ROAD, sanity checks and Quantus-style faithfulness, robustness, randomization, complexity and localization metrics, with an HTML report', keywords: [...COMMON, 'evaluation', 'metrics', 'roar', 'faithfulness', 'quantus'] },
  queue: { description: 'Run WhiteBox ROAR/KAR retrainings and dataset-scale map shards as BullMQ jobs on Redis, with a content-addressed payload store', keywords: [...COMMON, 'bullmq', 'redis', 'job-queue', 'distributed'] },
  cli: { description: 'The whitebox command line: explain ONNX image classifiers with saliency maps, export gradient graphs, evaluate methods and write reports', keywords: [...COMMON, 'cli', 'command-line', 'saliency-map', 'grad-cam'], sideEffects: ['./dist/bin.js', './dist/commands/*.js'] },
};

/** The published packages' directory names (not private), sorted. */
export function publishedPackages() {
  return readdirSync(join(root, 'packages')).filter((d) => {
    const f = join(root, 'packages', d, 'package.json');
    return existsSync(f) && !JSON.parse(readFileSync(f, 'utf8')).private;
  }).sort();
}

/** The package.json `dir` should have (key order kept; new fields inserted after `license`). */
export function expected(dir, pkg) {
  const spec = PACKAGES[dir];
  if (!spec) throw new Error(`scripts/package-metadata.mjs: no description/keywords for packages/${dir}`);
  const want = {
    description: spec.description,
    keywords: spec.keywords,
    license: 'MIT',
    author: 'WhiteBox contributors',
    homepage: `${HOMEPAGE}/tree/main/packages/${dir}#readme`,
    bugs: { url: BUGS },
    repository: { type: 'git', url: REPO_URL, directory: `packages/${dir}` },
    engines: ENGINES,
    sideEffects: spec.sideEffects ?? false,
    publishConfig: { access: 'public' },
    files: [...new Set([...(pkg.files ?? ['dist']), 'README.md', 'LICENSE'])],
  };
  const out = {};
  for (const [k, v] of Object.entries(pkg)) {
    if (k in want) continue;
    out[k] = v;
    if (k === 'version') Object.assign(out, { description: want.description, keywords: want.keywords, license: want.license, author: want.author, homepage: want.homepage, bugs: want.bugs, repository: want.repository });
    if (k === 'type') Object.assign(out, { engines: want.engines, sideEffects: want.sideEffects });
  }
  for (const k of Object.keys(want)) if (!(k in out) && k !== 'files' && k !== 'publishConfig') out[k] = want[k];
  // files and publishConfig before scripts
  const final = {};
  for (const [k, v] of Object.entries(out)) {
    if (k === 'scripts') { final.files = want.files; final.publishConfig = want.publishConfig; }
    final[k] = v;
  }
  if (!final.files) { final.files = want.files; final.publishConfig = want.publishConfig; }
  // exports: types first, and package.json readable.
  const exp = {};
  for (const [sub, target] of Object.entries(final.exports ?? { '.': { types: './dist/index.d.ts', default: './dist/index.js' } })) {
    exp[sub] = typeof target === 'string' ? target : { types: target.types, ...target };
  }
  exp['./package.json'] = './package.json';
  final.exports = exp;
  return final;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  const license = readFileSync(join(root, 'LICENSE'));
  let bad = 0;
  for (const dir of publishedPackages()) {
    const file = join(root, 'packages', dir, 'package.json');
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    const text = JSON.stringify(expected(dir, pkg), null, 2) + '\n';
    const licFile = join(root, 'packages', dir, 'LICENSE');
    const licOk = existsSync(licFile) && readFileSync(licFile).equals(license);
    if (check) {
      if (text !== readFileSync(file, 'utf8')) { console.log(`packages/${dir}/package.json differs`); bad++; }
      if (!licOk) { console.log(`packages/${dir}/LICENSE missing or not the root LICENSE`); bad++; }
    } else {
      writeFileSync(file, text);
      if (!licOk) copyFileSync(join(root, 'LICENSE'), licFile);
    }
  }
  if (bad) process.exit(1);
}
