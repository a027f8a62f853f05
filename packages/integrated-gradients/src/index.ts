/**
 * Integrated Gradients attributions (Sundararajan et al. 2017) with baselines and completeness delta, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/integrated-gradients
 */
import {
  describeValue, type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets,
  LIMITS, Tensor, WhiteBoxError, check, checkAttributionInput, checkFiniteResult, checkFiniteValues, checkLimit, checkPositiveInt, formatShape,
  repeatTargets, sliceTargets, targetScores,
} from '@whitebox/core';

/** How the path integral is approximated (Captum's riemann_* and gausslegendre). */
export type IntegrationMethod = 'riemann-left' | 'riemann-right' | 'riemann-middle' | 'riemann-trapezoid' | 'gauss-legendre';
/** The quadratures Integrated Gradients can use (Captum's names). */
export const INTEGRATION_METHODS: readonly IntegrationMethod[] = ['riemann-left', 'riemann-right', 'riemann-middle', 'riemann-trapezoid', 'gauss-legendre'];

/** Options of {@link IntegratedGradients}: baseline, steps, quadrature and batch size. */
export interface IntegratedGradientsOptions extends AttributionOptions {
  /** x′: a number (every pixel), or a tensor [1, C, H, W] or [N, C, H, W]. Default 0 (black). */
  baseline?: number | Tensor;
  /** Points on the path (default 50). */
  steps?: number;
  /** Quadrature (default 'gauss-legendre'). */
  method?: IntegrationMethod;
  /** Largest number of path points (inputs × steps) sent to the model in one call (default 1024). */
  batchSize?: number;
  /**
   * Largest `steps` accepted (default LIMITS.integratedGradientsSteps, 10,000): a guard against a typo such as 1e9
   * (memory for the path points, and Gauss–Legendre nodes cost O(steps²) to compute: about 1 s at 10,000).
   */
  maxSteps?: number;
}

/** Attributions with their completeness check. */
export interface IntegratedGradientsResult {
  attributions: Tensor;
  /** Completeness gap per sample: Σ attributions − (f(x) − f(x′)). */
  delta: Float64Array;
  /** f(x) and f(x′): the target score (cotangent · logits) at the input and at the baseline. */
  inputScores: Float64Array;
  baselineScores: Float64Array;
}

/** P_n(x) and P_n'(x) by the three-term recurrence. */
function legendre(n: number, x: number): { pn: number; dp: number } {
  let p0 = 1;
  let p1 = x;
  for (let k = 2; k <= n; k++) {
    const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
    p0 = p1;
    p1 = p2;
  }
  const pn = n === 1 ? x : p1;
  const pPrev = n === 1 ? 1 : p0;
  return { pn, dp: (n * (x * pn - pPrev)) / (x * x - 1) };
}

/**
 * Gauss–Legendre nodes and weights on [-1, 1] (Newton's method on P_n, Golub-free), n ≥ 1.
 */
export function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    for (let iter = 0; iter < 100; iter++) {
      const { pn, dp } = legendre(n, x);
      const dx = pn / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-15) break;
    }
    // The derivative at the converged root gives the weight.
    const { dp } = legendre(n, x);
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  if (n % 2 === 1) nodes[(n - 1) / 2] = 0;
  return { nodes, weights };
}

