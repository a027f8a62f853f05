import { describe, expect, it } from 'vitest';
import { Tensor } from '@whitebox/core';
import { XGradCam } from '@whitebox/xgrad-cam';
import { expectClose, handNetC } from '../../cam-utils/test/fixtures.js';

describe('xgrad-cam', () => {
  it('hand net C: w_k = Σ g·A / (Σ A + 1e-7); raw and scaled maps', async () => {
    const { model, input } = handNetC();
    const m = new XGradCam(model);
    // Target 1: w0 = (−2.2)/(2.2 + 1e-7), w1 = (0.8·1 + 0·2)/(1.8 + 1e-7).
    const w0 = -2.2 / 2.2000001;
    const w1 = 0.8 / 1.8000001;
    expectClose((await m.channelWeights(input, 1)).data, [w0, w1], 1e-6, 'weights');
    const A0 = [0.2, 0.4, 0.6, 1.0];
    const A1 = [0.8, 0.6, 0.4, 0.0];
    const raw = A0.map((a, i) => w0 * a + w1 * A1[i]!);
    expectClose((await m.attribute(input, 1, { relu: false, normalize: false })).data, raw, 1e-6, 'raw');
    // ReLU keeps only pixel 0 (0.1556): scaled [1, 0, 0, 0].
    expectClose((await m.attribute(input, 1)).data, [1, 0, 0, 0], 1e-5, 'scaled');
    // Target 0: channel 1 has all-zero gradients: w = [2.2/(2.2 + 1e-7), 0]; the map is A0 scaled.
    expectClose((await m.channelWeights(input, 0)).data, [2.2 / 2.2000001, 0], 1e-6, 'weights 0');
    expectClose((await m.attribute(input, 0)).data, [0, 0.25, 0.5, 1], 1e-6, 'map 0');
  });

  it('all-zero gradients and an all-zero layer: zero maps, no NaN', async () => {
    const { model } = handNetC();
    const zero = await new XGradCam(model).attribute(Tensor.zeros([1, 1, 2, 2]), 0);
    expect(Array.from(zero.data)).toEqual([0, 0, 0, 0]);
    // x = 1: A1 = 0 everywhere (Σ A1 = 0: the 1e-7 guards the division).
    const w = await new XGradCam(model).channelWeights(Tensor.full([1, 1, 2, 2], 1), 1);
    expect(w.data.every(Number.isFinite)).toBe(true);
    expect(w.data[1]).toBe(0);
  });
});
