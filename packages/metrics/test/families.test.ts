import { describe, expect, it } from 'vitest';
import { Rng, Tensor, WhiteBoxError, type Model } from '@whitebox/core';
import {
  absScaled, attributionLocalization, avgSensitivity, complexity, constantExplainer, effectiveComplexity, entropyComplexity, evaluateMetrics, gini, hog, imagesToTensor,
  localLipschitz, mapSimilarity, maxSensitivity, modelParameterRandomization, pointingGame, randomExplainer, randomLogit, relevanceMass, relevanceRank, resolveMetrics,
  slic, sobelExplainer, sobelRelevance, sparseness, ssim, topKIntersection, METRICS, type Explainer, type MetricInput,
} from '@whitebox/metrics';
import { HW, RegionModel, oracle, regionDataset } from './helpers.js';
import { LinearModel, gradientExplainer, inputTimesGradient, mapExplainer, randomLinear, uniformImages } from './metric-helpers.js';

const model = new RegionModel();
const ds = regionDataset(20, 3);
const images = imagesToTensor(ds);
const input = (explainer: Explainer, extra: Partial<MetricInput> = {}): MetricInput => ({ model, explainer, images, targets: ds.labels, seed: 1, ...extra });

describe('Complexity family', () => {
  it('Sparseness (Gini): one-hot 1 − 1/n, constant 0, all-zero 0, and a hand-computed case', async () => {
    const n = 64;
    const oneHot = new Float32Array(n);
    oneHot[17] = 3;
    expect(gini(oneHot)).toBeCloseTo(1 - 1 / n, 12);
    expect(gini(new Float32Array(n).fill(0.4))).toBe(0);
    expect(gini(new Float32Array(n))).toBe(0);
    // Sorted [0, 0, 1, 1]: (−3·0 − 1·0 + 1·1 + 3·1) / (4 · 2) = 0.5; signs do not matter (|a|).
    expect(gini([1, 0, -1, 0])).toBeCloseTo(0.5, 12);
    const r = await sparseness(input(oracle()));
    expect(r.mean).toBeGreaterThan((await sparseness(input(randomExplainer(1)))).mean);
  });
  it('Complexity (entropy): one-hot 0, constant ln n; Effective Complexity: the share above ε·max', async () => {
    expect(entropyComplexity([0, 0, 5, 0])).toBe(0);
    expect(entropyComplexity(new Float32Array(64).fill(2))).toBeCloseTo(Math.log(64), 12);
    expect(entropyComplexity([1, -1, 0, 0])).toBeCloseTo(Math.log(2), 12);
    const ec = await effectiveComplexity({ ...input(mapExplainer('m', () => Float32Array.from({ length: HW }, (_, p) => (p === 0 ? 1 : p === 1 ? 1e-6 : p === 2 ? -0.5 : 0)))) });
    expect(ec.mean).toBeCloseTo(2 / 64, 12);
    expect((await complexity(input(oracle()))).mean).toBeLessThan((await complexity(input(randomExplainer(2)))).mean);
  });
});

