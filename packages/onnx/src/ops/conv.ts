import { Tensor, sizeOf } from '@whitebox/core';
import { SPATIAL_ATTRS, requireFloat, spatialAttrs, spatialOut } from './common.js';
import { readInt, readInts, readString, registerOp, type GradContext, type InferContext } from './registry.js';

/** Convolutions: Conv and ConvTranspose (any spatial rank, groups, dilations, auto_pad, output_shape). */

function convWeight(ctx: InferContext): { x: number[]; w: number[]; kernel: number[]; group: number } {
  const x = requireFloat(ctx, 0).dims;
  const w = requireFloat(ctx, 1, 'the weight').dims;
  if (x.length < 3) ctx.fail('SHAPE_MISMATCH', `expects an input of rank ≥ 3 ([N, C, spatial…]), got [${x.join(', ')}]`, { shape: x });
  if (w.length !== x.length) ctx.fail('SHAPE_MISMATCH', `weight [${w.join(', ')}] must have the input's rank ${x.length} (input [${x.join(', ')}])`, { shape: w });
  const group = ctx.int('group', 1);
  const kernel = ctx.attrInts('kernel_shape') ?? w.slice(2);
  if (kernel.length !== w.length - 2 || kernel.some((k, i) => k !== w[2 + i])) ctx.fail('INVALID_MODEL', `kernel_shape [${kernel}] does not match the weight [${w.join(', ')}]`, { attribute: 'kernel_shape' });
  return { x, w, kernel, group };
}

registerOp({
  op: 'Conv', family: 'conv', inputs: [2, 3], outputs: [1, 1], nondifferentiable: [1, 2],
  attrs: { ...SPATIAL_ATTRS, group: { type: 'int', min: 1 } },
  infer: (ctx) => {
    const { x, w, kernel, group } = convWeight(ctx);
    const sa = spatialAttrs(ctx.node, x, kernel, ctx.graph);
    if (x[1] !== w[1]! * group) ctx.fail('SHAPE_MISMATCH', `input has ${x[1]} channels but the weight [${w.join(', ')}] with group ${group} expects ${w[1]! * group}`, { shape: x });
    if (w[0]! % group !== 0) ctx.fail('INVALID_MODEL', `${w[0]} output channels are not divisible by group ${group}`, { attribute: 'group' });
    if (ctx.has(2) && (ctx.input(2).dims.length !== 1 || ctx.input(2).dims[0] !== w[0])) ctx.fail('SHAPE_MISMATCH', `bias [${ctx.input(2).dims.join(', ')}] must be [${w[0]}]`);
    const out = kernel.map((k, i) => spatialOut(x[2 + i]!, k, sa.strides[i]!, sa.dilations[i]!, sa.pads[i]!, sa.pads[i + kernel.length]!, false));
    if (out.some((o) => o < 1)) ctx.fail('SHAPE_MISMATCH', `the ${kernel.join('×')} kernel (dilations [${sa.dilations}], pads [${sa.pads}]) does not fit the input [${x.join(', ')}]`, { shape: x });
    return [{ dims: [x[0]!, w[0]!, ...out], dtype: 'float32' }];
  },
  backward: (ctx) => {
    denyWeights(ctx);
    ctx.add(0, convInputGrad(ctx));
  },
});

function denyWeights(ctx: GradContext): void {
  for (const [i, what] of [[1, 'weight'], [2, 'bias']] as const) {
    if (ctx.active(i)) ctx.fail('UNSUPPORTED_OP', `the gradient with respect to its ${what} input ('${ctx.node.inputs[i]}') is not supported (weights computed from the image)`);
  }
}

