import { check } from '@whitebox/core';

/** Arithmetic mean (NaN for no values). */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function std(values: ArrayLike<number>): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (values[i]! - m) ** 2;
  return Math.sqrt(s / (values.length - 1));
}

/** Ranks 1..n with ties given their average rank. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[idx[j + 1]!] === values[idx[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k]!] = r;
    i = j + 1;
  }
  return out;
}

/** Pearson correlation; 0 when either side is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a.length === b.length, `pearson: lengths differ (${a.length} vs ${b.length})`);
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return 0;
  return sab / Math.sqrt(saa * sbb);
}

/** Spearman rank correlation (Pearson on tie-averaged ranks). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/**
 * Normalised area under a curve y(x) by the trapezoid rule, divided by the x range:
 * the curve's mean height (a curve at constant c has area c).
 */
export function normalizedArea(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  check(xs.length === ys.length && xs.length >= 1, `normalizedArea: need matching non-empty x and y (got ${xs.length} and ${ys.length})`);
  if (xs.length === 1) return ys[0]!;
  let area = 0;
  for (let i = 1; i < xs.length; i++) area += ((ys[i]! + ys[i - 1]!) / 2) * (xs[i]! - xs[i - 1]!);
  const range = xs[xs.length - 1]! - xs[0]!;
  return range === 0 ? ys[0]! : area / range;
}

/** Softmax of one row. */
export function softmaxRow(logits: ArrayLike<number>, start: number, n: number): Float64Array {
  let m = -Infinity;
  for (let k = 0; k < n; k++) m = Math.max(m, logits[start + k]!);
  const out = new Float64Array(n);
  let s = 0;
  for (let k = 0; k < n; k++) s += out[k] = Math.exp(logits[start + k]! - m);
  for (let k = 0; k < n; k++) out[k] = out[k]! / s;
  return out;
}
