import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets, type Tensor,
  checkAttributionInput, checkFiniteResult, checkPositiveInt, inputGradients,
} from '@whitebox/core';

export interface VanillaGradientOptions extends AttributionOptions {
  /** Return |gradient| (Simonyan et al.'s saliency map). Default false. */
  abs?: boolean;
}

/** Vanilla backpropagation: d logit[target] / d input (Simonyan et al. 2014). */
export class VanillaGradient implements Attribution<VanillaGradientOptions> {
  readonly name = 'vanilla-gradient';
  constructor(readonly model: Model) {}

  async attribute(input: Tensor, target: Targets, options: VanillaGradientOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const grad = await inputGradients(this.model, input, target, 'gradient', { batchSize: options.batchSize, onProgress: options.onProgress, stage: this.name });
    if (options.abs) for (let i = 0; i < grad.size; i++) grad.data[i] = Math.abs(grad.data[i]!);
    checkFiniteResult(grad, `${this.name} map`);
    return grad;
  }
}

export const vanillaGradient: AttributionFactory<VanillaGradientOptions> = (model) => new VanillaGradient(model);
export default vanillaGradient;
