import { describe, expect, it } from 'vitest';
import { GuidedBackprop, guidedBackprop } from '@whitebox/guided-backprop';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose, handNetA } from '../../vanilla-gradient/test/fixtures/hand-nets.js';

describe('guided backpropagation', () => {
  it('equals the hand-computed guided backward pass', async () => {
    const { model, input } = handNetA();
    const m = new GuidedBackprop(model);
    // target 0: gz2 = [2, 0] -> ga1 = [2, −2, 2, 0] -> gz1 = [2, 0, 0, 0] (x > 0 and g > 0) -> gx = [2, 0]
    expectClose((await m.attribute(input, 0)).data, [2, 0], 1e-6, 'target 0');
    // target 1: ga2 = [−1, 1]; z2 = [0.3, −0.1] -> gz2 = [0, 0] -> all zero
    expectClose((await m.attribute(input, 1)).data, [0, 0], 1e-6, 'target 1');
  });

  it('gives per-sample maps in one batch equal to one call per sample', async () => {
    const model = tinyModel({ seed: 9, K: 4 });
    const x = randomInput(model, 3, 4);
    const g = await guidedBackprop(model).attribute(x, [0, 1, 2]);
    expect(g.dims).toEqual(x.dims);
    let nonzero = 0;
    for (const v of g.data) if (v !== 0) nonzero++;
    expect(nonzero).toBeGreaterThan(0);
    // Per-sample targets in one batch give the same maps as one call per sample.
    const each = await Promise.all([0, 1, 2].map((b) => guidedBackprop(model).attribute(x.item(b), [0, 1, 2][b]!)));
    each.forEach((m, b) => expectClose(g.item(b).data, m.data, 1e-6, `item ${b}`));
  });
});
