import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { loadMnistLocalization, localizationBenchmark, loadMnist, toTensor } from '@whitebox/datasets';
import { loadModel } from '@whitebox/onnx';

const MODELS = fileURLToPath(new URL('../../../models/', import.meta.url));

interface Card {
  sha256: string;
  input: { shape: (string | number)[] };
  test: { accuracy: number; count: number };
  variants: Record<string, { accuracy: number; count: number }>;
}

async function accuracy(bytes: Uint8Array, images: ReturnType<typeof toTensor>, labels: Uint8Array): Promise<number> {
  const model = await loadModel(bytes, { backend: 'node', batchSize: 250 });
  try {
    const p = (await model.forward(images)).predictions;
    let ok = 0;
    for (let i = 0; i < labels.length; i++) if (p[i] === labels[i]) ok++;
    return ok / labels.length;
  } finally {
    await model.dispose();
  }
}

describe('the shipped localization model (models/localization-simplecnn.*)', () => {
  const bytes = new Uint8Array(readFileSync(`${MODELS}localization-simplecnn.onnx`));
  const card = JSON.parse(readFileSync(`${MODELS}localization-simplecnn.json`, 'utf8')) as Card;
  it('has the accuracy its card states on the seeded test canvases (ONNX Runtime vs the card\'s tfjs evaluation)', async () => {
    expect(card.input.shape).toEqual(['N', 1, 56, 56]);
    const { test } = loadMnistLocalization({ trainCount: 0, variant: 'mixed', background: 'mixed' });
    expect(test.count).toBe(card.test.count);
    const acc = await accuracy(bytes, toTensor(test), test.labels);
    // The same 5,000 seeded canvases; two runtimes may split a borderline image differently.
    expect(Math.abs(acc - card.test.accuracy)).toBeLessThanOrEqual(2 / test.count);
  }, 60_000);
  it('and on the hardest variant the card lists (CLEVR-XAI-style pairs on noise)', async () => {
    const { test: digits } = loadMnist();
    expect(Object.keys(card.variants)).toEqual(['single/blank', 'single/noise', 'pair/blank', 'pair/noise']);
    for (const [key, v] of Object.entries(card.variants).filter(([k]) => k === 'pair/noise')) {
      const [variant, background] = key.split('/') as ['single' | 'pair', 'blank' | 'noise'];
      const set = localizationBenchmark(digits, { count: v.count, size: 56, variant, background, seed: 1 }).dataset;
      expect(Math.abs((await accuracy(bytes, toTensor(set), set.labels)) - v.accuracy), key).toBeLessThanOrEqual(2 / v.count);
    }
  }, 60_000);
});
