import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, WhiteBoxError } from '@whitebox/core';
import '@whitebox/backend-node';
import {
  GraphBuilder, buildGradientGraph, buildSimpleCnn, defaultBatchSize, exportGradientGraphs, loadModel, prepareModel, randomImages, randomizeInitializers, readModel,
  tensorFromProto,
} from '@whitebox/onnx';
import { maskedRelError, randomTensor, runModel } from './helpers.js';

const small = () => buildSimpleCnn({ channels: 3, height: 16, width: 16, seed: 9, widths: [4, 6, 8], hidden: 16 });

async function expectError(p: Promise<unknown> | (() => unknown), code: string, ...fragments: (string | RegExp)[]): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(WhiteBoxError);
  expect((err as WhiteBoxError).code).toBe(code);
  for (const f of fragments) expect((err as Error).message).toMatch(f);
}

describe('loadModel', () => {
  it('forward: logits equal the ONNX model run directly, softmax probabilities, argmax predictions; batching is invisible', async () => {
    const bytes = small();
    const model = await loadModel(bytes, { backend: 'node', threads: 1, batchSize: 7 });
    expect(model.inputShape).toEqual([null, 3, 16, 16]);
    expect(model.numClasses).toBe(10);
    const x = randomImages(20, 3, 16, 16, 2);
    const f = await model.forward(x);
    const direct = await runModel(bytes, { input: x });
    expect(maskedRelError(f.logits.data, direct.logits!.data).err).toBeLessThan(1e-5);
    for (let i = 0; i < 20; i++) {
      const row = Array.from(f.probabilities.data.subarray(i * 10, i * 10 + 10));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const logits = Array.from(f.logits.data.subarray(i * 10, i * 10 + 10));
      expect(f.predictions[i]).toBe(logits.indexOf(Math.max(...logits)));
      const e = logits.map((v) => Math.exp(v - Math.max(...logits)));
      expect(row[3]!).toBeCloseTo(e[3]! / e.reduce((a, b) => a + b, 0), 5);
    }
    await model.dispose();
  });

  it('gradients: batched at batchSize equal one unbatched run; targets as index, per-sample, or cotangent', async () => {
    const bytes = small();
    const model = await loadModel(bytes, { backend: 'node', threads: 1, batchSize: 4 });
    const x = randomImages(10, 3, 16, 16, 3);
    const targets = Array.from({ length: 10 }, (_, i) => i % 10);
    const g = await model.gradients(x, targets, { layers: ['relu3'] });
    const cot = new Tensor(new Float32Array(100), [10, 10]);
    targets.forEach((t, i) => { cot.data[i * 10 + t] = 1; });
    const direct = await runModel(buildGradientGraph(bytes, { layers: ['relu3'] }), { input: x, cotangent: cot });
    expect(maskedRelError(g.inputGradient!.data, direct.input_grad!.data).err).toBeLessThan(1e-6);
    expect(maskedRelError(g.layers.relu3!.gradient.data, direct['relu3:grad']!.data).err).toBeLessThan(1e-6);
    expect(g.layers.relu3!.activation.dims).toEqual([10, 8, 4, 4]);
    const viaTensor = await model.gradients(x, cot);
    expect(maskedRelError(viaTensor.inputGradient!.data, direct.input_grad!.data).err).toBeLessThan(1e-6);
    const one = await model.gradients(x, 2, { rule: 'guided', layers: ['relu2'], inputGradient: false });
    expect(one.inputGradient).toBeUndefined();
    expect(one.layers.relu2!.gradient.dims).toEqual([10, 6, 8, 8]);
    await model.dispose();
  });

  it('layers, defaultCamLayer, modelHash (sha256), modelBytes', async () => {
    const bytes = small();
    const model = await loadModel(bytes, { backend: 'node' });
    expect(model.defaultCamLayer).toBe('relu3');
    // Every float tensor that depends on the input is a layer (the normalization at the front too), in graph order.
    expect(model.layers.map((l) => l.name)).toEqual(['centered', 'normalized', 'bn1', 'relu1', 'pool1', 'bn2', 'relu2', 'pool2', 'bn3', 'relu3', 'pool3', 'flatten', 'fc1', 'relu4']);
    expect(model.layers.find((l) => l.name === 'relu3')).toEqual({ name: 'relu3', op: 'Relu', shape: [null, 8, 4, 4], kind: 'spatial' });
    expect(model.layers.find((l) => l.name === 'fc1')!.kind).toBe('other');
    expect(model.modelHash).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(model.modelBytes).toBe(bytes);
    await model.dispose();
  });

  it('loads from a path and names the file in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-onnx-'));
    const path = join(dir, 'net.onnx');
    writeFileSync(path, small());
    const model = await loadModel(path, { backend: 'node' });
    expect(model.numClasses).toBe(10);
    await model.dispose();
    writeFileSync(join(dir, 'bad.onnx'), small().subarray(0, 500));
    await expectError(loadModel(join(dir, 'bad.onnx'), { backend: 'node' }), 'INVALID_MODEL', 'bad.onnx');
    await expectError(loadModel(join(dir, 'missing.onnx'), { backend: 'node' }), 'NOT_FOUND', 'missing.onnx');
  });
});