/** Path points α ∈ [0, 1] and their weights (summing to 1) for a quadrature; `steps` ≤ `maxSteps`. */
export function pathPoints(steps: number, method: IntegrationMethod = 'gauss-legendre', maxSteps: number = LIMITS.integratedGradientsSteps): { alphas: Float64Array; weights: Float64Array } {
  check(Number.isInteger(steps) && steps >= 1, `integrated-gradients: steps must be an integer ≥ 1, got ${describeValue(steps)}`, { steps });
  checkLimit(steps, maxSteps, 'integrated-gradients: steps', 'pass maxSteps to allow more; Gauss–Legendre nodes cost O(steps²) to compute');
  const alphas = new Float64Array(steps);
  const weights = new Float64Array(steps).fill(1 / steps);
  switch (method) {
    case 'riemann-left':
      for (let i = 0; i < steps; i++) alphas[i] = i / steps;
      break;
    case 'riemann-right':
      for (let i = 0; i < steps; i++) alphas[i] = (i + 1) / steps;
      break;
    case 'riemann-middle':
      for (let i = 0; i < steps; i++) alphas[i] = (i + 0.5) / steps;
      break;
    case 'riemann-trapezoid':
      check(steps >= 2, `integrated-gradients: the trapezoid rule needs steps ≥ 2, got ${steps}`, { steps });
      for (let i = 0; i < steps; i++) {
        alphas[i] = i / (steps - 1);
        weights[i] = (i === 0 || i === steps - 1 ? 0.5 : 1) / (steps - 1);
      }
      break;
    case 'gauss-legendre': {
      const gl = gaussLegendre(steps);
      for (let i = 0; i < steps; i++) {
        alphas[i] = (gl.nodes[i]! + 1) / 2;
        weights[i] = gl.weights[i]! / 2;
      }
      break;
    }
    default:
      throw new WhiteBoxError('INVALID_ARGUMENT', `integrated-gradients: unknown method '${String(method)}' (known: ${INTEGRATION_METHODS.join(', ')})`, { method });
  }
  return { alphas, weights };
}

/**
 * Integrated Gradients (Sundararajan et al. 2017): (x − x′) ⊙ ∫₀¹ ∇f(x′ + α(x − x′)) dα.
 * All path points of all inputs go to the model as one long batch, chunked at `batchSize`.
 */
export class IntegratedGradients implements Attribution<IntegratedGradientsOptions> {
  readonly name = 'integrated-gradients';
  constructor(readonly model: Model) {}

  /** Integrated Gradients maps for `input` [N, C, H, W] and `target` (the input's shape); `attributeWithDelta` also returns the completeness gap. */
  async attribute(input: Tensor, target: Targets, options: IntegratedGradientsOptions = {}): Promise<Tensor> {
    return (await this.run(input, target, options, false)).attributions;
  }

  /** Attributions plus the completeness gap Σ attributions − (f(x) − f(x′)) per sample. */
  async attributeWithDelta(input: Tensor, target: Targets, options: IntegratedGradientsOptions = {}): Promise<IntegratedGradientsResult> {
    return (await this.run(input, target, options, true)) as IntegratedGradientsResult;
  }

  private baselineOf(input: Tensor, baseline: number | Tensor | undefined): Tensor {
    const n = input.batchSize;
    const item = input.itemSize;
    if (baseline === undefined || typeof baseline === 'number') {
      const v = baseline ?? 0;
      check(Number.isFinite(v), `integrated-gradients: baseline must be a finite number or a tensor, got ${describeValue(v)}`);
      return Tensor.full(input.dims, v);
    }
    if (!(baseline instanceof Tensor)) throw new WhiteBoxError('INVALID_ARGUMENT', 'integrated-gradients: baseline must be a number or a Tensor');
    const same = baseline.rank === input.rank && baseline.dims.slice(1).every((d, i) => d === input.dims[i + 1]);
    if (!same || (baseline.batchSize !== 1 && baseline.batchSize !== n)) {
      throw new WhiteBoxError(
        'SHAPE_MISMATCH',
        `integrated-gradients: baseline shape ${formatShape(baseline.dims)} must be [1, ${input.dims.slice(1).join(', ')}] or the input's ${formatShape(input.dims)}`,
        { baseline: baseline.dims, input: input.dims },
      );
    }
    checkFiniteValues(baseline, 'integrated-gradients: baseline');
    if (baseline.batchSize === n) return baseline;
    const out = new Float32Array(n * item);
    for (let b = 0; b < n; b++) out.set(baseline.data, b * item);
    return new Tensor(out, input.dims);
  }

