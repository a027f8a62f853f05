import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets,
  Rng, Tensor, WhiteBoxError, check, checkAttributionInput, checkPositiveInt, repeatTargets, sliceTargets,
} from '@whitebox/core';

/** mean (SmoothGrad), mean of squares (SmoothGrad²), variance (VarGrad) of the maps over noisy copies. */
export type SmoothGradVariant = 'smoothgrad' | 'smoothgrad-squared' | 'vargrad';
export const SMOOTHGRAD_VARIANTS: readonly SmoothGradVariant[] = ['smoothgrad', 'smoothgrad-squared', 'vargrad'];

export interface SmoothGradOptions<B extends AttributionOptions = AttributionOptions> extends AttributionOptions {
  /** Noisy copies per input (default 50). */
  samples?: number;
  /** Noise σ as a fraction of each input's (max − min) (default 0.15); 0 gives the base method exactly. */
  sigma?: number;
  variant?: SmoothGradVariant;
  /** Noise seed (default 0): same seed, same maps. */
  seed?: number;
  /** Largest number of noisy copies (inputs × samples) handed to the base method at once (default 1024). */
  batchSize?: number;
  /** Options passed to the base method (its own batchSize defaults to this one's). */
  baseOptions?: Omit<B, 'onProgress'>;
}

// Ziggurat tables (Marsaglia & Tsang 2000, 128 layers) for the standard normal.
const ZR = 3.442619855899;
const ZV = 9.91256303526217e-3;
const KN = new Int32Array(128);
const WN = new Float64Array(128);
const FN = new Float64Array(128);
{
  const m1 = 2147483648;
  let dn = ZR;
  let tn = dn;
  const q = ZV / Math.exp(-0.5 * dn * dn);
  KN[0] = Math.floor((dn / q) * m1);
  KN[1] = 0;
  WN[0] = q / m1;
  WN[127] = dn / m1;
  FN[0] = 1;
  FN[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(ZV / dn + Math.exp(-0.5 * dn * dn)));
    KN[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    FN[i] = Math.exp(-0.5 * dn * dn);
    WN[i] = dn / m1;
  }
}

/**
 * Standard normal samples from a seeded `Rng` by the ziggurat method (Marsaglia & Tsang 2000):
 * one 32-bit draw and a table lookup for ~99% of samples, no logarithm, which matters for the
 * millions of samples a SmoothGrad batch needs. The stream is consumed sample by sample, so it
 * does not depend on how it is split into chunks.
 */
export class NormalStream {
  /** mulberry32 state, seeded from the given Rng (inlined here: this loop runs millions of times). */
  private state: number;

  constructor(rng: Rng) {
    this.state = (rng.next() * 4294967296) >>> 0;
  }

  /** Next 32-bit draw as a signed int. */
  private int32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return t ^ (t >>> 14);
  }

  /** Uniform in [0, 1). */
  private uniform(): number {
    return (this.int32() >>> 0) / 4294967296;
  }

  /** One sample. */
  next(): number {
    let hz = this.int32();
    let iz = hz & 127;
    if (Math.abs(hz) < KN[iz]!) return hz * WN[iz]!;
    for (;;) {
      if (iz === 0) {
        // The tail beyond ZR (Marsaglia's exponential rejection).
        let x: number;
        let y: number;
        do {
          x = -Math.log(1 - this.uniform()) / ZR;
          y = -Math.log(1 - this.uniform());
        } while (y + y < x * x);
        return hz > 0 ? ZR + x : -ZR - x;
      }
      const x = hz * WN[iz]!;
      if (FN[iz]! + this.uniform() * (FN[iz - 1]! - FN[iz]!) < Math.exp(-0.5 * x * x)) return x;
      hz = this.int32();
      iz = hz & 127;
      if (Math.abs(hz) < KN[iz]!) return hz * WN[iz]!;
    }
  }

  fill(out: Float32Array | Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.next();
  }
}