describe('bad input is a clear WhiteBoxError', () => {
  it('random bytes and truncated models', async () => {
    const rnd = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    await expectError(() => buildGradientGraph(rnd, {}, 'rnd.onnx'), 'INVALID_MODEL', 'rnd.onnx');
    await expectError(loadModel(rnd, { backend: 'node' }), 'INVALID_MODEL');
    const bytes = small();
    for (const cut of [10, 200, Math.floor(bytes.length / 2), bytes.length - 3]) {
      await expectError(() => buildGradientGraph(bytes.subarray(0, cut)), 'INVALID_MODEL');
    }
  });

  for (const op of ['NonZero', 'LSTM']) {
    it(`an unsupported op (${op}) fails when the gradient graph is built, naming op and node`, async () => {
      const b = new GraphBuilder('bad');
      b.input('x', ['N', 4]);
      b.node(op, ['x'], ['y'], {}, 'my_node');
      b.output('y', ['N', 4]);
      await expectError(() => buildGradientGraph(b.toModelBytes()), 'UNSUPPORTED_OP', op, 'my_node');
      await expectError(loadModel(b.toModelBytes(), { backend: 'node' }), 'UNSUPPORTED_OP', op);
    });
  }

  it('wrong input shape, target out of range, unknown layer, bad rule, non-finite input', async () => {
    const model = await loadModel(small(), { backend: 'node' });
    await expectError(model.gradients(randomImages(2, 1, 16, 16), 0), 'SHAPE_MISMATCH', /\[N, 3, 16, 16\]/, /\[2, 1, 16, 16\]/);
    await expectError(model.forward(randomImages(2, 3, 15, 16)), 'SHAPE_MISMATCH', /\[2, 3, 15, 16\]/);
    await expectError(model.gradients(randomImages(2, 3, 16, 16), 10), 'TARGET_OUT_OF_RANGE', '10');
    await expectError(model.gradients(randomImages(2, 3, 16, 16), [0, -1]), 'TARGET_OUT_OF_RANGE');
    await expectError(model.gradients(randomImages(2, 3, 16, 16), 0, { layers: ['nope'] }), 'INVALID_ARGUMENT', 'nope');
    await expectError(model.gradients(randomImages(2, 3, 16, 16), 0, { rule: 'lrp' as never }), 'INVALID_ARGUMENT', 'lrp');
    const nan = randomImages(2, 3, 16, 16);
    nan.data[5] = NaN;
    await expectError(model.forward(nan), 'INVALID_ARGUMENT', 'non-finite');
    await model.dispose();
  });

  it('a model whose output is not [N, classes]', async () => {
    const b = new GraphBuilder('img');
    b.input('x', ['N', 1, 4, 4]);
    b.node('Relu', ['x'], ['y']);
    b.output('y', ['N', 1, 4, 4]);
    await expectError(() => buildGradientGraph(b.toModelBytes()), 'INVALID_MODEL', /\[N, numClasses\]/);
  });
});

