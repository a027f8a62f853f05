import { Rng, Tensor, WhiteBoxError, check, type Model, type ProgressCallback } from '@whitebox/core';
import { argsortDesc } from './data.js';
import type { Explainer } from './explainer.js';
import { normalizedArea } from './stats.js';

/** Neighbour offsets and weights of the noisy linear imputer (Rong et al. 2022): 1/6 edge, 1/12 diagonal. */
const NEIGHBOURS: ReadonlyArray<readonly [number, number, number]> = [
  [-1, 0, 1 / 6], [1, 0, 1 / 6], [0, -1, 1 / 6], [0, 1, 1 / 6],
  [-1, -1, 1 / 12], [-1, 1, 1 / 12], [1, -1, 1 / 12], [1, 1, 1 / 12],
];

/** Options of ROAD's noisy linear imputation. */
export interface ImputeOptions {
  /** Std of the Gaussian noise added to imputed pixels (default 0.01, as in ROAD). */
  noise?: number;
  rng?: Rng;
  /** Conjugate-gradient tolerance on the residual norm (default 1e-6). */
  tolerance?: number;
  /** Clip results to [0, 1] pixel space (default true). */
  clip?: boolean;
}

/**
 * Noisy linear imputation of one image [C, H, W] (in place): every masked pixel becomes the
 * weighted mean of its 8 neighbours (solved jointly as a sparse linear system — a grounded graph
 * Laplacian, solved by conjugate gradients), plus Gaussian noise. `mask[p] = 1` marks removed pixels.
 * If no pixel is left, the image becomes its per-channel mean of nothing: `fallback` per channel.
 */
export function noisyLinearImpute(image: Float32Array, channels: number, height: number, width: number, mask: Uint8Array, fallback: readonly number[], options: ImputeOptions = {}): void {
  const hw = height * width;
  check(image.length === channels * hw, `noisyLinearImpute: image has ${image.length} values, expected ${channels}×${height}×${width}`);
  check(mask.length === hw, `noisyLinearImpute: mask has ${mask.length} values, expected ${height}×${width}`);
  const noise = options.noise ?? 0.01;
  const rng = options.rng ?? new Rng(0);
  const tol = options.tolerance ?? 1e-6;
  const clip = options.clip ?? true;
  const unknown: number[] = [];
  const pos = new Int32Array(hw).fill(-1);
  for (let p = 0; p < hw; p++) if (mask[p]) pos[p] = unknown.push(p) - 1;
  const m = unknown.length;
  if (m === 0) return;
  // Row i: d_i x_i − Σ_{j unknown} w_ij x_j = Σ_{j known} w_ij v_j (d_i = Σ_j w_ij over in-image neighbours).
  const nbr = new Int32Array(m * 8).fill(-1);
  const wts = new Float64Array(m * 8);
  const diag = new Float64Array(m);
  let anyKnown = false;
  for (let i = 0; i < m; i++) {
    const p = unknown[i]!;
    const y = Math.floor(p / width);
    const x = p % width;
    NEIGHBOURS.forEach(([dy, dx, wt], k) => {
      const yy = y + dy;
      const xx = x + dx;
      if (yy < 0 || yy >= height || xx < 0 || xx >= width) return;
      const q = yy * width + xx;
      nbr[i * 8 + k] = q;
      wts[i * 8 + k] = wt;
      diag[i]! += wt;
      if (!mask[q]) anyKnown = true;
    });
  }
  for (let ch = 0; ch < channels; ch++) {
    const img = image.subarray(ch * hw, (ch + 1) * hw);
    if (!anyKnown) {
      for (const p of unknown) img[p] = fallback[ch] ?? 0;
    } else {
      const b = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        for (let k = 0; k < 8; k++) {
          const q = nbr[i * 8 + k]!;
          if (q >= 0 && !mask[q]) b[i]! += wts[i * 8 + k]! * img[q]!;
        }
      }
      const apply = (v: Float64Array, out: Float64Array): void => {
        for (let i = 0; i < m; i++) {
          let s = diag[i]! * v[i]!;
          for (let k = 0; k < 8; k++) {
            const q = nbr[i * 8 + k]!;
            if (q >= 0 && mask[q]) s -= wts[i * 8 + k]! * v[pos[q]!]!;
          }
          out[i] = s;
        }
      };
      // Conjugate gradients from the mean of b / diag.
      const x = new Float64Array(m);
      for (let i = 0; i < m; i++) x[i] = b[i]! / diag[i]!;
      const r = new Float64Array(m);
      const ap = new Float64Array(m);
      apply(x, ap);
      for (let i = 0; i < m; i++) r[i] = b[i]! - ap[i]!;
      const d = r.slice();
      let rr = 0;
      for (let i = 0; i < m; i++) rr += r[i]! * r[i]!;
      const bn = Math.sqrt(b.reduce((s, v) => s + v * v, 0)) || 1;
      for (let it = 0; it < 4 * m + 10 && Math.sqrt(rr) > tol * bn; it++) {
        apply(d, ap);
        let dap = 0;
        for (let i = 0; i < m; i++) dap += d[i]! * ap[i]!;
        if (dap <= 0) break;
        const alpha = rr / dap;
        let rr2 = 0;
        for (let i = 0; i < m; i++) {
          x[i]! += alpha * d[i]!;
          r[i]! -= alpha * ap[i]!;
          rr2 += r[i]! * r[i]!;
        }
        const beta = rr2 / rr;
        rr = rr2;
        for (let i = 0; i < m; i++) d[i] = r[i]! + beta * d[i]!;
      }
      for (let i = 0; i < m; i++) img[unknown[i]!] = x[i]!;
    }
    for (const p of unknown) {
      let v = img[p]! + (noise > 0 ? noise * rng.normal() : 0);
      if (clip) v = Math.min(1, Math.max(0, v));
      img[p] = v;
    }
  }
}

