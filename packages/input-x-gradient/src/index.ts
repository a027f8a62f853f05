/**
 * Input × Gradient attributions (Shrikumar et al. 2016) for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/input-x-gradient
 */
import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets, type Tensor,
  checkAttributionInput, checkFiniteResult, checkPositiveInt, inputGradients,
} from '@whitebox/core';

/** Options of {@link InputXGradient}. */
export type InputXGradientOptions = AttributionOptions;

/** Input × Gradient: input ⊙ d logit[target] / d input (Shrikumar et al. 2016). */
export class InputXGradient implements Attribution<InputXGradientOptions> {
  readonly name = 'input-x-gradient';
  constructor(readonly model: Model) {}

  /** Input × Gradient maps for `input` [N, C, H, W] and `target`. Returns the input's shape. */
  async attribute(input: Tensor, target: Targets, options: InputXGradientOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const grad = await inputGradients(this.model, input, target, 'gradient', { batchSize: options.batchSize, onProgress: options.onProgress, stage: this.name });
    for (let i = 0; i < grad.size; i++) grad.data[i] = grad.data[i]! * input.data[i]!;
    checkFiniteResult(grad, `${this.name} map`);
    return grad;
  }
}

/** Factory form of {@link InputXGradient}: `inputXGradient(model)`. */
export const inputXGradient: AttributionFactory<InputXGradientOptions> = (model) => new InputXGradient(model);
export default inputXGradient;