describe('randomizeInitializers and exportGradientGraphs', () => {
  it('re-draws only the named weights, seeded, keeping their scale', () => {
    const bytes = small();
    const out = randomizeInitializers(bytes, ['fc1.weight'], 42);
    const before = new Map(readModel(bytes).graph!.initializer!.map((t) => [t.name!, tensorFromProto(t, t.name!)]));
    const after = new Map(readModel(out).graph!.initializer!.map((t) => [t.name!, tensorFromProto(t, t.name!)]));
    for (const [k, t] of before) {
      const a = after.get(k)!;
      expect(a.dims).toEqual(t.dims);
      if (k !== 'fc1.weight') expect(Array.from(a.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
    }
    const w0 = before.get('fc1.weight')!.data as Float32Array;
    const w1 = after.get('fc1.weight')!.data as Float32Array;
    let same = 0;
    for (let i = 0; i < w0.length; i++) if (w0[i] === w1[i]) same++;
    expect(same).toBeLessThan(w0.length / 1000);
    const std = (d: Float32Array) => Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    expect(std(w1) / std(w0)).toBeGreaterThan(0.95);
    expect(std(w1) / std(w0)).toBeLessThan(1.05);
    expect(randomizeInitializers(bytes, ['fc1.weight'], 42)).toEqual(out);
    expect(() => randomizeInitializers(bytes, ['nope'], 1)).toThrow(/nope/);
  });

  it('writes <model>.grad.<rule>.onnx files that run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-export-'));
    const path = join(dir, 'net.onnx');
    writeFileSync(path, small());
    const files = await exportGradientGraphs(path, join(dir, 'out'), ['gradient', 'guided']);
    expect(files.map((f) => f.split('/').pop())).toEqual(['net.grad.gradient.onnx', 'net.grad.guided.onnx']);
    const g = await runModel(new Uint8Array(readFileSync(files[1]!)), { input: randomImages(2, 3, 16, 16), cotangent: randomTensor([2, 10], 1) });
    expect(g.input_grad!.dims).toEqual([2, 3, 16, 16]);
  });
});

describe('reserved tensor names', () => {
  it("a model tensor named 'logits' or 'input_grad' that is not the output is renamed, not clobbered", async () => {
    const b = new GraphBuilder('names');
    b.input('x', ['N', 3]);
    b.initializer('W', randomTensor([3, 2], 3));
    b.node('MatMul', ['x', 'W'], ['logits']);
    b.node('Tanh', ['logits'], ['input_grad']);
    b.node('Mul', ['input_grad', b.initializer('two', Tensor.from([2], []))], ['out']);
    b.output('out', ['N', 2]);
    const x = randomTensor([2, 3], 4);
    const cot = randomTensor([2, 2], 5);
    const g = await runModel(buildGradientGraph(b.toModelBytes()), { x, cotangent: cot });
    const W = randomTensor([3, 2], 3).data;
    for (let n = 0; n < 2; n++) {
      const z = [0, 1].map((j) => [0, 1, 2].reduce((s, i) => s + x.data[n * 3 + i]! * W[i * 2 + j]!, 0));
      [0, 1].forEach((j) => expect(g.logits!.data[n * 2 + j]).toBeCloseTo(2 * Math.tanh(z[j]!), 5));
      for (let i = 0; i < 3; i++) {
        const e = [0, 1].reduce((s, j) => s + cot.data[n * 2 + j]! * 2 * (1 - Math.tanh(z[j]!) ** 2) * W[i * 2 + j]!, 0);
        expect(g.input_grad!.data[n * 3 + i]).toBeCloseTo(e, 5);
      }
    }
  });
});

describe('gradient graph form', () => {
  it('uses only default-domain ONNX operators, opset 17, symbolic batch in and out', () => {
    for (const rule of ['gradient', 'deconvnet', 'guided'] as const) {
      const m = readModel(buildGradientGraph(small(), { rule, layers: ['relu2'] }));
      expect(m.opsetImport!.map((o) => [o.domain ?? '', Number(o.version)])).toEqual([['', 17]]);
      for (const n of m.graph!.node!) expect(n.domain ?? '').toBe('');
      expect(m.graph!.input!.map((i) => i.name)).toEqual(['input', 'cotangent']);
      expect(m.graph!.input![0]!.type!.tensorType!.shape!.dim![0]!.dimParam).toBe('N');
      expect(m.graph!.output!.map((o) => o.name)).toEqual(['logits', 'input_grad', 'relu2:activation', 'relu2:grad']);
      // No MaxPool Indices output / scatter on the SimpleCNN path (first-max indices come from max-pools of the
      // leading window slots, routed by MaxUnpool), and BatchNorm is folded away.
      const ops = new Set(m.graph!.node!.map((n) => n.opType));
      for (const op of ['BatchNormalization', 'ScatterElements']) expect(ops.has(op)).toBe(false);
      for (const n of m.graph!.node!.filter((q) => q.opType === 'MaxPool')) expect(n.output!.filter(Boolean)).toHaveLength(1);
      expect(m.graph!.node!.filter((q) => q.opType === 'MaxUnpool')).toHaveLength(3);
    }
  });

  it('only the batch dim may be symbolic', () => {
    const b = new GraphBuilder('sym');
    b.input('x', ['batch', 2, 'h']);
    b.node('Flatten', ['x'], ['y']);
    b.output('y', ['batch', 'k']);
    expect(() => buildGradientGraph(b.toModelBytes(), {}, 'sym.onnx')).toThrow(/symbolic dim 'h' at axis 2.*only the batch dim/);
  });
});

