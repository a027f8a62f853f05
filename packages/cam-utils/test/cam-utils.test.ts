import { describe, expect, it } from 'vitest';
import { Tensor, WhiteBoxError } from '@whitebox/core';
import {
  augmentations, eigenProjection, firstComponentProjection, resizeBilinearAlignCorners, resolveCamLayer, scaleCamInPlace, tokensToGrid, topEigenpair,
  weightedChannelSum,
} from '@whitebox/cam-utils';
import { GradCam } from '@whitebox/grad-cam';
import { FixedLayerModel, expectClose } from './fixtures.js';

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(WhiteBoxError);
    return `${(e as WhiteBoxError).code}: ${(e as Error).message}`;
  }
  throw new Error('expected a WhiteBoxError');
}

describe('token layers', () => {
  // Tokens [1, T = 1 + 2·2, C = 3]: a class token, then patches (0,0), (0,1), (1,0), (1,1); value = 10·token + channel.
  const tokens = Tensor.from(Array.from({ length: 15 }, (_, i) => 10 * Math.floor(i / 3) + (i % 3)), [1, 5, 3]);

  it('tokensToGrid drops the prefix token and puts channels first: [1, 5, 3] -> [1, 3, 2, 2]', () => {
    const g = tokensToGrid(tokens, { h: 2, w: 2, prefixTokens: 1 });
    expect(g.dims).toEqual([1, 3, 2, 2]);
    // channel c, patch q = token q + 1: 10(q + 1) + c
    expect(Array.from(g.data)).toEqual([10, 20, 30, 40, 11, 21, 31, 41, 12, 22, 32, 42]);
    expect(() => tokensToGrid(tokens, { h: 2, w: 3, prefixTokens: 1 })).toThrow(/grid 2×3 with 1 prefix token\(s\) needs \[N, 7, C\]/);
  });

  it('Grad-CAM of a token layer (LayerInfo.grid, or reshapeTransform) equals Grad-CAM of the same grid as [N, K, h, w]', async () => {
    const gradTokens = Tensor.from(Array.from({ length: 15 }, (_, i) => ((i * 7) % 5) - 2), [1, 5, 3]);
    const spatialAct = tokensToGrid(tokens, { h: 2, w: 2, prefixTokens: 1 });
    const spatialGrad = tokensToGrid(gradTokens, { h: 2, w: 2, prefixTokens: 1 });
    const x = Tensor.full([1, 1, 4, 4], 0.5);
    const spatial = new FixedLayerModel(spatialAct.data, spatialGrad.data, [3, 2, 2]);
    const viaGrid = new FixedLayerModel(tokens.data, gradTokens.data, [5, 3], { prefixTokens: 1, h: 2, w: 2 });
    const noGrid = new FixedLayerModel(tokens.data, gradTokens.data, [5, 3]);
    const ref = await new GradCam(spatial).attribute(x, 0, { relu: false, upsample: false });
    // α = mean over the 4 patches of each channel's gradient; map = Σ α_c A_c (hand: see the tensors above).
    const alpha = [0, 1, 2].map((c) => [1, 2, 3, 4].reduce((s, t) => s + gradTokens.data[t * 3 + c]!, 0) / 4);
    const hand = [1, 2, 3, 4].map((t) => alpha.reduce((s, a, c) => s + a * tokens.data[t * 3 + c]!, 0));
    expectClose(ref.data, hand, 1e-6, 'spatial');
    expectClose((await new GradCam(viaGrid).attribute(x, 0, { relu: false, upsample: false })).data, hand, 1e-6, 'grid');
    expectClose((await new GradCam(noGrid).attribute(x, 0, { relu: false, upsample: false, reshapeTransform: { h: 2, w: 2, prefixTokens: 1 } })).data, hand, 1e-6, 'option');
    const fn = (t: Tensor) => tokensToGrid(t, { h: 2, w: 2, prefixTokens: 1 });
    expectClose((await new GradCam(noGrid).attribute(x, 0, { relu: false, upsample: false, reshapeTransform: fn })).data, hand, 1e-6, 'function');
    // Upsampled to the 4×4 input like any layer.
    expect((await new GradCam(viaGrid).attribute(x, 0)).dims).toEqual([1, 1, 4, 4]);
  });

  it('named errors: a token layer without a grid, a grid that does not fit, a grid on a spatial layer, a bad transform', async () => {
    const x = Tensor.full([1, 1, 4, 4], 0.5);
    const noGrid = new FixedLayerModel(tokens.data, tokens.data, [5, 3]);
    expect(await codeOf(new GradCam(noGrid).attribute(x, 0))).toMatch(/^SHAPE_MISMATCH: grad-cam: layer 'feat' \(Relu\) has shape \[N, 5, 3\], not spatial; grad-cam needs a spatial \[N, K, h, w\] layer, or a token layer/);
    expect(await codeOf(() => resolveCamLayer(noGrid, 'feat', 'layer-cam', { h: 3, w: 3, prefixTokens: 1 }))).toMatch(/^SHAPE_MISMATCH: layer-cam: layer 'feat' has 5 tokens .* needs 10/);
    expect(await codeOf(() => resolveCamLayer(noGrid, 'feat', 'layer-cam', { h: 0, w: 3 }))).toMatch(/^INVALID_ARGUMENT: .*integer h, w ≥ 1/);
    const spatial = new FixedLayerModel(new Float32Array(12), new Float32Array(12), [3, 2, 2]);
    expect(await codeOf(new GradCam(spatial).attribute(x, 0, { reshapeTransform: { h: 2, w: 2 } }))).toMatch(/^INVALID_ARGUMENT: .*applies to token layers/);
    expect(await codeOf(new GradCam(noGrid).attribute(x, 0, { reshapeTransform: (t) => t }))).toMatch(/^SHAPE_MISMATCH: grad-cam: layer 'feat': reshapeTransform returned \[1, 5, 3\]/);
    expect(await codeOf(new GradCam(spatial).attribute(x, 0, { layer: 'nope' }))).toMatch(/^NOT_FOUND: grad-cam: unknown layer 'nope'; the model's layers are: feat \(Relu \[N, 3, 2, 2\]\)/);
    expect(await codeOf(new GradCam(spatial).attribute(Tensor.zeros([0, 1, 4, 4]), 0))).toMatch(/^SHAPE_MISMATCH: grad-cam: input batch is empty/);
  });
});

describe('map plumbing', () => {
  it('weightedChannelSum is Σ_k w[b,k]·A[b,k] for any channel count (blocks of four and the rest), skipping zero weights', () => {
    // n = 2, k = 6 (one block of four + two), hw = 3; a naive float64 reference.
    const n = 2, k = 6, hw = 3;
    const a = Float32Array.from({ length: n * k * hw }, (_, i) => Math.sin(i + 1) * 3);
    const w = Float64Array.from({ length: n * k }, (_, i) => (i % 5) - 1.5);
    const ref = new Float32Array(n * hw);
    for (let b = 0; b < n; b++) for (let p = 0; p < hw; p++) { let s = 0; for (let c = 0; c < k; c++) s += w[b * k + c]! * a[(b * k + c) * hw + p]!; ref[b * hw + p] = s; }
    expectClose(weightedChannelSum(a, w, n, k, hw), ref, 1e-6);
    // A non-finite activation in a zero-weight channel stays out of the map (in a block of four and in the rest).
    const b2 = Float32Array.from(a);
    b2.fill(Infinity, 1 * hw, 2 * hw); // image 0, channel 1
    b2.fill(NaN, 11 * hw, 12 * hw); // image 1, channel 5
    const w2 = Float64Array.from(w);
    w2[1] = 0;
    w2[11] = 0;
    const ref2 = new Float32Array(n * hw);
    for (let b = 0; b < n; b++) for (let p = 0; p < hw; p++) { let s = 0; for (let c = 0; c < k; c++) if (w2[b * k + c] !== 0) s += w2[b * k + c]! * b2[(b * k + c) * hw + p]!; ref2[b * hw + p] = s; }
    const got = weightedChannelSum(b2, w2, n, k, hw);
    expect(got.every(Number.isFinite)).toBe(true);
    expectClose(got, ref2, 1e-6);
  });

  it('scaleCam is pytorch-grad-cam scale_cam_image per map; a constant map becomes zeros', () => {
    const t = Tensor.from([1, 3, 2, 5, /* map 2 */ 4, 4, 4, 4], [2, 1, 2, 2]);
    scaleCamInPlace(t);
    expectClose(t.data, [0, 2 / (4 + 1e-7), 1 / (4 + 1e-7), 4 / (4 + 1e-7), 0, 0, 0, 0], 1e-7);
  });

  it('resizeBilinearAlignCorners: corners kept, 2×2 -> 3×3 centre is the mean (UpsamplingBilinear2d)', () => {
    const r = resizeBilinearAlignCorners(Tensor.from([0, 1, 2, 4], [1, 1, 2, 2]), 3, 3);
    expectClose(r.data, [0, 0.5, 1, 1, 1.75, 2.5, 2, 3, 4], 1e-7);
    // 2 -> 5 along one axis: x = 0, 0.25, 0.5, 0.75, 1 of the way.
    expectClose(resizeBilinearAlignCorners(Tensor.from([0, 4], [1, 1, 1, 2]), 1, 5).data, [0, 1, 2, 3, 4], 1e-7);
  });

  it('topEigenpair (Jacobi): a known 3×3, a repeated top eigenvalue, the zero matrix', () => {
    // [[2, 1, 0], [1, 2, 0], [0, 0, 1]]: eigenvalues 3, 1, 1; top vector (1, 1, 0)/√2.
    const { value, vector } = topEigenpair(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 1]), 3);
    expect(value).toBeCloseTo(3, 12);
    expectClose(vector.map(Math.abs), [Math.SQRT1_2, Math.SQRT1_2, 0], 1e-12);
    // diag(5, 5, 1): a tie; the first of the tied eigenvectors in index order is returned.
    const tie = topEigenpair(Float64Array.from([5, 0, 0, 0, 5, 0, 0, 0, 1]), 3);
    expect(tie.value).toBe(5);
    expectClose(tie.vector, [1, 0, 0], 0);
    expect(topEigenpair(new Float64Array(4), 2)).toEqual({ value: 0, vector: Float64Array.from([1, 0]) });
  });

  it('firstComponentProjection: centered data on its first principal component, sign along the channel sum', () => {
    // 2 channels × 3 pixels: c0 = [0, 1, 2], c1 = [0, 2, 4] (rank 1 after centering: (−1, 0, 1) · (1, 2)).
    const p = firstComponentProjection([0, 1, 2, 0, 2, 4], 2, 3);
    expectClose(p, [-Math.sqrt(5), 0, Math.sqrt(5)], 1e-12);
    // Negated data: the channel sum flips, so does the projection.
    expectClose(firstComponentProjection([0, -1, -2, 0, -2, -4], 2, 3), [Math.sqrt(5), 0, -Math.sqrt(5)], 1e-12);
    // More channels than pixels takes the X Xᵀ route: same answer for a rank-1 tensor with 4 channels and 2 pixels.
    const q = eigenProjection(Tensor.from([1, 3, 2, 6, -1, -3, 0.5, 1.5], [1, 4, 1, 2]));
    // centered: (−1, 1) · (1, 2, −1, 0.5); |(1, 2, −1, 0.5)| = √6.25 = 2.5; channel sum (2.5, 7.5) rises -> positive at pixel 1.
    expectClose(q.data, [-2.5, 2.5], 1e-6);
  });
});