/** d conv / d input: Conv with transposed, flipped weights (stride 1, wide inputs) or ConvTranspose. */
function convInputGrad(ctx: GradContext): string {
  const n = ctx.node;
  const gy = ctx.gy()!;
  const [x, wName] = n.inputs as [string, string];
  const ws = ctx.dims(wName);
  const kernel = readInts(n, 'kernel_shape') ?? ws.slice(2);
  const xs = ctx.dims(x);
  const sa = spatialAttrs(n, xs, kernel, ctx.graph);
  const group = readInt(n, 'group', 1);
  const s = kernel.length;
  const w = ctx.constant(wName);
  const backPads = [...kernel.map((k, i) => sa.dilations[i]! * (k - 1) - sa.pads[i]!), ...kernel.map((k, i) => sa.dilations[i]! * (k - 1) - sa.pads[i + s]!)];
  // Measured on onnxruntime CPU: a Conv with transposed, flipped weights beats ConvTranspose when the input has ≥ 8
  // channels; for the first layer (1-3 channels) ConvTranspose (GEMM + col2im) is several times faster.
  if (w && w.dtype === 'float32' && ws[1]! * group >= 8 && sa.strides.every((v) => v === 1) && backPads.every((p) => p >= 0)) {
    // W [Cout, Cin/g, k...] -> W' [Cin, Cout/g, k...] per group, spatially flipped.
    const [cout, cinG] = ws as [number, number];
    const coutG = cout / group;
    const ksz = sizeOf(kernel);
    const src = w.data as Float32Array;
    const dst = new Float32Array(w.size);
    for (let gi = 0; gi < group; gi++) {
      for (let co = 0; co < coutG; co++) {
        for (let ci = 0; ci < cinG; ci++) {
          const sOff = ((gi * coutG + co) * cinG + ci) * ksz;
          const dOff = ((gi * cinG + ci) * coutG + co) * ksz;
          for (let k = 0; k < ksz; k++) dst[dOff + ksz - 1 - k] = src[sOff + k]!;
        }
      }
    }
    const wf = ctx.tensor('conv_wflip', new Tensor(dst, [cinG * group, coutG, ...kernel]));
    return ctx.one('Conv', [gy, wf], { pads: backPads, dilations: sa.dilations, group, kernel_shape: kernel });
  }
  const ys = ctx.dims(n.outputs[0]!);
  const outPad = kernel.map((k, i) => xs[2 + i]! - (sa.strides[i]! * (ys[2 + i]! - 1) + (k - 1) * sa.dilations[i]! + 1 - sa.pads[i]! - sa.pads[i + s]!));
  const ct = ctx.one('ConvTranspose', [gy, wName], { strides: sa.strides, pads: sa.pads, dilations: sa.dilations, group, kernel_shape: kernel, output_padding: outPad });
  if (ctx.blockedLayout && xs.length === 4 && xs[1]! % 16 === 0 && ctx.producer(x)?.op === 'Relu') {
    // ConvTranspose has no NCHWc kernel: an identity depthwise 1×1 Conv takes its output back into the blocked layout
    // (ONNX Runtime reorders the Conv's input and fuses the gradient Sum that usually follows into it), so the
    // residual path's Sums and the ReLU mask that comes next stay blocked. Only after a Relu: where the next backward
    // op has no blocked kernel anyway (EfficientNet's SiLU) the extra conv is a loss (−4 % on EfficientNet-B0).
    // 16 = the NCHWc block on AVX-512 (8 on AVX2).
    const c = xs[1]!;
    return ctx.one('Conv', [ct, ctx.tensor('conv_identity', new Tensor(new Float32Array(c).fill(1), [c, 1, 1, 1]))], { group: c, kernel_shape: [1, 1] });
  }
  return ct;
}

