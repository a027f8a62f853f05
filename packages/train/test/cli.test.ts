import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainCommand } from '../../cli/src/commands/train.js';
import { evaluateModelCommand, formatAccuracy } from '../../cli/src/commands/evaluate-model.js';

const out = mkdtempSync(join(tmpdir(), 'wb-cli-train-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('whitebox train / evaluate-model', () => {
  it('trains a quick MNIST model, writes the ONNX file and its card (json, md, svg), and evaluate-model agrees', async () => {
    const card = await trainCommand({ dataset: 'mnist', epochs: 1, trainLimit: 600, testLimit: 1000, batchSize: 50, out, name: 'tiny', quiet: true, validationFraction: 0.2 });
    for (const ext of ['onnx', 'json', 'md', 'curve.svg']) expect(existsSync(join(out, `tiny.${ext}`)), ext).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'tiny.json'), 'utf8'));
    expect(json.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(json.parameterCount).toBe(32 * 9 + 64 + 32 * 64 * 9 + 128 + 64 * 128 * 9 + 256 + 1152 * 1024 + 1024 + 10240 + 10);
    expect(json.training.epochs).toBe(1);
    expect(json.dataset.trainImages + json.dataset.validationImages).toBe(600);
    expect(json.normalization.mean[0]).toBeCloseTo(0.1307, 3);
    expect(json.parity.maxAbsLogitDiff).toBeLessThanOrEqual(1e-4);
    expect(json.curve[0].validationAccuracy).toBeGreaterThan(0.15); // above 10% chance after ~10 steps
    const svg = readFileSync(join(out, 'tiny.curve.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('accuracy');
    expect(svg).toContain('loss');
    expect(readFileSync(join(out, 'tiny.md'), 'utf8')).toContain(`Test accuracy: ${(100 * card.test.accuracy).toFixed(2)}%`);
    const r = await evaluateModelCommand({ model: join(out, 'tiny.onnx'), dataset: 'mnist', limit: 1000, quiet: true });
    expect(r.count).toBe(1000);
    expect(r.accuracy).toBeCloseTo(card.test.accuracy, 10);
    expect(r.perClass.map((p) => p.count)).toEqual(card.test.perClass.map((p) => p.count));
    expect(r.perClass.reduce((a, p) => a + p.correct, 0)).toBe(Math.round(card.test.accuracy * 1000));
    expect(formatAccuracy(r)).toMatch(/accuracy \d+\.\d\d%/);
  });

  it('bad input: unknown dataset, missing model file', async () => {
    await expect(trainCommand({ dataset: 'svhn' as never, out, quiet: true })).rejects.toThrow(/--dataset must be mnist, cifar10 or localization, got 'svhn'/);
    await expect(evaluateModelCommand({ model: join(out, 'nope.onnx'), dataset: 'mnist', quiet: true })).rejects.toThrow(/cannot read ONNX model .*nope.onnx: no such file/);
  });
});
