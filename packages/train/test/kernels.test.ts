import { describe, expect, it, beforeAll } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { Rng } from '@whitebox/core';
import { initTf, tf } from '../src/tf.js';

function randn(rng: Rng, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** Runs fn on a backend, returns plain arrays. */
async function on(backend: string, fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = tf.tidy(fn);
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('wasm training kernels vs the tfjs cpu backend', () => {
  beforeAll(async () => {
    await initTf();
  });

  const cases: { x: [number, number, number, number]; f: [number, number, number, number]; pad: 'same' | 'valid' | number }[] = [
    { x: [2, 5, 6, 3], f: [3, 3, 3, 4], pad: 1 },
    { x: [3, 7, 7, 2], f: [3, 3, 2, 5], pad: 'same' },
    { x: [2, 6, 5, 3], f: [2, 3, 3, 2], pad: 'same' }, // even kernel: asymmetric padding
    { x: [1, 6, 6, 4], f: [3, 2, 4, 3], pad: 'valid' },
    { x: [4, 4, 4, 1], f: [5, 5, 1, 2], pad: 2 },
  ];

  for (const c of cases) {
    it(`Conv2DBackpropInput and Conv2DBackpropFilter match cpu for x ${c.x} filter ${c.f} pad ${c.pad}`, async () => {
      const rng = new Rng(7);
      const xv = randn(rng, c.x);
      const fv = randn(rng, c.f);
      const yShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, 1, c.pad).shape) as [number, number, number, number];
      const dyv = randn(rng, yShape);
      const dx = (b: string) => on(b, () => tf.conv2dTranspose(tf.tensor4d(dyv, yShape), tf.tensor4d(fv, c.f), c.x, 1, c.pad));
      // conv2dTranspose is Conv2DBackpropInput; the filter gradient through tf.grads exercises Conv2DBackpropFilter.
      const df = (b: string) =>
        on(b, () => {
          const g = tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, c.pad));
          const [gx, gf] = g([tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.f)], tf.tensor4d(dyv, yShape));
          return tf.concat([tf.reshape(gx!, [-1]), tf.reshape(gf!, [-1])]);
        });
      const [dxCpu, dxWasm] = [await dx('cpu'), await dx('wasm')];
      expect(maxAbsDiff(dxCpu, dxWasm)).toBeLessThan(1e-4);
      const [dfCpu, dfWasm] = [await df('cpu'), await df('wasm')];
      expect(maxAbsDiff(dfCpu, dfWasm)).toBeLessThan(1e-4);
      // guard against both being trivially zero
      expect(Math.max(...dfCpu.map(Math.abs))).toBeGreaterThan(0.1);
    });
  }

  it('checks the kernel is ours: unsupported stride gives a WhiteBoxError naming the op', async () => {
    await tf.setBackend('wasm');
    expect(() =>
      tf.tidy(() => {
        const g = tf.grad((f: tf.Tensor) => tf.conv2d(tf.ones([1, 6, 6, 1]) as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'));
        return g(tf.ones([3, 3, 1, 1]));
      }),
    ).toThrow(/Conv2DBackpropFilter.*stride 1/);
  });
});
