/**
 * Eigen-CAM (Muhammad & Yeasin 2020): the first principal component of a layer's activations, class-agnostic, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/eigen-cam
 */
import { type Attribution, type AttributionFactory, type Model, type Targets, Tensor, WhiteBoxError } from '@whitebox/core';
import { type CamMethod, type CamOptions, computeCam } from '@whitebox/cam-utils';

/** Options of {@link EigenCam}: the CAM options except `eigenSmooth` (always on), and EigenGrad-CAM. */
export interface EigenCamOptions extends Omit<CamOptions, 'eigenSmooth'> {
  /** EigenGrad-CAM: the principal component of gradient ⊙ activation instead of the activation (default false). */
  withGradient?: boolean;
}

function product(activation: Tensor, gradient: Tensor): Tensor {
  const out = new Float32Array(activation.size);
  for (let i = 0; i < out.length; i++) out[i] = gradient.data[i]! * activation.data[i]!;
  return new Tensor(out, activation.dims);
}

const EIGEN_CAM: CamMethod = {
  name: 'eigen-cam',
  weigh: ({ activation }) => ({ weighted: activation }),
  alwaysEigen: true,
  normalizeByDefault: true,
};
const EIGEN_GRAD_CAM: CamMethod = {
  name: 'eigen-cam',
  weigh: ({ activation, gradient }) => ({ weighted: product(activation, gradient) }),
  alwaysEigen: true,
  normalizeByDefault: true,
};

/**
 * Eigen-CAM (Muhammad & Yeasin 2020): the projection of the layer's activations (h·w samples of K channels, centered
 * per channel) onto their first principal component, ReLU, scaled to [0, 1] and upsampled: maps [N, 1, H, W].
 * Class-agnostic (the target does not change it); `withGradient` gives EigenGrad-CAM (of gradient ⊙ activation).
 * The component's sign is fixed so that the map correlates positively with the channel sum of what is decomposed.
 */
export class EigenCam implements Attribution<EigenCamOptions> {
  readonly name = 'eigen-cam';
  constructor(readonly model: Model) {}

  /** Eigen-CAM maps for `input` [N, C, H, W], the layer's first principal component (class-agnostic; `target` is only checked). Returns [N, 1, H, W] (upsampled) or [N, 1, h, w]. */
  async attribute(input: Tensor, target: Targets, options: EigenCamOptions = {}): Promise<Tensor> {
    if (options.withGradient !== undefined && typeof options.withGradient !== 'boolean') {
      throw new WhiteBoxError('INVALID_ARGUMENT', `eigen-cam: withGradient must be true or false, got ${JSON.stringify(options.withGradient)}`, { option: 'withGradient' });
    }
    return computeCam(this.model, input, target, options, options.withGradient ? EIGEN_GRAD_CAM : EIGEN_CAM);
  }
}

/** Factory form of {@link EigenCam}: `eigenCam(model)`. */
export const eigenCam: AttributionFactory<EigenCamOptions> = (model) => new EigenCam(model);
export default eigenCam;
