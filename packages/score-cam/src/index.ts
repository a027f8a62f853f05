/**
 * Score-CAM class activation maps (Wang et al. 2020): gradient-free, channel weights from masked forward passes, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/score-cam
 */
import {
  type Attribution, type AttributionFactory, type Model, type Targets, Tensor, targetsToCotangent,
} from '@whitebox/core';
import { type CamChunk, type CamMethod, type CamOptions, camChannelWeights, computeCam, resizeBilinearAlignCorners } from '@whitebox/cam-utils';

export interface ScoreCamOptions extends CamOptions {
  /** Masked inputs per forward pass (default 64); also the chunk of images per gradient pass. */
  batchSize?: number;
}

/**
 * The Score-CAM masks of one image's activation [1, K, h, w]: each channel upsampled to H × W (bilinear, corners
 * aligned, as PyTorch's UpsamplingBilinear2d) and min-max normalized to [0, 1] ((u − min) / (max − min + 1e-8)).
 * Returns [K, H, W] as one Float32Array.
 */
export function scoreCamMasks(activation: Tensor, height: number, width: number): Float32Array {
  const up = resizeBilinearAlignCorners(activation, height, width);
  const plane = height * width;
  const d = up.data;
  for (let o = 0; o < d.length; o += plane) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = o; i < o + plane; i++) { const v = d[i]!; if (v < min) min = v; if (v > max) max = v; }
    const denom = max - min + 1e-8;
    for (let i = o; i < o + plane; i++) d[i] = (d[i]! - min) / denom;
  }
  return d;
}

async function scoreCamWeights(activation: Tensor, chunk: CamChunk): Promise<Float64Array> {
  const [n, k] = activation.dims as [number, number];
  const [, c, H, W] = chunk.input.dims as [number, number, number, number];
  const classes = chunk.model.numClasses;
  const cot = targetsToCotangent(chunk.targets, n, classes);
  const group = chunk.batchSize ?? 64;
  const plane = H * W;
  const item = c * plane;
  const weights = new Float64Array(n * k);
  for (let b = 0; b < n; b++) {
    const masks = scoreCamMasks(activation.slice(b, b + 1), H, W);
    const x = chunk.input.data.subarray(b * item, (b + 1) * item);
    const scores = new Float64Array(k);
    for (let s = 0; s < k; s += group) {
      const e = Math.min(k, s + group);
      const batch = new Float32Array((e - s) * item);
      for (let ch = s; ch < e; ch++) {
        const m = masks.subarray(ch * plane, (ch + 1) * plane);
        const o = (ch - s) * item;
        for (let ci = 0; ci < c; ci++) for (let p = 0; p < plane; p++) batch[o + ci * plane + p] = x[ci * plane + p]! * m[p]!;
      }
      const logits = (await chunk.model.forward(new Tensor(batch, [e - s, c, H, W]), { batchSize: group })).logits;
      for (let r = 0; r < e - s; r++) {
        let sc = 0;
        for (let j = 0; j < classes; j++) sc += cot.data[b * classes + j]! * logits.data[r * classes + j]!;
        scores[s + r] = sc;
      }
      chunk.advance(e - s);
    }
    // Softmax over the channels.
    let max = -Infinity;
    for (const v of scores) max = Math.max(max, v);
    let z = 0;
    for (let ch = 0; ch < k; ch++) z += weights[b * k + ch] = Math.exp(scores[ch]! - max);
    for (let ch = 0; ch < k; ch++) weights[b * k + ch]! /= z;
  }
  return weights;
}

const METHOD: CamMethod = {
  name: 'score-cam',
  weigh: async ({ activation }, chunk) => ({ channelWeights: await scoreCamWeights(activation, chunk) }),
  unitsPerImage: (k) => k,
  normalizeByDefault: true,
};

/**
 * Score-CAM (Wang et al. 2020), as pytorch-grad-cam: each channel of the layer, upsampled and min-max normalized,
 * masks the input (x ⊙ mask, every input channel); the target logits of the K masked inputs, softmaxed over the
 * channels, weigh the channels: ReLU(Σ_k w_k A_k), scaled to [0, 1] and upsampled: maps [N, 1, H, W].
 * N·K forward passes, `batchSize` at a time, progress in forward passes.
 */
export class ScoreCam implements Attribution<ScoreCamOptions> {
  readonly name = 'score-cam';
  constructor(readonly model: Model) {}

  /** Score-CAM maps for `input` [N, C, H, W] and `target`: channel weights from the softmax scores of the input masked by each upsampled channel. Returns [N, 1, H, W] (upsampled) or [N, 1, h, w]. */
  attribute(input: Tensor, target: Targets, options: ScoreCamOptions = {}): Promise<Tensor> {
    return computeCam(this.model, input, target, options, METHOD);
  }

  /** The channel weights w [N, K]: the softmax over channels of the masked inputs' target logits. */
  channelWeights(input: Tensor, target: Targets, options: ScoreCamOptions = {}): Promise<Tensor> {
    return camChannelWeights(this.model, input, target, options, METHOD);
  }
}

/** Factory form of {@link ScoreCam}: `scoreCam(model)`. */
export const scoreCam: AttributionFactory<ScoreCamOptions> = (model) => new ScoreCam(model);
export default scoreCam;
