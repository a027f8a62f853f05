import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '@whitebox/core';
import { SCALES, fromAttribution, runPipeline, writeReportFromDir, type PipelineInput } from '@whitebox/metrics';
import { Gradient, HW, RegionModel, nearestCentroid, oracle, regionDataset } from './helpers.js';

function input(outDir: string, cacheDir: string, retrains: { n: number }): PipelineInput {
  const model = new RegionModel();
  const rng = new Rng(4);
  return {
    dataset: 'region', scale: 'test', modelLabel: 'region-model', model,
    settings: {
      ...SCALES.quick, selectivitySamples: 6, selectivitySteps: 4, roadSamples: 10, roadFractions: [0.2, 0.6], sanitySamples: 4, roarTrain: 80, roarTest: 20, fractions: [0.2, 0.6], seeds: [0],
      metricSamples: 6, metricSizes: { fcRuns: 10, curveSteps: 4, robustnessSamples: 3, infidelitySamples: 5, superpixels: 16, monotonicitySteps: 4 },
    },
    train: regionDataset(100, 1, 'region-train'), test: regionDataset(30, 2, 'region-test'),
    methods: [
      { id: 'gradient', explainer: (m) => fromAttribution(new Gradient(m)), options: { rule: 'gradient' } },
      { id: 'oracle', explainer: () => oracle() },
    ],
    retrain: async (tr, te, seed) => { retrains.n++; return nearestCentroid(tr, te, seed); },
    cascade: [{ layer: 'dense', model: async () => new RegionModel(Float32Array.from({ length: HW }, () => rng.normal())) }],
    // The region is the ground truth of every test image.
    testMasks: Uint8Array.from({ length: 30 * HW }, (_, q) => (Math.floor((q % HW) / 8) < 3 && q % 8 < 3 ? 1 : 0)),
    cacheDir, outDir,
  };
}

describe('pipeline', () => {
  it('runs every stage, times it, writes the report, and reuses cached training-set maps', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-pipe-'));
    const cache = join(root, 'cache');
    const retrains = { n: 0 };
    const stagesSeen = new Set<string>();
    const first = await runPipeline({ ...input(join(root, 'a'), cache, retrains), progress: (label) => ({ update: () => stagesSeen.add(label), stop() {} }) });
    expect(Object.keys(first.results.meta.timings).sort()).toEqual(['coherence', 'metrics', 'report', 'road', 'roar-kar', 'roar-maps', 'sanity', 'selectivity']);
    expect([...stagesSeen].sort()).toEqual(['ROAD', 'ROAR/KAR maps', 'ROAR/KAR retraining', 'coherence', 'metrics', 'sanity check', 'selectivity'].sort());
    // The metrics stage: every method plus the random and Sobel baselines, localization from the masks.
    const mr = first.results.metrics!;
    expect(mr.methods).toEqual(['gradient', 'oracle', 'random', 'sobel']);
    expect(mr.rows.find((r) => r.metric === 'pointing-game' && r.method === 'oracle')!.mean).toBe(1);
    expect(mr.metrics.some((m) => m.id === 'mprt-cascading-ssim')).toBe(true);
    const html = readFileSync(first.files.html, 'utf8');
    expect(html).toContain('<section id="metrics">');
    expect(html).toMatch(/Pointing Game ↑/);
    expect(html).toMatch(/Deletion AUC \(blur\): mean curve \(score ↓\)/);
    // 1 baseline + 3 methods (gradient, oracle, random) × 2 modes × 2 fractions.
    expect(retrains.n).toBe(13);
    expect(first.results.roarKar!.rows.map((r) => r.method)).toContain('random');
    expect(first.results.selectivity!.curves.map((c) => c.method)).toEqual(['gradient', 'oracle', 'random']);
    const cached = readdirSync(cache).filter((f) => f.endsWith('.f32'));
    expect(cached).toHaveLength(4); // 2 methods × (train, test)
    const json = JSON.parse(readFileSync(first.files.json, 'utf8'));
    expect(json.meta.timings.report).toBeGreaterThanOrEqual(0);
    const md = readFileSync(first.files.markdown, 'utf8');
    expect(md).toContain('#### ROAR');
    expect(md).toMatch(/\| method \| faithfulness-correlation ↑ \| pixel-flipping ↓ \|/);
    // The oracle beats both baselines at pixel flipping (★).
    expect(md).toMatch(/\| oracle \| -?[\d.]+ \| 0\.\d+ ★ \| /);
    expect(md).toMatch(/\| oracle \| [\d.]+ \| [\d.]+ \|/);
    // Second run: the maps come from the cache (same files, same numbers).
    const second = await runPipeline(input(join(root, 'b'), cache, retrains));
    expect(readdirSync(cache).filter((f) => f.endsWith('.f32'))).toHaveLength(4);
    expect(second.results.roarKar!.rows.map((r) => r.mean)).toEqual(first.results.roarKar!.rows.map((r) => r.mean));
    // `whitebox report` path: rebuild the HTML from results.json + PNGs.
    rmSync(join(root, 'a', 'index.html'));
    const rebuilt = await writeReportFromDir(join(root, 'a'));
    expect(existsSync(rebuilt.html)).toBe(true);
    expect(readFileSync(rebuilt.html, 'utf8')).toContain('<section id="roar">');
    rmSync(join(root, 'a', 'coherence.png'));
    await expect(writeReportFromDir(join(root, 'a'))).rejects.toThrow(/coherence.png, which is missing/);
    await expect(writeReportFromDir(join(root, 'nowhere'))).rejects.toThrow(/no results.json/);
  });
  it('rejects a model that does not fit the data, and unknown stages', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wb-pipe-'));
    const base = input(root, join(root, 'c'), { n: 0 });
    await expect(runPipeline({ ...base, test: { ...base.test, classes: ['a', 'b', 'c'] } })).rejects.toThrow(/has 2 classes but dataset 'region-test' has 3/);
    await expect(runPipeline({ ...base, stages: ['roar' as never] })).rejects.toThrow(/unknown evaluation stage 'roar'/);
  });
});