describe('Robustness family', () => {
  it('a model-blind constant map has Max-/Avg-Sensitivity and Local Lipschitz 0; so has the gradient of a linear model', async () => {
    const c = constantExplainer((p) => p % 7);
    expect((await maxSensitivity(input(c), { samples: 10 })).scores.every((s) => s === 0)).toBe(true);
    expect((await avgSensitivity(input(c), { samples: 10 })).mean).toBe(0);
    expect((await localLipschitz(input(c), { samples: 10 })).mean).toBe(0);
    const lin = randomLinear(3, 1, 8, 8, 2);
    const g = { model: lin, explainer: gradientExplainer(lin), images, targets: ds.labels, seed: 1 };
    expect((await maxSensitivity(g, { samples: 10 })).mean).toBe(0);
    expect((await localLipschitz(g, { samples: 10 })).mean).toBe(0);
  });
  it('the identity map x has Avg-Sensitivity E‖δ‖/‖x‖ = r·√(d/3)/‖x‖; random maps are far less stable than x·grad', async () => {
    const id = mapExplainer('identity', (x) => x.slice());
    const r = 0.1;
    const avg = await avgSensitivity(input(id), { samples: 200, radius: r });
    avg.scores.forEach((s, i) => {
      let nx = 0;
      for (let p = 0; p < HW; p++) nx += images.data[i * HW + p]! ** 2;
      expect(s).toBeCloseTo((r * Math.sqrt(HW / 3)) / Math.sqrt(nx), 2);
    });
    const max = await maxSensitivity(input(id), { samples: 200, radius: r });
    for (let i = 0; i < avg.scores.length; i++) expect(max.scores[i]!).toBeGreaterThan(avg.scores[i]!);
    const xg = await maxSensitivity(input(inputTimesGradient(model)), { samples: 20, radius: 0.02 });
    const rnd = await maxSensitivity(input(randomExplainer(3)), { samples: 20, radius: 0.02 });
    expect(rnd.mean).toBeGreaterThan(2 * xg.mean);
    const llx = await localLipschitz(input(inputTimesGradient(model)), { samples: 20 });
    const llr = await localLipschitz(input(randomExplainer(3)), { samples: 20 });
    expect(llr.mean).toBeGreaterThan(2 * llx.mean);
  });
  it('an all-zero map has no relative change: a named error', async () => {
    await expect(maxSensitivity(input(constantExplainer(0, 'zero')), { samples: 2 })).rejects.toThrow(/zero's map of sample 0 is all zero/);
  });
});

describe('similarities: SSIM and HOG match skimage 0.19.3', () => {
  // /usr/bin/python3: a = (sin(0.3x + 0.7y) + 1)/2, b = 0.8(sin(0.3x + 0.7y + 0.5) + 1)/2 + 0.05 cos(1.3xy) on 20×24;
  // structural_similarity(a, b, data_range = max − min of both) and hog(…, 9, (4, 4), (2, 2), 'L2-Hys').
  const h = 20;
  const w = 24;
  const a = new Float64Array(h * w);
  const b = new Float64Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    a[y * w + x] = (Math.sin(0.3 * x + 0.7 * y) + 1) / 2;
    b[y * w + x] = (0.8 * (Math.sin(0.3 * x + 0.7 * y + 0.5) + 1)) / 2 + 0.05 * Math.cos(1.3 * x * y);
  }
  it('SSIM', () => {
    expect(ssim(a, b, h, w)).toBeCloseTo(0.8208955289972361, 9);
    expect(ssim(a, a, h, w)).toBe(1);
    // Quantus' reference: zeros vs ones (16×16) rounds to 0.
    expect(ssim(new Float64Array(256), new Float64Array(256).fill(1), 16, 16)).toBeCloseTo(0, 3);
  });
  it('HOG features and their Pearson similarity', () => {
    const ha = hog(a, h, w, { cell: 4 });
    const hb = hog(b, h, w, { cell: 4 });
    expect(ha).toHaveLength(720);
    // skimage accumulates cell histograms in float32 (cdef float): agreement to ~1e-8.
    expect(ha.reduce((s, v) => s + v, 0)).toBeCloseTo(45.44479350943036, 5);
    expect(ha[0]).toBeCloseTo(0.13862579208618356, 7);
    expect(ha[3]).toBeCloseTo(0.4582915737587822, 7);
    expect(hb.reduce((s, v) => s + v, 0)).toBeCloseTo(62.44324635342383, 5);
    expect(hb[37]).toBeCloseTo(0.03628729537217278, 7);
    // The similarity compares the |maps| scaled to [0, 1]; a and b are in [0, 1] with max ≈ 1.
    const sa = absScaled(a);
    const sb = absScaled(b);
    const pear = mapSimilarity('hog', sa, sb, h, w);
    expect(pear).toBeGreaterThan(0.6);
    expect(mapSimilarity('hog', a, a, h, w)).toBe(1);
  });
});

