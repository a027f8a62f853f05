import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSimpleCnn } from '@whitebox/onnx';
import { defaultModelPath, evaluateCommand, settingsFor } from '../src/commands/run.js';

describe('whitebox run / evaluate', () => {
  it('evaluates methods on MNIST with an ONNX model and writes the report (tiny sizes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-cli-run-'));
    const model = join(dir, 'tiny.onnx');
    writeFileSync(model, buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 1, widths: [4, 8, 8], hidden: 16 }));
    const { results, files } = await evaluateCommand({
      dataset: 'mnist', scale: 'quick', model, out: join(dir, 'out'), cacheDir: join(dir, 'cache'), quiet: true,
      methods: 'vanilla-gradient,grad-cam,vargrad,integrated-gradients', stages: 'coherence,selectivity,road,sanity', samples: 3, steps: 2,
    });
    expect(results.meta.methods).toEqual(['vanilla-gradient', 'grad-cam', 'vargrad/vanilla-gradient', 'integrated-gradients']);
    expect(results.coherence!.classes).toHaveLength(10);
    expect(results.selectivity!.curves.map((c) => c.method)).toContain('random');
    expect(results.sanity!.layers).toEqual(['fc2', 'fc1', 'conv3', 'conv2', 'conv1']);
    expect(results.meta.settings.igSteps).toBe(16);
    expect(existsSync(files.html)).toBe(true);
    expect(readFileSync(files.html, 'utf8')).toContain('id="sanity"');
  });
  it('runs the metrics stage alone with chosen metrics; every table carries the random and Sobel baselines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-cli-metrics-'));
    const model = join(dir, 'tiny.onnx');
    writeFileSync(model, buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 1, widths: [4, 8, 8], hidden: 16 }));
    const { results, files } = await evaluateCommand({
      dataset: 'mnist', scale: 'quick', model, out: join(dir, 'out'), cacheDir: join(dir, 'cache'), quiet: true,
      methods: 'vanilla-gradient,grad-cam', stages: 'metrics', metrics: 'pixel-flipping,sparseness,mprt-independent-spearman,random-logit', metricSamples: 3,
    });
    const m = results.metrics!;
    expect(m.metrics.map((x) => x.id)).toEqual(['pixel-flipping', 'mprt-independent-spearman', 'random-logit', 'sparseness']);
    expect(m.methods).toEqual(['vanilla-gradient', 'grad-cam', 'random', 'sobel']);
    expect(m.rows).toHaveLength(16);
    for (const r of m.rows) expect(r.mean === null || Number.isFinite(r.mean)).toBe(true);
    expect(m.rows.find((r) => r.metric === 'mprt-independent-spearman' && r.method === 'sobel')!.mean).toBe(1);
    expect(m.randomization!.independent!.layers).toEqual(['fc2', 'fc1', 'conv3', 'conv2', 'conv1']);
    expect(results.selectivity).toBeUndefined();
    expect(readFileSync(files.html, 'utf8')).toContain('Pixel Flipping (MoRF) ↓');
    expect(() => settingsFor({ dataset: 'mnist', scale: 'quick', out: 'x', metrics: 'faithfulness,bogus' })).toThrow(/unknown metric 'bogus'/);
    expect(defaultModelPath('localization-pair')).toMatch(/models\/localization-simplecnn\.onnx$/);
  }, 120_000);
  it('names what is wrong: scale, dataset, stage, fractions, model file', async () => {
    expect(() => settingsFor({ dataset: 'mnist', scale: 'huge', out: 'x' })).toThrow(/unknown --scale 'huge' \(known: quick, standard, full, seed\)/);
    expect(() => settingsFor({ dataset: 'mnist', scale: 'quick', out: 'x', fractions: '0.1,2' })).toThrow(/--fractions expects .* got '0.1,2'/);
    expect(settingsFor({ dataset: 'mnist', scale: 'standard', out: 'x', seeds: 3, epochs: 1 })).toMatchObject({ seeds: [0, 1, 2], epochs: 1 });
    // The seed project's protocol: whole data, full-size SimpleCNN, t = 0.1 … 0.9, 3 seeds, 100 epochs unless --epochs.
    expect(settingsFor({ dataset: 'cifar10', scale: 'seed', out: 'x' })).toMatchObject({ roarTrain: undefined, roarTest: undefined, fractions: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], seeds: [0, 1, 2], epochs: 100, roarEnsembles: false });
    expect(settingsFor({ dataset: 'cifar10', scale: 'seed', out: 'x' }).retrainWidths).toBeUndefined(); // SimpleCNN's own [32, 64, 128]
    expect(settingsFor({ dataset: 'mnist', scale: 'seed', out: 'x', epochs: 3, roarTrain: 500, roarTest: 100 })).toMatchObject({ epochs: 3, roarTrain: 500, roarTest: 100 });
    expect(() => defaultModelPath('mnist', '/nonexistent/model.onnx')).toThrow(/model file \/nonexistent\/model.onnx does not exist/);
    await expect(evaluateCommand({ dataset: 'svhn', scale: 'quick', out: 'x' })).rejects.toThrow(/unknown --dataset 'svhn'/);
    await expect(evaluateCommand({ dataset: 'mnist', scale: 'quick', out: 'x', model: '/nonexistent.onnx' })).rejects.toThrow(/does not exist/);
    const dir = mkdtempSync(join(tmpdir(), 'wb-cli-run-'));
    const model = join(dir, 'tiny.onnx');
    writeFileSync(model, buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 1, widths: [4, 8, 8], hidden: 16 }));
    await expect(evaluateCommand({ dataset: 'mnist', scale: 'quick', out: dir, model, stages: 'selectivity,roar' })).rejects.toThrow(/unknown stage 'roar'/);
  });
});