function checkOptions(o: { samples?: number; sigma?: number; variant?: string; seed?: number }, what: string): void {
  if (o.samples !== undefined) check(Number.isInteger(o.samples) && o.samples >= 1, `${what}: samples must be an integer ≥ 1, got ${o.samples}`, { samples: o.samples });
  if (o.sigma !== undefined) check(typeof o.sigma === 'number' && Number.isFinite(o.sigma) && o.sigma >= 0, `${what}: sigma must be a finite number ≥ 0 (a fraction of each input's max − min), got ${o.sigma}`, { sigma: o.sigma });
  if (o.variant !== undefined && !SMOOTHGRAD_VARIANTS.includes(o.variant as SmoothGradVariant)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${what}: unknown variant '${o.variant}' (known: ${SMOOTHGRAD_VARIANTS.join(', ')})`, { variant: o.variant });
  }
  if (o.seed !== undefined) check(Number.isInteger(o.seed), `${what}: seed must be an integer, got ${o.seed}`);
}

/**
 * SmoothGrad (Smilkov et al. 2017), SmoothGrad-Squared and VarGrad (Adebayo et al. 2018) around
 * ANY attribution method: `new SmoothGrad(new GuidedBackprop(model))`. The noisy copies of all
 * inputs form one long batch (item-major), handed to the base method in chunks of `batchSize`,
 * so the runtime sees large batches. Statistics are accumulated in float64 (Welford).
 */
export class SmoothGrad<B extends AttributionOptions = AttributionOptions> implements Attribution<SmoothGradOptions<B>> {
  readonly name: string;
  readonly model: Model;

  constructor(readonly base: Attribution<B>, readonly defaults: Omit<SmoothGradOptions<B>, 'onProgress'> = {}) {
    checkOptions(defaults, 'smoothgrad');
    this.model = base.model;
    const variant = defaults.variant ?? 'smoothgrad';
    this.name = `${variant}(${base.name})`;
  }

  async attribute(input: Tensor, target: Targets, options: SmoothGradOptions<B> = {}): Promise<Tensor> {
    const o = { ...this.defaults, ...options };
    const what = this.name;
    checkOptions(o, what);
    checkPositiveInt(o.batchSize, 'batchSize', what);
    checkAttributionInput(this.model, input, target, what);
    const samples = o.samples ?? 50;
    const sigma = o.sigma ?? 0.15;
    const variant = o.variant ?? 'smoothgrad';
    const chunk = o.batchSize ?? 1024;
    const n = input.batchSize;
    const item = input.itemSize;
    const total = n * samples;

    // Per-input noise scale σ · (max − min).
    const scale = new Float64Array(n);
    for (let b = 0; b < n; b++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = b * item; i < (b + 1) * item; i++) {
        const v = input.data[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      scale[b] = sigma * (hi - lo);
    }

    const noise = new NormalStream(new Rng(o.seed ?? 0));
    const allTargets = repeatTargets(target, n, samples);
    let mean: Float64Array | undefined;
    let m2: Float64Array | undefined;
    let mapItem = 0;
    let mapDims: readonly number[] = [];
    const progress = o.onProgress;
    progress?.({ done: 0, total, stage: what });
    for (let start = 0; start < total; start += chunk) {
      const end = Math.min(total, start + chunk);
      const noisy = new Float32Array((end - start) * item);
      // The noise stream is consumed in item order, so chunking does not change the result.
      if (sigma > 0) noise.fill(noisy);
      for (let p = start; p < end; p++) {
        const b = Math.floor(p / samples);
        const s = scale[b]!;
        const src = b * item;
        const dst = (p - start) * item;
        for (let i = 0; i < item; i++) noisy[dst + i] = input.data[src + i]! + s * noisy[dst + i]!;
      }
      const maps = await this.base.attribute(new Tensor(noisy, [end - start, ...input.dims.slice(1)]), sliceTargets(allTargets, start, end), {
        batchSize: chunk,
        ...(o.baseOptions ?? {}),
        // Base methods count progress in their own units (IG: path points): rescale to noisy copies.
        onProgress: progress && ((q) => progress({ done: start + Math.round((q.total > 0 ? q.done / q.total : 1) * (end - start)), total, stage: what })),
      } as B);
      if (!mean) {
        mapItem = maps.itemSize;
        mapDims = [n, ...maps.dims.slice(1)];
        mean = new Float64Array(n * mapItem);
        m2 = new Float64Array(n * mapItem);
      }
      for (let p = start; p < end; p++) {
        const b = Math.floor(p / samples);
        const k = (p % samples) + 1; // Welford count after this sample
        const src = (p - start) * mapItem;
        const dst = b * mapItem;
        for (let i = 0; i < mapItem; i++) {
          const v = maps.data[src + i]!;
          if (variant === 'smoothgrad-squared') {
            mean[dst + i] += (v * v - mean[dst + i]!) / k;
          } else {
            const d = v - mean[dst + i]!;
            mean[dst + i] += d / k;
            if (variant === 'vargrad') m2![dst + i] += d * (v - mean[dst + i]!);
          }
        }
      }
      progress?.({ done: end, total, stage: what });
    }
    const out = new Float32Array(n * mapItem);
    if (variant === 'vargrad') {
      // Population variance (Captum's NoiseTunnel vargrad: E[m²] − E[m]²), never negative.
      for (let i = 0; i < out.length; i++) out[i] = Math.max(0, m2![i]! / samples);
    } else {
      for (let i = 0; i < out.length; i++) out[i] = mean![i]!;
    }
    return new Tensor(out, mapDims);
  }
}

/** Wraps any method's factory: `smoothGrad(guidedBackprop, { variant: 'vargrad', samples: 50 })`. */
export function smoothGrad<B extends AttributionOptions>(
  base: AttributionFactory<B>,
  defaults: Omit<SmoothGradOptions<B>, 'onProgress'> = {},
): AttributionFactory<SmoothGradOptions<B>> {
  checkOptions(defaults, 'smoothgrad');
  return (model) => new SmoothGrad(base(model), defaults);
}

export default smoothGrad;
