/**
 * SmoothGrad, SmoothGrad² and VarGrad: noise-averaged ensembles around any WhiteBox attribution method.
 *
 * @packageDocumentation
 * @module @whitebox/smoothgrad
 */
import {
  describeValue, type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets,
  LIMITS, Rng, Tensor, WhiteBoxError, check, checkAttributionInput, checkFiniteResult, checkFiniteValues, checkLimit, checkPositiveInt, formatShape,
  repeatTargets, sliceTargets,
} from '@whitebox/core';

/** mean (SmoothGrad), mean of squares (SmoothGrad²), variance (VarGrad) of the maps over noisy copies. */
export type SmoothGradVariant = 'smoothgrad' | 'smoothgrad-squared' | 'vargrad';
/** The ensembles: SmoothGrad (mean), SmoothGrad² (mean of squares) and VarGrad (variance). */
export const SMOOTHGRAD_VARIANTS: readonly SmoothGradVariant[] = ['smoothgrad', 'smoothgrad-squared', 'vargrad'];

/** Options of {@link SmoothGrad}: samples, noise level, variant, seed, and the base method's options. */
export interface SmoothGradOptions<B extends AttributionOptions = AttributionOptions> extends AttributionOptions {
  /** Noisy copies per input (default 50). */
  samples?: number;
  /** Noise σ as a fraction of each input's (max − min) (default 0.15); 0 gives the base method exactly. */
  sigma?: number;
  variant?: SmoothGradVariant;
  /**
   * Noise seed (default 0): same seed, same maps. The noise of copy s of an input is a function of (seed, the
   * input's key, s) only, so an image gets the same map alone, in any batch and at any position in it.
   */
  seed?: number;
  /**
   * One integer key per input (e.g. its index in the dataset) for the noise streams. Default: a hash of the
   * input's pixels, so identical images get identical noise whatever batch they are in.
   */
  keys?: ArrayLike<number>;
  /**
   * The noise to add, in pixel space: [N × samples, C, H, W], copies of input b at rows b·samples … b·samples +
   * samples − 1 (e.g. another library's noise, to replay it exactly). Replaces the generated noise; `sigma` and
   * `seed` are then not used.
   */
  noise?: Tensor;
  /** Largest `samples` accepted (default LIMITS.smoothGradSamples, 10,000). */
  maxSamples?: number;
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
  /** mulberry32 state, seeded from the given Rng or 32-bit state (inlined here: this loop runs millions of times). */
  private state: number;

