/**
 * Guided Backpropagation attributions (Springenberg et al. 2015) for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/guided-backprop
 */
import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets, type Tensor,
  checkAttributionInput, checkFiniteResult, checkPositiveInt, inputGradients,
} from '@whitebox/core';

/** Options of {@link GuidedBackprop}. */
export type GuidedBackpropOptions = AttributionOptions;

/**
 * Guided Backpropagation (Springenberg et al. 2014): the backward pass where every ReLU passes a
 * gradient only where both its forward input and the gradient are positive (rule `guided`).
 */
export class GuidedBackprop implements Attribution<GuidedBackpropOptions> {
  readonly name = 'guided-backprop';
  constructor(readonly model: Model) {}

  /** Guided Backpropagation maps for `input` [N, C, H, W] and `target`: ReLUs pass only positive gradient where their input was positive. Returns the input's shape. */
  async attribute(input: Tensor, target: Targets, options: GuidedBackpropOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const map = await inputGradients(this.model, input, target, 'guided', { batchSize: options.batchSize, onProgress: options.onProgress, stage: this.name });
    checkFiniteResult(map, `${this.name} map`);
    return map;
  }
}

/** Factory form of {@link GuidedBackprop}: `guidedBackprop(model)`. */
export const guidedBackprop: AttributionFactory<GuidedBackpropOptions> = (model) => new GuidedBackprop(model);
export default guidedBackprop;
