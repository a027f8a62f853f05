// Computes WhiteBox CAM maps on the shipped models for the PyTorch parity check (cam-parity.py reads them).
// Usage: node packages/cli/scripts/cam-parity-maps.mjs <out-dir>   (after pnpm build; CIFAR-10 from WHITEBOX_CIFAR10_DIR)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '@whitebox/backend-node';
import { loadCifar10, loadMnist, toTensor } from '@whitebox/datasets';
import { loadModel } from '@whitebox/onnx';
import { GradCam } from '@whitebox/grad-cam';
import { GradCamPlusPlus } from '@whitebox/grad-cam-plus-plus';
import { XGradCam } from '@whitebox/xgrad-cam';
import { HiResCam } from '@whitebox/hires-cam';
import { LayerCam } from '@whitebox/layer-cam';
import { ScoreCam } from '@whitebox/score-cam';
import { AblationCam } from '@whitebox/ablation-cam';
import { EigenCam } from '@whitebox/eigen-cam';

const out = process.argv[2] ?? 'parity-out';
mkdirSync(out, { recursive: true });
/** Each config: WhiteBox method and options; parity.py runs the pytorch-grad-cam class with the same settings. */
const CONFIGS = [
  ['GradCAM', (m) => new GradCam(m), { normalize: true }],
  ['GradCAMPlusPlus', (m) => new GradCamPlusPlus(m), {}],
  ['XGradCAM', (m) => new XGradCam(m), {}],
  ['HiResCAM', (m) => new HiResCam(m), {}],
  ['LayerCAM', (m) => new LayerCam(m), {}],
  ['LayerCAM:relu2+relu3', (m) => new LayerCam(m), { layers: ['relu2', 'relu3'] }],
  ['ScoreCAM', (m) => new ScoreCam(m), {}],
  ['AblationCAM', (m) => new AblationCam(m), {}],
  ['EigenCAM', (m) => new EigenCam(m), {}],
  ['EigenGradCAM', (m) => new EigenCam(m), { withGradient: true }],
  ['GradCAMPlusPlus:eigen_smooth', (m) => new GradCamPlusPlus(m), { eigenSmooth: true }],
  ['GradCAM:aug_smooth', (m) => new GradCam(m), { normalize: true, augSmooth: true }],
  ['XGradCAM:aug_smooth+eigen_smooth', (m) => new XGradCam(m), { augSmooth: true, eigenSmooth: true }],
];
const manifest = { models: [] };
for (const [name, file, load] of [
  ['mnist', 'models/mnist-simplecnn.onnx', () => loadMnist({ trainLimit: 0, testLimit: 8 }).test],
  ['cifar10', 'models/cifar10-simplecnn.onnx', async () => (await loadCifar10({ trainLimit: 0, testLimit: 8 })).test],
]) {
  const model = await loadModel(file, { backend: 'node', threads: 2 });
  const test = await load();
  const x = toTensor(test, 0, 8);
  const targets = Array.from((await model.forward(x)).predictions);
  writeFileSync(join(out, `${name}.input.f32`), Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength));
  const entry = { name, file, dims: x.dims, targets, layer: model.defaultCamLayer, maps: {} };
  for (const [id, make, opts] of CONFIGS) {
    const t0 = performance.now();
    const maps = await make(model).attribute(x, targets, opts);
    const f = `${name}.${id.replace(/[^A-Za-z0-9_+-]/g, '_')}.f32`;
    writeFileSync(join(out, f), Buffer.from(maps.data.buffer, maps.data.byteOffset, maps.data.byteLength));
    entry.maps[id] = { file: f, dims: maps.dims, options: opts, seconds: (performance.now() - t0) / 1000 };
    process.stderr.write(`${name} ${id}: ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  }
  manifest.models.push(entry);
  await model.dispose();
}
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
