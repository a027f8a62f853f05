/**
 * Every CAM-family method on the shipped MNIST and CIFAR-10 models (default layer) and on a residual model at a
 * non-default layer (r2, inside the residual block: Ablation-CAM's cut needs the skip), on backend-node (CPU) and
 * backend-web (WebAssembly): maps [N, 1, H, W], finite, not constant, and the two backends agree within 1e-5 of the
 * map's largest magnitude.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import '@whitebox/backend-web';
import type { Attribution, Model, Tensor } from '@whitebox/core';
import { AblationCam } from '@whitebox/ablation-cam';
import { EigenCam } from '@whitebox/eigen-cam';
import { GradCam } from '@whitebox/grad-cam';
import { GradCamPlusPlus } from '@whitebox/grad-cam-plus-plus';
import { HiResCam } from '@whitebox/hires-cam';
import { LayerCam } from '@whitebox/layer-cam';
import { Occlusion } from '@whitebox/occlusion';
import { loadModel, randomImages } from '@whitebox/onnx';
import { ScoreCam } from '@whitebox/score-cam';
import { XGradCam } from '@whitebox/xgrad-cam';
import { residualModel } from './fixtures.js';

const root = join(__dirname, '..', '..', '..');

const METHODS: Record<string, { make: (m: Model) => Attribution; opts?: Record<string, unknown>; normalized: boolean }> = {
  'grad-cam': { make: (m) => new GradCam(m), normalized: false },
  'grad-cam-plus-plus': { make: (m) => new GradCamPlusPlus(m), normalized: true },
  'xgrad-cam': { make: (m) => new XGradCam(m), normalized: true },
  'hires-cam': { make: (m) => new HiResCam(m), normalized: true },
  'layer-cam': { make: (m) => new LayerCam(m), normalized: true },
  'score-cam': { make: (m) => new ScoreCam(m), normalized: true },
  'ablation-cam': { make: (m) => new AblationCam(m), normalized: true },
  'eigen-cam': { make: (m) => new EigenCam(m), normalized: true },
  'eigen-cam (withGradient)': { make: (m) => new EigenCam(m), opts: { withGradient: true }, normalized: true },
  'layer-cam (augSmooth, eigenSmooth)': { make: (m) => new LayerCam(m), opts: { augSmooth: true, eigenSmooth: true }, normalized: false },
  occlusion: { make: (m) => new Occlusion(m), opts: { window: 8, stride: 4 }, normalized: false },
};

interface Case { name: string; bytes: () => Uint8Array; shape: [number, number, number]; layer?: string; n: number }
const CASES: Case[] = [
  { name: 'MNIST SimpleCNN (shipped)', bytes: () => readFileSync(join(root, 'models/mnist-simplecnn.onnx')), shape: [1, 28, 28], n: 2 },
  { name: 'CIFAR-10 SimpleCNN (shipped)', bytes: () => readFileSync(join(root, 'models/cifar10-simplecnn.onnx')), shape: [3, 32, 32], n: 1 },
  { name: 'residual model, layer r2', bytes: () => residualModel({ size: 16 }).bytes, shape: [3, 16, 16], layer: 'r2', n: 2 },
];

for (const c of CASES) {
  const present = !c.name.includes('shipped') || existsSync(join(root, c.name.startsWith('MNIST') ? 'models/mnist-simplecnn.onnx' : 'models/cifar10-simplecnn.onnx'));
  describe.skipIf(!present)(`CAM family on the ${c.name}, node cpu vs web wasm`, () => {
    it('every method: [N, 1, H, W], finite, not constant; the backends agree within 1e-5', async () => {
      const bytes = c.bytes();
      const node = await loadModel(bytes, { backend: 'node', threads: 1 });
      const web = await loadModel(bytes, { backend: 'web', device: 'wasm', threads: 1 });
      const x = randomImages(c.n, ...c.shape, 21);
      const targets = Array.from((await node.forward(x)).predictions);
      try {
        for (const [name, spec] of Object.entries(METHODS)) {
          const opts = { ...(c.layer && name !== 'occlusion' ? { layer: c.layer } : {}), ...spec.opts };
          const a: Tensor = await spec.make(node).attribute(x, targets, opts);
          const b: Tensor = await spec.make(web).attribute(x, targets, opts);
          expect(a.dims, name).toEqual([c.n, 1, c.shape[1], c.shape[2]]);
          let maxAbs = 0;
          let diff = 0;
          for (let i = 0; i < a.size; i++) {
            expect(Number.isFinite(a.data[i]!), name).toBe(true);
            maxAbs = Math.max(maxAbs, Math.abs(a.data[i]!));
            diff = Math.max(diff, Math.abs(a.data[i]! - b.data[i]!));
          }
          for (let s = 0; s < c.n; s++) {
            const item = a.data.subarray(s * a.itemSize, (s + 1) * a.itemSize);
            expect(Math.max(...item) - Math.min(...item), `${name} sample ${s} not constant`).toBeGreaterThan(0);
            if (spec.normalized) expect(Math.max(...item), name).toBeCloseTo(1, 5);
          }
          expect(diff / maxAbs, `${name}: node vs web`).toBeLessThan(1e-5);
        }
      } finally {
        await node.dispose();
        await web.dispose();
      }
    }, 600_000);
  });
}
