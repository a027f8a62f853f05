/**
 * Grad-CAM++ class activation maps (Chattopadhyay et al. 2018, pytorch-grad-cam definition) for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/grad-cam-plus-plus
 */
import { type Attribution, type AttributionFactory, type Model, type Targets, Tensor } from '@whitebox/core';
import { type CamMethod, type CamOptions, camChannelWeights, computeCam } from '@whitebox/cam-utils';

/** Options of {@link GradCamPlusPlus}: the CAM options. */
export type GradCamPlusPlusOptions = CamOptions;

/**
 * Grad-CAM++ channel weights as pytorch-grad-cam computes them (eq. 19 of Chattopadhyay et al. 2018, with first-order
 * gradients standing in for the higher ones): α_ij = g² / (2g² + Σ_ij A · g³ + 1e-6), 0 where g = 0;
 * w_k = Σ_ij ReLU(g_ij) · α_ij, for activation A and gradient g of channel k. Returns [N·K].
 */
export function gradCamPlusPlusWeights(activation: Tensor, gradient: Tensor): Float64Array {
  const [n, k, h, w] = activation.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float64Array(n * k);
  for (let bk = 0; bk < n * k; bk++) {
    const base = bk * hw;
    let sumA = 0;
    for (let p = 0; p < hw; p++) sumA += activation.data[base + p]!;
    let wk = 0;
    for (let p = 0; p < hw; p++) {
      const g = gradient.data[base + p]!;
      if (!(g > 0)) continue; // ReLU(g) = 0, and α = 0 where g = 0
      const g2 = g * g;
      wk += g * (g2 / (2 * g2 + sumA * g2 * g + 1e-6));
    }
    out[bk] = wk;
  }
  return out;
}

const METHOD: CamMethod = {
  name: 'grad-cam-plus-plus',
  weigh: ({ activation, gradient }) => ({ channelWeights: gradCamPlusPlusWeights(activation, gradient) }),
  normalizeByDefault: true,
};

/**
 * Grad-CAM++ (Chattopadhyay et al. 2018), as pytorch-grad-cam: ReLU(Σ_k w_k A_k) with the closed-form weights of
 * `gradCamPlusPlusWeights`, scaled to [0, 1] and upsampled: maps [N, 1, H, W].
 */
export class GradCamPlusPlus implements Attribution<GradCamPlusPlusOptions> {
  readonly name = 'grad-cam-plus-plus';
  constructor(readonly model: Model) {}

  /** Grad-CAM++ maps for `input` [N, C, H, W] and `target`. Returns [N, 1, H, W] (upsampled) or [N, 1, h, w]. */
  attribute(input: Tensor, target: Targets, options: GradCamPlusPlusOptions = {}): Promise<Tensor> {
    return computeCam(this.model, input, target, options, METHOD);
  }

  /** The channel weights w [N, K] of the layer. */
  channelWeights(input: Tensor, target: Targets, options: GradCamPlusPlusOptions = {}): Promise<Tensor> {
    return camChannelWeights(this.model, input, target, options, METHOD);
  }
}

/** Factory form of {@link GradCamPlusPlus}: `gradCamPlusPlus(model)`. */
export const gradCamPlusPlus: AttributionFactory<GradCamPlusPlusOptions> = (model) => new GradCamPlusPlus(model);
export default gradCamPlusPlus;
