import { describe, expect, it } from 'vitest';
import { type ForwardResult, type GradientResult, type Model, Tensor } from '@whitebox/core';
import { Occlusion, windowStarts } from '@whitebox/occlusion';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose, handNetC } from '../../cam-utils/test/fixtures.js';

/** logits = [Σ_p w_p x_p, 0] on a 1×1×3 image. */
class LinearModel implements Model {
  readonly inputName = 'input';
  readonly inputShape = [null, 1, 1, 3] as const;
  readonly numClasses = 2;
  readonly layers = [];
  readonly defaultCamLayer = undefined;
  readonly backendName = 'js';
  readonly executionProvider = 'cpu' as const;
  readonly modelBytes = new Uint8Array(0);
  readonly modelHash = 'linear';
  constructor(readonly w: number[]) {}
  async forward(x: Tensor): Promise<ForwardResult> {
    const n = x.batchSize;
    const logits = new Float32Array(n * 2);
    for (let b = 0; b < n; b++) logits[b * 2] = this.w.reduce((s, w, p) => s + w * x.data[b * 3 + p]!, 0);
    return { logits: new Tensor(logits, [n, 2]), probabilities: new Tensor(new Float32Array(n * 2), [n, 2]), predictions: new Int32Array(n) };
  }
  async gradients(): Promise<GradientResult> { throw new Error('not used'); }
  async dispose(): Promise<void> {}
}

describe('occlusion', () => {
  it('hand net C, 1×1 windows: the drop of the target logit per pixel (a tie between pixels 0 and 1)', async () => {
    const { model, input } = handNetC();
    const m = new Occlusion(model);
    // Target 1: y = −Σx + (1 − x0) + 2(1 − x3) = −1.4; zeroing x0 -> −1.0, x1 -> −1.0, x2 -> −0.8, x3 -> 1.6.
    expectClose((await m.attribute(input, 1, { window: 1, stride: 1 })).data, [-0.4, -0.4, -0.6, -3.0], 1e-6, '1×1');
    // One 2×2 window covering everything: y(0) = 3 -> −4.4 everywhere.
    expectClose((await m.attribute(input, 1, { window: 2, stride: 1 })).data, [-4.4, -4.4, -4.4, -4.4], 1e-6, '2×2');
    // Row windows [1, 2]: row 0 -> y = −0.6 (drop −0.8), row 1 -> y = 2.2 (drop −3.6).
    expectClose((await m.attribute(input, 1, { window: [1, 2], stride: 1 })).data, [-0.8, -0.8, -3.6, -3.6], 1e-6, 'rows');
    // Baseline 1 (white): x0 -> 1: y = −3.0 + 0 + 0 = −3.0, drop 1.6.
    expect((await m.attribute(input, 1, { window: 1, stride: 1, baseline: 1 })).data[0]).toBeCloseTo(1.6, 6);
  });

  it("overlapping windows average (Captum); the last window is cut off at the border", async () => {
    const model = new LinearModel([1, 2, 3]);
    const x = Tensor.full([1, 1, 1, 3], 1);
    // Windows [0, 2) and [1, 3): drops 3 and 5; pixel 1 is in both.
    expectClose((await new Occlusion(model).attribute(x, 0, { window: [1, 2], stride: 1 })).data, [3, 4, 5], 1e-6, 'stride 1');
    // Stride 2: windows [0, 2) and [2, 3) (cut off): drops 3 and 3.
    expect(windowStarts(3, 2, 2)).toEqual([0, 2]);
    expectClose((await new Occlusion(model).attribute(x, 0, { window: [1, 2], stride: 2 })).data, [3, 3, 3], 1e-6, 'stride 2');
    // A baseline tensor [1, C, H, W].
    expectClose((await new Occlusion(model).attribute(x, 0, { window: 1, stride: 1, baseline: Tensor.from([1, 0.5, 0], [1, 1, 1, 3]) })).data, [0, 1, 3], 1e-6, 'baseline');
  });

  it('batches forward passes, reports progress; named errors for bad windows, strides, baselines and an empty batch', async () => {
    const model = tinyModel({ seed: 5 });
    const x = randomInput(model, 2);
    const m = new Occlusion(model);
    const progress: [number, number][] = [];
    const map = await m.attribute(x, [0, 1], { window: 2, stride: 2, batchSize: 5, onProgress: (p) => progress.push([p.done, p.total]) });
    expect(map.dims).toEqual([2, 1, 6, 4]);
    // 3 × 2 positions per image, 12 occluded inputs in batches of 5 (after one forward of the originals).
    expect(model.calls.map((c) => c.batch)).toEqual([2, 5, 5, 2]);
    expect(progress).toEqual([[0, 12], [5, 12], [10, 12], [12, 12]]);
    const err = (opts: object) => m.attribute(x, 0, opts);
    await expect(err({ window: 7 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'occlusion: window 7×7 is larger than the image 6×4' });
    await expect(err({ window: [2, 5] })).rejects.toThrow(/window 2×5 is larger than the image 6×4/);
    await expect(err({ stride: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/stride must be an integer ≥ 1/) });
    await expect(err({ stride: 1.5 })).rejects.toThrow(/stride must be an integer ≥ 1/);
    await expect(err({ window: 2, stride: 3 })).rejects.toThrow(/stride 3×3 is larger than the window 2×2/);
    await expect(err({ baseline: Tensor.zeros([1, 3, 6, 4]) })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    await expect(err({ baseline: Number.POSITIVE_INFINITY })).rejects.toThrow(/baseline must be a finite number/);
    await expect(m.attribute(Tensor.zeros([0, 2, 6, 4]), 0)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', message: expect.stringMatching(/input batch is empty/) });
  });
});
