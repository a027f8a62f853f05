import { describe, expect, it } from 'vitest';
import { Rng, Tensor, WhiteBoxError } from '@whitebox/core';
import {
  argsortDesc, cachedFloat32, fromAttribution, imagesToTensor, noisyLinearImpute, normalizedArea, pixelRelevance, randomExplainer, randomRelevance, rankImages,
  removeByRanking, road, roarKar, sanityCheck, selectivity, spearman, ranks, localRoarKarExecutor, markdownSummary, serializeResults, type Explainer, type RoarKarExecutor,
} from '@whitebox/metrics';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gradient, HW, REGION, RegionModel, antiOracle, fixedRelevance, nearestCentroid, oracle, regionDataset } from './helpers.js';

describe('statistics', () => {
  it('spearman matches hand-computed values, with and without ties', () => {
    // 1 − 6 Σd² / (n (n² − 1)) with Σd² = 4, n = 5.
    expect(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])).toBeCloseTo(0.8, 12);
    // Ties: ranks of b are [1, 2, 3.5, 5, 3.5]; Pearson = 8 / √95.
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 12);
    expect(Array.from(ranks([10, 20, 10, 5]))).toEqual([2.5, 4, 2.5, 1]);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 1, 1], [3, 2, 1])).toBe(0);
  });
  it('argsortDesc orders by value and breaks ties in a seeded random order', () => {
    const v = [0, 5, 0, 0, 0, 0, 0, 0, 0, 3];
    expect(Array.from(argsortDesc(v))).toEqual([1, 9, 0, 2, 3, 4, 5, 6, 7, 8]);
    const a = Array.from(argsortDesc(v, 1));
    expect(a.slice(0, 2)).toEqual([1, 9]);
    expect([...a.slice(2)].sort((x, y) => x - y)).toEqual([0, 2, 3, 4, 5, 6, 7, 8]);
    expect(a.slice(2)).not.toEqual([0, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(argsortDesc(v, 1))).toEqual(a);
  });
  it('normalized area is the trapezoid mean height', () => {
    expect(normalizedArea([0, 1, 2], [1, 0, 0])).toBeCloseTo(0.25, 12);
    expect(normalizedArea([0, 0.5, 1], [0.3, 0.3, 0.3])).toBeCloseTo(0.3, 12);
  });
});

