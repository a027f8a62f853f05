import { describe, expect, it } from 'vitest';
import { RELU_RULES, Tensor, resolveBackend } from '@whitebox/core';
import '@whitebox/backend-node';
import '@whitebox/backend-web';
import { buildGradientGraph, buildSimpleCnn, randomImages } from '@whitebox/onnx';

/** The exported gradient graphs (standard ONNX ops only) give the same numbers on onnxruntime-node and onnxruntime-web. */
describe('node cpu and web wasm agree on SimpleCNN gradient graphs', () => {
  for (const [c, h] of [[1, 28], [3, 32]] as const) {
    for (const rule of RELU_RULES) {
      it(`${c === 1 ? 'MNIST' : 'CIFAR'} shape, rule ${rule}`, async () => {
        const model = buildSimpleCnn({ channels: c, height: h, width: h, seed: 4 });
        const bytes = buildGradientGraph(model, { rule, layers: ['relu3'] });
        const x = randomImages(4, c, h, h, 8);
        const cot = new Tensor(new Float32Array(40).map((_, i) => (i % 10 === i / 10 + 1 ? 1 : (i % 7) / 10 - 0.3)), [4, 10]);
        const outs = [];
        for (const [backend, device] of [['node', 'cpu'], ['web', 'wasm']] as const) {
          const s = await resolveBackend({ backend, device }).createSession(bytes, { device, threads: 1 });
          outs.push(await s.run({ input: x, cotangent: cot }));
          await s.release();
        }
        for (const name of ['logits', 'input_grad', 'relu3:activation', 'relu3:grad']) {
          const a = outs[0]![name]!.data as Float32Array;
          const b = outs[1]![name]!.data as Float32Array;
          let maxDiff = 0;
          let maxAbs = 0;
          for (let i = 0; i < a.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
            maxAbs = Math.max(maxAbs, Math.abs(a[i]!));
          }
          expect(maxAbs).toBeGreaterThan(0);
          expect(maxDiff / maxAbs, name).toBeLessThan(1e-5);
        }
      });
    }
  }
});
