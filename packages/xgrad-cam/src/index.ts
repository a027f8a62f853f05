/**
 * XGrad-CAM class activation maps (Fu et al. 2020, pytorch-grad-cam definition) for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/xgrad-cam
 */
import { type Attribution, type AttributionFactory, type Model, type Targets, Tensor } from '@whitebox/core';
import { type CamMethod, type CamOptions, camChannelWeights, computeCam } from '@whitebox/cam-utils';

/** Options of {@link XGradCam}: the CAM options. */
export type XGradCamOptions = CamOptions;

/** XGrad-CAM channel weights (Fu et al. 2020, as pytorch-grad-cam): w_k = Σ_ij g_ij · A_ij / (Σ_ij A_ij + 1e-7). Returns [N·K]. */
export function xGradCamWeights(activation: Tensor, gradient: Tensor): Float64Array {
  const [n, k, h, w] = activation.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float64Array(n * k);
  for (let bk = 0; bk < n * k; bk++) {
    const base = bk * hw;
    let sumA = 0;
    let sumGA = 0;
    for (let p = 0; p < hw; p++) {
      const a = activation.data[base + p]!;
      sumA += a;
      sumGA += gradient.data[base + p]! * a;
    }
    out[bk] = sumGA / (sumA + 1e-7);
  }
  return out;
}

const METHOD: CamMethod = {
  name: 'xgrad-cam',
  weigh: ({ activation, gradient }) => ({ channelWeights: xGradCamWeights(activation, gradient) }),
  normalizeByDefault: true,
};

/** XGrad-CAM (Fu et al. 2020): ReLU(Σ_k w_k A_k) with w_k = Σ g·A / Σ A, scaled to [0, 1] and upsampled: maps [N, 1, H, W]. */
export class XGradCam implements Attribution<XGradCamOptions> {
  readonly name = 'xgrad-cam';
  constructor(readonly model: Model) {}

  /** XGrad-CAM maps for `input` [N, C, H, W] and `target`: channel weights Σ(A ⊙ ∂y/∂A) / ΣA. Returns [N, 1, H, W] (upsampled) or [N, 1, h, w]. */
  attribute(input: Tensor, target: Targets, options: XGradCamOptions = {}): Promise<Tensor> {
    return computeCam(this.model, input, target, options, METHOD);
  }

  /** The channel weights w [N, K] of the layer. */
  channelWeights(input: Tensor, target: Targets, options: XGradCamOptions = {}): Promise<Tensor> {
    return camChannelWeights(this.model, input, target, options, METHOD);
  }
}

/** Factory form of {@link XGradCam}: `xGradCam(model)`. */
export const xGradCam: AttributionFactory<XGradCamOptions> = (model) => new XGradCam(model);
export default xGradCam;
