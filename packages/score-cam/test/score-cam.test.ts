import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { Tensor } from '@whitebox/core';
import { loadModel, randomImages } from '@whitebox/onnx';
import { ScoreCam } from '@whitebox/score-cam';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { expectClose, gapLinearModel, handNetC } from '../../cam-utils/test/fixtures.js';

describe('score-cam', () => {
  it('hand net C: the masked inputs x ⊙ minmax(A_k) score −0.4 and 2.0 for target 1; softmax weights; map', async () => {
    const { model, input } = handNetC();
    const m = new ScoreCam(model);
    // Masks (2×2 layer = input size): M0 = (A0 − 0.2)/0.8 = [0, 0.25, 0.5, 1], M1 = A1/0.8 = [1, 0.75, 0.5, 0].
    // x ⊙ M0 = [0, 0.1, 0.3, 1.0]: logit_1 = −1.4 + (1 − 0) + 2(1 − 1) = −0.4; x ⊙ M1 = [0.2, 0.3, 0.3, 0]: −0.8 + 0.8 + 2 = 2.0.
    const w0 = 1 / (1 + Math.exp(2.4));
    expectClose((await m.channelWeights(input, 1)).data, [w0, 1 - w0], 1e-6, 'weights');
    // Σ w_k A_k = w1 + (w0 − w1) A0 (A0 + A1 = 1): decreasing in A0 -> scaled [1, 0.75, 0.5, 0].
    expectClose((await m.attribute(input, 1)).data, [1, 0.75, 0.5, 0], 1e-5, 'map');
    // Target 0: logit_0 = Σ x': 1.4 and 0.8.
    const v0 = 1 / (1 + Math.exp(-0.6));
    expectClose((await m.channelWeights(input, 0)).data, [v0, 1 - v0], 1e-6, 'weights 0');
    expectClose((await m.attribute(input, 0)).data, [0, 0.25, 0.5, 1], 1e-5, 'map 0');
  });

  it('ties: a constant channel masks to zeros (min-max of a constant), a constant map scales to zeros', async () => {
    const { model } = handNetC();
    // x = 1: A0 = 1 and A1 = 0 are constant: both masks are all zeros -> both masked inputs are black, equal scores.
    const x = Tensor.full([1, 1, 2, 2], 1);
    expectClose((await new ScoreCam(model).channelWeights(x, 1)).data, [0.5, 0.5], 1e-7, 'weights');
    expect(Array.from((await new ScoreCam(model).attribute(x, 1)).data)).toEqual([0, 0, 0, 0]);
  });

  it('the weights are the softmax over channels of the target logits of the masked inputs (upsampled 3×3 -> 6×6 masks)', async () => {
    const model = await loadModel(gapLinearModel({ c: 2, k: 4, classes: 3, seed: 7, pool: true }).bytes, { backend: 'node', threads: 1 });
    const x = randomImages(2, 2, 6, 6, 3);
    const targets = [2, 0];
    const w = await new ScoreCam(model).channelWeights(x, targets, { layer: 'pooled' });
    const act = (await model.gradients(x, targets, { layers: ['pooled'], inputGradient: false })).layers.pooled!.activation;
    for (let b = 0; b < 2; b++) {
      const masked: number[] = [];
      for (let k = 0; k < 4; k++) {
        // UpsamplingBilinear2d (corners aligned) 3×3 -> 6×6, then min-max.
        const src = act.data.subarray((b * 4 + k) * 9, (b * 4 + k + 1) * 9);
        const up: number[] = [];
        for (let y = 0; y < 6; y++) for (let xx = 0; xx < 6; xx++) {
          const fy = (y * 2) / 5;
          const fx = (xx * 2) / 5;
          const y0 = Math.floor(fy), x0 = Math.floor(fx), y1 = Math.min(y0 + 1, 2), x1 = Math.min(x0 + 1, 2);
          const v = (src[y0 * 3 + x0]! * (1 - (fx - x0)) + src[y0 * 3 + x1]! * (fx - x0)) * (1 - (fy - y0)) + (src[y1 * 3 + x0]! * (1 - (fx - x0)) + src[y1 * 3 + x1]! * (fx - x0)) * (fy - y0);
          up.push(v);
        }
        const lo = Math.min(...up), hi = Math.max(...up);
        for (let c = 0; c < 2; c++) for (let p = 0; p < 36; p++) masked.push(x.data[(b * 2 + c) * 36 + p]! * (up[p]! - lo) / (hi - lo + 1e-8));
      }
      const logits = (await model.forward(Tensor.from(masked, [4, 2, 6, 6]))).logits;
      const s = [0, 1, 2, 3].map((k) => logits.data[k * 3 + targets[b]!]!);
      const z = s.reduce((a, v) => a + Math.exp(v), 0);
      expectClose(w.data.subarray(b * 4, b * 4 + 4), s.map((v) => Math.exp(v) / z), 1e-5, `image ${b}`);
    }
    await model.dispose();
  });

  it('batches masked forward passes by batchSize and reports progress in forward passes', async () => {
    const model = tinyModel({ seed: 3, K: 5 });
    const x = randomInput(model, 2);
    const progress: [number, number][] = [];
    await new ScoreCam(model).attribute(x, [1, 2], { batchSize: 2, onProgress: (p) => progress.push([p.done, p.total]) });
    const forwards = model.calls.filter((c) => c.kind === 'forward').map((c) => c.batch);
    expect(forwards).toEqual([2, 2, 1, 2, 2, 1]); // 5 channels per image, 2 at a time
    expect(progress[0]).toEqual([0, 10]);
    expect(progress.at(-1)).toEqual([10, 10]);
  });
});
