import { describe, expect, it, beforeAll } from 'vitest';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { Rng } from '@whitebox/core';
import { initTf, tf } from '../src/tf.js';
import { forward, initParams, paramSpecs, sumRows, trainStep, type SimpleCNNConfig } from '../src/model.js';

function oneHotFloat(labels: tf.Tensor1D, k: number): tf.Tensor2D {
  const l = labels.dataSync();
  const a = new Float32Array(l.length * k);
  l.forEach((c, i) => (a[i * k + c] = 1));
  return tf.tensor2d(a, [l.length, k]);
}

/** tfjs's autodiff (training-mode forward, batch statistics) as the independent reference for the explicit backward pass. */
function autodiffReference(cfg: SimpleCNNConfig, p: Record<string, tf.Tensor>, x: tf.Tensor4D, labels: tf.Tensor1D) {
  const names = paramSpecs(cfg).filter((s) => s.trainable).map((s) => s.name);
  const g = tf.grads((...ts: tf.Tensor[]) => {
    const q = { ...p };
    names.forEach((nm, i) => (q[nm] = ts[i]!));
    const logits = forward(cfg, q, x, true).logits;
    const logp = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHotFloat(labels, cfg.classes), logp), 1)));
  });
  const out = g(names.map((nm) => p[nm]!));
  return Object.fromEntries(names.map((nm, i) => [nm, out[i]!]));
}

describe('SimpleCNN explicit backward pass', () => {
  beforeAll(async () => {
    await initTf();
  });

  it('matches tfjs autodiff for every parameter (small model, batch 4)', async () => {
    const cfg: SimpleCNNConfig = { channels: 3, height: 9, width: 8, classes: 5, widths: [4, 6, 5], hidden: 7 };
    const params = initParams(cfg, 3);
    const rng = new Rng(11);
    const xs = Float32Array.from({ length: 4 * 9 * 8 * 3 }, () => rng.normal());
    const { ours, ref } = tf.tidy(() => {
      const p: Record<string, tf.Tensor> = {};
      for (const s of paramSpecs(cfg)) p[s.name] = tf.tensor(params[s.name]!, s.shape);
      // Non-trivial BN parameters.
      p['bn2.gamma'] = tf.tensor1d([0.5, 1.5, -0.7, 1, 2, 0.3]);
      p['bn1.beta'] = tf.tensor1d([0.1, -0.2, 0.3, 0]);
      const x = tf.tensor4d(xs, [4, 9, 8, 3]);
      const labels = tf.tensor1d([0, 3, 4, 1], 'int32');
      const step = trainStep(cfg, p, x, labels);
      const ref = autodiffReference(cfg, p, x, labels);
      return { ours: step.grads, ref };
    });
    for (const name of Object.keys(ref)) {
      const a = ours[name]!.dataSync();
      const b = ref[name]!.dataSync();
      expect(ours[name]!.shape).toEqual(ref[name]!.shape);
      let max = 0;
      let scale = 0;
      for (let i = 0; i < a.length; i++) {
        max = Math.max(max, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(b[i]!));
      }
      expect(max, `gradient of ${name}`).toBeLessThan(1e-5 + 1e-3 * scale);
      expect(scale, `gradient of ${name} is not trivially zero`).toBeGreaterThan(1e-6);
    }
    tf.dispose([...Object.values(ours), ...Object.values(ref)]);
  });

  it('sumRows equals float64 column sums for every split of M (32, 16, 8, 4, 2, none)', () => {
    const rng = new Rng(5);
    for (const m of [6272, 96, 48, 24, 12, 14, 7, 1]) {
      const c = 3;
      const a = Float32Array.from({ length: m * c }, () => rng.normal());
      const got = tf.tidy(() => sumRows(tf.tensor2d(a, [m, c])).dataSync());
      expect(got.length).toBe(c);
      for (let j = 0; j < c; j++) {
        let ref = 0;
        let mag = 0;
        for (let i = 0; i < m; i++) { ref += a[i * c + j]!; mag += Math.abs(a[i * c + j]!); }
        expect(Math.abs(got[j]! - ref), `M = ${m}, column ${j}`).toBeLessThan(1e-6 * mag + 1e-7);
      }
    }
  });
});