/** Options of `road`: fractions, orders, imputation noise, seed and progress. */
export interface RoadOptions {
  /** Fractions of pixels removed (default 0.1, 0.3, 0.5, 0.7, 0.9). */
  fractions?: readonly number[];
  /** Orders: most relevant first (MoRF) and least relevant first (LeRF); default both. */
  orders?: ReadonlyArray<'morf' | 'lerf'>;
  noise?: number;
  seed?: number;
  onProgress?: ProgressCallback;
}

/** One method's ROAD curve in one order. */
export interface RoadCurve {
  method: string;
  order: 'morf' | 'lerf';
  fractions: number[];
  /** Accuracy of the (not retrained) model on the imputed images, per fraction. */
  accuracy: number[];
  /** Mean probability of the label, per fraction. */
  probability: number[];
  /** Normalised area under the accuracy curve over the fractions (MoRF: lower is better; LeRF: higher is better). */
  aucAccuracy: number;
}

/** Result of `road`: the baseline accuracy and every method's curves. */
export interface RoadResult {
  fractions: number[];
  samples: number;
  baselineAccuracy: number;
  curves: RoadCurve[];
}

/**
 * ROAD (Rong et al. 2022, "A Consistent and Efficient Evaluation Strategy for Attribution Methods"):
 * remove the top (MoRF) or bottom (LeRF) fraction of pixels by each map, fill them by noisy
 * linear imputation so the mask's shape leaks little, and measure the unchanged model — no retraining.
 */
export async function road(model: Model, explainers: readonly Explainer[], images: Tensor, labels: ArrayLike<number>, options: RoadOptions = {}): Promise<RoadResult> {
  const fractions = [...(options.fractions ?? [0.1, 0.3, 0.5, 0.7, 0.9])];
  const orders = options.orders ?? ['morf', 'lerf'];
  for (const f of fractions) check(f >= 0 && f <= 1, `road: fraction ${f} is outside [0, 1]`);
  if (images.rank !== 4) throw new WhiteBoxError('SHAPE_MISMATCH', `road: images must be [N, C, H, W], got ${images}`);
  const [n, c, h, w] = images.dims as [number, number, number, number];
  if (labels.length !== n) throw new WhiteBoxError('SHAPE_MISMATCH', `road: ${labels.length} labels for ${n} images`);
  const hw = h * w;
  const labelArr = Int32Array.from(labels);
  const numClasses = model.numClasses;
  const channelMean: number[] = [];
  for (let k = 0; k < c; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) for (let p = 0; p < hw; p++) s += images.data[(i * c + k) * hw + p]!;
    channelMean.push(s / (n * hw));
  }
  const total = explainers.length * (1 + orders.length * fractions.length);
  let done = 0;
  options.onProgress?.({ done, total, stage: 'road' });
  const score = async (x: Tensor): Promise<[number, number]> => {
    const fwd = await model.forward(x);
    let correct = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      if (fwd.predictions[i] === labelArr[i]) correct++;
      p += fwd.probabilities.data[i * numClasses + labelArr[i]!]!;
    }
    return [correct / n, p / n];
  };
  const [baselineAccuracy] = await score(images);
  const curves: RoadCurve[] = [];
  for (const explainer of explainers) {
    const rel = await explainer.relevance(images, labelArr);
    if (rel.length !== n * hw) throw new WhiteBoxError('SHAPE_MISMATCH', `road: explainer ${explainer.name} returned ${rel.length} relevance values for ${n} images of ${h}×${w}`);
    const order: Int32Array[] = [];
    for (let i = 0; i < n; i++) order.push(argsortDesc(rel.subarray(i * hw, (i + 1) * hw), (options.seed ?? 0) * 7919 + i));
    options.onProgress?.({ done: ++done, total, stage: `road ${explainer.name}` });
    for (const o of orders) {
      const curve: RoadCurve = { method: explainer.name, order: o, fractions, accuracy: [], probability: [], aucAccuracy: 0 };
      for (const f of fractions) {
        const rng = new Rng((options.seed ?? 0) + Math.round(f * 1000));
        const x = images.clone();
        const k = Math.round(f * hw);
        const mask = new Uint8Array(hw);
        for (let i = 0; i < n; i++) {
          mask.fill(0);
          const ord = order[i]!;
          for (let r = 0; r < k; r++) mask[o === 'morf' ? ord[r]! : ord[hw - 1 - r]!] = 1;
          noisyLinearImpute(x.data.subarray(i * c * hw, (i + 1) * c * hw), c, h, w, mask, channelMean, { noise: options.noise ?? 0.01, rng });
        }
        const [acc, prob] = await score(x);
        curve.accuracy.push(acc);
        curve.probability.push(prob);
        options.onProgress?.({ done: ++done, total, stage: `road ${explainer.name} ${o}` });
      }
      curve.aucAccuracy = normalizedArea(fractions, curve.accuracy);
      curves.push(curve);
    }
  }
  return { fractions, samples: n, baselineAccuracy, curves };
}
