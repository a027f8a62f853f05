import { describe, expect, it } from 'vitest';
import { Tensor } from '@whitebox/core';
import { GradCamPlusPlus, gradCamPlusPlusWeights } from '@whitebox/grad-cam-plus-plus';
import { expectClose, handNetC } from '../../cam-utils/test/fixtures.js';

describe('grad-cam-plus-plus', () => {
  it('hand net C, target 1: w = [0, 1/3.800001 + 8/22.400001]; map w1·A1 scaled to [1, 0.75, 0.5, 0]', async () => {
    const { model, input } = handNetC();
    const m = new GradCamPlusPlus(model);
    // Channel 0: g0 = −1 < 0 everywhere -> ReLU(g) = 0 -> w0 = 0.
    // Channel 1: Σ A1 = 1.8; g1 = [1, 0, 0, 2]: α = 1/(2 + 1.8 + 1e-6) at g = 1, 4/(8 + 14.4 + 1e-6) at g = 2, 0 at g = 0.
    const w1 = 1 / 3.800001 + (2 * 4) / 22.400001;
    expectClose((await m.channelWeights(input, 1)).data, [0, w1], 1e-6, 'weights');
    expectClose((await m.attribute(input, 1, { relu: false, normalize: false })).data, [0.8 * w1, 0.6 * w1, 0.4 * w1, 0], 1e-6, 'raw');
    const map = await m.attribute(input, 1);
    expect(map.dims).toEqual([1, 1, 2, 2]);
    expectClose(map.data, [1, 0.75, 0.5, 0], 1e-6, 'scaled');
  });

  it('an all-zero gradient channel (target 0, channel 1) gets weight 0, not NaN; all-zero gradients give a zero map', async () => {
    const { model, input } = handNetC();
    const m = new GradCamPlusPlus(model);
    // Channel 0: g = 1, Σ A0 = 2.2: w0 = 4 · 1/(2 + 2.2 + 1e-6).
    expectClose((await m.channelWeights(input, 0)).data, [4 / 4.200001, 0], 1e-6, 'weights');
    expectClose((await m.attribute(input, 0)).data, [0, 0.25, 0.5, 1], 1e-6, 'map');
    // x = 0: fc unit 0 sits at 0, its ReLU passes no gradient: every gradient for target 0 is zero.
    const zero = await m.attribute(Tensor.zeros([1, 1, 2, 2]), 0);
    expect(Array.from(zero.data)).toEqual([0, 0, 0, 0]);
    expect(Array.from((await m.channelWeights(Tensor.zeros([1, 1, 2, 2]), 0)).data)).toEqual([0, 0]);
  });

  it('ties: a constant layer gives a constant raw map and an all-zero scaled one', async () => {
    const { model } = handNetC();
    const x = Tensor.full([1, 1, 2, 2], 0.5);
    // Target 1 at A0 = A1 = 0.5: Σ A1 = 2; w1 = 1/(2 + 2 + 1e-6) + 8/(8 + 16 + 1e-6).
    const w1 = 1 / 4.000001 + 8 / 24.000001;
    expectClose((await new GradCamPlusPlus(model).attribute(x, 1, { normalize: false })).data, [0.5 * w1, 0.5 * w1, 0.5 * w1, 0.5 * w1], 1e-6);
    expect(Array.from((await new GradCamPlusPlus(model).attribute(x, 1)).data)).toEqual([0, 0, 0, 0]);
  });

  it('gradCamPlusPlusWeights: the closed form on a 2-channel 2×2 layer', () => {
    const a = Tensor.from([1, 2, 3, 4, 0, 0, 1, 1], [1, 2, 2, 2]);
    const g = Tensor.from([0.5, -1, 0, 2, 3, 3, 0, -2], [1, 2, 2, 2]);
    // ch0: S = 10: g = 0.5: 0.25/(0.5 + 10·0.125 + 1e-6); g = 2: 4/(8 + 80 + 1e-6); ch1: S = 2: g = 3 twice: 9/(18 + 54 + 1e-6)
    expectClose(gradCamPlusPlusWeights(a, g), [0.5 * (0.25 / 1.750001) + 2 * (4 / 88.000001), 2 * 3 * (9 / 72.000001)], 1e-9);
  });
});
