import { describe, expect, it } from 'vitest';
import { Tensor } from '@whitebox/core';
import { EigenCam } from '@whitebox/eigen-cam';
import { FixedLayerModel, expectClose, handNetC } from '../../cam-utils/test/fixtures.js';

describe('eigen-cam', () => {
  it('hand net C: A1 = 1 − A0, so the first component is A0 centered, times √2; class-agnostic', async () => {
    const { model } = handNetC();
    const x = Tensor.from([0.25, 0.5, 0.625, 1.0], [1, 1, 2, 2]); // exact in float32
    const m = new EigenCam(model);
    // Centered rows (A0 − 0.59375, −(A0 − 0.59375)); v = (1, −1)/√2; projection √2 (A0 − 0.59375). The channel sum is
    // constant (1), so the tie rule fixes the sign: the largest magnitude (0.40625 √2) positive.
    const c = [-0.34375, -0.09375, 0.03125, 0.40625];
    expectClose((await m.attribute(x, 0, { relu: false, normalize: false })).data, c.map((v) => v * Math.SQRT2), 1e-6, 'raw');
    expectClose((await m.attribute(x, 0)).data, [0, 0, 0.03125 / 0.40625, 1], 1e-6, 'scaled');
    expect(Array.from((await m.attribute(x, 1)).data)).toEqual(Array.from((await m.attribute(x, 0)).data));
  });

  it('a rank-1 activation a_k · f recovers the factor: |a| (f − mean f), signed along the activation sum', async () => {
    const f = [3, -1, 0.5, 2, 0, 1, -2, 4, 1.5];
    const a = [1, 2, 0.5];
    const act = Float32Array.from(a.flatMap((ak) => f.map((v) => ak * v)));
    const model = new FixedLayerModel(act, new Float32Array(act.length), [3, 3, 3], undefined, [1, 3, 3]);
    const x = Tensor.full([2, 1, 3, 3], 0.5);
    const norm = Math.hypot(...a);
    const mean = f.reduce((s, v) => s + v, 0) / f.length;
    const raw = await new EigenCam(model).attribute(x, 0, { relu: false, normalize: false });
    expectClose(raw.data, [...f, ...f].map((v) => norm * (v - mean)), 1e-5, 'factor');
    // Negated channel weights: the activation sum is −3.5 f, so the map is −|a| (f − mean f).
    const neg = new FixedLayerModel(act.map((v) => -v), new Float32Array(act.length), [3, 3, 3], undefined, [1, 3, 3]);
    expectClose((await new EigenCam(neg).attribute(x.slice(0, 1), 0, { relu: false, normalize: false })).data, f.map((v) => -norm * (v - mean)), 1e-5, 'sign');
    // Default: ReLU and scaling of the recovered factor.
    const lo = 0;
    const hi = Math.max(...f.map((v) => Math.max(0, v - mean)));
    expectClose((await new EigenCam(model).attribute(x.slice(0, 1), 0)).data, f.map((v) => (Math.max(0, v - mean) - lo) / (hi - lo + 1e-7)), 1e-5, 'scaled');
  });

  it('withGradient (EigenGrad-CAM): the component of gradient ⊙ activation; all-zero gradients give a zero map', async () => {
    const { model, input } = handNetC();
    // Target 0: g ⊙ A = (A0, 0): the component is A0 centered, along the channel sum A0.
    const c = [0.2, 0.4, 0.6, 1.0].map((v) => v - 0.55);
    expectClose((await new EigenCam(model).attribute(input, 0, { withGradient: true, relu: false, normalize: false })).data, c, 1e-6, 'eigengrad');
    expect(Array.from((await new EigenCam(model).attribute(Tensor.zeros([1, 1, 2, 2]), 0, { withGradient: true })).data)).toEqual([0, 0, 0, 0]);
    await expect(new EigenCam(model).attribute(input, 0, { withGradient: 1 as unknown as boolean })).rejects.toThrow(/withGradient must be true or false/);
  });
});
