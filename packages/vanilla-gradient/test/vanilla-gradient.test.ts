import { describe, expect, it } from 'vitest';
import { Tensor, WhiteBoxError } from '@whitebox/core';
import { VanillaGradient, vanillaGradient } from '@whitebox/vanilla-gradient';
import { randomInput, tinyModel } from './fixtures/tiny-model.js';
import { expectClose, handNetA } from './fixtures/hand-nets.js';

describe('vanilla gradient', () => {
  it('equals hand-computed d logit / d input on a small ReLU net', async () => {
    const { model, input } = handNetA();
    const m = new VanillaGradient(model);
    // target 0: gz2 = [2, 0], ga1 = [2, −2, 2, 0], gz1 = [2, −2, 0, 0] -> gx = [2, −2]
    expectClose((await m.attribute(input, 0)).data, [2, -2], 1e-6, 'target 0');
    // target 1: gz2 = [−1, 0], gz1 = [−1, 1, 0, 0] -> gx = [−1, 1]
    expectClose((await m.attribute(input, 1)).data, [-1, 1], 1e-6, 'target 1');
    expectClose((await m.attribute(input, 1, { abs: true })).data, [1, 1], 1e-6, 'abs');
  });

  it('matches central finite differences of the target logit', async () => {
    const model = tinyModel({ seed: 3 });
    const x = randomInput(model, 3, 11);
    const targets = [0, 2, 3];
    const grad = await vanillaGradient(model).attribute(x, targets);
    expect(grad.dims).toEqual(x.dims);
    const item = x.itemSize;
    const eps = 1e-5;
    let worst = 0;
    for (let b = 0; b < 3; b++) {
      const base = Float64Array.from(x.item(b).data);
      for (let i = 0; i < item; i++) {
        const plus = base.slice();
        const minus = base.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const fd = (model.logits64(plus)[targets[b]!]! - model.logits64(minus)[targets[b]!]!) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - grad.data[b * item + i]!));
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('chunks at batchSize with the same result', async () => {
    const model = tinyModel();
    const x = randomInput(model, 5);
    const whole = await new VanillaGradient(model).attribute(x, [0, 1, 2, 3, 0]);
    model.calls.length = 0;
    const seen: number[] = [];
    const parts = await new VanillaGradient(model).attribute(x, [0, 1, 2, 3, 0], { batchSize: 2, onProgress: (p) => seen.push(p.done) });
    expect(Array.from(parts.data)).toEqual(Array.from(whole.data));
    expect(model.calls.map((c) => c.batch)).toEqual([2, 2, 1]);
    expect(seen).toEqual([0, 2, 4, 5]);
  });

  it('rejects bad input with WhiteBoxErrors naming the problem', async () => {
    const model = tinyModel();
    const m = new VanillaGradient(model);
    const x = randomInput(model, 2);
    await expect(m.attribute(Tensor.zeros([2, 3, 6, 4]), 0)).rejects.toThrow(/input shape \[2, 3, 6, 4\] does not match .*\[N, 2, 6, 4\]/);
    await expect(m.attribute(x, 4)).rejects.toMatchObject({ code: 'TARGET_OUT_OF_RANGE' });
    await expect(m.attribute(x, [0])).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(m.attribute(x, 0, { batchSize: 0 })).rejects.toBeInstanceOf(WhiteBoxError);
  });
});