  constructor(seed: Rng | number) {
    this.state = typeof seed === 'number' ? seed >>> 0 : (seed.next() * 4294967296) >>> 0;
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

  /** Fills `out` with standard normal samples. */
  fill(out: Float32Array | Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.next();
  }
}

/** murmur3's 32-bit finalizer: a bijective mix with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The state of the noise stream of copy `sample` of the input with `key`: a function of (seed, key, sample) only. */
export function noiseStreamState(seed: number, key: number, sample: number): number {
  let h = fmix32((seed ^ 0x9e3779b9) >>> 0);
  h = fmix32((h ^ Math.imul(key >>> 0, 0xcc9e2d51)) >>> 0);
  h = fmix32((h ^ Math.floor(key / 4294967296)) >>> 0);
  return fmix32((h ^ Math.imul(sample + 1, 0x1b873593)) >>> 0);
}

/** A 32-bit key per input from its pixels' bits (FNV-1a): the default, batch-independent noise key. */
export function pixelKeys(input: Tensor): Uint32Array {
  const n = input.batchSize;
  const item = input.itemSize;
  const words = new Uint32Array(input.data.buffer, input.data.byteOffset, input.data.length);
  const out = new Uint32Array(n);
  for (let b = 0; b < n; b++) {
    let h = 0x811c9dc5;
    for (let i = b * item; i < (b + 1) * item; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
    out[b] = fmix32(h >>> 0);
  }
  return out;
}

function checkOptions(o: { samples?: number; sigma?: number; variant?: string; seed?: number; maxSamples?: number }, what: string): void {
  if (o.maxSamples !== undefined) check(Number.isInteger(o.maxSamples) && o.maxSamples >= 1, `${what}: maxSamples must be an integer ≥ 1, got ${describeValue(o.maxSamples)}`, { maxSamples: o.maxSamples });
  if (o.samples !== undefined) {
    check(Number.isInteger(o.samples) && o.samples >= 1, `${what}: samples must be an integer ≥ 1, got ${describeValue(o.samples)}`, { samples: o.samples });
    checkLimit(o.samples, o.maxSamples ?? LIMITS.smoothGradSamples, `${what}: samples`, 'pass maxSamples to allow more');
  }
  if (o.sigma !== undefined) check(typeof o.sigma === 'number' && Number.isFinite(o.sigma) && o.sigma >= 0, `${what}: sigma must be a finite number ≥ 0 (a fraction of each input's max − min), got ${describeValue(o.sigma)}`, { sigma: o.sigma });
  if (o.variant !== undefined && !SMOOTHGRAD_VARIANTS.includes(o.variant as SmoothGradVariant)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${what}: unknown variant ${typeof o.variant === 'string' ? `'${o.variant}'` : describeValue(o.variant)} (known: ${SMOOTHGRAD_VARIANTS.join(', ')})`, { variant: o.variant });
  }
  if (o.seed !== undefined) check(Number.isInteger(o.seed), `${what}: seed must be an integer, got ${describeValue(o.seed)}`);
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

  /** The base method's maps averaged (or squared, or their variance) over `samples` noisy copies of `input`. Returns the base method's shape. */
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
    const given = o.noise;
    if (given !== undefined) {
      if (!(given instanceof Tensor) || given.dtype !== 'float32') throw new WhiteBoxError('INVALID_ARGUMENT', `${what}: noise must be a float32 Tensor [N × samples, ${input.dims.slice(1).join(', ')}]`);
      const want = [total, ...input.dims.slice(1)];
      if (given.rank !== want.length || given.dims.some((d, i) => d !== want[i])) {
        throw new WhiteBoxError('SHAPE_MISMATCH', `${what}: noise has shape ${formatShape(given.dims)}, expected ${formatShape(want)} (${n} inputs × ${samples} samples)`, { expected: want, got: given.dims });
      }
      checkFiniteValues(given, `${what}: noise`);
    }
    let keys: ArrayLike<number>;
    if (o.keys !== undefined) {
      const k = o.keys;
      if (k === null || typeof k !== 'object' || typeof k.length !== 'number' || k.length !== n) {
        throw new WhiteBoxError('INVALID_ARGUMENT', `${what}: keys must give one integer per input (${n}), got ${k === null || typeof k !== 'object' ? String(k) : `${k.length} keys`}`);
      }
      for (let b = 0; b < n; b++) check(Number.isSafeInteger(k[b]) && k[b]! >= 0, `${what}: keys[${b}] must be a non-negative integer, got ${k[b]}`);
      keys = k;
    } else {
      keys = given || sigma === 0 ? new Uint32Array(n) : pixelKeys(input);
    }
    const seed = o.seed ?? 0;

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
      for (let p = start; p < end; p++) {
        const b = Math.floor(p / samples);
        const src = b * item;
        const dst = (p - start) * item;
        const row = noisy.subarray(dst, dst + item);
        if (given) {
          for (let i = 0; i < item; i++) row[i] = input.data[src + i]! + given.data[p * item + i]!;
          continue;
        }
        const s = scale[b]!;
        if (s === 0) {
          row.set(input.data.subarray(src, src + item));
          continue;
        }
        // Each copy's noise comes from its own stream: chunking, batch size and position do not change it.
        new NormalStream(noiseStreamState(seed, Number(keys[b]), p % samples)).fill(row);
        for (let i = 0; i < item; i++) row[i] = input.data[src + i]! + s * row[i]!;
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
    const map = new Tensor(out, mapDims);
    // Float32 overflow of squares / variances shows up here, not as Inf maps.
    checkFiniteResult(map, `${what} map`);
    return map;
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
