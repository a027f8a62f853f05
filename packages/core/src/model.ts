import type { BackendSelection, Device } from './backend.js';
import type { ProgressCallback } from './progress.js';
import type { Tensor } from './tensor.js';

/**
 * The ReLU backward rule of a gradient graph:
 * - `gradient`  (vanilla):   g · [x > 0]
 * - `deconvnet` (Zeiler):    g · [g > 0]
 * - `guided`    (Springenberg): g · [x > 0] · [g > 0]
 */
export type ReluRule = 'gradient' | 'deconvnet' | 'guided';
export const RELU_RULES: readonly ReluRule[] = ['gradient', 'deconvnet', 'guided'];

/**
 * What to differentiate: one class index for the whole batch, one per sample,
 * or an explicit cotangent for the logits with shape [N, numClasses].
 */
export type Targets = number | readonly number[] | Int32Array | Tensor;

export interface ForwardResult {
  logits: Tensor;
  probabilities: Tensor;
  predictions: Int32Array;
}

export interface GradientOptions {
  rule?: ReluRule;
  /** Intermediate tensors (names from `model.layers`) whose activation and gradient to return. */
  layers?: readonly string[];
  /** Compute d output / d input (default true). Grad-CAM turns it off to stop the backward pass at its layer. */
  inputGradient?: boolean;
}

export interface LayerGradient {
  activation: Tensor;
  gradient: Tensor;
}

export interface GradientResult {
  logits: Tensor;
  /** d (cotangent · logits) / d input, the input's shape. Absent when `inputGradient: false`. */
  inputGradient?: Tensor;
  layers: Record<string, LayerGradient>;
}

export interface LayerInfo {
  /** Tensor name in the graph: what `GradientOptions.layers` takes. */
  name: string;
  /** Op type of the node that produces it. */
  op: string;
  /** Shape with the batch dim as null. */
  shape: readonly (number | null)[];
}

/** An image classifier that can be run forward and differentiated. `loadModel` in @whitebox/onnx makes one. */
export interface Model {
  readonly inputName: string;
  /** [N, C, H, W] with N null. */
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  /** Intermediate tensors that can be explained (conv/activation/pool outputs), in graph order. */
  readonly layers: readonly LayerInfo[];
  /** Output of the last convolutional block: Grad-CAM's default layer. */
  readonly defaultCamLayer: string | undefined;
  readonly backendName: string;
  readonly executionProvider: Device;
  /** The forward model's ONNX bytes. */
  readonly modelBytes: Uint8Array;
  /** sha256 (hex) of `modelBytes`, for caches. */
  readonly modelHash: string;
  forward(input: Tensor, options?: { batchSize?: number; onProgress?: ProgressCallback }): Promise<ForwardResult>;
  gradients(input: Tensor, targets: Targets, options?: GradientOptions): Promise<GradientResult>;
  dispose(): Promise<void>;
}

export interface LoadModelOptions extends BackendSelection {
  /** Batch size the model runs at internally (default 64). */
  batchSize?: number;
}
