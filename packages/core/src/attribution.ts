import type { Model, Targets } from './model.js';
import type { ProgressCallback } from './progress.js';
import type { Tensor } from './tensor.js';

/** Options every attribution method accepts. */
export interface AttributionOptions {
  /** Largest batch sent to the runtime in one run. */
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/**
 * One attribution method bound to a model (Captum's `attr/_core` style):
 * `new GuidedBackprop(model).attribute(input, target, options)`.
 * Maps have the input's shape, except layer methods (Grad-CAM: [N, 1, H, W]).
 */
export interface Attribution<O extends AttributionOptions = AttributionOptions> {
  /** Method id, e.g. 'guided-backprop'. */
  readonly name: string;
  readonly model: Model;
  /** Attribution maps for `input` [N, C, H, W] (NCHW float32 pixels) and `target` (a class index, one per sample, or a cotangent); the result's shape is the method's (the input's for gradient methods, [N, 1, H, W] for CAMs). */
  attribute(input: Tensor, target: Targets, options?: O): Promise<Tensor>;
}

/** Builds a method for a model; what registries, the CLI and metrics hold. */
export type AttributionFactory<O extends AttributionOptions = AttributionOptions> = (model: Model) => Attribution<O>;