describe('Randomization family', () => {
  const trained = new RegionModel(Float32Array.from({ length: HW }, (_, p) => Math.sin(p) + 0.2), 'trained');
  const rng = new Rng(9);
  const randomized = (): RegionModel => new RegionModel(Float32Array.from({ length: HW }, () => rng.normal()), 'random');
  const steps = { cascading: [{ layer: 'a', model: async () => randomized() }, { layer: 'b', model: async () => randomized() }], independent: [{ layer: 'a', model: async () => randomized() }] };
  it('a model-blind explainer scores 1 under every similarity, cascading and independent; a gradient falls', async () => {
    const r = await modelParameterRandomization(trained, [{ name: 'sobel', make: () => sobelExplainer() }, { name: 'gradient', make: (m) => gradientExplainer(m) }], steps, images, ds.labels);
    expect(r.outputs).toHaveLength(2 * 4 * 2);
    for (const o of r.outputs.filter((x) => x.method === 'sobel')) expect(o.mean, o.metric).toBe(1);
    const g = (id: string): number => r.outputs.find((x) => x.method === 'gradient' && x.metric === id)!.mean;
    expect(Math.abs(g('mprt-cascading-spearman'))).toBeLessThan(0.4);
    expect(g('mprt-cascading-spearman-abs')).toBeLessThan(0.6);
    expect(g('mprt-independent-ssim')).toBeLessThan(0.6);
    expect(g('mprt-cascading-hog')).toBeLessThan(0.8);
    expect(r.cascading!.rows.map((x) => x.step)).toEqual([1, 1, 2, 2]);
    expect(r.cascading!.mode).toBe('cascading');
    expect(r.independent!.rows[0]!.scores!.ssim!.values).toHaveLength(20);
  });
  it('Random Logit: model-blind maps score 1; class-specific maps of a linear model score low', async () => {
    // Class k reads its own third of the pixels.
    const w = new Float32Array(3 * HW);
    for (let k = 0; k < 3; k++) for (let p = 0; p < HW; p++) if (Math.floor(p / 22) === k) w[k * HW + p] = 1 + ((p * 7) % 5);
    const lin = new LinearModel(w, new Float32Array(3), 1, 8, 8);
    const x = uniformImages(10, 1, 8, 8, 4);
    const t = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
    expect((await randomLogit({ model: lin, explainer: sobelExplainer(), images: x, targets: t })).mean).toBe(1);
    expect((await randomLogit({ model: lin, explainer: gradientExplainer(lin), images: x, targets: t })).mean).toBeLessThan(0.3);
  });
});

/** A stand-in for a 3×224×224 model: localization metrics never run it. */
const stub = { inputShape: [null, 3, 224, 224], numClasses: 10 } as unknown as Model;

/** Quantus' localisation test fixtures (tests/metrics/test_localisation_metrics.py), 2-D, seeded here. */
function fixture(kind: 'all_in_gt' | 'all_in_gt_zeros' | 'none_in_gt' | 'none_in_gt_zeros' | 'half_in_gt' | 'half_in_gt_zeros'): { a: Float32Array; s: Uint8Array } {
  const n = 3; // Quantus uses 10 copies of the same construction
  const S = 224;
  const rng = new Rng(3);
  const a = new Float32Array(n * S * S);
  const s = new Uint8Array(n * S * S);
  const zeros = kind.endsWith('zeros');
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      const q = i * S * S + y * S + x;
      if (!zeros) a[q] = 0.1 * rng.next();
      const box = (y0: number, y1: number, x0: number, x1: number): boolean => y >= y0 && y < y1 && x >= x0 && x < x1;
      if (kind.startsWith('all')) {
        if (box(50, 150, 50, 150)) (s[q] = 1), (a[q] = 1);
      } else if (kind.startsWith('none')) {
        if (box(0, 100, 0, 100)) s[q] = 1;
        if (box(100, 200, 100, 200)) a[q] = 1;
      } else {
        if (zeros ? box(0, 50, 50, 100) : box(50, 100, 50, 100)) s[q] = 1;
        if (box(0, 100, 75, 100)) a[q] = 1;
      }
    }
  }
  return { a, s };
}

