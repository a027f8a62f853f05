import { describe, expect, it } from 'vitest';
import { GradCam } from '@whitebox/grad-cam';
import { GuidedBackprop } from '@whitebox/guided-backprop';
import { GuidedGradCam, guidedGradCam } from '@whitebox/guided-grad-cam';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose, handNetB } from '../../vanilla-gradient/test/fixtures/hand-nets.js';

describe('guided grad-cam', () => {
  it('equals the hand computation on net B', async () => {
    const { model, input } = handNetB();
    // Guided backprop, target 0: ga2 = [1, −1], z2 > 0 -> gz2 = [1, 0]; d/d pool1 = [1, 1 | 0, 0];
    // average-pool backward: 0.25 on channel 0; x > 0 except pixel (1, 0) -> gx = 0.25 except there.
    const gb = await new GuidedBackprop(model).attribute(input, 0);
    expectClose(gb.data, [0.25, 0.25, 0.25, 0.25, 0, 0.25, 0.25, 0.25], 1e-6, 'guided');
    // ⊙ Grad-CAM [0, 0.1875, 0.5625, 0.75] (both rows).
    const ggc = await new GuidedGradCam(model).attribute(input, 0);
    expect(ggc.dims).toEqual([1, 1, 2, 4]);
    expectClose(ggc.data, [0, 0.046875, 0.140625, 0.1875, 0, 0.046875, 0.140625, 0.1875], 1e-6, 'guided grad-cam');
  });

  it('broadcasts the Grad-CAM map over channels: input shape out', async () => {
    const model = tinyModel({ pool: true, channels: 3, seed: 12 });
    const x = randomInput(model, 2);
    const out = await guidedGradCam(model).attribute(x, [1, 3], { layer: 'relu1' });
    expect(out.dims).toEqual(x.dims);
    const gb = await new GuidedBackprop(model).attribute(x, [1, 3]);
    const cam = await new GradCam(model).attribute(x, [1, 3], { layer: 'relu1' });
    const hw = 24;
    for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) for (let p = 0; p < hw; p++) {
      const i = (b * 3 + c) * hw + p;
      expect(out.data[i]).toBe(Math.fround(gb.data[i]! * cam.data[b * hw + p]!));
    }
    const progress: number[] = [];
    await guidedGradCam(model).attribute(x, [1, 3], { onProgress: (p) => progress.push(p.done / p.total) });
    expect(progress.at(-1)).toBe(1);
  });

  it('rejects an unknown layer', async () => {
    const model = tinyModel();
    await expect(new GuidedGradCam(model).attribute(randomInput(model, 1), 0, { layer: 'nope' })).rejects.toThrow(/guided-grad-cam: unknown layer 'nope'/);
  });
});
