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

describe('input validation shared by all methods', () => {
  it('rejects NaN / infinite pixels naming the sample and index, and non-float input', async () => {
    const model = tinyModel();
    const x = randomInput(model, 3);
    x.data[48 + 5] = NaN;
    await expect(new VanillaGradient(model).attribute(x, 0)).rejects.toThrow(/vanilla-gradient: input has a non-finite value \(NaN\) at flat index 53 \(sample 1\)/);
    x.data[53] = Infinity;
    await expect(new VanillaGradient(model).attribute(x, 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const ints = new Tensor(new Int32Array(48), [1, 2, 6, 4]) as unknown as Tensor;
    await expect(new VanillaGradient(model).attribute(ints, 0)).rejects.toThrow(/must be float32/);
  });

  it('accepts an explicit cotangent tensor as targets (a weighted sum of logits)', async () => {
    const model = tinyModel({ seed: 2 });
    const x = randomInput(model, 2);
    const cot = Tensor.from([1, 0, -2, 0, /* sample 1 */ 0, 0.5, 0, 0], [2, 4]);
    const g = await new VanillaGradient(model).attribute(x, cot);
    const g0 = await new VanillaGradient(model).attribute(x, 0);
    const g2 = await new VanillaGradient(model).attribute(x, 2);
    const g1 = await new VanillaGradient(model).attribute(x, 1);
    const item = x.itemSize;
    for (let i = 0; i < item; i++) {
      expect(g.data[i]).toBeCloseTo(g0.data[i]! - 2 * g2.data[i]!, 5);
      expect(g.data[item + i]).toBeCloseTo(0.5 * g1.data[item + i]!, 5);
    }
    await expect(new VanillaGradient(model).attribute(x, Tensor.zeros([2, 3]))).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });
});