describe('augSmooth', () => {
  it("default: pytorch-grad-cam's six augmentations (flip × factors 0.9, 1, 1.1); options validated", () => {
    expect(augmentations(true, 'm').map((a) => `${a.flip}:${a.factor}`)).toEqual(['false:0.9', 'false:1', 'false:1.1', 'true:0.9', 'true:1', 'true:1.1']);
    expect(augmentations(undefined, 'm')).toHaveLength(1);
    expect(augmentations({ flips: false, factors: [1], shifts: [[0, 0], [1, -1]] }, 'm')).toHaveLength(2);
    expect(() => augmentations({ shifts: [[0.5, 0]] }, 'm')).toThrow(/augSmooth.shifts must be a non-empty list of integer pairs/);
    expect(() => augmentations({ factors: [] }, 'm')).toThrow(/augSmooth.factors/);
  });

  it('maps are mapped back before averaging: an input-independent map M gives (M + flip(M)) / 2, shifts average what each pixel saw', async () => {
    // Layer = one channel 4×4 equal to the map (gradient 1 everywhere: Grad-CAM map = A).
    const a = Float32Array.from({ length: 16 }, (_, i) => i);
    const model = new FixedLayerModel(a, new Float32Array(16).fill(1), [1, 4, 4]);
    const x = Tensor.full([1, 1, 4, 4], 0.5);
    const cam = new GradCam(model);
    const flipped = await cam.attribute(x, 0, { augSmooth: { factors: [1] } });
    const expected = Array.from({ length: 16 }, (_, i) => (i + (Math.floor(i / 4) * 4 + 3 - (i % 4))) / 2);
    expectClose(flipped.data, expected, 1e-6, 'flip');
    // Shift (0, 1): the augmented map at column x + 1 belongs to original column x (columns 0..2); column 3 is seen once.
    const shifted = await cam.attribute(x, 0, { augSmooth: { flips: false, factors: [1], shifts: [[0, 0], [0, 1]] } });
    const exp2 = Array.from({ length: 16 }, (_, i) => (i % 4 === 3 ? i : (i + i + 1) / 2));
    expectClose(shifted.data, exp2, 1e-6, 'shift');
    expect(await codeOf(cam.attribute(x, 0, { upsample: false, augSmooth: { shifts: [[1, 0]] } }))).toMatch(/^INVALID_ARGUMENT: grad-cam: augSmooth shifts need maps at the input's resolution/);
  });
});