describe('Gemm with both operands computed from the input', () => {
  it('Y = α·X·tanh(X)ᵀ (fixed batch 3): input gradient equals the hand-derived α(C·T + (CᵀX) ⊙ (1 − T²))', async () => {
    const b = new GraphBuilder('gemm2');
    b.input('x', [3, 4]);
    b.node('Tanh', ['x'], ['t']);
    b.node('Gemm', ['x', 't'], ['y'], { transB: 1, alpha: 0.5 });
    b.output('y', [3, 3]);
    const x = randomTensor([3, 4], 31);
    const cot = randomTensor([3, 3], 32);
    const g = await runModel(buildGradientGraph(b.toModelBytes()), { x, cotangent: cot });
    const X = x.data;
    const T = X.map(Math.tanh);
    const C = cot.data;
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 4; k++) {
        let a = 0;
        let c = 0;
        for (let j = 0; j < 3; j++) {
          a += C[i * 3 + j]! * T[j * 4 + k]!;
          c += C[j * 3 + i]! * X[j * 4 + k]!;
        }
        const expected = 0.5 * (a + c * (1 - T[i * 4 + k]! ** 2));
        expect(g.input_grad!.data[i * 4 + k]).toBeCloseTo(expected, 5);
      }
    }
  });
});

describe('input that is not a Tensor', () => {
  it('is named in the message, not "[object Object]" (fuzz case api.call#37)', async () => {
    const { loadModel, buildSimpleCnn } = await import('@whitebox/onnx');
    await import('@whitebox/backend-node');
    const model = await loadModel(buildSimpleCnn({ channels: 1, height: 8, width: 8, widths: [2, 2, 2], hidden: 4 }), { threads: 1 });
    try {
      const plain = { dims: [1, 1, 8, 8], data: new Float32Array(64), dtype: 'float32' };
      await expect(model.forward(plain as never)).rejects.toThrow(/got a plain object \(not a core Tensor/);
      await expect(model.gradients(null as never, 0)).rejects.toThrow(/expected shape \[N, 1, 8, 8\], got null/);
      await expect(model.forward(new Float32Array(64) as never)).rejects.toThrow(/got a Float32Array \(not a core Tensor/);
    } finally {
      await model.dispose();
    }
  });
});

describe('default batch size (images per run) from the forward activations', () => {
  /** x [N, 16, s, s] → `depth` Relus → GAP → Gemm: about depth · 16 · s² · 4 bytes of activations per image. */
  function wide(s: number, depth: number): Uint8Array {
    const b = new GraphBuilder('wide');
    b.input('x', ['N', 16, s, s]);
    let t = 'x';
    for (let i = 0; i < depth; i++) t = b.node(i % 2 ? 'Relu' : 'Sigmoid', [t], 1)[0]!;
    const [p] = b.node('GlobalAveragePool', [t], 1);
    const [f] = b.node('Flatten', [p!], 1, { axis: 1 });
    const [out] = b.node('Gemm', [f!, b.initializer('w', randomTensor([3, 16], 3))], ['logits'], { transB: 1 });
    b.output(out!, ['N', 3]);
    return b.toModelBytes({ opset: 17 });
  }

  it('is 64 for the shipped SimpleCNN and 2 GiB ÷ activation bytes per image for a wide model', () => {
    expect(defaultBatchSize(prepareModel(readFileSync(new URL('../../../models/cifar10-simplecnn.onnx', import.meta.url))))).toBe(64);
    // 8 tensors of 16·256·256 floats (4 MiB each) + GAP/Flatten/logits: 32 MiB per image → 64 images = 2 GiB: 63.
    expect(defaultBatchSize(prepareModel(wide(256, 8)))).toBe(63);
    // 24 such tensors: 96 MiB per image → 21 images.
    expect(defaultBatchSize(prepareModel(wide(256, 24)))).toBe(21);
  });
});
