import { describe, expect, it } from 'vitest';
import { Deconvnet, deconvnet } from '@whitebox/deconvnet';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose, handNetA } from '../../vanilla-gradient/test/fixtures/hand-nets.js';

describe('deconvnet', () => {
  it('equals the hand-computed deconvnet backward pass (ReLUs pass positive gradients only)', async () => {
    const { model, input } = handNetA();
    const m = new Deconvnet(model);
    // target 0: ga2 = [2, 1] -> gz2 = [2, 1] (ignores z2 < 0) -> ga1 = [1, 0, 2, 1] -> gz1 = same -> gx = [1 − 2, 0 − 1]
    expectClose((await m.attribute(input, 0)).data, [-1, -1], 1e-6, 'target 0');
    // target 1: ga2 = [−1, 1] -> gz2 = [0, 1] -> ga1 = [−1, 2, 0, 1] -> gz1 = [0, 2, 0, 1] -> gx = [0, 2 − 1]
    expectClose((await m.attribute(input, 1)).data, [0, 1], 1e-6, 'target 1');
  });

  it('does not depend on the forward ReLU masks (same map for inputs with different activation patterns)', async () => {
    const model = tinyModel({ seed: 5 });
    const x = randomInput(model, 4, 2);
    const maps = await deconvnet(model).attribute(x, 1);
    expect(maps.dims).toEqual(x.dims);
    // The deconvnet rule never looks at x: all four maps are identical.
    for (let b = 1; b < 4; b++) expectClose(maps.item(b).data, maps.item(0).data, 1e-6, `item ${b}`);
  });

  it('rejects a target out of range', async () => {
    const model = tinyModel();
    await expect(new Deconvnet(model).attribute(randomInput(model, 1), -1)).rejects.toMatchObject({ code: 'TARGET_OUT_OF_RANGE' });
  });
});