  private async run(input: Tensor, target: Targets, options: IntegratedGradientsOptions, withDelta: boolean): Promise<Partial<IntegratedGradientsResult> & { attributions: Tensor }> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const steps = options.steps ?? 50;
    check(Number.isInteger(steps) && steps >= 1, `integrated-gradients: steps must be an integer ≥ 1, got ${describeValue(steps)}`, { steps });
    const maxSteps = options.maxSteps ?? LIMITS.integratedGradientsSteps;
    check(Number.isInteger(maxSteps) && maxSteps >= 1, `integrated-gradients: maxSteps must be an integer ≥ 1, got ${describeValue(maxSteps)}`, { maxSteps });
    const { alphas, weights } = pathPoints(steps, options.method ?? 'gauss-legendre', maxSteps);
    const baseline = this.baselineOf(input, options.baseline);
    const n = input.batchSize;
    const item = input.itemSize;
    const total = n * steps;
    const chunk = options.batchSize ?? 1024;
    const allTargets = repeatTargets(target, n, steps);
    const acc = new Float64Array(n * item);
    const x = input.data;
    const x0 = baseline.data;
    options.onProgress?.({ done: 0, total, stage: this.name });
    for (let start = 0; start < total; start += chunk) {
      const end = Math.min(total, start + chunk);
      const pts = new Float32Array((end - start) * item);
      for (let p = start; p < end; p++) {
        const b = Math.floor(p / steps);
        const a = alphas[p % steps]!;
        const off = b * item;
        const dst = (p - start) * item;
        for (let i = 0; i < item; i++) pts[dst + i] = x0[off + i]! + a * (x[off + i]! - x0[off + i]!);
      }
      const res = await this.model.gradients(new Tensor(pts, [end - start, ...input.dims.slice(1)]), sliceTargets(allTargets, start, end), { rule: 'gradient' });
      const g = res.inputGradient;
      if (!g) throw new WhiteBoxError('RUNTIME_ERROR', 'integrated-gradients: the model returned no input gradient');
      for (let p = start; p < end; p++) {
        const b = Math.floor(p / steps);
        const w = weights[p % steps]!;
        const off = b * item;
        const src = (p - start) * item;
        for (let i = 0; i < item; i++) acc[off + i] += w * g.data[src + i]!;
      }
      options.onProgress?.({ done: end, total, stage: this.name });
    }
    const out = new Float32Array(n * item);
    for (let i = 0; i < out.length; i++) out[i] = (x[i]! - x0[i]!) * acc[i]!;
    const attributions = new Tensor(out, input.dims);
    checkFiniteResult(attributions, `${this.name} map`);
    if (!withDelta) return { attributions };
    const both = new Float32Array(2 * n * item);
    both.set(x, 0);
    both.set(x0, n * item);
    const fwd = await this.model.forward(new Tensor(both, [2 * n, ...input.dims.slice(1)]));
    const twice = typeof target === 'number' ? target : target instanceof Tensor ? new Tensor(new Float32Array([...target.data, ...target.data]), [2 * n, target.dims[1]!]) : [...Array.from(target), ...Array.from(target)];
    const scores = targetScores(fwd.logits, twice);
    const inputScores = scores.slice(0, n);
    const baselineScores = scores.slice(n);
    const delta = new Float64Array(n);
    for (let b = 0; b < n; b++) {
      let s = 0;
      for (let i = 0; i < item; i++) s += out[b * item + i]!;
      delta[b] = s - (inputScores[b]! - baselineScores[b]!);
    }
    checkFiniteResult(delta, `${this.name}: completeness delta`);
    return { attributions, delta, inputScores, baselineScores };
  }
}

/** Factory form of {@link IntegratedGradients}: `integratedGradients(model)`. */
export const integratedGradients: AttributionFactory<IntegratedGradientsOptions> = (model) => new IntegratedGradients(model);
export default integratedGradients;
