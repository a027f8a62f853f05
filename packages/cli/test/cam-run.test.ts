/**
 * The CAM family in `whitebox run`'s evaluations: every new method through the pipeline as the CLI builds it
 * (registry factory → fromAttribution), on MNIST images and an ONNX SimpleCNN: coherence, selectivity, ROAD, the
 * model-randomization sanity check and ROAR/KAR (training-set maps, retraining by the nearest-centroid stand-in).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { loadMnist } from '@whitebox/datasets';
import { SCALES, fromAttribution, onnxCascade, runPipeline, type PipelineMethod } from '@whitebox/metrics';
import { buildSimpleCnn, loadModel } from '@whitebox/onnx';
import { nearestCentroid } from '../../metrics/test/helpers.js';
import { resolveMethods } from '../src/methods.js';

describe("whitebox run's evaluations with --methods cam", () => {
  it('every CAM-family method gets coherence, selectivity, ROAD, sanity and ROAR/KAR results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-cam-run-'));
    const bytes = buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 1, widths: [4, 8, 8], hidden: 16 });
    const load = (b: Uint8Array) => loadModel(b, { backend: 'node', threads: 1 });
    const model = await load(bytes);
    const { train, test } = loadMnist({ trainLimit: 40, testLimit: 20 });
    const resolved = resolveMethods('cam');
    const methods: PipelineMethod[] = resolved.map((m) => ({ id: m.id, explainer: (mm) => fromAttribution(m.factory(mm), { name: m.id }), options: { reduction: 'abs-sum' } }));
    const { results, files } = await runPipeline({
      dataset: 'mnist', scale: 'test', modelLabel: 'tiny', model, train, test, methods,
      settings: { ...SCALES.quick, selectivitySamples: 3, selectivitySteps: 2, roadSamples: 4, roadFractions: [0.5], sanitySamples: 2, roarTrain: 30, roarTest: 10, fractions: [0.5], seeds: [0] },
      retrain: nearestCentroid, cascade: onnxCascade(bytes, load, 0), outDir: join(dir, 'out'),
    });
    await model.dispose();
    const ids = resolved.map((m) => m.id);
    expect(ids).toEqual(['grad-cam-plus-plus', 'xgrad-cam', 'hires-cam', 'layer-cam', 'score-cam', 'ablation-cam', 'eigen-cam', 'occlusion']);
    expect(results.selectivity!.curves.map((c) => c.method)).toEqual([...ids, 'random']);
    expect(results.road!.curves.map((c) => c.method)).toEqual(expect.arrayContaining(ids));
    expect(new Set(results.sanity!.rows.map((r) => r.method))).toEqual(new Set(ids));
    for (const r of results.sanity!.rows) expect(Number.isFinite(r.spearman), `${r.method} at ${r.layer}`).toBe(true);
    expect(new Set(results.roarKar!.rows.map((r) => r.method))).toEqual(new Set([...ids, 'random']));
    for (const r of results.roarKar!.rows) expect(Number.isFinite(r.mean)).toBe(true);
    expect(readFileSync(files.html, 'utf8')).toContain('score-cam');
  }, 300_000);
});
