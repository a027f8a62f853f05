import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { Tensor } from '@whitebox/core';
import { GradCam } from '@whitebox/grad-cam';
import { HiResCam } from '@whitebox/hires-cam';
import { loadModel, randomImages } from '@whitebox/onnx';
import { expectClose, gapLinearModel, handNetC } from '../../cam-utils/test/fixtures.js';

describe('hires-cam', () => {
  it('hand net C: Σ_k g_k ⊙ A_k', async () => {
    const { model, input } = handNetC();
    const m = new HiResCam(model);
    // Target 1: −A0 + [1, 0, 0, 2] ⊙ A1 = [0.6, −0.4, −0.6, −1.0]; ReLU + scale -> [1, 0, 0, 0].
    expectClose((await m.attribute(input, 1, { relu: false, normalize: false })).data, [0.6, -0.4, -0.6, -1.0], 1e-6, 'raw');
    expectClose((await m.attribute(input, 1)).data, [1, 0, 0, 0], 1e-6, 'scaled');
    // Target 0 (channel 1 gradients all zero): A0 -> [0, 0.25, 0.5, 1].
    expectClose((await m.attribute(input, 0)).data, [0, 0.25, 0.5, 1], 1e-6, 'target 0');
    expect(Array.from((await m.attribute(Tensor.zeros([1, 1, 2, 2]), 0)).data)).toEqual([0, 0, 0, 0]);
  });

  it('equals Grad-CAM when the gradient is spatially constant (a layer right before global average pooling)', async () => {
    const model = await loadModel(gapLinearModel({ c: 2, k: 4, classes: 3, seed: 2 }).bytes, { backend: 'node', threads: 1 });
    const x = randomImages(3, 2, 6, 6, 4);
    for (const opts of [{}, { relu: false, normalize: false }, { upsample: false }]) {
      const hires = await new HiResCam(model).attribute(x, [0, 1, 2], { layer: 'feat', ...opts });
      const grad = await new GradCam(model).attribute(x, [0, 1, 2], { layer: 'feat', normalize: (opts as { normalize?: boolean }).normalize ?? true, ...opts });
      expect(Math.max(...hires.data)).toBeGreaterThan(0);
      expectClose(hires.data, grad.data, 1e-5, JSON.stringify(opts));
    }
    await model.dispose();
  });
});
