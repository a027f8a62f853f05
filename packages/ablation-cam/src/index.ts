/**
 * Ablation-CAM class activation maps (Desai & Ramaswamy 2020): channel weights from ablating each channel, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/ablation-cam
 */
import {
  type Attribution, type AttributionFactory, type Model, type Targets, Tensor, WhiteBoxError, formatShape, targetsToCotangent,
} from '@whitebox/core';
import { type CamChunk, type CamLayerData, type CamMethod, type CamOptions, camChannelWeights, channelAxis, computeCam } from '@whitebox/cam-utils';

export interface AblationCamOptions extends CamOptions {
  /** Ablated activations per forward pass from the layer (default 64); also the chunk of images per gradient pass. */
  batchSize?: number;
  /** The value an ablated channel is set to (default 0: the channel is zeroed, as in the paper). */
  ablationValue?: number;
}

/** Copies of one item of a layer tensor, copy j with channel `first + j` set to `value`. */
function ablatedCopies(item: Tensor, first: number, count: number, value: number): Tensor {
  const axis = channelAxis(item);
  const dims = item.dims;
  const k = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = item.size / (k * inner);
  const out = new Float32Array(count * item.size);
  for (let j = 0; j < count; j++) {
    const o = j * item.size;
    out.set(item.data, o);
    const ch = first + j;
    for (let a = 0; a < outer; a++) out.fill(value, o + (a * k + ch) * inner, o + (a * k + ch + 1) * inner);
  }
  return new Tensor(out, [count, ...dims.slice(1)]);
}

async function ablationWeights(data: CamLayerData, chunk: CamChunk, value: number): Promise<Float64Array> {
  const model = chunk.model;
  const layer = data.layer.name;
  if (typeof model.forwardFrom !== 'function') {
    throw new WhiteBoxError('INVALID_ARGUMENT', `ablation-cam: the model cannot run from a layer (it has no forwardFrom); load it with @whitebox/onnx's loadModel`, { layer });
  }
  const raw = data.raw.activation;
  const [n, k] = data.activation.dims as [number, number];
  if (raw.dims[channelAxis(raw)] !== k) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `ablation-cam: layer '${layer}' ${formatShape(raw.dims)} does not have the ${k} channels of its map (reshapeTransform must keep the channels on the model's channel axis)`, { layer });
  }
  const classes = model.numClasses;
  const cot = targetsToCotangent(chunk.targets, n, classes);
  const group = chunk.batchSize ?? 64;
  const weights = new Float64Array(n * k);
  for (let b = 0; b < n; b++) {
    const score = (logits: Tensor, r: number): number => {
      let s = 0;
      for (let j = 0; j < classes; j++) s += cot.data[b * classes + j]! * logits.data[r * classes + j]!;
      return s;
    };
    const original = score(chunk.logits, b);
    const item = raw.slice(b, b + 1);
    const image = chunk.input.slice(b, b + 1);
    for (let s = 0; s < k; s += group) {
      const e = Math.min(k, s + group);
      const logits = await model.forwardFrom(layer, ablatedCopies(item, s, e - s, value), { input: image, batchSize: group });
      for (let r = 0; r < e - s; r++) {
        const drop = original - score(logits, r);
        // pytorch-grad-cam's (original − ablated) / original; a zero original score leaves the drop unscaled.
        weights[b * k + s + r] = original !== 0 ? drop / original : drop;
      }
      chunk.advance(e - s);
    }
  }
  return weights;
}

function method(value: number): CamMethod {
  return {
    name: 'ablation-cam',
    weigh: async (data, chunk) => ({ channelWeights: await ablationWeights(data, chunk, value) }),
    unitsPerImage: (k) => k,
    normalizeByDefault: true,
  };
}

function ablationValue(options: AblationCamOptions): number {
  const v = options.ablationValue ?? 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `ablation-cam: ablationValue must be a finite number, got ${String(v)}`, { option: 'ablationValue' });
  }
  return v;
}

/**
 * Ablation-CAM (Desai & Ramaswamy 2020), as pytorch-grad-cam: channel k's weight is the relative drop of the target
 * logit when channel k of the layer is zeroed, (y − y_k) / y, computed by running the model from the layer
 * (`model.forwardFrom`) on the ablated activations, `batchSize` channels at a time; ReLU(Σ_k w_k A_k), scaled to
 * [0, 1] and upsampled: maps [N, 1, H, W]. N·K partial forward passes, progress in forward passes.
 */
export class AblationCam implements Attribution<AblationCamOptions> {
  readonly name = 'ablation-cam';
  constructor(readonly model: Model) {}

  /** Ablation-CAM maps for `input` [N, C, H, W] and `target`: each channel's weight is the relative drop of the target score when that channel of the layer is set to `ablationValue`. Returns [N, 1, H, W] (upsampled) or [N, 1, h, w]; needs a model loaded by `@whitebox/onnx`'s `loadModel` (it runs the graph from the layer). */
  async attribute(input: Tensor, target: Targets, options: AblationCamOptions = {}): Promise<Tensor> {
    if (typeof this.model.forwardFrom !== 'function') {
      throw new WhiteBoxError('INVALID_ARGUMENT', `ablation-cam: the model cannot run from a layer (it has no forwardFrom); load it with @whitebox/onnx's loadModel`);
    }
    return computeCam(this.model, input, target, options, method(ablationValue(options)));
  }

  /** The channel weights w [N, K]: the relative drops of the target logit. */
  async channelWeights(input: Tensor, target: Targets, options: AblationCamOptions = {}): Promise<Tensor> {
    return camChannelWeights(this.model, input, target, options, method(ablationValue(options)));
  }
}

/** Factory form of {@link AblationCam}: `ablationCam(model)`. */
export const ablationCam: AttributionFactory<AblationCamOptions> = (model) => new AblationCam(model);
export default ablationCam;
