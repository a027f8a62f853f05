/**
 * Grad-CAM class activation maps (Selvaraju et al. 2017) for ONNX CNNs and Vision Transformers.
 *
 * @packageDocumentation
 * @module @whitebox/grad-cam
 */
import { type Attribution, type AttributionFactory, type Model, type Targets, Tensor } from '@whitebox/core';
import { type CamMethod, type CamOptions, channelMeans, computeCam, weightedChannelSum } from '@whitebox/cam-utils';

/** Options of {@link GradCam}: the CAM options (layer, ReLU, upsampling, normalization, augSmooth, eigenSmooth). */
export type GradCamOptions = CamOptions;

/**
 * Grad-CAM map at layer A from its activation and gradient ([N, K, h, w] each):
 * Σ_k mean_ij(dy/dA_k) · A_k, then ReLU. Returns [N, 1, h, w].
 */
export function camFromLayer(activation: Tensor, gradient: Tensor, relu = true): Tensor {
  const [n, k, h, w] = activation.dims as [number, number, number, number];
  const out = weightedChannelSum(activation.data as Float32Array, channelMeans(gradient), n, k, h * w);
  if (relu) for (let p = 0; p < out.length; p++) out[p] = Math.max(0, out[p]!);
  return new Tensor(out, [n, 1, h, w]);
}

/** Grad-CAM's weighting for `computeCam` (Guided Grad-CAM runs it with a second backward chain). */
export const GRAD_CAM: CamMethod = {
  name: 'grad-cam',
  weigh: ({ gradient }) => ({ channelWeights: channelMeans(gradient) }),
  normalizeByDefault: false,
};

/**
 * Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k mean_ij(dy/dA_k) · A_k) at a convolutional layer,
 * upsampled bilinearly to the input size: maps [N, 1, H, W]. The backward pass stops at the layer.
 * Raw values by default (`normalize: true` scales each map to [0, 1] as pytorch-grad-cam does).
 */
export class GradCam implements Attribution<GradCamOptions> {
  readonly name = 'grad-cam';
  constructor(readonly model: Model) {}

  /** Grad-CAM maps for `input` [N, C, H, W] and `target`: ReLU of the layer's channels weighted by their mean gradient. Returns [N, 1, H, W] (upsampled) or [N, 1, h, w]. */
  attribute(input: Tensor, target: Targets, options: GradCamOptions = {}): Promise<Tensor> {
    return computeCam(this.model, input, target, options, GRAD_CAM);
  }
}

/** Factory form of {@link GradCam}: `gradCam(model)`. */
export const gradCam: AttributionFactory<GradCamOptions> = (model) => new GradCam(model);
export default gradCam;
