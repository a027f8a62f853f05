import {
  type AttributionOptions, type LayerGradient, type Model, type ReluRule, type Targets,
  Tensor, WhiteBoxError, checkAttributionInput, checkFiniteResult, concatBatch, checkPositiveInt, resizeBilinear, sliceTargets,
} from '@whitebox/core';
import { type AugSmoothOptions, accumulateDeaugmented, augmentInput, augmentations } from './augment.js';
import { eigenProjection } from './eigen.js';
import { type CamLayer, type ReshapeTransform, resolveCamLayer, toSpatial } from './layer.js';
import { reluInPlace, scaleCamInPlace, sumChannels, weighChannels } from './maps.js';

/** Options every CAM method takes. */
export interface CamOptions extends AttributionOptions {
  /** Layer (a name from `model.layers`) to explain; default `model.defaultCamLayer`, the last conv block. */
  layer?: string;
  /** ReLU on the map before scaling (default true; false keeps negative evidence). */
  relu?: boolean;
  /** Upsample bilinearly to the input's height × width (default true); false returns the layer's h × w. */
  upsample?: boolean;
  /**
   * Scale each map to [0, 1] as pytorch-grad-cam does ((m − min) / (max − min + 1e-7)). Default: on for the CAM
   * family's new methods unless `relu: false`; Grad-CAM keeps raw values unless asked.
   */
  normalize?: boolean;
  /** How a token layer [N, T, C] becomes [N, C, h, w] (default: the layer's `grid` from the model). */
  reshapeTransform?: ReshapeTransform;
  /** Average the maps of test-time augmentations (pytorch-grad-cam's `aug_smooth`): flips × input factors (× shifts). */
  augSmooth?: boolean | AugSmoothOptions;
  /** The first principal component of the weighted activations instead of their channel sum (pytorch-grad-cam's `eigen_smooth`). */
  eigenSmooth?: boolean;
}

/** One layer's tensors for a chunk of images. */
export interface CamLayerData {
  layer: CamLayer;
  /** Activation and gradient as the model returns them (its layout: [n, K, h, w] or tokens). */
  raw: LayerGradient;
  /** [n, K, h, w] */
  activation: Tensor;
  /** `[n, K, h, w]`: d (target score) / d activation. */
  gradient: Tensor;
}

/** A chunk of (augmented) images being explained. */
export interface CamChunk {
  model: Model;
  input: Tensor;
  targets: Targets;
  /** The model's logits for `input` [n, numClasses]. */
  logits: Tensor;
  batchSize: number | undefined;
  /** Reports `units` more units of work of this chunk done (Score-CAM, Ablation-CAM: forward passes). */
  advance(units: number): void;
}

/** A method's weighting: per-channel weights [n·K] (the map is Σ_k w_k A_k), or the weighted activations [n, K, h, w]. */
export type CamWeights = { channelWeights: ArrayLike<number> } | { weighted: Tensor };

/** A CAM method as `computeCam` runs it: its name, how it weighs a layer's activations, and its defaults. */
export interface CamMethod {
  name: string;
  /** Channel weights (or the weighted activations) of one chunk of images from the layer's activations and gradients. */
  weigh(data: CamLayerData, chunk: CamChunk): CamWeights | Promise<CamWeights>;
  /** Units of work per image for a layer of K channels (default 1; Score-CAM and Ablation-CAM: K forward passes). */
  unitsPerImage?(channels: number): number;
  /** Always take the first principal component (Eigen-CAM); otherwise the channel sum unless `eigenSmooth`. */
  alwaysEigen?: boolean;
  /** `normalize` when the options leave it unset and `relu` is on. */
  normalizeByDefault: boolean;
}

