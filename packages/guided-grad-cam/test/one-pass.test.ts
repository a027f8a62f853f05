/**
 * Guided Grad-CAM from one forward pass (one gradient graph: a guided chain to the input and a vanilla chain stopping
 * at the CAM layer) gives the maps of the two-session route (guided backprop, then Grad-CAM) within 1e-6, on the
 * shipped MNIST and CIFAR-10 models, on backend-node and backend-web.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import '@whitebox/backend-web';
import type { BackendName, Tensor } from '@whitebox/core';
import { GradCam } from '@whitebox/grad-cam';
import { GuidedBackprop } from '@whitebox/guided-backprop';
import { GuidedGradCam } from '@whitebox/guided-grad-cam';
import { buildSimpleCnn, gradientGraphFromPrepared, loadModel, prepareModel, randomImages, readModel } from '@whitebox/onnx';

const root = join(__dirname, '..', '..', '..');

function twoPass(gb: Tensor, cam: Tensor): Float32Array {
  const [n, c, h, w] = gb.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(gb.size);
  for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let p = 0; p < hw; p++) out[(b * c + k) * hw + p] = gb.data[(b * c + k) * hw + p]! * cam.data[b * hw + p]!;
  return out;
}

describe('guided grad-cam, one forward pass', () => {
  it('the combined gradient graph holds the convolutions of the guided input gradient alone (one forward pass)', () => {
    const p = prepareModel(buildSimpleCnn({ channels: 3, height: 32, width: 32, seed: 1 }));
    const relu3 = p.graph.nodes.filter((n) => n.op === 'Relu').at(-2)!.outputs[0]!;
    const g = readModel(gradientGraphFromPrepared(p, { rule: 'guided', layers: [relu3], layerRule: 'gradient' })).graph!;
    const guided = readModel(gradientGraphFromPrepared(p, { rule: 'guided' })).graph!;
    const convs = (nodes: typeof g.node) => nodes!.filter((n) => n.opType === 'Conv' || n.opType === 'ConvTranspose').length;
    expect(convs(g.node)).toBe(convs(guided.node));
    expect(g.node!.filter((n) => n.opType === 'Conv' && n.input![0] === p.graph.nodes.find((m) => m.op === 'Conv')!.inputs[0]).length).toBe(1);
    expect(g.output!.map((o) => o.name)).toEqual(['logits', 'input_grad', `${relu3}:activation`, `${relu3}:grad`]);
  });

  for (const shape of ['mnist', 'cifar10'] as const) {
    for (const backend of ['node', 'web'] as BackendName[]) {
      const path = join(root, 'models', `${shape}-simplecnn.onnx`);
      it.skipIf(!existsSync(path))(`${shape} (${backend}): maps within 1e-6 of guided backprop ⊙ Grad-CAM run separately`, async () => {
        const model = await loadModel(path, { backend, threads: 1 });
        const [c, h, w] = model.inputShape.slice(1) as number[];
        const x = randomImages(12, c!, h!, w!, 5);
        const targets = Array.from((await model.forward(x)).predictions);
        expect(model.gradientFeatures).toContain('layerRule');
        const one = await new GuidedGradCam(model).attribute(x, targets);
        const ref = twoPass(await new GuidedBackprop(model).attribute(x, targets), await new GradCam(model).attribute(x, targets));
        let diff = 0;
        let max = 0;
        for (let i = 0; i < ref.length; i++) { diff = Math.max(diff, Math.abs(one.data[i]! - ref[i]!)); max = Math.max(max, Math.abs(ref[i]!)); }
        expect(max).toBeGreaterThan(0);
        expect(diff).toBeLessThanOrEqual(1e-6);
        // Chunked (batchSize 5) gives the same maps.
        const chunked = await new GuidedGradCam(model).attribute(x, targets, { batchSize: 5 });
        for (let i = 0; i < ref.length; i++) expect(Math.abs(chunked.data[i]! - one.data[i]!)).toBeLessThanOrEqual(1e-6);
        await model.dispose();
      });
    }
  }
});
