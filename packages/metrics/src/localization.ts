import { check } from '@whitebox/core';
import { argsortDesc } from './data.js';
import { ScoreCollector, isConstantMap, prepare, type MetricInfo, type MetricInput, type MetricOutput, type Prepared } from './metric.js';

/** Metric info of the Pointing Game. */
export const POINTING_GAME: MetricInfo = {
  id: 'pointing-game', name: 'Pointing Game', family: 'localization', direction: 'higher', paper: 'Zhang et al. 2018', needsMasks: true,
  definition: 'Hit rate: the map\'s maximum lies inside the ground-truth mask.',
};
/** Metric info of Relevance Mass Accuracy. */
export const RELEVANCE_MASS: MetricInfo = {
  id: 'relevance-mass', name: 'Relevance Mass Accuracy', family: 'localization', direction: 'higher', paper: 'Arras et al. 2022', needsMasks: true,
  definition: 'Share of the positive relevance that falls inside the mask.',
};
/** Metric info of Relevance Rank Accuracy. */
export const RELEVANCE_RANK: MetricInfo = {
  id: 'relevance-rank', name: 'Relevance Rank Accuracy', family: 'localization', direction: 'higher', paper: 'Arras et al. 2022', needsMasks: true,
  definition: 'Share of the K most relevant pixels that lie inside the mask, K = mask size.',
};
/** Metric info of Top-K Intersection. */
export const TOP_K_INTERSECTION: MetricInfo = {
  id: 'top-k-intersection', name: 'Top-K Intersection', family: 'localization', direction: 'higher', paper: 'Theiner et al. 2022', needsMasks: true,
  definition: 'Share of the k most relevant pixels (k = 5 % of the image) inside the mask.',
};
/** Metric info of Attribution Localization. */
export const ATTRIBUTION_LOCALIZATION: MetricInfo = {
  id: 'attribution-localization', name: 'Attribution Localization', family: 'localization', direction: 'higher', paper: 'Kohlbrenner et al. 2020', needsMasks: true,
  definition: 'Share of the absolute relevance Σ|a| that falls inside the mask.',
};

async function localize(input: MetricInput, info: MetricInfo, score: (p: Prepared, i: number, out: ScoreCollector) => void): Promise<MetricOutput> {
  const p = await prepare(input, info.id, { masks: true });
  const out = new ScoreCollector(info.id, input.explainer.name, input.unscorable);
  for (let i = 0; i < p.n; i++) score(p, i, out);
  return out.output();
}

const constant = (): string => 'is constant: it points nowhere';

/** Dilates a mask by `r` pixels (Euclidean), for the Pointing Game's tolerance. */
function dilate(mask: Uint8Array, off: number, h: number, w: number, r: number): Uint8Array {
  const out = new Uint8Array(h * w);
  const R = Math.ceil(r);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[off + y * w + x]) continue;
      for (let dy = -R; dy <= R; dy++) for (let dx = -R; dx <= R; dx++) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy >= 0 && yy < h && xx >= 0 && xx < w && dy * dy + dx * dx <= r * r) out[yy * w + xx] = 1;
      }
    }
  }
  return out;
}

/**
 * Pointing Game (Zhang et al. 2018, "Top-down Neural Attention by Excitation Backprop"): a hit when the map's
 * maximum falls inside the ground-truth mask (within `tolerance` pixels; the paper uses 15 on ImageNet-size
 * images, default 0 here); the score is the hit rate, higher is better. An oracle scores 1. Choices: when several
 * pixels share the maximum, the hit counts the share of them inside the mask (the expected hit under a random tie
 * break; Quantus counts any); a constant map has no maximum to point with (named error, or left out).
 */
export function pointingGame(input: MetricInput, options: { tolerance?: number } = {}): Promise<MetricOutput> {
  const tol = options.tolerance ?? 0;
  check(Number.isFinite(tol) && tol >= 0, `pointing-game: tolerance must be ≥ 0 pixels, got ${tol}`);
  return localize(input, POINTING_GAME, (p, i, out) => {
    if (!out.check(i, !isConstantMap(p.relevance, i, p.hw), constant)) return;
    const a = p.relevance.subarray(i * p.hw, (i + 1) * p.hw);
    const m = tol > 0 ? dilate(p.masks!, i * p.hw, p.h, p.w, tol) : p.masks!.subarray(i * p.hw, (i + 1) * p.hw);
    let max = -Infinity;
    for (let q = 0; q < p.hw; q++) if (a[q]! > max) max = a[q]!;
    let at = 0;
    let inside = 0;
    for (let q = 0; q < p.hw; q++) {
      if (a[q] === max) {
        at++;
        inside += m[q]!;
      }
    }
    out.add(i, inside / at);
  });
}