/** Options of `computeCam`: the CAM options, and optionally several layers (fused as pytorch-grad-cam does). */
export interface ComputeCamOptions extends CamOptions {
  layers?: readonly string[];
  /**
   * Also differentiate the input, under this ReLU rule, in the same `model.gradients` call as the layers (which keep the
   * vanilla rule): one forward pass feeding two backward chains (Guided Grad-CAM). Each chunk's input gradient goes to
   * `onInputGradient`. Needs a model whose `gradientFeatures` include 'layerRule'; not with `augSmooth`.
   */
  inputGradientRule?: ReluRule;
  /** Receives each chunk's input gradient (under `inputGradientRule`) and the index of the chunk's first image. */
  onInputGradient?: (gradient: Tensor, start: number) => void;
}

function checkBool(v: unknown, name: string, method: string): void {
  if (v !== undefined && typeof v !== 'boolean') throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: ${name} must be true or false, got ${JSON.stringify(v)}`, { option: name });
}

function mapOf(w: CamWeights, data: CamLayerData, eigen: boolean): Tensor {
  const act = data.activation;
  if ('weighted' in w) {
    if (w.weighted.dims.join() !== act.dims.join()) throw new WhiteBoxError('RUNTIME_ERROR', `weighted activations ${w.weighted} do not match the layer ${act}`);
    return eigen ? eigenProjection(w.weighted) : sumChannels(w.weighted);
  }
  const [n, k, h, wd] = act.dims as [number, number, number, number];
  if (w.channelWeights.length !== n * k) throw new WhiteBoxError('RUNTIME_ERROR', `${w.channelWeights.length} channel weights for ${n}×${k} channels`);
  if (eigen) return eigenProjection(weighChannels(act, w.channelWeights));
  return new Tensor(weightedChannelSum(act.data as Float32Array, w.channelWeights, n, k, h * wd), [n, 1, h, wd]);
}

/**
 * Σ_k w[b, k] · A[b, k] of [n, k, hw] activations → [n, hw], accumulated in float64. Four channels per pass over the
 * accumulator (a quarter of its reads and writes: 3–4× faster in V8 than one channel per pass). A channel whose
 * weight is 0 is skipped, as a one-channel loop would skip it, so a non-finite activation there cannot leak in.
 */
export function weightedChannelSum(a: Float32Array, weights: ArrayLike<number>, n: number, k: number, hw: number): Float32Array {
  const out = new Float32Array(n * hw);
  const acc = new Float64Array(hw);
  for (let b = 0; b < n; b++) {
    acc.fill(0);
    let c = 0;
    for (; c + 3 < k; c += 4) {
      const w0 = weights[b * k + c]!, w1 = weights[b * k + c + 1]!, w2 = weights[b * k + c + 2]!, w3 = weights[b * k + c + 3]!;
      if (w0 === 0 || w1 === 0 || w2 === 0 || w3 === 0) {
        for (let q = c; q < c + 4; q++) {
          const wq = weights[b * k + q]!;
          if (wq === 0) continue;
          const base = (b * k + q) * hw;
          for (let p = 0; p < hw; p++) acc[p] += wq * a[base + p]!;
        }
        continue;
      }
      const b0 = (b * k + c) * hw, b1 = b0 + hw, b2 = b1 + hw, b3 = b2 + hw;
      for (let p = 0; p < hw; p++) acc[p] += w0 * a[b0 + p]! + w1 * a[b1 + p]! + w2 * a[b2 + p]! + w3 * a[b3 + p]!;
    }
    for (; c < k; c++) {
      const wc = weights[b * k + c]!;
      if (wc === 0) continue;
      const base = (b * k + c) * hw;
      for (let p = 0; p < hw; p++) acc[p] += wc * a[base + p]!;
    }
    out.set(acc, b * hw);
  }
  return out;
}

/**
 * The CAM pipeline shared by every CAM method, in pytorch-grad-cam's order: for each chunk of images, the activations
 * and gradients of the layer(s) from one `model.gradients` call (backward pass stopped at the layers), the method's
 * weighting, the channel sum (or first principal component with `eigenSmooth`), ReLU, scaling to [0, 1] (when
 * `normalize`, and always per layer when several layers are fused), bilinear upsampling to the input size, the mean
 * over layers and the final scaling; with `augSmooth`, the mean over test-time augmentations. Maps [N, 1, H, W]
 * (or [N, 1, h, w] with `upsample: false`).
 */
export async function computeCam(model: Model, input: Tensor, target: Targets, options: ComputeCamOptions, method: CamMethod): Promise<Tensor> {
  const name = method.name;
  checkAttributionInput(model, input, target, name);
  checkPositiveInt(options.batchSize, 'batchSize', name);
  for (const k of ['relu', 'upsample', 'normalize', 'eigenSmooth'] as const) checkBool(options[k], k, name);
  const names = options.layers !== undefined ? [...new Set(options.layers)] : [options.layer];
  if (options.layers !== undefined && names.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `${name}: layers is empty; give at least one layer name`, { option: 'layers' });
  const layers = names.map((l) => resolveCamLayer(model, l, name, options.reshapeTransform));
  const relu = options.relu ?? true;
  const normalize = options.normalize ?? (method.normalizeByDefault && relu);
  const upsample = options.upsample ?? true;
  const eigen = method.alwaysEigen === true || options.eigenSmooth === true;
  const augs = augmentations(options.augSmooth, name);
  if (!upsample && augs.some((a) => a.dy !== 0 || a.dx !== 0)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${name}: augSmooth shifts need maps at the input's resolution; drop upsample: false or the shifts`, { option: 'augSmooth.shifts' });
  }
  const twoChains = options.inputGradientRule !== undefined;
  if (twoChains && (augs.length > 1 || !model.gradientFeatures?.includes('layerRule'))) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${name}: inputGradientRule needs a model with the 'layerRule' gradient feature and no augSmooth`, { option: 'inputGradientRule' });
  }
  const [n, , H, W] = input.dims as [number, number, number, number];
  const chunkSize = options.batchSize ?? n;
  const progress = options.onProgress;
  // Units of work: images (× layers × augmentations); methods with unitsPerImage count once the channels are known.
  let total = method.unitsPerImage ? 0 : augs.length * n * layers.length;
  let done = 0;
  const report = () => progress?.({ done, total, stage: name });
  if (total > 0) report();

  let sum: Float64Array | undefined;
  let count: Float64Array | undefined;
  let outDims: number[] | undefined;
  for (const aug of augs) {
    const x = augmentInput(input, aug);
    const parts: Tensor[] = [];
    for (let start = 0; start < n; start += chunkSize) {
      const end = Math.min(n, start + chunkSize);
      const chunkInput = x.slice(start, end);
      const targets = sliceTargets(target, start, end);
      // Methods that count images follow the model's own runtime batches within a long chunk.
      const base = done;
      const inner = progress && !method.unitsPerImage && layers.length === 1
        ? (p: { done: number }) => { const d = base + Math.min(p.done, end - start); if (d > done) { done = d; report(); } }
        : undefined;
      const layerNames = layers.map((l) => l.name);
      const res = await model.gradients(chunkInput, targets, twoChains
        ? { rule: options.inputGradientRule, layerRule: 'gradient', layers: layerNames, inputGradient: true, ...(inner ? { onProgress: inner } : {}) }
        : { rule: 'gradient', layers: layerNames, inputGradient: false, ...(inner ? { onProgress: inner } : {}) });
      if (twoChains) {
        if (!res.inputGradient) throw new WhiteBoxError('RUNTIME_ERROR', `${name}: the model returned no input gradient`);
        options.onInputGradient?.(res.inputGradient, start);
      }
      const datas = layers.map((l): CamLayerData => {
        const raw = res.layers[l.name];
        if (!raw) throw new WhiteBoxError('RUNTIME_ERROR', `${name}: the model returned no activation/gradient for layer '${l.name}'`, { layer: l.name });
        return { layer: l, raw, activation: toSpatial(raw.activation, l, name), gradient: toSpatial(raw.gradient, l, name) };
      });
      const units = datas.map((d) => method.unitsPerImage?.(d.activation.dims[1]!) ?? 1);
      if (total === 0) {
        total = augs.length * n * units.reduce((a, b) => a + b, 0);
        report();
      }
      const maps: Tensor[] = [];
      for (const [li, data] of datas.entries()) {
        const budget = units[li]! * (end - start);
        let used = li === 0 ? done - base : 0;
        const chunk: CamChunk = {
          model, input: chunkInput, targets, logits: res.logits, batchSize: options.batchSize,
          advance: (u) => {
            const step = Math.max(0, Math.min(u, budget - used));
            used += step;
            done += step;
            if (step > 0) report();
          },
        };
        let map = mapOf(await method.weigh(data, chunk), data, eigen);
        if (used < budget) chunk.advance(budget - used);
        if (relu) reluInPlace(map);
        if (normalize || layers.length > 1) scaleCamInPlace(map);
        if (upsample && (map.dims[2] !== H || map.dims[3] !== W)) map = resizeBilinear(map, H, W);
        maps.push(map);
      }
      let fused = maps[0]!;
      if (maps.length > 1) {
        const shape = fused.dims.join();
        if (maps.some((m) => m.dims.join() !== shape)) {
          throw new WhiteBoxError('INVALID_ARGUMENT', `${name}: layers ${layers.map((l) => `'${l.name}'`).join(', ')} have different sizes; fusing them needs upsample`, { option: 'upsample' });
        }
        const out = new Float32Array(fused.size);
        for (const m of maps) for (let i = 0; i < out.length; i++) out[i] += Math.max(0, m.data[i]!) / maps.length;
        fused = new Tensor(out, fused.dims);
      }
      if (normalize) scaleCamInPlace(fused);
      parts.push(fused);
    }
    const maps = parts.length === 1 ? parts[0]! : concatBatch(parts);
    checkFiniteResult(maps, `${name} map (layer${layers.length > 1 ? 's' : ''} ${layers.map((l) => `'${l.name}'`).join(', ')})`);
    if (augs.length === 1) return maps;
    outDims ??= [...maps.dims];
    sum ??= new Float64Array(maps.size);
    count ??= new Float64Array(maps.size);
    accumulateDeaugmented(sum, count, maps, aug);
  }
  const out = new Float32Array(sum!.length);
  for (let i = 0; i < out.length; i++) out[i] = count![i]! > 0 ? sum![i]! / count![i]! : 0;
  return new Tensor(out, outDims!);
}

/** Per-channel spatial means of [N, K, h, w] -> [N·K] (Grad-CAM's α). */
export function channelMeans(t: Tensor): Float64Array {
  const [n, k, h, w] = t.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float64Array(n * k);
  const d = t.data as Float32Array;
  for (let bk = 0, base = 0; bk < n * k; bk++, base += hw) {
    let s = 0;
    for (let p = base; p < base + hw; p++) s += d[p]!;
    out[bk] = s / hw;
  }
  return out;
}

/**
 * The per-channel weights [N, K] that a channel-weighting CAM method (Grad-CAM, Grad-CAM++, XGrad-CAM, Score-CAM,
 * Ablation-CAM) gives the layer for each image, without augmentation: what its map sums (Σ_k w_k A_k).
 */
export async function camChannelWeights(model: Model, input: Tensor, target: Targets, options: CamOptions, method: CamMethod): Promise<Tensor> {
  const rows: { weights: Float32Array; k: number }[] = [];
  const recording: CamMethod = {
    ...method,
    async weigh(data, chunk) {
      const w = await method.weigh(data, chunk);
      if (!('channelWeights' in w)) throw new WhiteBoxError('INVALID_ARGUMENT', `${method.name} does not weigh whole channels`);
      rows.push({ weights: Float32Array.from(w.channelWeights), k: data.activation.dims[1]! });
      return w;
    },
  };
  await computeCam(model, input, target, { ...options, augSmooth: false, eigenSmooth: false, layers: undefined }, recording);
  const k = rows[0]!.k;
  const out = new Float32Array(input.batchSize * k);
  let o = 0;
  for (const r of rows) { out.set(r.weights, o); o += r.weights.length; }
  return new Tensor(out, [input.batchSize, k]);
}
