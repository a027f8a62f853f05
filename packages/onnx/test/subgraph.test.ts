import { describe, expect, it } from 'vitest';
import { Tensor, WhiteBoxError } from '@whitebox/core';
import '@whitebox/backend-node';
import { GraphBuilder, buildSimpleCnn, cutGraphAt, f32, loadModel, prepareModel, randomImages } from '@whitebox/onnx';
import { auxHeadModel, gapLinearModel, residualModel } from '../../cam-utils/test/fixtures.js';
import { runModel } from './helpers.js';

async function expectError(p: Promise<unknown>, code: string, fragment: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WhiteBoxError);
  expect((err as WhiteBoxError).code).toBe(code);
  expect((err as Error).message).toMatch(fragment);
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i]! - b[i]!)); m = Math.max(m, Math.abs(b[i]!)); }
  return d / Math.max(m, 1e-12);
}

describe('forwardFrom (the graph cut at a layer)', () => {
  it('SimpleCNN: from its own activation the logits are the forward logits; the cut needs no input', async () => {
    const bytes = buildSimpleCnn({ channels: 3, height: 16, width: 16, seed: 2, widths: [4, 6, 8], hidden: 16 });
    const model = await loadModel(bytes, { backend: 'node', threads: 1, batchSize: 3 });
    const x = randomImages(5, 3, 16, 16, 1);
    const { logits, layers } = await model.gradients(x, 0, { layers: ['relu2', 'pool3'], inputGradient: false });
    for (const layer of ['relu2', 'pool3']) {
      const progress: number[] = [];
      const out = await model.forwardFrom!(layer, layers[layer]!.activation, { onProgress: (p) => progress.push(p.done) });
      expect(maxRel(out.data, logits.data), layer).toBeLessThan(1e-5);
      expect(progress).toEqual([0, 3, 5]); // the model's batch size 3
    }
    const cut = cutGraphAt(prepareModel(bytes), 'relu2');
    expect(cut.needsInput).toBe(false);
    await model.dispose();
  });

  it('a linear-after-pooling model: logits = fc · mean(A) + b for any activation (analytic)', async () => {
    const { bytes, fc, bias } = gapLinearModel({ c: 2, k: 3, classes: 2, seed: 4 });
    const model = await loadModel(bytes, { backend: 'node', threads: 1 });
    const a = Tensor.from(Array.from({ length: 2 * 3 * 36 }, (_, i) => Math.sin(i) * 2), [2, 3, 6, 6]);
    const out = await model.forwardFrom!('feat', a);
    for (let b = 0; b < 2; b++) {
      for (let c = 0; c < 2; c++) {
        let y = bias[c]!;
        for (let k = 0; k < 3; k++) y += fc[c * 3 + k]! * (a.data.subarray((b * 3 + k) * 36, (b * 3 + k + 1) * 36).reduce((s, v) => s + v, 0) / 36);
        expect(out.data[b * 2 + c]).toBeCloseTo(y, 5);
      }
    }
    await model.dispose();
  });

  it('a residual block: cutting at r2 keeps the skip from r1, computed from the input; equals a hand-built sub-model', async () => {
    const { bytes, fromR2 } = residualModel();
    const model = await loadModel(bytes, { backend: 'node', threads: 1 });
    expect(model.defaultCamLayer).toBe('r3'); // the map before MaxPool → GlobalAveragePool
    expect(cutGraphAt(prepareModel(bytes), 'r2').needsInput).toBe(true);
    expect(cutGraphAt(prepareModel(bytes), 'r3').needsInput).toBe(false);
    const x = randomImages(3, 3, 8, 8, 6);
    const a = Tensor.from(Array.from({ length: 3 * 6 * 64 }, (_, i) => Math.abs(Math.cos(i * 0.7))), [3, 6, 8, 8]);
    const got = await model.forwardFrom!('r2', a, { input: x });
    const want = (await runModel(fromR2, { input: x, r2: a })).logits!;
    expect(maxRel(got.data, want.data)).toBeLessThan(1e-5);
    // One image shared by every activation row (batch 1 input).
    const shared = await model.forwardFrom!('r2', a, { input: x.slice(0, 1) });
    const want1 = (await runModel(fromR2, { input: Tensor.from([...x.slice(0, 1).data, ...x.slice(0, 1).data, ...x.slice(0, 1).data], [3, 3, 8, 8]), r2: a })).logits!;
    expect(maxRel(shared.data, want1.data)).toBeLessThan(1e-5);
    await expectError(model.forwardFrom!('r2', a), 'INVALID_ARGUMENT', /layer 'r2' is bypassed by a skip connection .* pass the model input as options.input/);
    await expectError(model.forwardFrom!('r2', a, { input: x.slice(0, 2) }), 'SHAPE_MISMATCH', /options.input has batch 2; it must be 1 or the activation's batch 3/);
    await model.dispose();
  });

  it('named errors: unknown tensor, a branch the output does not depend on, the output itself, a wrong activation shape', async () => {
    const model = await loadModel(auxHeadModel(), { backend: 'node', threads: 1, output: 'logits' });
    const a = Tensor.zeros([1, 2, 6, 6]);
    await expectError(model.forwardFrom!('nope', a), 'NOT_FOUND', /'nope' is not a tensor of the model/);
    await expectError(model.forwardFrom!('aux_feat', a), 'NOT_FOUND', /'aux_feat' is a tensor of the model file, but not one that the model's output depends on/);
    await expectError(model.gradients(Tensor.zeros([1, 1, 6, 6]), 0, { layers: ['aux_feat'] }), 'INVALID_ARGUMENT', /unknown layer 'aux_feat' \('aux_feat' is a tensor of the model file, but not one that the model's output depends on/);
    await expectError(model.forwardFrom!('logits', Tensor.zeros([1, 3])), 'INVALID_ARGUMENT', /is the model's output/);
    await expectError(model.forwardFrom!('feat', Tensor.zeros([1, 3, 6, 6])), 'SHAPE_MISMATCH', /activation for layer 'feat' must be float32 \[N ≥ 1, 2, 6, 6\], got float32 \[1, 3, 6, 6\]/);
    await expectError(model.forwardFrom!('feat', Tensor.zeros([0, 2, 6, 6])), 'SHAPE_MISMATCH', /N ≥ 1/);
    await expectError(model.forwardFrom!('feat', Tensor.full([1, 2, 6, 6], Number.NaN)), 'INVALID_ARGUMENT', /non-finite value/);
    await model.dispose();
  });

  it('a fixed-batch graph runs at its batch: the last chunk is padded and cut', async () => {
    const b = new GraphBuilder('fixed');
    b.input('input', [4, 1, 2, 2]);
    b.node('Relu', ['input'], ['r'], {}, 'relu');
    b.node('Flatten', ['r'], ['flat'], { axis: 1 }, 'flatten');
    b.initializer('w', f32([1, 2, 3, 4, 0, 0, 0, 1], [2, 4]));
    b.node('Gemm', ['flat', 'w'], ['logits'], { transB: 1 }, 'fc');
    b.output('logits', [4, 2]);
    const model = await loadModel(b.toModelBytes(), { backend: 'node', threads: 1 });
    const a = Tensor.from(Array.from({ length: 6 * 4 }, (_, i) => i), [6, 1, 2, 2]);
    const out = await model.forwardFrom!('r', a);
    expect(out.dims).toEqual([6, 2]);
    for (let r = 0; r < 6; r++) expect(Array.from(out.data.subarray(r * 2, r * 2 + 2))).toEqual([[1, 2, 3, 4].reduce((s, w, j) => s + w * (4 * r + j), 0), 4 * r + 3]);
    await model.dispose();
  });
});
