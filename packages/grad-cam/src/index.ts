import {
  type Attribution, type AttributionFactory, type AttributionOptions, type Model, type Targets,
  type ProgressCallback, Tensor, WhiteBoxError, checkAttributionInput, checkFiniteResult, checkPositiveInt, mapBatches, resizeBilinear, sliceTargets,
} from '@whitebox/core';

export interface GradCamOptions extends AttributionOptions {
  /** Layer (a name from `model.layers`) to explain; default `model.defaultCamLayer`, the last conv block. */
  layer?: string;
  /** Apply the final ReLU (default true; false keeps negative evidence). */
  relu?: boolean;
  /** Upsample bilinearly to the input's height × width (default true); false returns the layer's h × w. */
  upsample?: boolean;
}

/** Resolves the Grad-CAM layer, with a clear error listing the model's layers. */
export function resolveCamLayer(model: Model, layer: string | undefined, method = 'grad-cam'): string {
  const name = layer ?? model.defaultCamLayer;
  const known = model.layers.map((l) => `${l.name} (${l.op} [${l.shape.map((d) => d ?? 'N').join(', ')}])`).join(', ');
  if (!name) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: the model has no default convolutional layer; pass a layer (one of: ${known || 'none'})`);
  }
  const info = model.layers.find((l) => l.name === name);
  if (!info) throw new WhiteBoxError('NOT_FOUND', `${method}: unknown layer '${name}'; the model's layers are: ${known || 'none'}`, { layer: name });
  if (info.shape.length !== 4) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `${method}: layer '${name}' (${info.op}) has shape [${info.shape.map((d) => d ?? 'N').join(', ')}]; Grad-CAM needs a spatial [N, K, h, w] layer`, { layer: name, shape: info.shape });
  }
  return name;
}

/**
 * Grad-CAM map at layer A from its activation and gradient ([N, K, h, w] each):
 * Σ_k mean_ij(dy/dA_k) · A_k, then ReLU. Returns [N, 1, h, w].
 */
export function camFromLayer(activation: Tensor, gradient: Tensor, relu = true): Tensor {
  const [n, k, h, w] = activation.dims as [number, number, number, number];
  const hw = h * w;
  const out = new Float32Array(n * hw);
  for (let b = 0; b < n; b++) {
    const acc = new Float64Array(hw);
    for (let c = 0; c < k; c++) {
      const base = (b * k + c) * hw;
      let alpha = 0;
      for (let p = 0; p < hw; p++) alpha += gradient.data[base + p]!;
      alpha /= hw;
      if (alpha === 0) continue;
      for (let p = 0; p < hw; p++) acc[p] += alpha * activation.data[base + p]!;
    }
    for (let p = 0; p < hw; p++) out[b * hw + p] = relu ? Math.max(0, acc[p]!) : acc[p]!;
  }
  return new Tensor(out, [n, 1, h, w]);
}

/**
 * Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k mean_ij(dy/dA_k) · A_k) at a convolutional layer,
 * upsampled bilinearly to the input size: maps [N, 1, H, W]. The backward pass stops at the layer.
 */
export class GradCam implements Attribution<GradCamOptions> {
  readonly name = 'grad-cam';
  constructor(readonly model: Model) {}

  async attribute(input: Tensor, target: Targets, options: GradCamOptions = {}): Promise<Tensor> {
    checkAttributionInput(this.model, input, target, this.name);
    checkPositiveInt(options.batchSize, 'batchSize', this.name);
    const layer = resolveCamLayer(this.model, options.layer, this.name);
    const [, , H, W] = input.dims as [number, number, number, number];
    const total = input.batchSize;
    const progress = options.onProgress;
    const map = await mapBatches(
      input,
      options.batchSize ?? input.batchSize,
      async (chunk, start, end) => {
        // The model reports its own runtime batches, so progress moves within one long chunk too.
        const onProgress: ProgressCallback | undefined = progress && ((p) => progress({ done: start + Math.min(p.done, end - start), total, stage: this.name }));
        const res = await this.model.gradients(chunk as Tensor, sliceTargets(target, start, end), { rule: 'gradient', layers: [layer], inputGradient: false, ...(onProgress ? { onProgress } : {}) });
        const lg = res.layers[layer];
        if (!lg) throw new WhiteBoxError('RUNTIME_ERROR', `grad-cam: the model returned no activation/gradient for layer '${layer}'`, { layer });
        if (lg.activation.rank !== 4) {
          throw new WhiteBoxError('SHAPE_MISMATCH', `grad-cam: layer '${layer}' output has shape [${lg.activation.dims.join(', ')}], expected [N, K, h, w]`, { layer });
        }
        const cam = camFromLayer(lg.activation, lg.gradient, options.relu ?? true);
        if (options.upsample === false || (cam.dims[2] === H && cam.dims[3] === W)) return cam;
        return resizeBilinear(cam, H, W);
      },
      progress,
      this.name,
    );
    checkFiniteResult(map, `${this.name} map (layer '${layer}')`);
    return map;
  }
}

export const gradCam: AttributionFactory<GradCamOptions> = (model) => new GradCam(model);
export default gradCam;
