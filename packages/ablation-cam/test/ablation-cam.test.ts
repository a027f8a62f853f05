import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { Tensor } from '@whitebox/core';
import { AblationCam } from '@whitebox/ablation-cam';
import { loadModel, randomImages } from '@whitebox/onnx';
import { randomInput, tinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';
import { FixedLayerModel, expectClose, gapLinearModel, handNetC } from '../../cam-utils/test/fixtures.js';

describe('ablation-cam', () => {
  it('hand net C: relative drops (y − y_k)/y of the target logit when channel k is zeroed', async () => {
    const { model, input } = handNetC();
    const m = new AblationCam(model);
    // Target 1 (y = −1.4): A0 := 0 -> z2 = [0, 0.8], y = 0.8: w0 = (−1.4 − 0.8)/(−1.4); A1 := 0 -> z2 = [2.2, 0], y = −2.2: w1 = 0.8/(−1.4).
    const w = [2.2 / 1.4, -0.8 / 1.4];
    expectClose((await m.channelWeights(input, 1)).data, w, 1e-6, 'weights');
    // Σ w_k A_k = [−0.142857, 0.285714, 0.714286, 1.571429] -> ReLU, scale.
    expectClose((await m.attribute(input, 1)).data, [0, 0.285714 / 1.571429, 0.714286 / 1.571429, 1], 1e-5, 'map');
    // Target 0 (y = 2.2): zeroing channel 0 removes all of it, channel 1 nothing.
    expectClose((await m.channelWeights(input, 0)).data, [1, 0], 1e-6, 'weights 0');
    expectClose((await m.attribute(input, 0)).data, [0, 0.25, 0.5, 1], 1e-6, 'map 0');
    // ablationValue: channel 0 set to 0.5 -> z2_0 = 2.0: w0 = 0.2/2.2.
    expectClose((await m.channelWeights(input, 0, { ablationValue: 0.5 })).data, [0.2 / 2.2, 0], 1e-6, 'value');
    await expect(m.attribute(input, 0, { ablationValue: Number.NaN })).rejects.toThrow(/ablationValue must be a finite number/);
  });

  it('a linear-after-pooling model: the drop of logit c for channel k is fc[c, k] · mean(A_k), exactly', async () => {
    const { bytes, fc, bias } = gapLinearModel({ c: 3, k: 5, classes: 4, seed: 11 });
    const model = await loadModel(bytes, { backend: 'node', threads: 1 });
    const x = randomImages(3, 3, 6, 6, 2);
    const targets = [0, 3, 1];
    const w = await new AblationCam(model).channelWeights(x, targets, { layer: 'feat', batchSize: 2 });
    const act = (await model.gradients(x, targets, { layers: ['feat'], inputGradient: false })).layers.feat!.activation;
    for (let b = 0; b < 3; b++) {
      const c = targets[b]!;
      const means = [0, 1, 2, 3, 4].map((k) => act.data.subarray((b * 5 + k) * 36, (b * 5 + k + 1) * 36).reduce((s, v) => s + v, 0) / 36);
      const y = bias[c]! + means.reduce((s, m, k) => s + fc[c * 5 + k]! * m, 0);
      expectClose(w.data.subarray(b * 5, b * 5 + 5), means.map((m, k) => (fc[c * 5 + k]! * m) / y), 1e-4, `image ${b}`);
    }
    await model.dispose();
  });

  it('batches over channels (batchSize) with progress in forward passes; a model without forwardFrom is a named error', async () => {
    const model = tinyModel({ seed: 2, K: 3, pool: true });
    const x = randomInput(model, 2);
    const progress: [number, number][] = [];
    const map = await new AblationCam(model).attribute(x, [0, 3], { batchSize: 2, onProgress: (p) => progress.push([p.done, p.total]) });
    expect(map.dims).toEqual([2, 1, 6, 4]);
    expect(model.calls.filter((c) => c.kind === 'forwardFrom').map((c) => c.batch)).toEqual([2, 1, 2, 1]);
    expect(progress[0]).toEqual([0, 6]);
    expect(progress.at(-1)).toEqual([6, 6]);
    const fixed = new FixedLayerModel(new Float32Array(4), new Float32Array(4), [1, 2, 2]);
    await expect(new AblationCam(fixed).attribute(Tensor.zeros([1, 1, 4, 4]), 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/cannot run from a layer/) });
  });
});