describe('Localization family', () => {
  const x = new Tensor(new Float32Array(3 * 3 * 224 * 224), [3, 3, 224, 224]);
  const on = (f: ReturnType<typeof fixture>): MetricInput => ({ model: stub, explainer: constantExplainer(), images: x, targets: new Array(3).fill(0), relevance: f.a, masks: f.s });
  it('matches Quantus\' documented values on its own fixtures', async () => {
    const all = on(fixture('all_in_gt'));
    const none = on(fixture('none_in_gt'));
    const half = on(fixture('half_in_gt'));
    const allZ = on(fixture('all_in_gt_zeros'));
    const noneZ = on(fixture('none_in_gt_zeros'));
    const halfZ = on(fixture('half_in_gt_zeros'));
    expect((await pointingGame(all)).mean).toBe(1);
    expect((await pointingGame(none)).mean).toBe(0);
    // Quantus: True (any maximum inside). Ours: the share of the tied maxima inside (the expected hit under a random tie break).
    expect((await pointingGame(half)).mean).toBe(0.5);
    expect((await topKIntersection(all, { k: 10000 })).mean).toBe(1);
    expect((await topKIntersection(all, { k: 40000 })).mean).toBe(0.25);
    expect((await topKIntersection(none, { k: 10000 })).mean).toBe(0);
    expect((await topKIntersection(halfZ, { k: 2500 })).mean).toBe(0.5);
    expect((await relevanceMass(allZ)).mean).toBe(1);
    expect((await relevanceMass(noneZ)).mean).toBe(0);
    expect((await relevanceMass(halfZ)).mean).toBe(0.5);
    expect((await relevanceRank(all)).mean).toBe(1);
    expect((await relevanceRank(none)).mean).toBe(0);
    expect((await relevanceRank(half)).mean).toBe(0.5);
    expect((await attributionLocalization(allZ)).mean).toBe(1);
    expect((await attributionLocalization(noneZ)).mean).toBe(0);
    const al = (await attributionLocalization(all)).mean;
    expect(al).toBeGreaterThan(0.8);
    expect(al).toBeLessThan(0.85);
  });
  it('an oracle scores 1 on every localization metric; random ≈ the mask\'s share of the image; anti-oracle 0', async () => {
    const rng = new Rng(2);
    const n = 30;
    const m = new Uint8Array(n * HW);
    for (let i = 0; i < n; i++) {
      const y0 = rng.int(5);
      const x0 = rng.int(5);
      for (let y = y0; y < y0 + 3; y++) for (let xx = x0; xx < x0 + 4; xx++) m[i * HW + y * 8 + xx] = 1;
    }
    const imgs = imagesToTensor(regionDataset(n, 5));
    const maps = (f: (inside: boolean, q: number) => number): Float32Array => Float32Array.from(m, (v, q) => f(v === 1, q) + (q % HW) * 1e-7);
    const base = { model, explainer: constantExplainer(), images: imgs, targets: new Array(n).fill(0), masks: m };
    const fns = [pointingGame, relevanceMass, relevanceRank, (i: MetricInput) => topKIntersection(i, { k: 3 }), attributionLocalization];
    for (const f of fns) {
      expect((await f({ ...base, relevance: maps((inside) => (inside ? 1 : 0)) })).mean).toBeCloseTo(1, 3);
      expect((await f({ ...base, relevance: maps((inside) => (inside ? 0 : 1)) })).mean).toBeLessThan(0.01);
    }
    const rnd = await relevanceRank({ ...base, explainer: randomExplainer(4), relevance: undefined });
    expect(rnd.mean).toBeGreaterThan(12 / 64 - 0.1);
    expect(rnd.mean).toBeLessThan(12 / 64 + 0.1);
  });
  it('empty masks, masks of another size, constant maps: named errors, never NaN', async () => {
    const good = fixture('all_in_gt');
    const empty = good.s.slice();
    empty.fill(0, 224 * 224 * 2, 224 * 224 * 3);
    await expect(pointingGame({ ...on(good), masks: empty })).rejects.toThrow(/the mask of sample 2 is empty/);
    await expect(relevanceMass({ ...on(good), masks: new Uint8Array(3 * 112 * 112).fill(1) })).rejects.toThrow(/masks have 37632 values \(3 masks of 112×112\?\) but the images are 3 × 224×224/);
    await expect(relevanceMass({ ...on(good), masks: new Tensor(new Uint8Array(3 * 28 * 28), [3, 28, 28]) })).rejects.toThrow(/masks have shape \[3, 28, 28\] but the images are 3 × 224×224/);
    await expect(relevanceMass({ ...on(good), masks: undefined })).rejects.toThrow(/needs ground-truth masks/);
    const two = good.s.slice();
    two[5] = 2;
    await expect(relevanceRank({ ...on(good), masks: two })).rejects.toThrow(/mask of sample 0 has value 2 at pixel 5/);
    const flat = new Float32Array(3 * 224 * 224).fill(0.3);
    const err = await pointingGame({ ...on(good), relevance: flat }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WhiteBoxError);
    expect((err as Error).message).toMatch(/is constant: it points nowhere/);
    await expect(relevanceMass({ ...on(good), relevance: flat.map(() => -1) })).rejects.toThrow(/has no positive relevance/);
    await expect(relevanceRank({ ...on(good), relevance: new Float32Array(5) })).rejects.toThrow(/gave 5 values for 3 images of 224×224/);
  });
});

describe('SLIC superpixels', () => {
  it('gives connected segments that do not cross a sharp edge, about the requested count', () => {
    const h = 32;
    const w = 32;
    const img = new Float32Array(3 * h * w);
    const rng = new Rng(1);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) img[c * h * w + y * w + x] = (x < 13 ? 0.1 : 0.9) + 0.02 * rng.next();
    const { labels, count } = slic(img, 3, h, w, { segments: 16 });
    expect(count).toBeGreaterThanOrEqual(8);
    expect(count).toBeLessThanOrEqual(32);
    for (let k = 0; k < count; k++) {
      const px = [...labels.keys()].filter((q) => labels[q] === k);
      expect(px.length).toBeGreaterThan(0);
      // Never both sides of the edge at x = 13.
      expect(new Set(px.map((q) => q % w < 13)).size).toBe(1);
      // Connected: a flood fill from one pixel reaches all.
      const seen = new Set([px[0]!]);
      const stack = [px[0]!];
      while (stack.length) {
        const q = stack.pop()!;
        for (const r of [q - 1, q + 1, q - w, q + w]) {
          if (r < 0 || r >= h * w || (Math.abs((r % w) - (q % w)) > 1) || labels[r] !== k || seen.has(r)) continue;
          seen.add(r);
          stack.push(r);
        }
      }
      expect(seen.size).toBe(px.length);
    }
  });
});

