import { type LayerInfo, type Model, Tensor, WhiteBoxError, formatShape } from '@whitebox/core';

/** A token layer's patch grid: T = prefixTokens + h·w tokens, the prefix (class) tokens first, then the patches row by row. */
export interface TokenGrid {
  h: number;
  w: number;
  /** Class/distillation tokens before the patches (default 0). */
  prefixTokens?: number;
}

/**
 * How a layer tensor becomes the spatial grid [N, K, h, w] that CAM methods weigh (pytorch-grad-cam's
 * `reshape_transform`): a token grid for [N, T, C] tensors, or any function from the layer tensor (as the model
 * returns it) to [N, K, h, w]. It is applied to the activation and to the gradient alike.
 */
export type ReshapeTransform = TokenGrid | ((t: Tensor) => Tensor);

/** A resolved CAM layer. */
export interface CamLayer {
  name: string;
  info: LayerInfo;
  /** How to turn the model's tensor for this layer into [N, K, h, w] (undefined: it already is). */
  transform?: ReshapeTransform;
}

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => d ?? 'N').join(', ')}]`;
}

function layerList(model: Model): string {
  return model.layers.map((l) => `${l.name} (${l.op} ${shapeText(l.shape)})`).join(', ');
}

/**
 * Resolves a CAM layer: `layer` (default `model.defaultCamLayer`) must be in `model.layers` and spatial: [N, K, h, w],
 * or a token tensor [N, T, C] with a grid (`LayerInfo.grid`, or the `reshapeTransform` option). Errors name the method,
 * the layer and the model's layers: INVALID_ARGUMENT (no default layer), NOT_FOUND (unknown layer, including a tensor
 * the model's output does not depend on), SHAPE_MISMATCH (not spatial, or a grid that does not fit).
 */
export function resolveCamLayer(model: Model, layer: string | undefined, method = 'grad-cam', reshapeTransform?: ReshapeTransform): CamLayer {
  const name = layer ?? model.defaultCamLayer;
  if (!name) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: the model has no default convolutional layer; pass a layer (one of: ${layerList(model) || 'none'})`);
  }
  if (typeof name !== 'string') throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: layer must be a tensor name (a string), got ${typeof name}`);
  const info = model.layers.find((l) => l.name === name);
  if (!info) {
    throw new WhiteBoxError(
      'NOT_FOUND',
      `${method}: unknown layer '${name}'; the model's layers are: ${layerList(model) || 'none'} (tensors that the model's output does not depend on are not among them)`,
      { layer: name },
    );
  }
  const shape = info.shape;
  if (typeof reshapeTransform === 'function') return { name, info, transform: reshapeTransform };
  const grid: TokenGrid | undefined = reshapeTransform ?? info.grid;
  // The model's own reading of the tensor, when it gives one: 'other' (vectors, attention scores, tensors whose dims
  // are not batch-major) is never a map.
  const kind = info.kind ?? (shape.length === 4 ? 'spatial' : shape.length === 3 && info.grid ? 'tokens' : 'other');
  if (kind === 'other' && !(reshapeTransform && shape.length === 3)) {
    throw new WhiteBoxError(
      'SHAPE_MISMATCH',
      `${method}: layer '${name}' (${info.op}) has shape ${shapeText(shape)}, not spatial; ${method} needs a spatial [N, K, h, w] layer, or a token layer [N, T, C] ` +
        "with a patch grid (the model's LayerInfo.grid, or the reshapeTransform option { h, w, prefixTokens })",
      { layer: name, shape },
    );
  }
  if (shape.length === 4 && !reshapeTransform) return { name, info };
  if (shape.length === 3 && grid) {
    checkGrid(grid, method, name);
    const t = shape[1];
    const p = grid.prefixTokens ?? 0;
    if (typeof t === 'number' && t !== p + grid.h * grid.w) {
      throw new WhiteBoxError(
        'SHAPE_MISMATCH',
        `${method}: layer '${name}' has ${t} tokens (shape ${shapeText(shape)}) but the grid ${grid.h}×${grid.w} with ${p} prefix token(s) needs ${p + grid.h * grid.w}`,
        { layer: name, shape, grid },
      );
    }
    return { name, info, transform: { h: grid.h, w: grid.w, prefixTokens: p } };
  }
  if (shape.length === 4 && reshapeTransform) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: reshapeTransform { h, w } applies to token layers [N, T, C]; layer '${name}' is already spatial ${shapeText(shape)}`, { layer: name });
  }
  throw new WhiteBoxError(
    'SHAPE_MISMATCH',
    `${method}: layer '${name}' (${info.op}) has shape ${shapeText(shape)}, not spatial; ${method} needs a spatial [N, K, h, w] layer, or a token layer [N, T, C] ` +
      "with a patch grid (the model's LayerInfo.grid, or the reshapeTransform option { h, w, prefixTokens })",
    { layer: name, shape },
  );
}

function checkGrid(grid: TokenGrid, method: string, layer: string): void {
  const ok = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;
  if (!ok(grid.h, 1) || !ok(grid.w, 1) || !ok(grid.prefixTokens ?? 0, 0)) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${method}: the token grid of layer '${layer}' must have integer h, w ≥ 1 and prefixTokens ≥ 0, got ${JSON.stringify(grid)}`, { layer });
  }
}

/** [N, T, C] tokens -> [N, C, h, w], dropping the first `prefixTokens` tokens. */
export function tokensToGrid(t: Tensor, grid: TokenGrid, what = 'token tensor'): Tensor {
  const p = grid.prefixTokens ?? 0;
  if (t.rank !== 3 || t.dims[1] !== p + grid.h * grid.w) {
    throw new WhiteBoxError('SHAPE_MISMATCH', `${what} has shape ${formatShape(t.dims)}; the grid ${grid.h}×${grid.w} with ${p} prefix token(s) needs [N, ${p + grid.h * grid.w}, C]`, { got: t.dims });
  }
  const [n, T, c] = t.dims as [number, number, number];
  const hw = grid.h * grid.w;
  const out = new Float32Array(n * c * hw);
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < hw; q++) {
      const src = (b * T + p + q) * c;
      for (let k = 0; k < c; k++) out[(b * c + k) * hw + q] = t.data[src + k]!;
    }
  }
  return new Tensor(out, [n, c, grid.h, grid.w]);
}

/** The layer tensor as the model returns it -> [N, K, h, w], checked. */
export function toSpatial(t: Tensor, layer: CamLayer, method: string): Tensor {
  const what = `${method}: layer '${layer.name}'`;
  let out: Tensor;
  if (!layer.transform) out = t;
  else if (typeof layer.transform === 'function') out = layer.transform(t);
  else out = tokensToGrid(t, layer.transform, what);
  if (!(out instanceof Tensor) || out.rank !== 4 || out.dims[0] !== t.dims[0]) {
    throw new WhiteBoxError(
      'SHAPE_MISMATCH',
      `${what}: ${layer.transform ? 'reshapeTransform returned' : 'the model returned'} ${out instanceof Tensor ? formatShape(out.dims) : String(out)}; CAM methods need [N, K, h, w] with N = ${t.dims[0]}`,
      { layer: layer.name },
    );
  }
  return out;
}

/** The axis of the model's layer tensor that holds channels: 1 for [N, K, h, w], the last for tokens [N, T, C]. */
export function channelAxis(t: Tensor): number {
  return t.rank === 3 ? 2 : 1;
}
