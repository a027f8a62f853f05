import { describe, expect, it } from 'vitest';
import { type Attribution, type Model, Tensor } from '@whitebox/core';
import { GradCam } from '@whitebox/grad-cam';
import { GuidedBackprop } from '@whitebox/guided-backprop';
import { SmoothGrad, smoothGrad } from '@whitebox/smoothgrad';
import { VanillaGradient, vanillaGradient } from '@whitebox/vanilla-gradient';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';

/** A "method" whose map is its input: SmoothGrad's statistics become the noise's. */
class Identity implements Attribution {
  readonly name = 'identity';
  constructor(readonly model: Model) {}
  async attribute(input: Tensor): Promise<Tensor> {
    return input.clone();
  }
}

describe('smoothgrad', () => {
  it('with σ = 0 equals the base method exactly (mean), its square (squared) and 0 (vargrad)', async () => {
    const model = tinyModel({ seed: 21 });
    const x = randomInput(model, 3);
    for (const base of [new VanillaGradient(model), new GuidedBackprop(model)]) {
      const ref = await base.attribute(x, [0, 1, 2]);
      const sg = await new SmoothGrad(base).attribute(x, [0, 1, 2], { sigma: 0, samples: 5, batchSize: 4 });
      expect(Array.from(sg.data)).toEqual(Array.from(ref.data));
      const sq = await new SmoothGrad(base, { variant: 'smoothgrad-squared' }).attribute(x, [0, 1, 2], { sigma: 0, samples: 5 });
      expect(Array.from(sq.data)).toEqual(Array.from(ref.data, (v) => Math.fround(v * v)));
      const vg = await new SmoothGrad(base, { variant: 'vargrad' }).attribute(x, [0, 1, 2], { sigma: 0, samples: 5 });
      expect(Math.max(...vg.data)).toBe(0);
    }
  });

  it('adds N(0, (σ·(max − min))²) noise per input: identity base gives mean ≈ x, variance ≈ σ²(max − min)²', async () => {
    const model = tinyModel();
    // Two inputs with different ranges: 1 and 0.25.
    const x = new Tensor(new Float32Array(2 * 48), [2, 2, 6, 4]);
    for (let i = 0; i < 48; i++) {
      x.data[i] = i / 47;
      x.data[48 + i] = 0.5 + (0.25 * i) / 47;
    }
    const samples = 400;
    const sigma = 0.2;
    const mean = await new SmoothGrad(new Identity(model), { samples, sigma }).attribute(x, 0);
    const vg = await new SmoothGrad(new Identity(model), { samples, sigma, variant: 'vargrad' }).attribute(x, 0);
    for (const [b, range] of [[0, 1], [1, 0.25]] as const) {
      const sd = sigma * range;
      let meanErr = 0;
      let varSum = 0;
      for (let i = 0; i < 48; i++) {
        meanErr = Math.max(meanErr, Math.abs(mean.data[b * 48 + i]! - x.data[b * 48 + i]!));
        varSum += vg.data[b * 48 + i]!;
      }
      // 5 standard errors of a mean of 400 samples; pooled variance over 48 pixels within 5%.
      expect(meanErr).toBeLessThan((5 * sd) / Math.sqrt(samples));
      expect(Math.abs(varSum / 48 / (sd * sd) - 1)).toBeLessThan(0.05);
    }
  });

  it('VarGrad ≥ 0, and VarGrad = SmoothGrad² − SmoothGrad² (same seed)', async () => {
    const model = tinyModel({ seed: 5 });
    const x = randomInput(model, 2);
    const opts = { samples: 20, sigma: 0.3, seed: 3 };
    const vg = await new SmoothGrad(new VanillaGradient(model), { ...opts, variant: 'vargrad' }).attribute(x, [1, 2]);
    const sg = await new SmoothGrad(new VanillaGradient(model), { ...opts, variant: 'smoothgrad' }).attribute(x, [1, 2]);
    const sq = await new SmoothGrad(new VanillaGradient(model), { ...opts, variant: 'smoothgrad-squared' }).attribute(x, [1, 2]);
    let positive = 0;
    for (let i = 0; i < vg.size; i++) {
      expect(vg.data[i]).toBeGreaterThanOrEqual(0);
      if (vg.data[i]! > 0) positive++;
      expect(Math.abs(vg.data[i]! - (sq.data[i]! - sg.data[i]! ** 2))).toBeLessThan(1e-5 * Math.max(1, sq.data[i]!));
    }
    expect(positive).toBeGreaterThan(vg.size / 2);
  });

  it('is seeded and independent of chunking; batches noisy copies into large runs', async () => {
    const model = tinyModel();
    const x = randomInput(model, 3);
    const sg = smoothGrad(vanillaGradient, { samples: 10, sigma: 0.2, seed: 7 })(model);
    const a = await sg.attribute(x, [0, 1, 2]);
    model.calls.length = 0;
    const b = await sg.attribute(x, [0, 1, 2], { batchSize: 4 });
    expect(model.calls.map((c) => c.batch)).toEqual([4, 4, 4, 4, 4, 4, 4, 2]);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    model.calls.length = 0;
    await sg.attribute(x, [0, 1, 2]);
    expect(model.calls.map((c) => c.batch)).toEqual([30]);
    const c = await sg.attribute(x, [0, 1, 2], { seed: 8 });
    expect(Array.from(c.data)).not.toEqual(Array.from(a.data));
    expect(sg.name).toBe('smoothgrad(vanilla-gradient)');
  });

  it('wraps layer methods too (Grad-CAM maps [N, 1, H, W])', async () => {
    const model = tinyModel({ pool: true });
    const x = randomInput(model, 2);
    const out = await new SmoothGrad(new GradCam(model), { samples: 4, sigma: 0.1 }).attribute(x, 0, { baseOptions: { layer: 'relu1' } });
    expect(out.dims).toEqual([2, 1, 6, 4]);
    const zero = await new SmoothGrad(new GradCam(model), { samples: 3, sigma: 0 }).attribute(x, 0);
    expect(Array.from(zero.data)).toEqual(Array.from((await new GradCam(model).attribute(x, 0)).data));
  });

  it('rejects σ < 0, samples < 1 and unknown variants', async () => {
    const model = tinyModel();
    const x = randomInput(model, 1);
    const sg = new SmoothGrad(new VanillaGradient(model));
    await expect(sg.attribute(x, 0, { sigma: -0.1 })).rejects.toThrow(/sigma must be a finite number ≥ 0.*got -0.1/);
    await expect(sg.attribute(x, 0, { samples: 0 })).rejects.toThrow(/samples must be an integer ≥ 1, got 0/);
    await expect(sg.attribute(x, 0, { variant: 'median' as never })).rejects.toThrow(/unknown variant 'median'/);
    await expect(sg.attribute(x, 7)).rejects.toMatchObject({ code: 'TARGET_OUT_OF_RANGE' });
    expect(() => new SmoothGrad(new VanillaGradient(model), { sigma: -1 })).toThrow(/sigma/);
  });
});