describe('evaluateMetrics', () => {
  it('runs every applicable metric for every method (with the baselines), directions attached; resolves names', async () => {
    const rng = new Rng(4);
    const steps = { cascading: [{ layer: 'dense', model: async () => new RegionModel(Float32Array.from({ length: HW }, () => rng.normal())) }] };
    const masks = new Uint8Array(ds.count * HW);
    for (let i = 0; i < ds.count; i++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) masks[i * HW + y * 8 + x] = 1;
    const seen: number[] = [];
    const r = await evaluateMetrics(model, [{ name: 'oracle', make: () => oracle() }, { name: 'random', make: () => randomExplainer(1) }, { name: 'sobel', make: () => sobelExplainer() }], images, ds.labels, {
      masks, randomization: steps, unscorable: 'skip', sizes: { fcRuns: 20, curveSteps: 8, regionSize: 2, robustnessSamples: 4, infidelitySamples: 8, superpixels: 16 },
      onProgress: (p) => seen.push(p.done / p.total),
    });
    // Everything but the independent randomization (no steps given).
    expect(r.metrics.map((m) => m.id)).toEqual(METRICS.filter((m) => !m.id.startsWith('mprt-independent')).map((m) => m.id));
    expect(r.rows).toHaveLength(r.metrics.length * 3);
    expect(r.skipped!.map((x) => x.metric)).toEqual(['mprt-independent-spearman', 'mprt-independent-spearman-abs', 'mprt-independent-ssim', 'mprt-independent-hog']);
    expect(new Set(r.rows.map((x) => x.metric)).size).toBe(30);
    for (const row of r.rows) expect(row.mean === null || Number.isFinite(row.mean)).toBe(true);
    const get = (metric: string, method: string): number => r.rows.find((x) => x.metric === metric && x.method === method)!.mean!;
    expect(get('pointing-game', 'oracle')).toBe(1);
    expect(get('mprt-cascading-ssim', 'sobel')).toBe(1);
    expect(get('relevance-mass', 'oracle')).toBeGreaterThan(get('relevance-mass', 'random'));
    expect(seen.at(-1)).toBe(1);
    expect(Math.max(...seen)).toBeLessThanOrEqual(1);
    expect(resolveMetrics('complexity,pointing-game').map((m) => m.id)).toEqual(['sparseness', 'complexity', 'effective-complexity', 'pointing-game']);
    expect(() => resolveMetrics('faithfulness,nope')).toThrow(/unknown metric 'nope'/);
    await expect(evaluateMetrics(model, [{ name: 'o', make: () => oracle() }], images, ds.labels, { metrics: 'pointing-game' })).rejects.toThrow(/needs ground-truth masks/);
    await expect(evaluateMetrics(model, [{ name: 'o', make: () => oracle() }], images, ds.labels, { metrics: 'all,localization' })).rejects.toThrow(/needs ground-truth masks/);
    const some = await evaluateMetrics(model, [{ name: 'o', make: () => oracle() }], images, ds.labels, { metrics: 'all', sizes: { fcRuns: 4, curveSteps: 4, regionSize: 4, robustnessSamples: 2, infidelitySamples: 2, superpixels: 16 } });
    expect(some.metrics.some((m) => m.family === 'localization' || m.id.startsWith('mprt'))).toBe(false);
    await expect(evaluateMetrics(model, [{ name: 'o', make: () => oracle() }], images, ds.labels, { metrics: 'mprt-independent-ssim', randomization: steps })).rejects.toThrow(/needs independent randomization steps/);
  }, 60_000);
  it('the Sobel baseline is the edge magnitude of the input', () => {
    const x = new Tensor(Float32Array.from({ length: 25 }, (_, q) => (q % 5 >= 2 ? 1 : 0)), [1, 1, 5, 5]);
    const s = sobelRelevance(x);
    // A vertical step edge between columns 1 and 2: |Gx| = 4 on both sides, 0 away from it.
    expect(Array.from(s.subarray(10, 15))).toEqual([0, 4, 4, 0, 0]);
  });
});
