/**
 * Guided Grad-CAM: Grad-CAM upsampled and multiplied by Guided Backpropagation, for ONNX image classifiers.
 *
 * @packageDocumentation
 * @module @whitebox/guided-grad-cam
 */
import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets,
  Tensor, checkAttributionInput, checkFiniteResult, checkPositiveInt, concatBatch,
} from '@whitebox/core';
import { GuidedBackprop } from '@whitebox/guided-backprop';
import { type ReshapeTransform, computeCam, resolveCamLayer } from '@whitebox/cam-utils';
import { GRAD_CAM, GradCam } from '@whitebox/grad-cam';

/** Options of {@link GuidedGradCam}. */
export interface GuidedGradCamOptions extends AttributionOptions {
  /** Grad-CAM layer; default `model.defaultCamLayer`. */
  layer?: string;
  /** How a token layer [N, T, C] becomes [N, C, h, w] (default: the layer's `grid`). */
  reshapeTransform?: ReshapeTransform;
}

/**
 * Guided Grad-CAM (Selvaraju et al. 2017): guided backpropagation ⊙ the upsampled Grad-CAM map,
 * broadcast over channels: maps with the input's shape. On a model with the 'layerRule' gradient feature (ONNX
 * models) both come from one gradient graph: one forward pass, a guided backward chain to the input and a vanilla one
 * stopping at the CAM layer; other models run guided backprop and Grad-CAM one after the other.
 */
export class GuidedGradCam implements Attribution<GuidedGradCamOptions> {
  readonly name = 'guided-grad-cam';
  private readonly guided: GuidedBackprop;
  private readonly cam: GradCam;

  constructor(readonly model: Model) {
    this.guided = new GuidedBackprop(model);
    this.cam = new GradCam(model);
  }

  /** Guided Grad-CAM maps for `input` [N, C, H, W] and `target`: Guided Backpropagation times the upsampled Grad-CAM map. Returns the input's shape. */
  async attribute(input: Tensor, target: Targets, options: GuidedGradCamOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const layer = resolveCamLayer(this.model, options.layer, this.name, options.reshapeTransform).name;
    const n = input.batchSize;
    const progress = options.onProgress;
    let gb: Tensor;
    let cam: Tensor;
    if (this.model.gradientFeatures?.includes('layerRule')) {
      const parts: Tensor[] = [];
      cam = await computeCam(this.model, input, target, {
        layer, reshapeTransform: options.reshapeTransform, batchSize: options.batchSize, onProgress: progress && ((p) => progress({ ...p, stage: this.name })),
        inputGradientRule: 'guided', onInputGradient: (g) => parts.push(g),
      }, GRAD_CAM);
      gb = parts.length === 1 ? parts[0]! : concatBatch(parts);
      checkFiniteResult(gb, 'guided-backprop map');
    } else {
      const total = 2 * n;
      progress?.({ done: 0, total, stage: this.name });
      gb = await this.guided.attribute(input, target, { batchSize: options.batchSize, onProgress: progress && ((p) => progress({ done: p.done, total, stage: this.name })) });
      cam = await this.cam.attribute(input, target, { layer, reshapeTransform: options.reshapeTransform, batchSize: options.batchSize, onProgress: progress && ((p) => progress({ done: n + p.done, total, stage: this.name })) });
    }
    const [, c, h, w] = input.dims as [number, number, number, number];
    const hw = h * w;
    const out = new Float32Array(gb.size);
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < c; k++) {
        const o = (b * c + k) * hw;
        for (let p = 0; p < hw; p++) out[o + p] = gb.data[o + p]! * cam.data[b * hw + p]!;
      }
    }
    const map = new Tensor(out, input.dims);
    checkFiniteResult(map, `${this.name} map`);
    return map;
  }
}

/** Factory form of {@link GuidedGradCam}: `guidedGradCam(model)`. */
export const guidedGradCam: AttributionFactory<GuidedGradCamOptions> = (model) => new GuidedGradCam(model);
export default guidedGradCam;
