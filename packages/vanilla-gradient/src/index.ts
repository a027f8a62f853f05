/**
 * Vanilla gradient saliency maps (Simonyan et al. 2013) for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/vanilla-gradient
 */
import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets, type Tensor,
  checkAttributionInput, checkFiniteResult, checkPositiveInt, inputGradients,
} from '@whitebox/core';

/** Options of {@link VanillaGradient}. */
export interface VanillaGradientOptions extends AttributionOptions {
  /** Return |gradient| (Simonyan et al.'s saliency map). Default false. */
  abs?: boolean;
}

/** Vanilla backpropagation: d logit[target] / d input (Simonyan et al. 2014). */
export class VanillaGradient implements Attribution<VanillaGradientOptions> {
  readonly name = 'vanilla-gradient';
  constructor(readonly model: Model) {}

  /** Gradient of the target score with respect to `input` [N, C, H, W] (its absolute value with `abs`). Returns the input's shape. */
  async attribute(input: Tensor, target: Targets, options: VanillaGradientOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const grad = await inputGradients(this.model, input, target, 'gradient', { batchSize: options.batchSize, onProgress: options.onProgress, stage: this.name });
    if (options.abs) for (let i = 0; i < grad.size; i++) grad.data[i] = Math.abs(grad.data[i]!);
    checkFiniteResult(grad, `${this.name} map`);
    return grad;
  }
}

/** Factory form of {@link VanillaGradient}: `vanillaGradient(model)`. */
export const vanillaGradient: AttributionFactory<VanillaGradientOptions> = (model) => new VanillaGradient(model);
export default vanillaGradient;
