import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets, type Tensor,
  checkAttributionInput, checkFiniteResult, checkPositiveInt, inputGradients,
} from '@whitebox/core';

export type InputXGradientOptions = AttributionOptions;

/** Input × Gradient: input ⊙ d logit[target] / d input (Shrikumar et al. 2016). */
export class InputXGradient implements Attribution<InputXGradientOptions> {
  readonly name = 'input-x-gradient';
  constructor(readonly model: Model) {}

  async attribute(input: Tensor, target: Targets, options: InputXGradientOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const grad = await inputGradients(this.model, input, target, 'gradient', { batchSize: options.batchSize, onProgress: options.onProgress, stage: this.name });
    for (let i = 0; i < grad.size; i++) grad.data[i] = grad.data[i]! * input.data[i]!;
    checkFiniteResult(grad, `${this.name} map`);
    return grad;
  }
}

export const inputXGradient: AttributionFactory<InputXGradientOptions> = (model) => new InputXGradient(model);
export default inputXGradient;
