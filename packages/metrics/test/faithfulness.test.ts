import { describe, expect, it } from 'vitest';
import { Tensor, WhiteBoxError } from '@whitebox/core';
import {
  PIXEL_FLIPPING, REGION_PERTURBATION, faithfulnessCorrelation, imagesToTensor, infidelity, insertionDeletion, irof, monotonicity, pixelFlipping, randomExplainer,
  regionPerturbation, softmaxRow, type Explainer, type MetricInput,
} from '@whitebox/metrics';
import { HW, REGION, RegionModel, antiOracle, fixedExplainer, oracle, regionDataset } from './helpers.js';
import { LinearModel, gradientExplainer, inputTimesGradient, randomLinear, uniformImages } from './metric-helpers.js';

const model = new RegionModel();
const ds = regionDataset(40, 1);
const images = imagesToTensor(ds);
const run = (explainer: Explainer, extra: Partial<MetricInput> = {}): MetricInput => ({ model, explainer, images, targets: ds.labels, seed: 3, ...extra });
const inRegion = (p: number): boolean => REGION.includes(p);
/** The map that is 1 exactly where the model does not look (sign-free anti-oracle). */
const complement = (): Explainer => fixedExplainer('complement', (p) => (inRegion(p) ? 0 : 1 + p / 1000));

describe('Faithfulness Correlation (Bhatt et al. 2020)', () => {
  it('is exactly 1 for input × gradient on a linear model with a zero baseline (any channels, any class)', async () => {
    const lin = randomLinear(3, 2, 6, 6, 4);
    const x = uniformImages(12, 2, 6, 6, 5);
    const r = await faithfulnessCorrelation({ model: lin, explainer: inputTimesGradient(lin), images: x, targets: [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], seed: 1 }, { runs: 30, subsetSize: 7 });
    expect(r.scores).toHaveLength(12);
    for (const s of r.scores) expect(s).toBeCloseTo(1, 5);
    // The plain gradient is not x·grad: its subset sums do not equal the logit drops.
    const g = await faithfulnessCorrelation({ model: lin, explainer: gradientExplainer(lin), images: x, targets: new Array(12).fill(0), seed: 1 }, { runs: 30, subsetSize: 7 });
    expect(g.mean).toBeLessThan(0.9);
  });
  it('oracle > random > anti-oracle (higher is better)', async () => {
    const score = async (e: Explainer): Promise<number> => (await faithfulnessCorrelation(run(e), { baseline: 0.5 })).mean;
    const [o, r, a] = [await score(oracle()), await score(randomExplainer(5)), await score(antiOracle())];
    expect(o).toBeGreaterThan(0.9);
    expect(Math.abs(r)).toBeLessThan(0.3);
    expect(a).toBeLessThan(-0.9);
  });
});