/** ConvTranspose's explicit pads: from `pads`, or from `output_shape` / auto_pad as ONNX Runtime computes them. */
export function convTransposePads(ctx: InferContext | GradContext, x: number[], kernel: number[]): { pads: number[]; strides: number[]; dilations: number[]; outPad: number[] } {
  const n = ctx.node;
  const s = kernel.length;
  const strides = readInts(n, 'strides') ?? Array(s).fill(1);
  const dilations = readInts(n, 'dilations') ?? Array(s).fill(1);
  const outPad = readInts(n, 'output_padding') ?? Array(s).fill(0);
  let pads = readInts(n, 'pads') ?? Array(2 * s).fill(0);
  if (strides.length !== s || dilations.length !== s || outPad.length !== s || pads.length !== 2 * s) {
    ctx.fail('INVALID_MODEL', `strides [${strides}], dilations [${dilations}], output_padding [${outPad}] and pads [${pads}] do not match the ${s}-D kernel`);
  }
  if (outPad.some((p, i) => p >= Math.max(strides[i]!, dilations[i]!))) ctx.fail('INVALID_MODEL', `output_padding [${outPad}] must be smaller than the strides [${strides}] or dilations`, { attribute: 'output_padding' });
  const autoPad = readString(n, 'auto_pad', 'NOTSET');
  let outShape = readInts(n, 'output_shape');
  if (outShape && outShape.length === s + 2) outShape = outShape.slice(2);
  if (outShape && outShape.length !== s) ctx.fail('INVALID_MODEL', `output_shape [${outShape}] must have ${s} spatial values`, { attribute: 'output_shape' });
  if (!outShape && (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER')) outShape = kernel.map((_, i) => x[2 + i]! * strides[i]!);
  if (outShape || autoPad === 'VALID') {
    pads = Array(2 * s).fill(0);
    if (outShape) {
      for (let i = 0; i < s; i++) {
        const total = strides[i]! * (x[2 + i]! - 1) + outPad[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - outShape[i]!;
        if (total < 0) ctx.fail('UNSUPPORTED_OP', `output_shape [${outShape}] is larger than the transposed convolution produces without extra output_padding`, { attribute: 'output_shape' });
        // ONNX Runtime: SAME_UPPER puts the larger half at the end (pads the beginning with floor(total/2)).
        const head = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
        pads[i] = head;
        pads[i + s] = total - head;
      }
    }
  }
  return { pads, strides, dilations, outPad };
}

registerOp({
  op: 'ConvTranspose', family: 'conv', inputs: [2, 3], outputs: [1, 1], nondifferentiable: [1, 2],
  attrs: { ...SPATIAL_ATTRS, group: { type: 'int', min: 1 }, output_padding: { type: 'ints', min: 0 }, output_shape: { type: 'ints', min: 1 } },
  infer: (ctx) => {
    const { x, w, kernel, group } = convWeight(ctx);
    if (x[1] !== w[0]) ctx.fail('SHAPE_MISMATCH', `input has ${x[1]} channels but the weight [${w.join(', ')}] expects ${w[0]}`, { shape: x });
    if (x[1]! % group !== 0) ctx.fail('INVALID_MODEL', `${x[1]} input channels are not divisible by group ${group}`, { attribute: 'group' });
    const { pads, strides, dilations, outPad } = convTransposePads(ctx, x, kernel);
    const out = kernel.map((k, i) => strides[i]! * (x[2 + i]! - 1) + outPad[i]! + (k - 1) * dilations[i]! + 1 - pads[i]! - pads[i + kernel.length]!);
    if (out.some((o) => o < 1)) ctx.fail('SHAPE_MISMATCH', `the output would have spatial size [${out}]`);
    return [{ dims: [x[0]!, w[1]! * group, ...out], dtype: 'float32' }];
  },
  backward: (ctx) => {
    denyWeights(ctx);
    const n = ctx.node;
    const x = n.inputs[0]!;
    const w = n.inputs[1]!;
    const kernel = readInts(n, 'kernel_shape') ?? ctx.dims(w).slice(2);
    const { pads, strides, dilations } = convTransposePads(ctx, ctx.dims(x), kernel);
    ctx.add(0, ctx.one('Conv', [ctx.gy()!, w], { strides, pads, dilations, group: readInt(n, 'group', 1), kernel_shape: kernel }));
  },
});
