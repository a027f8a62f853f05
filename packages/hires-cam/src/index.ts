/**
 * HiResCAM class activation maps (Draelos & Carin 2020): gradient ⊙ activation summed over channels, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/hires-cam
 */
import { type Attribution, type AttributionFactory, type Model, type Targets, Tensor } from '@whitebox/core';
import { type CamMethod, type CamOptions, computeCam } from '@whitebox/cam-utils';

/** Options of {@link HiResCam}: the CAM options. */
export type HiResCamOptions = CamOptions;

/** g ⊙ A elementwise ([N, K, h, w]). */
export function gradientTimesActivation(activation: Tensor, gradient: Tensor): Tensor {
  const out = new Float32Array(activation.size);
  for (let i = 0; i < out.length; i++) out[i] = gradient.data[i]! * activation.data[i]!;
  return new Tensor(out, activation.dims);
}

const METHOD: CamMethod = {
  name: 'hires-cam',
  weigh: ({ activation, gradient }) => ({ weighted: gradientTimesActivation(activation, gradient) }),
  normalizeByDefault: true,
};

/**
 * HiResCAM (Draelos & Carin 2020): ReLU(Σ_k g_k ⊙ A_k), the element-wise gradient × activation summed over channels
 * (Grad-CAM without the spatial averaging of the gradient), scaled to [0, 1] and upsampled: maps [N, 1, H, W].
 */
export class HiResCam implements Attribution<HiResCamOptions> {
  readonly name = 'hires-cam';
  constructor(readonly model: Model) {}

  /** HiResCAM maps for `input` [N, C, H, W] and `target`: gradient ⊙ activation summed over channels. Returns [N, 1, H, W] (upsampled) or [N, 1, h, w]. */
  attribute(input: Tensor, target: Targets, options: HiResCamOptions = {}): Promise<Tensor> {
    return computeCam(this.model, input, target, options, METHOD);
  }
}

/** Factory form of {@link HiResCam}: `hiResCam(model)`. */
export const hiResCam: AttributionFactory<HiResCamOptions> = (model) => new HiResCam(model);
export default hiResCam;
