import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { resizeBilinear, Tensor } from '@whitebox/core';
import { HiResCam } from '@whitebox/hires-cam';
import { LayerCam } from '@whitebox/layer-cam';
import { loadModel, randomImages } from '@whitebox/onnx';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose, gapLinearModel, handNetC } from '../../cam-utils/test/fixtures.js';

describe('layer-cam', () => {
  it('hand net C: Σ_k ReLU(g_k) ⊙ A_k', async () => {
    const { model, input } = handNetC();
    const m = new LayerCam(model);
    // Target 1: ReLU(−1) = 0 for channel 0; [1, 0, 0, 2] ⊙ A1 = [0.8, 0, 0, 0].
    expectClose((await m.attribute(input, 1, { normalize: false })).data, [0.8, 0, 0, 0], 1e-6, 'raw');
    expectClose((await m.attribute(input, 1)).data, [1, 0, 0, 0], 1e-6, 'scaled');
    expectClose((await m.attribute(input, 0)).data, [0, 0.25, 0.5, 1], 1e-6, 'target 0');
    expect(Array.from((await m.attribute(Tensor.zeros([1, 1, 2, 2]), 0)).data)).toEqual([0, 0, 0, 0]);
  });

  it('equals HiResCAM when every gradient is positive', async () => {
    // Class 0's fc row is positive: d logit_0 / d feat = fc[0, k] / 36 > 0 everywhere.
    const model = await loadModel(gapLinearModel({ c: 1, k: 3, classes: 2, fc: [1, 0.5, 2, -1, 1, -0.5] }).bytes, { backend: 'node', threads: 1 });
    const x = randomImages(4, 1, 6, 6, 9);
    for (const opts of [{}, { relu: false, normalize: false }]) {
      const lc = await new LayerCam(model).attribute(x, 0, { layer: 'feat', ...opts });
      const hr = await new HiResCam(model).attribute(x, 0, { layer: 'feat', ...opts });
      expectClose(lc.data, hr.data, 1e-6, JSON.stringify(opts));
    }
    // Class 1 has negative weights: the two differ.
    const lc1 = await new LayerCam(model).attribute(x, 1, { layer: 'feat', relu: false, normalize: false });
    const hr1 = await new HiResCam(model).attribute(x, 1, { layer: 'feat', relu: false, normalize: false });
    expect(lc1.data.some((v, i) => Math.abs(v - hr1.data[i]!) > 1e-3)).toBe(true);
    await model.dispose();
  });

  it('fuses several layers as pytorch-grad-cam: each scaled, upsampled, averaged, scaled again', async () => {
    const model = tinyModel({ pool: true, seed: 4 });
    const x = randomInput(model, 3, 5);
    const m = new LayerCam(model);
    const fused = await m.attribute(x, [0, 1, 2], { layers: ['relu1', 'pool1'] });
    expect(fused.dims).toEqual([3, 1, 6, 4]);
    const a = await m.attribute(x, [0, 1, 2], { layer: 'relu1', upsample: false });
    const b = resizeBilinear(await m.attribute(x, [0, 1, 2], { layer: 'pool1', upsample: false }), 6, 4);
    const expected = new Float32Array(a.size);
    for (let i = 0; i < a.size; i++) expected[i] = (a.data[i]! + b.data[i]!) / 2;
    for (let s = 0; s < 3; s++) {
      const item = expected.subarray(s * 24, (s + 1) * 24);
      const lo = Math.min(...item);
      const hi = Math.max(...item);
      for (let i = 0; i < 24; i++) item[i] = (item[i]! - lo) / (hi - lo + 1e-7);
    }
    expectClose(fused.data, expected, 1e-6, 'fused');
    await expect(m.attribute(x, 0, { layers: [] })).rejects.toThrow(/layers is empty/);
    await expect(m.attribute(x, 0, { layers: ['relu1', 'pool1'], upsample: false })).rejects.toThrow(/different sizes; fusing them needs upsample/);
    await expect(m.attribute(x, 0, { layers: ['relu1', 'fc1'] })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });
});