describe('Pixel Flipping and Region Perturbation (Samek et al. 2017)', () => {
  it('MoRF area: oracle < random < anti-oracle; LeRF the reverse; random order is the same for every map', async () => {
    const area = async (e: Explainer, order: 'morf' | 'lerf' | 'random'): Promise<number> => (await pixelFlipping(run(e), { order, steps: 16, baseline: 0.5 })).mean;
    const morf = [await area(oracle(), 'morf'), await area(randomExplainer(5), 'morf'), await area(antiOracle(), 'morf')];
    // The model saturates (p ≈ 1 until few region pixels are left), so random sits near the anti-oracle.
    expect(morf[0]!).toBeLessThan(morf[1]! - 0.2);
    expect(morf[1]!).toBeLessThan(morf[2]! - 0.02);
    const lerf = [await area(oracle(), 'lerf'), await area(randomExplainer(5), 'lerf'), await area(antiOracle(), 'lerf')];
    expect(lerf[0]!).toBeGreaterThan(lerf[1]! + 0.02);
    expect(lerf[1]!).toBeGreaterThan(lerf[2]! + 0.2);
    expect(await area(oracle(), 'random')).toBe(await area(antiOracle(), 'random'));
    expect(PIXEL_FLIPPING.morf.direction).toBe('lower');
    expect(PIXEL_FLIPPING.lerf.direction).toBe('higher');
    expect(PIXEL_FLIPPING.random.direction).toBe('reference');
  });
  it('flips every channel of a pixel: a model that reads only the blue channel ends at its bias', async () => {
    // Weights on channel 2 only; after all pixels are flipped to 0 the logits are the bias.
    const lin = randomLinear(3, 3, 5, 5, 8);
    for (let k = 0; k < 3; k++) lin.weights.fill(0, k * 75, k * 75 + 50);
    const x = uniformImages(6, 3, 5, 5, 9);
    const targets = [0, 1, 2, 0, 1, 2];
    const r = await pixelFlipping({ model: lin, explainer: inputTimesGradient(lin), images: x, targets }, { steps: 5, baseline: 0 });
    const p = softmaxRow(lin.bias, 0, 3);
    expect(r.curve!.y.at(-1)).toBeCloseTo(targets.reduce((s, t) => s + p[t]!, 0) / 6, 6);
    expect(r.curve!.x).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
  it('Region Perturbation AOPC: MoRF oracle > random > anti-oracle, LeRF the reverse', async () => {
    const aopc = async (e: Explainer, order: 'morf' | 'lerf'): Promise<number> => (await regionPerturbation(run(e), { order, patchSize: 2 })).mean;
    const morf = [await aopc(oracle(), 'morf'), await aopc(randomExplainer(5), 'morf'), await aopc(antiOracle(), 'morf')];
    expect(morf[0]!).toBeGreaterThan(morf[1]! + 0.03);
    expect(morf[1]!).toBeGreaterThan(morf[2]! + 0.03);
    const lerf = [await aopc(oracle(), 'lerf'), await aopc(randomExplainer(5), 'lerf'), await aopc(antiOracle(), 'lerf')];
    expect(lerf[0]!).toBeLessThan(lerf[1]! - 0.03);
    expect(lerf[1]!).toBeLessThan(lerf[2]! - 0.03);
    expect(REGION_PERTURBATION.morf.direction).toBe('higher');
    await expect(regionPerturbation(run(oracle()), { patchSize: 9 })).rejects.toThrow(/patchSize must be an integer in \[1, 8\]/);
  });
});

describe('Insertion and Deletion (Petsiuk et al. 2018)', () => {
  it('deletion area: oracle < random < anti-oracle; insertion area: the reverse; with constant and blur baselines', async () => {
    // A less saturated model (weights 1): a blurred region keeps part of the evidence, so the curves still move.
    const soft = new RegionModel(Float32Array.from({ length: HW }, (_, p) => (inRegion(p) ? 1 : 0)), 'soft');
    for (const baseline of ['constant', 'blur'] as const) {
      const a = async (e: Explainer, mode: 'insertion' | 'deletion'): Promise<number> => (await insertionDeletion(run(e, { model: soft }), { mode, baseline, value: 0.5, steps: 16, blurSigma: 3 })).mean;
      const del = [await a(oracle(), 'deletion'), await a(randomExplainer(5), 'deletion'), await a(antiOracle(), 'deletion')];
      expect(del[0]!, baseline).toBeLessThan(del[1]! - 0.02);
      expect(del[1]!, baseline).toBeLessThan(del[2]! - 0.02);
      const ins = [await a(oracle(), 'insertion'), await a(randomExplainer(5), 'insertion'), await a(antiOracle(), 'insertion')];
      expect(ins[0]!, baseline).toBeGreaterThan(ins[1]! + 0.02);
      expect(ins[1]!, baseline).toBeGreaterThan(ins[2]! + 0.02);
    }
  });
  it('insertion from a constant canvas starts at the canvas\' probability and ends at the image\'s', async () => {
    const r = await insertionDeletion(run(oracle()), { mode: 'insertion', baseline: 'constant', value: 0.5, steps: 8 });
    expect(r.curve!.y[0]).toBeCloseTo(0.5, 6); // z = 0 on a 0.5 canvas
    const fwd = await model.forward(images);
    const p = Array.from(ds.labels).reduce((s, l, i) => s + fwd.probabilities.data[i * 2 + l]!, 0) / ds.count;
    expect(r.curve!.y.at(-1)).toBeCloseTo(p, 6);
  });
});

describe('Monotonicity (Arya et al. 2019)', () => {
  it('oracle 1 > random > anti-oracle 0 on a model with positive and negative evidence', async () => {
    // Region pixels are positive evidence for class 1, three corner pixels negative evidence (weights small
    // enough that float32 probabilities do not saturate at 1).
    const w = Float32Array.from({ length: HW }, (_, p) => (inRegion(p) ? 1 : p >= 61 ? -1 : 0));
    const m = new RegionModel(w, 'mono');
    const all = regionDataset(80, 2);
    const ones = Array.from({ length: 40 }, (_, i) => 2 * i + 1);
    const x = new Tensor(Float32Array.from(ones.flatMap((i) => Array.from(imagesToTensor(all).data.subarray(i * HW, (i + 1) * HW)))), [40, 1, 8, 8]);
    const xg = inputTimesGradient(m);
    const neg: Explainer = { name: 'anti', async relevance(t, y) { return (await xg.relevance(t, y)).map((v) => -v); } };
    const score = async (e: Explainer): Promise<number> => (await monotonicity({ model: m, explainer: e, images: x, targets: new Array(40).fill(1), seed: 1 }, { steps: 8 })).mean;
    const [o, r, a] = [await score(xg), await score(randomExplainer(2)), await score(neg)];
    expect(o).toBe(1);
    expect(a).toBe(0);
    expect(r).toBeGreaterThan(0.05);
    expect(r).toBeLessThan(0.8);
  });
});

describe('Infidelity (Yeh et al. 2019)', () => {
  it('is 0 for the exact gradient of a linear model, and oracle < random < a map of the pixels the model ignores', async () => {
    const lin = randomLinear(4, 2, 5, 5, 11);
    const x = uniformImages(8, 2, 5, 5, 12);
    const r = await infidelity({ model: lin, explainer: gradientExplainer(lin), images: x, targets: [0, 1, 2, 3, 0, 1, 2, 3] }, { samples: 20 });
    for (const s of r.scores) expect(s).toBeLessThan(1e-8);
    const un = await infidelity({ model: lin, explainer: gradientExplainer(lin), images: x, targets: [0, 1, 2, 3, 0, 1, 2, 3] }, { samples: 20, normalize: false });
    for (const s of un.scores) expect(s).toBeLessThan(1e-8);
    const score = async (e: Explainer): Promise<number> => (await infidelity(run(e), { samples: 50, sigma: 0.1 })).mean;
    const [o, rnd, c, a] = [await score(oracle()), await score(randomExplainer(6)), await score(complement()), await score(antiOracle())];
    expect(o).toBeLessThan(0.01);
    expect(rnd).toBeGreaterThan(o + 0.5);
    expect(c).toBeGreaterThan(rnd + 0.05);
    // The least-squares scale β makes the score sign-free: the (nearly) negated oracle fits about as well.
    expect(a).toBeLessThan(0.05);
  });
});

describe('IROF (Rieger & Hansen 2020)', () => {
  it('oracle > random > anti-oracle (higher is better)', async () => {
    const score = async (e: Explainer): Promise<number> => (await irof(run(e), { segments: 16 })).mean;
    const [o, r, a] = [await score(oracle()), await score(randomExplainer(7)), await score(complement())];
    expect(o).toBeGreaterThan(r + 0.05);
    expect(r).toBeGreaterThan(a + 0.05);
  });
});

describe('bad input', () => {
  it('wrong-shape and non-finite maps, constant maps, targets: named errors; constant maps can be skipped and counted', async () => {
    const short: Explainer = { name: 'short', async relevance(t) { return new Float32Array(t.batchSize * 49); } };
    await expect(pixelFlipping(run(short))).rejects.toThrow(/explainer short gave 1960 values \(7×7 maps\?\) for 40 images of 8×8/);
    const nan: Explainer = { name: 'nan', async relevance(t) { const a = new Float32Array(t.batchSize * HW); a[70] = NaN; return a; } };
    await expect(faithfulnessCorrelation(run(nan))).rejects.toThrow(/non-finite relevance \(NaN\) at sample 1, pixel 6/);
    const flat = fixedExplainer('flat', () => 0.25);
    for (const f of [(i: MetricInput) => pixelFlipping(i), (i: MetricInput) => faithfulnessCorrelation(i), (i: MetricInput) => insertionDeletion(i), (i: MetricInput) => irof(i, { segments: 16 }), (i: MetricInput) => monotonicity(i)]) {
      const err = await f(run(flat)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WhiteBoxError);
      expect((err as WhiteBoxError).code).toBe('INVALID_DATA');
      expect((err as Error).message).toMatch(/flat's map of sample 0 is constant/);
    }
    const mixed: Explainer = { name: 'mixed', async relevance(t) { const o = await oracle().relevance(t, new Int32Array(t.batchSize)); o.fill(1, 0, HW); return o; } };
    const skipped = await pixelFlipping(run(mixed, { unscorable: 'skip' }), { steps: 8 });
    // Pixel flipping (uniform noise) and deletion (black) are different computations by default.
    expect((await pixelFlipping(run(oracle()), { steps: 8 })).mean).not.toBe((await insertionDeletion(run(oracle()), { steps: 8 })).mean);
    expect(skipped.excluded).toEqual([{ sample: 0, reason: 'is constant: it ranks no pixel above another' }]);
    expect(skipped.scores).toHaveLength(39);
    expect(Number.isFinite(skipped.mean)).toBe(true);
    await expect(pixelFlipping(run(flat, { unscorable: 'skip' }))).rejects.toThrow(/no sample of flat could be scored/);
    await expect(pixelFlipping(run(oracle(), { targets: ds.labels.subarray(0, 3) }))).rejects.toThrow(/3 targets for 40 images/);
    await expect(pixelFlipping(run(oracle(), { targets: new Array(40).fill(2) }))).rejects.toThrow(/target 2 of sample 0 is outside the model's 2 classes/);
    await expect(pixelFlipping(run(oracle(), { images: images.reshape([40, 64]) }))).rejects.toThrow(/\[N, C, H, W\]/);
    await expect(pixelFlipping(run(oracle()), { steps: 0 })).rejects.toThrow(/steps must be an integer in \[1, 64\]/);
    const lin = new LinearModel(new Float32Array(2 * 16), new Float32Array(2), 1, 4, 4);
    await expect(pixelFlipping(run(oracle(), { model: lin }))).rejects.toThrow(/takes \[N, 1, 4, 4\] images but got 1×8×8/);
  });
});
