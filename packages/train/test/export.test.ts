import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { resolveBackend, Tensor } from '@whitebox/core';
import { toTensor } from '@whitebox/datasets';
import { readModel } from '@whitebox/onnx';
import { exportSimpleCNN, trainSimpleCNN, initParams } from '../src/index.js';
import { first, smallMnist } from './helpers.js';

async function ortLogits(bytes: Uint8Array, x: Tensor): Promise<Float32Array> {
  const session = await resolveBackend({ backend: 'node' }).createSession(bytes);
  try {
    const out = await session.run({ input: x });
    return out.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

function compare(a: Float32Array, b: Float32Array, k: number): { maxAbs: number; samePredictions: boolean } {
  let maxAbs = 0;
  let same = true;
  for (let i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
  for (let r = 0; r < a.length / k; r++) {
    let ia = 0;
    let ib = 0;
    for (let j = 1; j < k; j++) {
      if (a[r * k + j]! > a[r * k + ia]!) ia = j;
      if (b[r * k + j]! > b[r * k + ib]!) ib = j;
    }
    if (ia !== ib) same = false;
  }
  return { maxAbs, samePredictions: same };
}

describe('ONNX export', () => {
  it('runs in ONNX Runtime with the same logits as tfjs on 1,000 MNIST test images (max |Δ| ≤ 1e-4, same predictions)', async () => {
    const { train, test } = smallMnist();
    const clf = await trainSimpleCNN(first(train, 512), { epochs: 1, batchSize: 64, validationFraction: 0, seed: 2 });
    const bytes = clf.toOnnx();
    const model = readModel(bytes);
    expect(model.graph!.input![0]!.name).toBe('input');
    expect(model.graph!.output![0]!.name).toBe('logits');
    expect(model.graph!.node!.slice(0, 2).map((n) => n.opType)).toEqual(['Sub', 'Div']);
    const x = toTensor(test, 0, 1000);
    const ort = await ortLogits(bytes, x);
    const tfjs = clf.predictLogits(x).data;
    const { maxAbs, samePredictions } = compare(ort, tfjs, 10);
    expect(maxAbs).toBeLessThanOrEqual(1e-4);
    expect(samePredictions).toBe(true);
    // the logits are not trivially small: the comparison is meaningful
    expect(Math.max(...Array.from(tfjs).map(Math.abs))).toBeGreaterThan(1);
    // and the evaluation through ORT agrees with evaluate()
    let correct = 0;
    for (let i = 0; i < 1000; i++) {
      const row = Array.from(ort.subarray(i * 10, i * 10 + 10));
      if (row.indexOf(Math.max(...row)) === test.labels[i]) correct++;
    }
    expect(correct / 1000).toBeCloseTo(clf.evaluate(first(test, 1000)).accuracy, 10);
  });

  it('converts layouts correctly on a non-square RGB input with random BN statistics', async () => {
    const cfg = { channels: 3, height: 10, width: 14, classes: 4, widths: [4, 5, 6], hidden: 9 };
    const params = initParams(cfg, 9);
    for (const k of Object.keys(params)) if (/bn\d\.(mean|var|beta|gamma)/.test(k)) params[k] = params[k]!.map((_, i) => (k.endsWith('var') || k.endsWith('gamma') ? 0.5 + ((i * 37) % 10) / 10 : ((i * 17) % 7) / 7 - 0.5));
    const { TrainedClassifier } = await import('../src/classifier.js');
    const { resolveOptions } = await import('../src/train.js');
    const { initTf } = await import('../src/tf.js');
    await initTf();
    const norm = { mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] };
    const clf = new TrainedClassifier(cfg, params, { ...norm, classes: ['a', 'b', 'c', 'd'], history: [], options: resolveOptions({}) });
    const x = new Tensor(Float32Array.from({ length: 5 * 3 * 10 * 14 }, (_, i) => ((i * 7919) % 1000) / 1000), [5, 3, 10, 14]);
    const { maxAbs } = compare(await ortLogits(exportSimpleCNN(cfg, params, norm), x), clf.predictLogits(x).data, 4);
    expect(maxAbs).toBeLessThanOrEqual(1e-5);
  });

  it('exports four conv blocks (the localization model) with the dense ReLU named after the last block', async () => {
    const cfg = { channels: 1, height: 16, width: 16, classes: 3, widths: [2, 3, 4, 5], hidden: 6 };
    const params = initParams(cfg, 4);
    const { TrainedClassifier } = await import('../src/classifier.js');
    const { resolveOptions } = await import('../src/train.js');
    const { initTf } = await import('../src/tf.js');
    await initTf();
    const norm = { mean: [0.3], std: [0.4] };
    const clf = new TrainedClassifier(cfg, params, { ...norm, classes: ['a', 'b', 'c'], history: [], options: resolveOptions({}) });
    const x = new Tensor(Float32Array.from({ length: 3 * 256 }, (_, i) => ((i * 7919) % 1000) / 1000), [3, 1, 16, 16]);
    const bytes = exportSimpleCNN(cfg, params, norm);
    const { maxAbs } = compare(await ortLogits(bytes, x), clf.predictLogits(x).data, 3);
    expect(maxAbs).toBeLessThanOrEqual(1e-5);
    const { readModel } = await import('@whitebox/onnx');
    expect(readModel(bytes).graph!.node!.filter((n) => n.opType === 'Relu').map((n) => n.output![0])).toEqual(['relu1', 'relu2', 'relu3', 'relu4', 'relu5']);
  });

  it('rejects missing or mis-sized parameters', () => {
    const cfg = { channels: 1, height: 8, width: 8, classes: 3, widths: [2, 2, 2], hidden: 4 };
    const params = initParams(cfg, 1);
    delete params['fc1.b'];
    expect(() => exportSimpleCNN(cfg, params, { mean: [0], std: [1] })).toThrow(/parameter 'fc1.b' is missing/);
    expect(() => exportSimpleCNN(cfg, initParams(cfg, 1), { mean: [0, 1], std: [1] })).toThrow(/mean\/std need 1 values/);
  });

  const shipped = new URL('../../../models/mnist-simplecnn.onnx', import.meta.url).pathname;
  it.runIf(existsSync(shipped))('the shipped MNIST model reaches ≥ 99.2% on the MNIST test set in ONNX Runtime', async () => {
    const { loadMnist } = await import('@whitebox/datasets');
    const { test } = loadMnist();
    const bytes = new Uint8Array(readFileSync(shipped));
    let correct = 0;
    for (let s = 0; s < test.count; s += 2000) {
      const e = Math.min(test.count, s + 2000);
      const logits = await ortLogits(bytes, toTensor(test, s, e));
      for (let i = 0; i < e - s; i++) {
        const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
        if (row.indexOf(Math.max(...row)) === test.labels[s + i]) correct++;
      }
    }
    expect(correct / test.count).toBeGreaterThanOrEqual(0.992);
  });
});
