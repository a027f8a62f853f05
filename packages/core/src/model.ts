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
/** The ReLU backward rules: plain gradient, deconvnet and guided backpropagation. */
export const RELU_RULES: readonly ReluRule[] = ['gradient', 'deconvnet', 'guided'];

/**
 * What to differentiate: one class index for the whole batch, one per sample,
 * or an explicit cotangent for the logits with shape [N, numClasses].
 */
export type Targets = number | readonly number[] | Int32Array | Tensor;

/** Outputs of a forward pass: logits and softmax probabilities [N, classes], and the argmax per sample. */
export interface ForwardResult {
  logits: Tensor;
  probabilities: Tensor;
  predictions: Int32Array;
}

/** Options of `Model.gradients`: ReLU rule, layers to return and whether to compute the input gradient. */
export interface GradientOptions {
  rule?: ReluRule;
  /** Called after each runtime call, counting inputs done (long batches report as they go). */
  onProgress?: ProgressCallback;
  /** Intermediate tensors (names from `model.layers`) whose activation and gradient to return. */
  layers?: readonly string[];
  /** Compute d output / d input (default true). Grad-CAM turns it off to stop the backward pass at its layer. */
  inputGradient?: boolean;
  /**
   * ReLU rule for the `layers` gradients when it differs from `rule` (Guided Grad-CAM: guided input gradient, vanilla
   * gradient at the CAM layer, from one forward pass). Only models with `layerRule` in `gradientFeatures` honour it.
   */
  layerRule?: ReluRule;
}

/** An intermediate tensor's activation and the gradient of the target score with respect to it. */
export interface LayerGradient {
  activation: Tensor;
  gradient: Tensor;
}

/** Outputs of a backward pass: logits, the input gradient and each requested layer's activation and gradient. */
export interface GradientResult {
  logits: Tensor;
  /** d (cotangent · logits) / d input, the input's shape. Absent when `inputGradient: false`. */
  inputGradient?: Tensor;
  layers: Record<string, LayerGradient>;
}

/** An intermediate tensor methods can explain (what `whitebox layers` lists). */
export interface LayerInfo {
  /** Tensor name in the graph: what `GradientOptions.layers` takes. */
  name: string;
  /** Op type of the node that produces it. */
  op: string;
  /** Shape with the batch dim (and any dim that changes with the batch) as null. */
  shape: readonly (number | null)[];
  /**
   * How CAM methods can read it: 'spatial' — a batch-major [N, C, h, w] map; 'tokens' — a Vision Transformer's token
   * tensor [N, prefixTokens + h·w, C] (see `grid`); 'other' — anything else (vectors, attention scores …).
   */
  kind?: 'spatial' | 'tokens' | 'other';
  /** For token tensors [N, T, C]: T = prefixTokens (class/distillation tokens) + h·w patch tokens. */
  grid?: { prefixTokens: number; h: number; w: number };
}

/** Options of `Model.forwardFrom` (running the graph from an intermediate layer). */
export interface ForwardFromOptions {
  /**
   * The model input, when the part of the graph after the layer also needs tensors computed before it (a residual
   * skip around the layer): batch 1 (shared by every activation) or the activation's batch.
   */
  input?: Tensor;
  /** Largest batch per runtime call (default: the model's). */
  batchSize?: number;
  onProgress?: ProgressCallback;
}

/** An image classifier that can be run forward and differentiated. `loadModel` in @whitebox/onnx makes one. */
export interface Model {
  readonly inputName: string;
  /**
   * [N, C, H, W] with N null — or the fixed batch size of a model exported without a dynamic batch axis (calls are
   * then chunked and padded to it internally, so any batch size works).
   */
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
  /** Every float tensor of the graph that depends on the input (what `GradientOptions.layers` takes), in graph order. */
  readonly layers: readonly LayerInfo[];
  /**
   * Grad-CAM's default layer: the last spatial feature map the logits reach through a spatial reduction (ResNet's
   * layer4 output, DenseNet's final ReLU …), or for a Vision Transformer the normalized tokens entering the last
   * attention block.
   */
  readonly defaultCamLayer: string | undefined;
  readonly backendName: string;
  readonly executionProvider: Device;
  /** The forward model's ONNX bytes. */
  readonly modelBytes: Uint8Array;
  /** sha256 (hex) of `modelBytes`, for caches. */
  readonly modelHash: string;
  /** Optional `gradients` features the model supports ('layerRule': a second backward chain with another rule). */
  readonly gradientFeatures?: readonly 'layerRule'[];
  /** Logits, probabilities and predictions for `input` [N, C, H, W], in batches of `batchSize`. */
  forward(input: Tensor, options?: { batchSize?: number; onProgress?: ProgressCallback }): Promise<ForwardResult>;
  /** Gradients of the target scores (cotangent · logits) with respect to the input and the requested layers, under the ReLU `rule`. */
  gradients(input: Tensor, targets: Targets, options?: GradientOptions): Promise<GradientResult>;
  /**
   * Runs the model from `layer` (a name from `layers`) on a replaced activation (the layer's shape with any batch N)
   * and returns the logits [N, numClasses] (Ablation-CAM). Optional: models that cannot cut their graph omit it.
   */
  forwardFrom?(layer: string, activation: Tensor, options?: ForwardFromOptions): Promise<Tensor>;
  /** Releases the model's sessions. */
  dispose(): Promise<void>;
}

export interface LoadModelOptions extends BackendSelection {
  /**
   * Batch size the model runs at internally (at most LIMITS.batchSize; a fixed-batch model runs at its own). Default 64,
   * or fewer where 64 images' forward activations would pass 2 GiB (the onnx package's defaultBatchSize: 4 for ViT-B/16).
   */
  batchSize?: number;
  /** Which graph output holds the logits, when the model has several. */
  output?: string;
  /** Largest tensor, in elements per image, the model may declare (default LIMITS.tensorElements, 2^28). */
  maxElements?: number;
  /** Most nodes the model graph may have (default LIMITS.modelNodes). */
  maxNodes?: number;
  /**
   * Largest model read, in bytes: the .onnx file and its external data together (default LIMITS.modelBytes, 1 GiB;
   * ViT-H/14 needs 2.6 GB).
   */
  maxModelBytes?: number;
  /**
   * External data files of a model given as bytes (browsers): `path` as the model's tensors name it, e.g.
   * `[{ path: 'vit_h_14.onnx.data', data }]`. A model loaded from a path reads them from its directory itself.
   */
  externalData?: readonly { path: string; data: Uint8Array }[];
  /**
   * Most initializer bytes a session's model carries inline; above it the weights reach the runtime as external data
   * files (protobuf caps a model at 2 GiB). Default 1.5 GiB.
   */
  maxInlineWeightBytes?: number;
}
