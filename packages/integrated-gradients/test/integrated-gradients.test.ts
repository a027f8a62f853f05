import { describe, expect, it } from 'vitest';
import { Tensor } from '@whitebox/core';
import { INTEGRATION_METHODS, type IntegrationMethod, IntegratedGradients, gaussLegendre, pathPoints } from '@whitebox/integrated-gradients';
import { VanillaGradient } from '@whitebox/vanilla-gradient';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose } from '../../vanilla-gradient/test/fixtures/hand-nets.js';

describe('quadrature', () => {
  it('Gauss–Legendre nodes and weights match the closed forms and integrate degree 2n−1 exactly', () => {
    const g3 = gaussLegendre(3);
    expectClose(g3.nodes, [-Math.sqrt(3 / 5), 0, Math.sqrt(3 / 5)], 1e-14, 'nodes');
    expectClose(g3.weights, [5 / 9, 8 / 9, 5 / 9], 1e-14, 'weights');
    for (const n of [1, 2, 5, 20, 64]) {
      const { nodes, weights } = gaussLegendre(n);
      for (const deg of [0, 2 * n - 2, 2 * n - 1]) {
        let s = 0;
        for (let i = 0; i < n; i++) s += weights[i]! * nodes[i]! ** deg;
        const exact = deg % 2 === 1 ? 0 : 2 / (deg + 1);
        expect(Math.abs(s - exact)).toBeLessThan(1e-12);
      }
    }
  });

  it('every rule has weights summing to 1 and the documented points', () => {
    for (const m of INTEGRATION_METHODS) {
      const { alphas, weights } = pathPoints(4, m);
      expect(Math.abs(weights.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
      expect(Math.min(...alphas)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...alphas)).toBeLessThanOrEqual(1);
    }
    expectClose(pathPoints(4, 'riemann-left').alphas, [0, 0.25, 0.5, 0.75], 1e-15);
    expectClose(pathPoints(4, 'riemann-right').alphas, [0.25, 0.5, 0.75, 1], 1e-15);
    expectClose(pathPoints(4, 'riemann-middle').alphas, [0.125, 0.375, 0.625, 0.875], 1e-15);
    expectClose(pathPoints(3, 'riemann-trapezoid').weights, [0.25, 0.5, 0.25], 1e-15);
  });
});

describe('integrated gradients', () => {
  it('satisfies completeness within 1% at 300 steps (Gauss–Legendre, midpoint), and every rule converges', async () => {
    // A tiny random ReLU net crosses many kinks along the path relative to its small score change,
    // so every rule is also checked at 1000 steps (0.6%) for convergence.
    const model = tinyModel({ seed: 2 });
    const x = randomInput(model, 4, 3);
    const ig = new IntegratedGradients(model);
    const cases: [IntegrationMethod, number, number][] = [
      ['gauss-legendre', 300, 0.01],
      ['riemann-middle', 300, 0.015],
      ...INTEGRATION_METHODS.map((m): [IntegrationMethod, number, number] => [m, 1000, 0.006]),
    ];
    for (const [method, steps, tol] of cases) {
      const r = await ig.attributeWithDelta(x, [0, 1, 2, 3], { steps, method });
      for (let b = 0; b < 4; b++) {
        const diff = r.inputScores[b]! - r.baselineScores[b]!;
        expect(Math.abs(diff)).toBeGreaterThan(1e-2);
        expect(Math.abs(r.delta[b]!), `${method} ${steps} steps, sample ${b}`).toBeLessThanOrEqual(tol * Math.abs(diff));
      }
    }
  });

  it('computes the gap independently of the attributions: f(x) and f(x′) come from the model', async () => {
    const model = tinyModel({ seed: 2 });
    const x = randomInput(model, 2, 3);
    const r = await new IntegratedGradients(model).attributeWithDelta(x, [1, 3], { steps: 8, baseline: 0.5 });
    const fx = await model.forward(x);
    const f0 = await model.forward(Tensor.full(x.dims, 0.5));
    for (const [b, t] of [[0, 1], [1, 3]] as const) {
      expect(r.inputScores[b]).toBeCloseTo(fx.logits.data[b * 4 + t]!, 6);
      expect(r.baselineScores[b]).toBeCloseTo(f0.logits.data[b * 4 + t]!, 6);
      let s = 0;
      for (let i = 0; i < x.itemSize; i++) s += r.attributions.data[b * x.itemSize + i]!;
      expect(r.delta[b]).toBeCloseTo(s - (r.inputScores[b]! - r.baselineScores[b]!), 5);
    }
  });

  it('with one right-Riemann step equals (x − x′) ⊙ gradient at x; is zero when x = x′', async () => {
    const model = tinyModel({ seed: 6 });
    const x = randomInput(model, 2);
    const ig = await new IntegratedGradients(model).attribute(x, 1, { steps: 1, method: 'riemann-right' });
    const g = await new VanillaGradient(model).attribute(x, 1);
    expectClose(ig.data, Array.from(x.data, (v, i) => v * g.data[i]!), 1e-6, 'ig1');
    const zero = await new IntegratedGradients(model).attribute(x, 1, { baseline: x });
    expect(Math.max(...Array.from(zero.data, Math.abs))).toBe(0);
  });

  it('batches steps of all inputs into chunks of batchSize with the same result', async () => {
    const model = tinyModel();
    const x = randomInput(model, 3);
    const ig = new IntegratedGradients(model);
    const a = await ig.attribute(x, [0, 1, 2], { steps: 10 });
    model.calls.length = 0;
    const progress: number[] = [];
    const b = await ig.attribute(x, [0, 1, 2], { steps: 10, batchSize: 7, onProgress: (p) => progress.push(p.done) });
    expectClose(b.data, a.data, 1e-6, 'chunked');
    expect(model.calls.map((c) => c.batch)).toEqual([7, 7, 7, 7, 2]);
    expect(progress.at(-1)).toBe(30);
    model.calls.length = 0;
    await ig.attribute(x, [0, 1, 2], { steps: 10 });
    expect(model.calls.map((c) => c.batch)).toEqual([30]);
  });

  it('accepts a [1, C, H, W] baseline broadcast over the batch', async () => {
    const model = tinyModel();
    const x = randomInput(model, 2);
    const base = randomInput(model, 1, 99);
    const two = new Tensor(new Float32Array([...base.data, ...base.data]), x.dims);
    const ig = new IntegratedGradients(model);
    expectClose((await ig.attribute(x, 0, { baseline: base, steps: 5 })).data, (await ig.attribute(x, 0, { baseline: two, steps: 5 })).data, 1e-7);
  });

  it('rejects steps < 1, bad baselines and unknown rules', async () => {
    const model = tinyModel();
    const ig = new IntegratedGradients(model);
    const x = randomInput(model, 2);
    await expect(ig.attribute(x, 0, { steps: 0 })).rejects.toThrow(/steps must be an integer ≥ 1, got 0/);
    await expect(ig.attribute(x, 0, { steps: 2.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ig.attribute(x, 0, { steps: 1, method: 'riemann-trapezoid' })).rejects.toThrow(/trapezoid rule needs steps ≥ 2/);
    await expect(ig.attribute(x, 0, { method: 'simpson' as never })).rejects.toThrow(/unknown method 'simpson'/);
    await expect(ig.attribute(x, 0, { baseline: Tensor.zeros([3, 2, 6, 4]) })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(ig.attribute(x, 0, { baseline: NaN })).rejects.toThrow(/baseline must be a finite number/);
    await expect(ig.attribute(x, 9)).rejects.toMatchObject({ code: 'TARGET_OUT_OF_RANGE' });
  });
});

describe('integrated gradients with cotangent targets', () => {
  it('repeats a cotangent per step and keeps completeness for the weighted score', async () => {
    const model = tinyModel({ seed: 13 });
    const x = randomInput(model, 2, 8);
    const cot = Tensor.from([0.5, -1, 0, 2, /* sample 1 */ 1, 1, 1, 1], [2, 4]);
    const r = await new IntegratedGradients(model).attributeWithDelta(x, cot, { steps: 400, method: 'riemann-middle' });
    const fx = await model.forward(x);
    for (let b = 0; b < 2; b++) {
      let want = 0;
      for (let k = 0; k < 4; k++) want += cot.data[b * 4 + k]! * fx.logits.data[b * 4 + k]!;
      expect(r.inputScores[b]).toBeCloseTo(want, 5);
      expect(Math.abs(r.delta[b]!)).toBeLessThan(0.02 * Math.abs(r.inputScores[b]! - r.baselineScores[b]!));
    }
    // Linearity in the cotangent: IG(cot) = Σ_k cot_k · IG(class k) for sample 1 (all ones).
    const each = await Promise.all([0, 1, 2, 3].map((k) => new IntegratedGradients(model).attribute(x.item(1), k, { steps: 20 })));
    const whole = await new IntegratedGradients(model).attribute(x.item(1), cot.slice(1, 2), { steps: 20 });
    for (let i = 0; i < x.itemSize; i++) expect(whole.data[i]).toBeCloseTo(each.reduce((s, m) => s + m.data[i]!, 0), 5);
  });

  it('rejects a baseline with NaN', async () => {
    const model = tinyModel();
    const x = randomInput(model, 1);
    const base = Tensor.zeros([1, 2, 6, 4]);
    base.data[3] = NaN;
    await expect(new IntegratedGradients(model).attribute(x, 0, { baseline: base })).rejects.toThrow(/baseline has a non-finite value/);
  });
});

describe('integrated gradients on a model exported with a fixed batch of 1', () => {
  it('runs 50 steps for 3 images (chunked and padded by the model) and keeps completeness', async () => {
    const { GraphBuilder, loadModel } = await import('@whitebox/onnx');
    await import('@whitebox/backend-node');
    const b = new GraphBuilder('fixed1');
    b.input('x', [1, 1, 2, 2]);
    b.node('Flatten', ['x'], ['f']);
    b.node('Tanh', ['f'], ['t']);
    b.node('Gemm', ['t', b.initializer('W', Tensor.from([1, -2, 0.5, 3, 0.2, 1, -1, 2], [2, 4]))], ['logits'], { transB: 1 });
    b.output('logits', [1, 2]);
    const model = await loadModel(b.toModelBytes(), { backend: 'node' });
    expect(model.inputShape).toEqual([1, 1, 2, 2]);
    const x = Tensor.from([0.1, 0.9, 0.4, 0.7, 0.3, 0.2, 0.8, 0.6, 0.5, 0.5, 0.1, 0.9], [3, 1, 2, 2]);
    const { attributions, delta } = await new IntegratedGradients(model).attributeWithDelta(x, [0, 1, 1], { steps: 50 });
    expect(attributions.dims).toEqual([3, 1, 2, 2]);
    for (const d of delta) expect(Math.abs(d)).toBeLessThan(1e-4);
    await model.dispose();
  });
});

describe('integrated gradients option values in messages', () => {
  it('name an object given as maxSteps or steps, not "[object Object]" (fuzz case api.call#159)', async () => {
    const model = tinyModel();
    const x = randomInput(model, 1);
    await expect(new IntegratedGradients(model).attribute(x, 0, { maxSteps: {} as never })).rejects.toThrow(/maxSteps must be an integer ≥ 1, got \{\}/);
    await expect(new IntegratedGradients(model).attribute(x, 0, { steps: [3] as never })).rejects.toThrow(/steps must be an integer ≥ 1, got \[3\]/);
  });
});
