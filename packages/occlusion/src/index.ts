/**
 * Occlusion attributions (Zeiler & Fergus 2014, Captum definition): sliding-window score drops, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/occlusion
 */
import {
  describeValue, type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets,
  Tensor, WhiteBoxError, checkAttributionInput, checkPositiveInt, formatShape, targetsToCotangent,
} from '@whitebox/core';

/** Options of {@link Occlusion}: window, stride, baseline and batch size. */
export interface OcclusionOptions extends AttributionOptions {
  /** Window height × width in pixels, over all input channels (default 4, i.e. 4 × 4). */
  window?: number | readonly [number, number];
  /** Step between windows, pixels (default 2); at most the window where the window is smaller than the image. */
  stride?: number | readonly [number, number];
  /** What occluded pixels are set to: a number, or a tensor [1 or N, C, H, W] (default 0, black). */
  baseline?: number | Tensor;
  /** Occluded inputs per forward pass (default 64). */
  batchSize?: number;
}

function pair(v: number | readonly [number, number] | undefined, def: number, name: string): [number, number] {
  const p: readonly unknown[] = v === undefined ? [def, def] : typeof v === 'number' ? [v, v] : Array.isArray(v) ? v : [v];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && (x as number) >= 1)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `occlusion: ${name} must be an integer ≥ 1 or a pair [h, w] of them, got ${JSON.stringify(v)}`, { option: name, value: v });
  }
  return p as [number, number];
}

/**
 * Window start positions along one axis, as Captum: 0, s, 2s, … until the window reaches the end
 * (⌈(D − k) / s⌉ + 1 of them; the last window may be cut off at the border).
 */
export function windowStarts(size: number, window: number, stride: number): number[] {
  const count = Math.ceil((size - window) / stride) + 1;
  return Array.from({ length: count }, (_, i) => i * stride);
}

/**
 * Occlusion (Zeiler & Fergus 2014), as Captum's `Occlusion` with sliding_window_shapes = (C, h, w): a window over all
 * channels slides over the image with `stride`; inside it the pixels are set to `baseline`; each pixel's attribution
 * is the mean, over the windows covering it, of the drop of the target logit (original − occluded). Maps [N, 1, H, W];
 * N × positions forward passes, `batchSize` at a time, progress in forward passes.
 */
export class Occlusion implements Attribution<OcclusionOptions> {
  readonly name = 'occlusion';
  constructor(readonly model: Model) {}

  /** Occlusion maps for `input` [N, C, H, W] and `target`: each pixel averages the target-score drops of the windows covering it. Returns the input's shape. */
  async attribute(input: Tensor, target: Targets, options: OcclusionOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const [n, c, H, W] = input.dims as [number, number, number, number];
    const [kh, kw] = pair(options.window, 4, 'window');
    const [sh, sw] = pair(options.stride, 2, 'stride');
    if (kh > H || kw > W) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `occlusion: window ${kh}×${kw} is larger than the image ${H}×${W}`, { option: 'window', window: [kh, kw], image: [H, W] });
    }
    if ((kh < H && sh > kh) || (kw < W && sw > kw)) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `occlusion: stride ${sh}×${sw} is larger than the window ${kh}×${kw}, which would leave pixels never occluded`, { option: 'stride', stride: [sh, sw], window: [kh, kw] });
    }
    const item = c * H * W;
    const baseline = options.baseline ?? 0;
    let baselineOf: (b: number, i: number) => number;
    if (typeof baseline === 'number') {
      if (!Number.isFinite(baseline)) throw new WhiteBoxError('INVALID_ARGUMENT', `occlusion: baseline must be a finite number, got ${describeValue(baseline)}`, { option: 'baseline' });
      baselineOf = () => baseline;
    } else if (baseline instanceof Tensor) {
      const bn = baseline.dims[0];
      if (baseline.rank !== 4 || (bn !== 1 && bn !== n) || baseline.itemSize !== item || baseline.dims.slice(1).join() !== input.dims.slice(1).join()) {
        throw new WhiteBoxError('SHAPE_MISMATCH', `occlusion: baseline shape ${formatShape(baseline.dims)} must be [1 or ${n}, ${c}, ${H}, ${W}]`, { option: 'baseline', got: baseline.dims });
      }
      const d = baseline.data;
      baselineOf = bn === 1 ? (_b, i) => d[i]! : (b, i) => d[b * item + i]!;
    } else {
      throw new WhiteBoxError('INVALID_ARGUMENT', `occlusion: baseline must be a number or a Tensor, got ${typeof baseline}`, { option: 'baseline' });
    }
    const ys = windowStarts(H, kh, sh);
    const xs = windowStarts(W, kw, sw);
    const positions = ys.flatMap((y) => xs.map((x) => [y, x] as const));
    const classes = this.model.numClasses;
    const cot = targetsToCotangent(target, n, classes);
    const score = (logits: Tensor, r: number, b: number): number => {
      let s = 0;
      for (let j = 0; j < classes; j++) s += cot.data[b * classes + j]! * logits.data[r * classes + j]!;
      return s;
    };
    const group = options.batchSize ?? 64;
    const total = n * positions.length;
    let done = 0;
    options.onProgress?.({ done, total, stage: this.name });
    const original = (await this.model.forward(input, { batchSize: group })).logits;
    const sum = new Float64Array(n * H * W);
    const count = new Float64Array(H * W);
    for (const [y, x] of positions) {
      for (let yy = y; yy < Math.min(H, y + kh); yy++) for (let xx = x; xx < Math.min(W, x + kw); xx++) count[yy * W + xx] += 1;
    }
    // (image, position) pairs in order, `group` per forward pass.
    for (let q0 = 0; q0 < total; q0 += group) {
      const q1 = Math.min(total, q0 + group);
      const batch = new Float32Array((q1 - q0) * item);
      for (let q = q0; q < q1; q++) {
        const b = Math.floor(q / positions.length);
        const [y, x] = positions[q % positions.length]!;
        const o = (q - q0) * item;
        batch.set(input.data.subarray(b * item, (b + 1) * item), o);
        for (let ci = 0; ci < c; ci++) {
          for (let yy = y; yy < Math.min(H, y + kh); yy++) {
            for (let xx = x; xx < Math.min(W, x + kw); xx++) {
              const i = (ci * H + yy) * W + xx;
              batch[o + i] = baselineOf(b, i);
            }
          }
        }
      }
      const logits = (await this.model.forward(new Tensor(batch, [q1 - q0, c, H, W]), { batchSize: group })).logits;
      for (let q = q0; q < q1; q++) {
        const b = Math.floor(q / positions.length);
        const [y, x] = positions[q % positions.length]!;
        const drop = score(original, b, b) - score(logits, q - q0, b);
        for (let yy = y; yy < Math.min(H, y + kh); yy++) for (let xx = x; xx < Math.min(W, x + kw); xx++) sum[(b * H + yy) * W + xx] += drop;
      }
      done = q1;
      options.onProgress?.({ done, total, stage: this.name });
    }
    const out = new Float32Array(n * H * W);
    for (let b = 0; b < n; b++) for (let p = 0; p < H * W; p++) out[b * H * W + p] = sum[b * H * W + p]! / count[p]!;
    return new Tensor(out, [n, 1, H, W]);
  }
}

/** Factory form of {@link Occlusion}: `occlusion(model)`. */
export const occlusion: AttributionFactory<OcclusionOptions> = (model) => new Occlusion(model);
export default occlusion;