describe('NormalStream', () => {
  it('gives standard normal samples, independent of how the stream is chunked', async () => {
    const { NormalStream } = await import('@whitebox/smoothgrad');
    const { Rng } = await import('@whitebox/core');
    const whole = new Float64Array(20001);
    new NormalStream(new Rng(4)).fill(whole);
    const parts = new Float64Array(20001);
    const s = new NormalStream(new Rng(4));
    for (const [a, b] of [[0, 7], [7, 8], [8, 1001], [1001, 20001]]) s.fill(parts.subarray(a, b));
    expect(Array.from(parts)).toEqual(Array.from(whole));
    let m = 0;
    let v = 0;
    let k = 0;
    for (const x of whole) m += x / whole.length;
    for (const x of whole) {
      v += (x - m) ** 2 / whole.length;
      k += (x - m) ** 4 / whole.length;
    }
    expect(Math.abs(m)).toBeLessThan(0.03); // 4 standard errors
    expect(Math.abs(v - 1)).toBeLessThan(0.04);
    expect(Math.abs(k / (v * v) - 3)).toBeLessThan(0.15); // Gaussian kurtosis
  });

  it('matches the normal distribution: Kolmogorov–Smirnov distance and tail masses', async () => {
    const { NormalStream } = await import('@whitebox/smoothgrad');
    const { Rng } = await import('@whitebox/core');
    const n = 200_000;
    const xs = new Float64Array(n);
    new NormalStream(new Rng(11)).fill(xs);
    xs.sort();
    // Φ via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
    const erf = (x: number) => {
      const t = 1 / (1 + 0.3275911 * Math.abs(x));
      const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
      return x >= 0 ? y : -y;
    };
    const phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
    let ks = 0;
    for (let i = 0; i < n; i++) ks = Math.max(ks, Math.abs(phi(xs[i]!) - i / n), Math.abs(phi(xs[i]!) - (i + 1) / n));
    // 1.63 / √n is the 1% critical value of the KS statistic.
    expect(ks).toBeLessThan(1.63 / Math.sqrt(n));
    const tail = (a: number) => xs.filter((x) => Math.abs(x) > a).length / n;
    expect(Math.abs(tail(2) - 0.0455)).toBeLessThan(0.002);
    expect(Math.abs(tail(3) - 0.0027)).toBeLessThan(0.0005);
    expect(tail(3.6)).toBeGreaterThan(0.0001); // beyond the ziggurat's base strip (3.44)
  });
});

describe('smoothgrad progress', () => {
  it('reports monotone progress in noisy copies, whatever units the base method counts in', async () => {
    const { IntegratedGradients } = await import('@whitebox/integrated-gradients');
    const model = tinyModel();
    const x = randomInput(model, 3);
    const seen: { done: number; total: number }[] = [];
    await new SmoothGrad(new IntegratedGradients(model), { samples: 4, sigma: 0.1 }).attribute(x, 0, {
      batchSize: 5,
      baseOptions: { steps: 3 },
      onProgress: (p) => seen.push({ done: p.done, total: p.total }),
    });
    expect(seen.every((p) => p.total === 12 && p.done <= 12)).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThanOrEqual(seen[i - 1]!.done);
    expect(seen.at(-1)!.done).toBe(12);
  });
});

describe('smoothgrad option values in messages', () => {
  it('an object given as variant is shown as a value, not "[object Object]" (fuzz case api.call#141)', async () => {
    const model = tinyModel();
    const x = randomInput(model, 1);
    await expect(new SmoothGrad(new VanillaGradient(model)).attribute(x, 0, { samples: 2, variant: {} as never })).rejects.toThrow(/unknown variant \{\} \(known: smoothgrad/);
    await expect(new SmoothGrad(new VanillaGradient(model)).attribute(x, 0, { samples: 2, variant: 'bogus' as never })).rejects.toThrow(/unknown variant 'bogus'/);
  });
});
