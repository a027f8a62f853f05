import { describe, expect, it } from 'vitest';
import { InputXGradient } from '@whitebox/input-x-gradient';
import { VanillaGradient } from '@whitebox/vanilla-gradient';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose, handNetA } from '../../vanilla-gradient/test/fixtures/hand-nets.js';

describe('input × gradient', () => {
  it('equals input ⊙ vanilla gradient', async () => {
    const model = tinyModel({ seed: 4 });
    const x = randomInput(model, 3);
    const ixg = await new InputXGradient(model).attribute(x, [1, 2, 3]);
    const g = await new VanillaGradient(model).attribute(x, [1, 2, 3]);
    expect(ixg.dims).toEqual(x.dims);
    for (let i = 0; i < x.size; i++) expect(ixg.data[i]).toBe(Math.fround(x.data[i]! * g.data[i]!));
  });

  it('equals the hand computation [0.5·2, 0.2·(−2)] on net A', async () => {
    const { model, input } = handNetA();
    expectClose((await new InputXGradient(model).attribute(input, 0)).data, [1, -0.4], 1e-6);
  });

  it('rejects a wrong input shape', async () => {
    const model = tinyModel();
    const x = randomInput(model, 1).reshape([1, 2, 4, 6]);
    await expect(new InputXGradient(model).attribute(x, 0)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });
});
