// SmoothGrad's noise is a function of (seed, a batch-independent key, sample): the same image gets the same map
// alone and in a batch of 64, at any position; a caller can supply the noise to replay another library's exactly.
import { describe, expect, it } from 'vitest';
import { type Attribution, LIMITS, type Model, Tensor, concatBatch } from '@whitebox/core';
import { IntegratedGradients, pathPoints } from '@whitebox/integrated-gradients';
import { SmoothGrad, noiseStreamState, pixelKeys } from '@whitebox/smoothgrad';
import { VanillaGradient } from '@whitebox/vanilla-gradient';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';

/** A "method" whose map is its input: the map shows the noisy copies' statistics. */
class Identity implements Attribution {
  readonly name = 'identity';
  constructor(readonly model: Model) {}
  async attribute(input: Tensor): Promise<Tensor> {
    return input.clone();
  }
}

describe('smoothgrad determinism', () => {
  it('gives an image the same map alone and at any position in a batch of 64, with any chunking', async () => {
    const model = tinyModel({ seed: 9 });
    const batch = randomInput(model, 64);
    const sg = new SmoothGrad(new VanillaGradient(model), { samples: 6, sigma: 0.2, seed: 3 });
    const all = await sg.attribute(batch, 1, { batchSize: 50 });
    for (const i of [0, 17, 63]) {
      const alone = await sg.attribute(batch.item(i).clone(), 1);
      expect(Array.from(alone.data), `image ${i}`).toEqual(Array.from(all.item(i).data));
    }
    // Reordering the batch reorders the maps, nothing else.
    const reversed = concatBatch(Array.from({ length: 64 }, (_, i) => batch.item(63 - i)));
    const rev = await sg.attribute(reversed, 1, { batchSize: 7 });
    expect(Array.from(rev.item(0).data)).toEqual(Array.from(all.item(63).data));
    expect(Array.from(rev.item(63).data)).toEqual(Array.from(all.item(0).data));
  });

  it('keys: explicit per-input keys choose the streams (dataset indices), and change the noise', async () => {
    const model = tinyModel();
    const x = randomInput(model, 2);
    const sg = new SmoothGrad(new Identity(model), { samples: 4, sigma: 0.3, seed: 1 });
    const a = await sg.attribute(x, 0, { keys: [10, 11] });
    const b = await sg.attribute(x.item(1).clone(), 0, { keys: [11] });
    expect(Array.from(b.data)).toEqual(Array.from(a.item(1).data));
    const c = await sg.attribute(x, 0, { keys: [12, 11] });
    expect(Array.from(c.item(0).data)).not.toEqual(Array.from(a.item(0).data));
    await expect(sg.attribute(x, 0, { keys: [1] })).rejects.toThrow(/keys must give one integer per input \(2\), got 1 keys/);
    await expect(sg.attribute(x, 0, { keys: [1, -1] })).rejects.toThrow(/keys\[1\] must be a non-negative integer/);
    // The default key is the pixels' hash: two different images, two keys; the same image, the same key.
    const k = pixelKeys(concatBatch([x.item(0), x.item(1), x.item(0)]));
    expect(k[0]).toBe(k[2]);
    expect(k[0]).not.toBe(k[1]);
    expect(noiseStreamState(0, 5, 0)).not.toBe(noiseStreamState(0, 5, 1));
    expect(noiseStreamState(0, 5, 0)).not.toBe(noiseStreamState(1, 5, 0));
  });

  it('noise: a supplied noise tensor is added as is (replays another library exactly); σ = 0 stays bit-identical', async () => {
    const model = tinyModel();
    const x = randomInput(model, 2);
    const samples = 3;
    const noise = Tensor.zeros([2 * samples, ...x.dims.slice(1)]);
    for (let i = 0; i < noise.size; i++) noise.data[i] = Math.sin(i) * 0.1;
    const mean = await new SmoothGrad(new Identity(model), { samples }).attribute(x, 0, { noise });
    const item = x.itemSize;
    for (let b = 0; b < 2; b++) {
      for (const i of [0, 5, item - 1]) {
        let want = 0;
        for (let s = 0; s < samples; s++) want += Math.fround(x.data[b * item + i]! + noise.data[(b * samples + s) * item + i]!);
        expect(mean.data[b * item + i]).toBeCloseTo(want / samples, 6);
      }
    }
    await expect(new SmoothGrad(new Identity(model), { samples: 4 }).attribute(x, 0, { noise })).rejects.toThrow(/noise has shape \[6, 2, 6, 4\], expected \[8, 2, 6, 4\]/);
    const bad = noise.clone();
    bad.data[3] = NaN;
    await expect(new SmoothGrad(new Identity(model), { samples }).attribute(x, 0, { noise: bad })).rejects.toThrow(/noise has a non-finite value/);
    const base = await new VanillaGradient(model).attribute(x, [0, 1]);
    const zero = await new SmoothGrad(new VanillaGradient(model), { samples: 5, sigma: 0 }).attribute(x, [0, 1]);
    expect(Array.from(zero.data)).toEqual(Array.from(base.data));
  });
});

describe('limits on work sizes', () => {
  it('SmoothGrad samples and IG steps above the limits fail at once with how to raise them; the options raise them', async () => {
    const model = tinyModel();
    const x = randomInput(model, 1);
    const t0 = performance.now();
    await expect(new SmoothGrad(new VanillaGradient(model)).attribute(x, 0, { samples: 1e9 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/samples is 1,000,000,000, above the limit of 10,000 \(pass maxSamples/) });
    await expect(new IntegratedGradients(model).attribute(x, 0, { steps: 1e5 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/steps is 100,000, above the limit of 10,000 \(pass maxSteps.*O\(steps²\)/) });
    expect(() => pathPoints(1e9)).toThrow(/above the limit/);
    expect(performance.now() - t0).toBeLessThan(2000);
    // Raised limits are honoured.
    const sg = await new SmoothGrad(new Identity(model), { sigma: 0.1 }).attribute(x, 0, { samples: LIMITS.smoothGradSamples + 1, maxSamples: LIMITS.smoothGradSamples + 1, batchSize: 4096 });
    expect(sg.dims).toEqual(x.dims);
    expect(pathPoints(12, 'riemann-middle', 12).alphas.length).toBe(12);
    expect(() => pathPoints(13, 'riemann-middle', 12)).toThrow(/steps is 13, above the limit of 12/);
  });
});
