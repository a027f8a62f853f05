/**
 * Layer-CAM class activation maps (Jiang et al. 2021), one or several layers fused, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/layer-cam
 */
import { type Attribution, type AttributionFactory, type Model, type Targets, Tensor } from '@whitebox/core';
import { type CamMethod, type CamOptions, computeCam } from '@whitebox/cam-utils';

export interface LayerCamOptions extends CamOptions {
  /**
   * Several layers to fuse (instead of `layer`): each layer's map is scaled to [0, 1], upsampled, and the maps are
   * averaged and scaled again (pytorch-grad-cam's multi-layer aggregation).
   */
  layers?: readonly string[];
}

/** ReLU(g) ⊙ A elementwise ([N, K, h, w]). */
export function positiveGradientTimesActivation(activation: Tensor, gradient: Tensor): Tensor {
  const out = new Float32Array(activation.size);
  for (let i = 0; i < out.length; i++) {
    const g = gradient.data[i]!;
    out[i] = g > 0 ? g * activation.data[i]! : 0;
  }
  return new Tensor(out, activation.dims);
}

const METHOD: CamMethod = {
  name: 'layer-cam',
  weigh: ({ activation, gradient }) => ({ weighted: positiveGradientTimesActivation(activation, gradient) }),
  normalizeByDefault: true,
};

/**
 * Layer-CAM (Jiang et al. 2021): ReLU(Σ_k ReLU(g_k) ⊙ A_k), the positive gradients weighing each activation element,
 * scaled to [0, 1] and upsampled: maps [N, 1, H, W]. With `layers`, the maps of several layers are fused.
 */
export class LayerCam implements Attribution<LayerCamOptions> {
  readonly name = 'layer-cam';
  constructor(readonly model: Model) {}

  /** Layer-CAM maps for `input` [N, C, H, W] and `target`: ReLU(gradient) ⊙ activation per position, summed over channels. Returns [N, 1, H, W] (upsampled) or [N, 1, h, w]. */
  attribute(input: Tensor, target: Targets, options: LayerCamOptions = {}): Promise<Tensor> {
    return computeCam(this.model, input, target, options, METHOD);
  }
}

/** Factory form of {@link LayerCam}: `layerCam(model)`. */
export const layerCam: AttributionFactory<LayerCamOptions> = (model) => new LayerCam(model);
export default layerCam;
