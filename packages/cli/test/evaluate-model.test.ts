// evaluate-model on hostile models: external data, NaN logits, several outputs, batch mismatches.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor } from '@whitebox/core';
import { createDataset } from '@whitebox/datasets';
import { GraphBuilder, buildSimpleCnn, onnx, readModel, writeModel } from '@whitebox/onnx';
import { evaluateOnnx, formatAccuracy } from '../src/commands/evaluate-model.js';

/** 20 random 8×8 grayscale images, two classes. */
function tinySet() {
  const images = new Uint8Array(20 * 64);
  for (let i = 0; i < images.length; i++) images[i] = (i * 37) % 256;
  return createDataset({ name: 'tiny-test', classes: ['a', 'b'], channels: 1, height: 8, width: 8, images, labels: Uint8Array.from({ length: 20 }, (_, i) => i % 2) });
}

/** logits = Flatten(input) · W + b with W [64, 2]. */
function linear(w: number = 0.01, outputs: 'one' | 'two' | 'two-logits' = 'one'): Uint8Array {
  const b = new GraphBuilder('linear');
  b.input('input', ['N', 1, 8, 8]);
  b.initializer('W', Tensor.from(Array.from({ length: 128 }, (_, i) => (i % 3 === 0 ? w : -w)), [64, 2]));
  b.initializer('B', Tensor.from([0, 0], [2]));
  b.node('Flatten', ['input'], ['flat'], { axis: 1 });
  b.node('MatMul', ['flat', 'W'], ['mm']);
  b.node('Add', ['mm', 'B'], ['logits']);
  if (outputs !== 'one') b.node('Relu', ['logits'], ['relu']);
  if (outputs === 'two') b.output('relu', ['N', 2]);
  b.output('logits', ['N', 2]);
  if (outputs === 'two-logits') b.output('relu', ['N', 2]);
  return b.toModelBytes();
}

describe('evaluate-model', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wb-evalmodel-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('computes accuracy on a hand-checkable linear model; a class without images shows –, not NaN %', async () => {
    const test = tinySet();
    const r = await evaluateOnnx(linear(), test, { limit: 1 });
    expect(r.count).toBe(1);
    expect(r.perClass[1]!.accuracy).toBeNull();
    expect(formatAccuracy({ model: 'm', dataset: 'tiny', ...r })).not.toMatch(/NaN/);
  });

  it('refuses relative external data instead of reading a file from the working directory', async () => {
    const model = readModel(linear());
    const w = model.graph!.initializer!.find((t) => t.name === 'W')!;
    w.rawData = new Uint8Array(0);
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [{ key: 'location', value: 'weights.bin' }, { key: 'length', value: '512' }];
    const bytes = writeModel(model);
    // A weights.bin in the working directory must not be picked up.
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(512));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await expect(evaluateOnnx(bytes, tinySet(), { source: 'ext.onnx' })).rejects.toMatchObject({
        code: 'INVALID_MODEL',
        message: expect.stringMatching(/ONNX model ext\.onnx stores tensor data in external files \(initializer 'W'\)/),
      });
    } finally {
      process.chdir(cwd);
    }
  });

  it('NaN logits are a NON_FINITE error naming the image, not "accuracy 50 %"', async () => {
    await expect(evaluateOnnx(linear(NaN), tinySet(), { source: 'nan.onnx' })).rejects.toMatchObject({ code: 'NON_FINITE', message: expect.stringMatching(/model nan\.onnx: logit 0 of tiny-test image 0 is NaN/) });
  });

  it('with several outputs it takes the one named logits, or says which it cannot choose from', async () => {
    const r = await evaluateOnnx(linear(0.01, 'two-logits'), tinySet());
    const ref = await evaluateOnnx(linear(0.01, 'one'), tinySet());
    expect(r.accuracy).toBe(ref.accuracy);
    const renamed = readModel(linear(0.01, 'two'));
    // Neither output named logits: rename logits -> scores.
    for (const n of renamed.graph!.node!) n.output = n.output!.map((o) => (o === 'logits' ? 'scores' : o));
    for (const n of renamed.graph!.node!) n.input = n.input!.map((i) => (i === 'logits' ? 'scores' : i));
    for (const o of renamed.graph!.output!) if (o.name === 'logits') o.name = 'scores';
    await expect(evaluateOnnx(writeModel(renamed), tinySet())).rejects.toThrow(/has 2 outputs \(relu, scores\) and none named 'logits'/);
  });

  it('a batch-size or class-count mismatch in the output is named', async () => {
    await expect(evaluateOnnx(buildSimpleCnn({ channels: 1, height: 8, width: 8, widths: [2, 2, 2], hidden: 4, numClasses: 3 }), tinySet())).rejects.toThrow(/output 'logits' has shape \[20, 3\] for 20 images, expected \[20, 2\]/);
  });
});
