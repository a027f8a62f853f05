/**
 * Deconvnet attributions (Zeiler & Fergus 2014): gradients with the ReLU rule applied to the upstream signal, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/deconvnet
 */
import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets, type Tensor,
  checkAttributionInput, checkFiniteResult, checkPositiveInt, inputGradients,
} from '@whitebox/core';

/** Options of {@link Deconvnet}. */
export type DeconvnetOptions = AttributionOptions;

/**
 * DeconvNet (Zeiler & Fergus 2014): the backward pass where every ReLU passes only positive
 * gradients, whatever its forward input (rule `deconvnet`: g · [g > 0]).
 */
export class Deconvnet implements Attribution<DeconvnetOptions> {
  readonly name = 'deconvnet';
  constructor(readonly model: Model) {}

  /** Deconvnet maps for `input` [N, C, H, W] and `target`: the backward pass with ReLUs passing only positive upstream gradient. Returns the input's shape. */
  async attribute(input: Tensor, target: Targets, options: DeconvnetOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const map = await inputGradients(this.model, input, target, 'deconvnet', { batchSize: options.batchSize, onProgress: options.onProgress, stage: this.name });
    checkFiniteResult(map, `${this.name} map`);
    return map;
  }
}

/** Factory form of {@link Deconvnet}: `deconvnet(model)`. */
export const deconvnet: AttributionFactory<DeconvnetOptions> = (model) => new Deconvnet(model);
export default deconvnet;
