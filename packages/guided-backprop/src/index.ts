import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets, type Tensor,
  checkAttributionInput, checkFiniteResult, checkPositiveInt, inputGradients,
} from '@whitebox/core';

export type GuidedBackpropOptions = AttributionOptions;

/**
 * Guided Backpropagation (Springenberg et al. 2014): the backward pass where every ReLU passes a
 * gradient only where both its forward input and the gradient are positive (rule `guided`).
 */
export class GuidedBackprop implements Attribution<GuidedBackpropOptions> {
  readonly name = 'guided-backprop';
  constructor(readonly model: Model) {}

  async attribute(input: Tensor, target: Targets, options: GuidedBackpropOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const map = await inputGradients(this.model, input, target, 'guided', { batchSize: options.batchSize, onProgress: options.onProgress, stage: this.name });
    checkFiniteResult(map, `${this.name} map`);
    return map;
  }
}

export const guidedBackprop: AttributionFactory<GuidedBackpropOptions> = (model) => new GuidedBackprop(model);
export default guidedBackprop;
