import { describe, expect, it } from 'vitest';
import { Tensor, resizeBilinear } from '@whitebox/core';
import { GradCam, camFromLayer, gradCam } from '@whitebox/grad-cam';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose, handNetB } from '../../vanilla-gradient/test/fixtures/hand-nets.js';

describe('grad-cam', () => {
  it('equals the hand computation on net B (pool layer 1×2, upsampled to 2×4)', async () => {
    const { model, input } = handNetB();
    const cam = new GradCam(model);
    // target 0: d y / d pool1 = W2ᵀ·[1, −1] = [1, 1 | −1, −1] -> α = [1, −1];
    // Σ α_k A_k = [0.2 − 0.4, 0.775 − 0.025] = [−0.2, 0.75] -> ReLU [0, 0.75];
    // bilinear 1×2 -> 2×4 (half-pixel): [a, 0.75a + 0.25b, 0.25a + 0.75b, b] on both rows.
    const m0 = await cam.attribute(input, 0);
    expect(m0.dims).toEqual([1, 1, 2, 4]);
    expectClose(m0.data, [0, 0.1875, 0.5625, 0.75, 0, 0.1875, 0.5625, 0.75], 1e-6, 'target 0');
    // target 1: d y / d pool1 = [−1, −1 | 2, 2] -> α = [−1, 2]; −P0 + 2·P1 = [0.6, −0.725] -> [0.6, 0]
    const m1 = await cam.attribute(input, 1);
    expectClose(m1.data, [0.6, 0.45, 0.15, 0, 0.6, 0.45, 0.15, 0], 1e-6, 'target 1');
    // Without ReLU and upsampling: the raw layer map.
    const raw = await cam.attribute(input, 1, { relu: false, upsample: false });
    expect(raw.dims).toEqual([1, 1, 1, 2]);
    expectClose(raw.data, [0.6, -0.725], 1e-6, 'raw');
  });

  it('camFromLayer: Σ_k mean_ij(grad_k) · A_k, then ReLU', () => {
    const act = Tensor.from([1, 2, 3, 4, /* k1 */ 0, 1, 0, 1], [1, 2, 2, 2]);
    const grad = Tensor.from([1, 1, 1, 1, /* k1 */ -8, 0, 0, 0], [1, 2, 2, 2]);
    // α = [1, −2] -> [1, 2 − 2, 3, 4 − 2] = [1, 0, 3, 2]
    expectClose(camFromLayer(act, grad).data, [1, 0, 3, 2], 1e-7);
    expectClose(camFromLayer(act, Tensor.from([1, 1, 1, 1, -16, 0, 0, 0], [1, 2, 2, 2]), false).data, [1, -2, 3, 0], 1e-7);
  });

  it('defaults to model.defaultCamLayer, accepts any spatial layer, stops the backward pass at it', async () => {
    const model = tinyModel({ pool: true, seed: 8 });
    const x = randomInput(model, 3);
    const m = gradCam(model);
    const dflt = await m.attribute(x, [0, 1, 2]);
    expect(dflt.dims).toEqual([3, 1, 6, 4]);
    expect(Math.min(...dflt.data)).toBeGreaterThanOrEqual(0);
    const pool = await m.attribute(x, [0, 1, 2], { layer: 'pool1' });
    expect(Array.from(pool.data)).toEqual(Array.from(dflt.data));
    // At relu1 (input size): no resize; equals the layer computation from model.gradients.
    const direct = await model.gradients(x, [0, 1, 2], { layers: ['relu1'], inputGradient: false });
    const expected = camFromLayer(direct.layers.relu1!.activation, direct.layers.relu1!.gradient);
    expectClose((await m.attribute(x, [0, 1, 2], { layer: 'relu1' })).data, expected.data, 1e-7, 'relu1');
    // The pool-layer map is the half-size map resized.
    const small = await m.attribute(x, [0, 1, 2], { upsample: false });
    expectClose(dflt.data, resizeBilinear(small, 6, 4).data, 1e-7, 'upsample');
  });

  it('rejects unknown and non-spatial layers, listing the model layers', async () => {
    const model = tinyModel({ pool: true });
    const x = randomInput(model, 1);
    await expect(new GradCam(model).attribute(x, 0, { layer: 'conv9' })).rejects.toThrow(/unknown layer 'conv9'; the model's layers are: conv1 \(Conv \[N, 3, 6, 4\]\), relu1/);
    await expect(new GradCam(model).attribute(x, 0, { layer: 'conv9' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(new GradCam(model).attribute(x, 0, { layer: 'fc1' })).rejects.toThrow(/needs a spatial \[N, K, h, w\] layer/);
    await expect(new GradCam(model).attribute(x, 5)).rejects.toMatchObject({ code: 'TARGET_OUT_OF_RANGE' });
  });
});