/**
 * Relevance Mass Accuracy (Arras, Osman & Samek 2022, "CLEVR-XAI"): R_within / R_total over the positive part of
 * the map, the share of positive relevance inside the mask, in [0, 1]; higher is better. A map with no positive
 * relevance cannot be scored (named error, or left out).
 */
export function relevanceMass(input: MetricInput): Promise<MetricOutput> {
  return localize(input, RELEVANCE_MASS, (p, i, out) => {
    let within = 0;
    let total = 0;
    for (let q = 0; q < p.hw; q++) {
      const v = Math.max(0, p.relevance[i * p.hw + q]!);
      total += v;
      if (p.masks![i * p.hw + q]) within += v;
    }
    if (out.check(i, total > 0, () => 'has no positive relevance: there is no mass to locate')) out.add(i, within / total);
  });
}

/** The share of the `k` most relevant pixels of sample i that lie inside its mask (ties broken in a seeded order). */
function topShare(p: Prepared, i: number, k: number, seed: number): number {
  const order = argsortDesc(p.relevance.subarray(i * p.hw, (i + 1) * p.hw), (seed * 7919 + i) >>> 0);
  let inside = 0;
  for (let r = 0; r < k; r++) inside += p.masks![i * p.hw + order[r]!]!;
  return inside / k;
}

/**
 * Relevance Rank Accuracy (Arras, Osman & Samek 2022): with K the mask's size, the share of the K most relevant
 * pixels inside the mask; higher is better, an oracle scores 1. Ties at the K-th rank are broken in a seeded order;
 * a constant map ranks nothing (named error, or left out).
 */
export function relevanceRank(input: MetricInput): Promise<MetricOutput> {
  return localize(input, RELEVANCE_RANK, (p, i, out) => {
    if (!out.check(i, !isConstantMap(p.relevance, i, p.hw), constant)) return;
    let K = 0;
    for (let q = 0; q < p.hw; q++) K += p.masks![i * p.hw + q]!;
    out.add(i, topShare(p, i, K, input.seed ?? 0));
  });
}

/**
 * Top-K Intersection (Theiner, Müller-Budack & Ewerth 2022, "Interpretable Semantic Photo Geolocation"; Quantus'
 * TopKIntersection): the share of the k most relevant pixels inside the mask; higher is better. Choice: k defaults
 * to 5 % of the pixels (Quantus' default k = 1000 is 2 % of a 224² image). Constant maps: named error (or left out).
 */
export function topKIntersection(input: MetricInput, options: { k?: number; fraction?: number } = {}): Promise<MetricOutput> {
  return localize(input, TOP_K_INTERSECTION, (p, i, out) => {
    const k = options.k ?? Math.max(1, Math.round((options.fraction ?? 0.05) * p.hw));
    check(Number.isInteger(k) && k >= 1 && k <= p.hw, `top-k-intersection: k must be an integer in [1, ${p.hw}], got ${k}`);
    if (!out.check(i, !isConstantMap(p.relevance, i, p.hw), constant)) return;
    out.add(i, topShare(p, i, k, input.seed ?? 0));
  });
}

/**
 * Attribution Localization (Kohlbrenner et al. 2020, "Towards Best Practice in Explaining Neural Network
 * Decisions with LRP"): the share of the absolute relevance inside the mask, Σ_mask |a| / Σ |a|; higher is
 * better. Quantus' default (abs = true). An all-zero map cannot be scored (named error, or left out).
 */
export function attributionLocalization(input: MetricInput): Promise<MetricOutput> {
  return localize(input, ATTRIBUTION_LOCALIZATION, (p, i, out) => {
    let within = 0;
    let total = 0;
    for (let q = 0; q < p.hw; q++) {
      const v = Math.abs(p.relevance[i * p.hw + q]!);
      total += v;
      if (p.masks![i * p.hw + q]) within += v;
    }
    if (out.check(i, total > 0, () => 'is all zero: there is no relevance to locate')) out.add(i, within / total);
  });
}