describe('noisy linear imputation', () => {
  it('fills one pixel with the 1/6 (edge) and 1/12 (diagonal) weighted mean of its neighbours', () => {
    const img = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0, 0.6, 0.7, 0.8, 0.9]);
    const mask = new Uint8Array(9);
    mask[4] = 1;
    noisyLinearImpute(img, 1, 3, 3, mask, [0], { noise: 0 });
    const expected = ((0.2 + 0.4 + 0.6 + 0.8) / 6 + (0.1 + 0.3 + 0.7 + 0.9) / 12) / (4 / 6 + 4 / 12);
    expect(img[4]).toBeCloseTo(expected, 6);
  });
  it('reproduces a linear ramp exactly inside a masked block, leaves known pixels alone', () => {
    const h = 10;
    const w = 12;
    const img = new Float32Array(2 * h * w);
    for (let c = 0; c < 2; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[c * h * w + y * w + x] = 0.1 + 0.03 * x + 0.02 * y * (c + 1);
    const ref = img.slice();
    const mask = new Uint8Array(h * w);
    for (let y = 2; y < 8; y++) for (let x = 3; x < 9; x++) mask[y * w + x] = 1;
    for (let p = 0; p < h * w; p++) if (mask[p]) { img[p] = 0; img[h * w + p] = 0; }
    noisyLinearImpute(img, 2, h, w, mask, [0, 0], { noise: 0 });
    for (let i = 0; i < img.length; i++) expect(img[i]).toBeCloseTo(ref[i]!, 5);
  });
  it('adds noise of the requested size and falls back to the channel value when nothing is known', () => {
    const h = 16;
    const img = new Float32Array(h * h).fill(0.5);
    const mask = new Uint8Array(h * h);
    for (let p = 0; p < h * h; p += 2) mask[p] = 1;
    noisyLinearImpute(img, 1, h, h, mask, [0], { noise: 0.05, rng: new Rng(3) });
    const dev = Array.from(img).filter((_, p) => mask[p]).map((v) => v - 0.5);
    const sd = Math.sqrt(dev.reduce((s, d) => s + d * d, 0) / dev.length);
    expect(sd).toBeGreaterThan(0.04);
    expect(sd).toBeLessThan(0.06);
    const all = new Float32Array(4).fill(0.9);
    noisyLinearImpute(all, 1, 2, 2, new Uint8Array(4).fill(1), [0.25], { noise: 0 });
    expect(Array.from(all)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
});

describe('selectivity on a model that only looks at one region', () => {
  const model = new RegionModel();
  const ds = regionDataset(40, 1);
  const images = imagesToTensor(ds);
  it('ranks the oracle map above random and anti-oracle maps, and the exact gradient like the oracle', async () => {
    const progress: number[] = [];
    const res = await selectivity(model, [oracle(), randomExplainer(7), antiOracle(), fromAttribution(new Gradient(model))], images, ds.labels, {
      steps: 12, removalValue: 0.5, onProgress: (p) => progress.push(p.done / p.total),
    });
    const auc = Object.fromEntries(res.curves.map((c) => [c.method, c.aucProbability]));
    expect(res.curves[0]!.accuracy[0]).toBe(1);
    expect(auc.oracle!).toBeLessThan(auc.random! - 0.05);
    expect(auc.oracle!).toBeLessThan(auc['anti-oracle']! - 0.05);
    expect(auc.random!).toBeLessThanOrEqual(auc['anti-oracle']! + 1e-9);
    // Oracle: after the 9 region pixels are gone the target probability is exactly 1/2.
    expect(res.curves[0]!.probability[9]).toBeCloseTo(0.5, 6);
    // Anti-oracle never touches the region in 12 steps: the curve is flat.
    const anti = res.curves[2]!;
    expect(Math.max(...anti.probability) - Math.min(...anti.probability)).toBeLessThan(1e-6);
    // The gradient's magnitude is the oracle (region) map: same curve.
    expect(res.curves[3]!.aucProbability).toBeCloseTo(auc.oracle!, 6);
    expect(progress.at(-1)).toBe(1);
    expect(res.curves[0]!.checkpoints.map((c) => c.step)).toEqual([0, 3, 6, 9, 12]);
  });
  it('removes patches when asked, and rejects bad options with WhiteBoxErrors', async () => {
    const res = await selectivity(model, [oracle()], images.slice(0, 4), ds.labels.subarray(0, 4), { steps: 2, patchSize: 3, removalValue: 0.5 });
    // The first 3×3 patch is the whole region: one step is enough.
    expect(res.curves[0]!.probability[1]).toBeCloseTo(0.5, 6);
    await expect(selectivity(model, [oracle()], images, ds.labels, { steps: 65 })).rejects.toThrow(/65 steps exceed the 64 patches/);
    await expect(selectivity(model, [oracle()], images, ds.labels.subarray(0, 3))).rejects.toBeInstanceOf(WhiteBoxError);
    await expect(selectivity(model, [oracle()], images.reshape([40, HW]), ds.labels)).rejects.toThrow(/\[N, C, H, W\]/);
    const badLabels = Uint8Array.from(ds.labels).fill(5, 0, 1);
    await expect(selectivity(model, [oracle()], images, badLabels, { steps: 2 })).rejects.toThrow(/label 5 of sample 0/);
  });
  it('reports a NaN map as an error naming the method and pixel', () => {
    const map = new Tensor(new Float32Array(HW).fill(1), [1, 1, 8, 8]);
    map.data[5] = NaN;
    expect(() => pixelRelevance(map, 8, 8, 'abs-sum', 'broken')).toThrow(/broken: the map has a non-finite value \(NaN\) at sample 0, pixel 5/);
  });
});

describe('ROAD', () => {
  it('MoRF: oracle < random < anti-oracle; LeRF: the reverse; no retraining', async () => {
    const model = new RegionModel();
    const ds = regionDataset(60, 2);
    const res = await road(model, [oracle(), randomExplainer(3), antiOracle()], imagesToTensor(ds), ds.labels, { fractions: [0.1, 0.3, 0.5] });
    expect(res.baselineAccuracy).toBe(1);
    const area = (m: string, o: string): number => res.curves.find((c) => c.method === m && c.order === o)!.aucAccuracy;
    expect(area('oracle', 'morf')).toBeLessThan(area('random', 'morf') - 0.05);
    expect(area('oracle', 'morf')).toBeLessThan(area('anti-oracle', 'morf') - 0.05);
    expect(area('random', 'morf')).toBeLessThanOrEqual(area('anti-oracle', 'morf'));
    expect(area('oracle', 'lerf')).toBeGreaterThanOrEqual(area('random', 'lerf'));
    expect(area('oracle', 'lerf')).toBeGreaterThan(area('anti-oracle', 'lerf') + 0.05);
    expect(area('random', 'lerf')).toBeGreaterThan(area('anti-oracle', 'lerf'));
    // With the whole region imputed from noise (mean 1/2), the model is at chance.
    const morf = res.curves.find((c) => c.method === 'oracle' && c.order === 'morf')!;
    expect(morf.accuracy[1]).toBeGreaterThan(0.2);
    expect(morf.accuracy[1]).toBeLessThan(0.8);
    await expect(road(model, [oracle()], imagesToTensor(ds), ds.labels, { fractions: [1.5] })).rejects.toThrow(/fraction 1.5/);
  });
});

describe('ROAR and KAR with a stand-in learner', () => {
  const train = regionDataset(200, 3, 'train');
  const test = regionDataset(100, 4, 'test');
  const sets = [
    { method: 'oracle', train: fixedRelevance(train.count, (p) => (REGION.includes(p) ? 1 : 0)), test: fixedRelevance(test.count, (p) => (REGION.includes(p) ? 1 : 0)) },
    { method: 'random', train: randomRelevance(train.count, HW, 1), test: randomRelevance(test.count, HW, 2) },
    { method: 'anti-oracle', train: fixedRelevance(train.count, (p) => (REGION.includes(p) ? 0 : 1)), test: fixedRelevance(test.count, (p) => (REGION.includes(p) ? 0 : 1)) },
  ];
  it('ROAR ranks oracle < random < anti-oracle; KAR the reverse; t = 0 reproduces the baseline', async () => {
    const res = await roarKar(train, test, sets, nearestCentroid, { fractions: [0, 0.3, 0.5], seeds: [0, 1, 2], concurrency: 2 });
    expect(res.baseline.mean).toBeGreaterThan(0.95);
    const acc = (m: string, mode: string): number => {
      const rows = res.rows.filter((r) => r.method === m && r.mode === mode && r.fraction > 0);
      return rows.reduce((s, r) => s + r.mean, 0) / rows.length;
    };
    expect(acc('oracle', 'roar')).toBeLessThan(0.7);
    expect(acc('oracle', 'roar')).toBeLessThan(acc('random', 'roar') - 0.1);
    expect(acc('random', 'roar')).toBeLessThanOrEqual(acc('anti-oracle', 'roar'));
    expect(acc('oracle', 'roar')).toBeLessThan(acc('anti-oracle', 'roar') - 0.1);
    expect(acc('oracle', 'kar')).toBeGreaterThanOrEqual(acc('random', 'kar'));
    expect(acc('oracle', 'kar')).toBeGreaterThan(acc('anti-oracle', 'kar') + 0.1);
    expect(acc('random', 'kar')).toBeGreaterThan(acc('anti-oracle', 'kar'));
    for (const r of res.rows.filter((x) => x.fraction === 0)) {
      expect(Math.abs(r.mean - res.baseline.mean)).toBeLessThanOrEqual(2 * res.baseline.std + 0.02);
    }
    const kar = res.rows.find((r) => r.mode === 'kar' && r.fraction === 0.3)!;
    expect(kar.kept).toBeCloseTo(0.7, 12);
    expect(kar.accuracies).toHaveLength(3);
  });
  it('replaces exactly the t most (ROAR) or least (KAR) relevant pixels with the channel mean', () => {
    const order = rankImages(sets[0]!.train.subarray(0, HW), 1, HW);
    const one = { ...train, count: 1, images: train.images.slice(0, HW), labels: train.labels.slice(0, 1) };
    const fill = Math.round(train.mean[0]! * 255);
    const roar = removeByRanking(one, order, 9 / 64, 'roar');
    const kar = removeByRanking(one, order, 55 / 64, 'kar');
    for (let p = 0; p < HW; p++) {
      expect(roar.images[p]).toBe(REGION.includes(p) ? fill : one.images[p]);
      expect(kar.images[p]).toBe(REGION.includes(p) ? one.images[p] : fill);
    }
    expect(() => removeByRanking(one, order, 1.2, 'roar')).toThrow(/fraction 1.2/);
  });
  it('an executor that loses some retrainings: rows average the seeds that came back, failures are named', async () => {
    const local = localRoarKarExecutor(nearestCentroid, 1);
    const names: string[] = [];
    // Runs the tasks here, then reports two of them as failed, as a queue does after their last attempt.
    const lossy: RoarKarExecutor = {
      async run(input) {
        names.push(...input.tasks.map((t) => t.name));
        const out = await local.run(input);
        return out.map((o, i) => (['kar oracle t=0.5 seed 1', 'roar random t=0.5 seed 0', 'roar random t=0.5 seed 1'].includes(input.tasks[i]!.name) ? { failure: { name: input.tasks[i]!.name, error: 'boom', attempts: 3 } } : o));
      },
    };
    const full = await roarKar(train, test, sets.slice(0, 2), nearestCentroid, { fractions: [0.5], seeds: [0, 1] });
    const res = await roarKar(train, test, sets.slice(0, 2), undefined, { fractions: [0.5], seeds: [0, 1], executor: lossy });
    expect(names).toEqual(['baseline seed 0', 'baseline seed 1', 'roar oracle t=0.5 seed 0', 'roar oracle t=0.5 seed 1', 'kar oracle t=0.5 seed 0', 'kar oracle t=0.5 seed 1', 'roar random t=0.5 seed 0', 'roar random t=0.5 seed 1', 'kar random t=0.5 seed 0', 'kar random t=0.5 seed 1']);
    const kar = res.rows.find((r) => r.method === 'oracle' && r.mode === 'kar')!;
    const karFull = full.rows.find((r) => r.method === 'oracle' && r.mode === 'kar')!;
    expect(kar).toMatchObject({ accuracies: [karFull.accuracies[0]], seeds: [0], mean: karFull.accuracies[0], std: 0 });
    expect(res.rows.find((r) => r.method === 'random' && r.mode === 'roar')).toBeUndefined();
    expect(res.rows.find((r) => r.method === 'oracle' && r.mode === 'roar')).toEqual(full.rows.find((r) => r.method === 'oracle' && r.mode === 'roar'));
    expect(res.failures!.map((f) => f.name)).toEqual(['kar oracle t=0.5 seed 1', 'roar random t=0.5 seed 0', 'roar random t=0.5 seed 1']);
    const md = markdownSummary(serializeResults({ meta: { dataset: 'd', scale: 's', model: 'm', modelHash: 'h'.repeat(16), methods: [], createdAt: '', timings: {}, settings: {} }, roarKar: res, failures: res.failures }).data);
    expect(md).toContain('#### Failed jobs (3; left out of the tables above)');
    expect(md).toContain('| roar random t=0.5 seed 0 | 3 | boom |');
    await expect(roarKar(train, test, sets, undefined, {})).rejects.toThrow(/needs a retrain function or an executor/);
  });
  it('names what is wrong: bad maps, shapes, and a learner that returns nonsense', async () => {
    await expect(roarKar(train, test, [{ method: 'short', train: new Float32Array(5), test: sets[0]!.test }], nearestCentroid)).rejects.toThrow(/short train maps: 5 relevance values for 200 images of 64 pixels/);
    await expect(roarKar(train, { ...test, width: 4 }, sets, nearestCentroid)).rejects.toThrow(/dataset 'test' has 6400 image bytes/);
    await expect(roarKar(train, test, [], async () => NaN)).rejects.toThrow(/returned accuracy NaN/);
  });
});

describe('model-randomization sanity check', () => {
  it('a gradient decorrelates from a randomized model; a model-independent map does not', async () => {
    const model = new RegionModel(Float32Array.from({ length: HW }, (_, p) => Math.sin(p)), 'trained');
    const rng = new Rng(5);
    const randomized = new RegionModel(Float32Array.from({ length: HW }, () => rng.normal()), 'randomized');
    const ds = regionDataset(10, 6);
    const edge: Explainer = { name: 'input', async relevance(x) { return x.data.slice(); } };
    const res = await sanityCheck(model, [{ name: 'gradient', make: (m) => fromAttribution(new Gradient(m)) }, { name: 'input', make: () => edge }], [{ layer: 'dense', model: async () => randomized }], imagesToTensor(ds), ds.labels);
    const rho = (m: string): number => res.rows.find((r) => r.method === m)!.spearman;
    expect(Math.abs(rho('gradient'))).toBeLessThan(0.35);
    expect(rho('input')).toBeCloseTo(1, 12);
    await expect(sanityCheck(model, [], [], imagesToTensor(ds), ds.labels)).rejects.toThrow(/no layers/);
  });
});

describe('map cache', () => {
  it('computes once per key and reads back identical data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-cache-'));
    let calls = 0;
    const compute = async (): Promise<Float32Array> => { calls++; return Float32Array.from([1.5, -2, 3]); };
    const a = await cachedFloat32(dir, { model: 'h', method: 'm' }, 3, compute);
    const b = await cachedFloat32(dir, { model: 'h', method: 'm' }, 3, compute);
    const c = await cachedFloat32(dir, { model: 'h', method: 'other' }, 3, compute);
    expect(calls).toBe(2);
    expect([a.hit, b.hit, c.hit]).toEqual([false, true, false]);
    expect(Array.from(b.data)).toEqual([1.5, -2, 3]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.f32'))).toHaveLength(2);
  });
});
