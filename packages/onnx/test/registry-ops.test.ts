import { describe, it } from 'vitest';
import { Tensor } from '@whitebox/core';
import { i64 } from '@whitebox/onnx';
import { check, one, scalar, type Case } from './opcase.js';

/**
 * Every operator the registry added, under every ReLU rule, vs central finite differences of the forward model run
 * by ONNX Runtime: broadcasting, axes as attribute and as input, and the opset variants of each op.
 */

const elementwise: Case[] = [
  { name: 'Pow x^2 and x^3 (constant exponents)', dims: [2, 3, 4], body: (b, x) => one(b, 'Add', [one(b, 'Pow', [x, scalar(b, 'two', 2)]), one(b, 'Pow', [x, scalar(b, 'three', 3)])]) },
  { name: 'Pow with a dynamic exponent', dims: [2, 6], lo: 0.5, hi: 1.5, body: (b, x) => one(b, 'Pow', [x, one(b, 'Sigmoid', [x])]) },
  { name: 'Sqrt, Exp, Log, Reciprocal', dims: [2, 5], lo: 0.5, hi: 2, body: (b, x) => one(b, 'Add', [one(b, 'Sqrt', [x]), one(b, 'Mul', [one(b, 'Log', [x]), one(b, 'Reciprocal', [one(b, 'Exp', [x])])])]) },
  { name: 'Neg, Abs', dims: [2, 6], pw: true, body: (b, x) => one(b, 'Neg', [one(b, 'Abs', [x])]) },
  { name: 'Erf, Sin, Cos', dims: [2, 6], body: (b, x) => one(b, 'Add', [one(b, 'Erf', [x]), one(b, 'Mul', [one(b, 'Sin', [x]), one(b, 'Cos', [x])])]) },
  { name: 'Max / Min variadic with broadcasting', dims: [2, 3, 4], pw: true, body: (b, x, w) => one(b, 'Add', [one(b, 'Max', [x, w([1, 4]), one(b, 'Tanh', [x])]), one(b, 'Min', [x, w([3, 1])])]) },
  { name: 'Sum / Mean variadic with broadcasting', dims: [2, 3, 4], body: (b, x, w) => one(b, 'Sum', [one(b, 'Mean', [x, one(b, 'Mul', [x, x]), w([4])]), x, w([3, 1])]) },
  { name: 'Where with float branches (constant condition, broadcast)', dims: [2, 3, 4], body: (b, x, w) => one(b, 'Where', [one(b, 'Greater', [w([1, 4]), w([3, 1])]), one(b, 'Mul', [x, x]), one(b, 'Tanh', [x])]) },
  { name: 'Where with a computed condition (piecewise-linear branches)', dims: [2, 3, 4], pw: true, body: (b, x, w) => one(b, 'Where', [one(b, 'Greater', [x, w([1, 4])]), one(b, 'Mul', [x, scalar(b, 'k', 3)]), one(b, 'Add', [x, w([4])])]) },
  { name: 'Cast float to float, Floor (zero gradient) beside x', dims: [2, 6], pw: true, body: (b, x) => one(b, 'Add', [one(b, 'Cast', [x], { to: 1 }), one(b, 'Floor', [one(b, 'Mul', [x, scalar(b, 's', 3)])])]) },
];

const activations: Case[] = [
  { name: 'LeakyRelu (a ReLU-family op: the rules differ)', dims: [2, 2, 3, 3], pw: true, rules: true, body: (b, x) => one(b, 'LeakyRelu', [x], { alpha: 0.2 }) },
  { name: 'PRelu, per-channel slope', dims: [2, 3, 2, 2], pw: true, rules: true, body: (b, x, w) => one(b, 'PRelu', [x, w([3, 1, 1])]) },
  { name: 'Clip as ReLU6', dims: [2, 3, 4], pw: true, rules: true, lo: -1, hi: 7, h: 3e-3, body: (b, x) => one(b, 'Clip', [x, scalar(b, 'lo', 0), scalar(b, 'hi', 6)]) },
  { name: 'HardSigmoid', dims: [2, 8], lo: -4, hi: 4, pw: true, body: (b, x) => one(b, 'HardSigmoid', [x], { alpha: { type: 'float', value: 0.25 }, beta: { type: 'float', value: 0.4 } }) },
  { name: 'HardSwish on (-3, 3)', dims: [2, 8], lo: -2.9, hi: 2.9, opset: 14, body: (b, x) => one(b, 'HardSwish', [x]) },
  { name: 'HardSwish above 3 and below -3', dims: [2, 8], opset: 14, body: (b, x) => one(b, 'Add', [one(b, 'HardSwish', [one(b, 'Add', [x, scalar(b, 'up', 4.5)])]), one(b, 'HardSwish', [one(b, 'Sub', [x, scalar(b, 'down', 4.5)])])]) },
  { name: 'Elu, Selu, Celu', dims: [2, 6], pw: true, opset: 12, body: (b, x) => one(b, 'Add', [one(b, 'Elu', [x], { alpha: 0.7 }), one(b, 'Add', [one(b, 'Selu', [x]), one(b, 'Celu', [x], { alpha: 1.3 })])]) },
  { name: 'Softplus, Softsign, Mish (opset 18)', dims: [2, 6], opset: 18, body: (b, x) => one(b, 'Add', [one(b, 'Softplus', [x]), one(b, 'Add', [one(b, 'Softsign', [x]), one(b, 'Mish', [x])])]) },
  { name: 'Gelu (opset 20, exact and tanh)', dims: [2, 6], opset: 20, body: (b, x) => one(b, 'Add', [one(b, 'Gelu', [x]), one(b, 'Gelu', [x], { approximate: 'tanh' })]) },
  { name: 'Softmax axis 1 of a 3-D tensor, LogSoftmax last axis', dims: [2, 3, 4], body: (b, x) => one(b, 'Add', [one(b, 'Softmax', [x], { axis: 1 }), one(b, 'LogSoftmax', [x], { axis: -1 })]) },
  { name: 'Softmax opset 11 (coerced to 2-D from axis 1)', dims: [2, 3, 4], opset: 11, body: (b, x) => one(b, 'Softmax', [one(b, 'Mul', [x, scalar(b, 's', 2)])], { axis: 1 }) },
];

const normalization: Case[] = [
  { name: 'LayerNormalization over the last axis (opset 17)', dims: [2, 3, 8], body: (b, x, w) => one(b, 'LayerNormalization', [x, w([8], 1, 0.5), w([8])], { axis: -1, epsilon: { type: 'float', value: 1e-5 } }) },
  { name: 'LayerNormalization over the last two axes, no bias', dims: [2, 3, 2, 4], body: (b, x, w) => one(b, 'LayerNormalization', [x, w([2, 4], 1, 0.5)], { axis: -2 }) },
  { name: 'InstanceNormalization', dims: [2, 3, 3, 3], body: (b, x, w) => one(b, 'InstanceNormalization', [x, w([3], 1, 0.5), w([3])]) },
  { name: 'GroupNormalization opset 18 (per-group scale)', dims: [2, 4, 2, 3], opset: 18, body: (b, x, w) => one(b, 'GroupNormalization', [x, w([2], 1, 0.5), w([2])], { num_groups: 2 }) },
  { name: 'GroupNormalization opset 21 (per-channel scale)', dims: [2, 4, 2, 3], opset: 21, body: (b, x, w) => one(b, 'GroupNormalization', [x, w([4], 1, 0.5), w([4])], { num_groups: 2 }) },
];

const reductions: Case[] = [
  { name: 'ReduceMean axes attribute (opset 13), keepdims 0', dims: [2, 3, 4, 2], opset: 13, body: (b, x) => one(b, 'ReduceMean', [x], { axes: [2, -1], keepdims: 0 }) },
  { name: 'ReduceMean axes input (opset 18)', dims: [2, 3, 4, 2], opset: 18, body: (b, x) => one(b, 'ReduceMean', [x, b.initializer('ax', i64([1]))], { keepdims: 1 }) },
  { name: 'ReduceSum axes input (opset 13), ReduceSum attribute (opset 11)', dims: [2, 3, 4], body: (b, x) => one(b, 'ReduceSum', [one(b, 'Mul', [x, x]), b.initializer('ax', i64([1]))], { keepdims: 0 }) },
  { name: 'ReduceSum axes attribute (opset 11)', dims: [2, 3, 4], opset: 11, body: (b, x) => one(b, 'ReduceSum', [one(b, 'Tanh', [x])], { axes: [0 + 1, 2] }) },
  { name: 'ReduceMax (first maximum) and ReduceMin over two axes', dims: [2, 3, 4, 2], pw: true, body: (b, x) => one(b, 'Add', [one(b, 'ReduceMax', [x], { axes: [2, 3], keepdims: 1 }), one(b, 'ReduceMin', [x], { axes: [1], keepdims: 1 })]) },
  { name: 'ReduceL2, ReduceSumSquare, ReduceL1', dims: [2, 3, 4], lo: 0.2, hi: 1, body: (b, x) => one(b, 'Add', [one(b, 'ReduceL2', [x], { axes: [2], keepdims: 1 }), one(b, 'Add', [one(b, 'ReduceSumSquare', [x], { axes: [2], keepdims: 1 }), one(b, 'ReduceL1', [x], { axes: [2], keepdims: 1 })])]) },
  { name: 'GlobalMaxPool', dims: [2, 3, 3, 4], pw: true, body: (b, x) => one(b, 'GlobalMaxPool', [x]) },
];

const shapes: Case[] = [
  { name: 'Slice with steps 2, negative axis and a reversal', dims: [2, 3, 6, 5], body: (b, x) => one(b, 'Slice', [x, b.initializer('s', i64([1, -1])), b.initializer('e', i64([6, -100])), b.initializer('a', i64([2, -1])), b.initializer('st', i64([2, -2]))]) },
  { name: 'Slice opset 9 (attribute form)', dims: [2, 3, 6], opset: 9, body: (b, x) => one(b, 'Slice', [x], { starts: [1, 0], ends: [3, 4], axes: [1, 2] }) },
  { name: 'Split with sizes (opset 13), one output unused', dims: [2, 6, 3], body: (b, x) => { const [p, , r] = b.node('Split', [x, b.initializer('sp', i64([1, 2, 3]))], 3, { axis: 1 }); return one(b, 'Concat', [one(b, 'Tanh', [p!]), r!], { axis: 1 }); } },
  { name: 'Split attribute (opset 11) and num_outputs (opset 18)', dims: [2, 6, 3], opset: 11, body: (b, x) => { const [p, q] = b.node('Split', [x], 2, { axis: 1, split: [4, 2] }); return one(b, 'Mul', [p!, one(b, 'Concat', [q!, q!], { axis: 1 })]); } },
  { name: 'Split num_outputs (opset 18)', dims: [2, 6, 3], opset: 18, body: (b, x) => { const [p, q, r] = b.node('Split', [x], 3, { axis: 1, num_outputs: 3 }); return one(b, 'Concat', [r!, one(b, 'Mul', [p!, q!])], { axis: 1 }); } },
  { name: 'Gather on float data: a token (scalar index) and repeated, negative indices', dims: [2, 5, 3], body: (b, x) => one(b, 'Concat', [one(b, 'Gather', [x, b.initializer('i0', new Tensor(BigInt64Array.of(0n), []))], { axis: 1 }), one(b, 'Flatten', [one(b, 'Gather', [x, b.initializer('i1', i64([4, -1, 2]))], { axis: 1 })])], { axis: 1 }) },
  { name: 'Expand (broadcast) and Tile', dims: [2, 1, 3], body: (b, x) => one(b, 'Add', [one(b, 'Expand', [x, b.initializer('sh', i64([4, 3]))]), one(b, 'Tile', [one(b, 'Tanh', [x]), b.initializer('rep', i64([1, 4, 1]))])]) },
  { name: 'Pad with negative pads (cropping) and axes (opset 18)', dims: [2, 3, 5], opset: 18, body: (b, x) => one(b, 'Pad', [x, b.initializer('p', i64([1, -1, -2, 2])), scalar(b, 'v', 0.5), b.initializer('ax', i64([1, 2]))]) },
  { name: 'Flatten negative axis, Squeeze/Unsqueeze with negative axes', dims: [2, 3, 1, 4], body: (b, x) => one(b, 'Flatten', [one(b, 'Unsqueeze', [one(b, 'Tanh', [one(b, 'Squeeze', [x, b.initializer('sq', i64([-2]))])]), b.initializer('ax', i64([2]))])], { axis: -3 }) },
];

const spatial: Case[] = [
  { name: 'AveragePool ceil_mode, exclude pad', dims: [2, 2, 5, 5], body: (b, x) => one(b, 'AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }) },
  { name: 'AveragePool ceil_mode with pads, include pad', dims: [2, 2, 6, 7], body: (b, x) => one(b, 'AveragePool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 }) },
  { name: 'AveragePool floor mode dropping rows (remainder ≥ stride)', dims: [2, 2, 7, 7], body: (b, x) => one(b, 'AveragePool', [x], { kernel_shape: [2, 2], strides: [3, 3] }) },
  { name: 'MaxPool with dilations (Indices path)', dims: [2, 2, 6, 6], pw: true, body: (b, x) => one(b, 'MaxPool', [x], { kernel_shape: [2, 2], dilations: [2, 2] }) },
  { name: 'MaxPool 1-D', dims: [2, 3, 8], pw: true, body: (b, x) => one(b, 'MaxPool', [x], { kernel_shape: [3], strides: [2] }) },
  { name: 'Conv 1-D', dims: [2, 3, 8], body: (b, x, w) => one(b, 'Conv', [x, w([4, 3, 3])], { pads: [1, 1] }) },
  { name: 'ConvTranspose output_shape', dims: [2, 3, 3, 3], body: (b, x, w) => one(b, 'ConvTranspose', [x, w([3, 2, 3, 3])], { strides: [2, 2], output_shape: [6, 6] }) },
  { name: 'ConvTranspose auto_pad SAME_UPPER', dims: [2, 3, 3, 3], body: (b, x, w) => one(b, 'ConvTranspose', [x, w([3, 2, 2, 2])], { strides: [2, 2], auto_pad: 'SAME_UPPER' }) },
];

const matmul: Case[] = [
  { name: 'MatMul batched [N, h, T, d] × [N, h, d, T] (attention scores)', dims: [2, 2, 3, 4], body: (b, x) => one(b, 'MatMul', [x, one(b, 'Transpose', [one(b, 'Tanh', [x])], { perm: [0, 1, 3, 2] })]) },
  { name: 'MatMul broadcast [N, h, T, d] × [d, e]', dims: [2, 2, 3, 4], body: (b, x, w) => one(b, 'MatMul', [x, w([4, 5])]) },
  { name: 'Einsum attention patterns', dims: [2, 2, 3, 4], body: (b, x) => { const s = one(b, 'Einsum', [x, one(b, 'Sigmoid', [x])], { equation: 'bhid,bhjd->bhij' }); return one(b, 'Einsum', [one(b, 'Softmax', [s], { axis: -1 }), x], { equation: 'bhij,bhjd->bhid' }); } },
  { name: 'Einsum with a summed-only index and one operand', dims: [2, 3, 4], body: (b, x, w) => one(b, 'Add', [one(b, 'Einsum', [x, w([5])], { equation: 'nij,k->ni' }), one(b, 'Einsum', [x], { equation: 'nij->ni' })]) },
];

const resize: Case[] = [
  { name: 'Resize nearest ×2 (asymmetric, floor: nn.Upsample)', dims: [2, 2, 3, 3], opset: 13, body: (b, x) => one(b, 'Resize', [x, '', b.initializer('sc', Tensor.from([1, 1, 2, 2], [4]))], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }) },
  { name: 'Resize nearest to sizes 5→7, 5→3 (half_pixel, round_prefer_floor; axes, opset 18)', dims: [2, 2, 5, 5], opset: 18, body: (b, x) => one(b, 'Resize', [x, '', '', b.initializer('sz', i64([7, 3]))], { mode: 'nearest', axes: [2, 3] }) },
  { name: 'Resize linear half_pixel ×1.5', dims: [2, 2, 4, 4], body: (b, x) => one(b, 'Resize', [x, '', b.initializer('sc', Tensor.from([1, 1, 1.5, 1.5], [4]))], { mode: 'linear' }) },
  { name: 'Resize linear align_corners to sizes (axes, opset 18)', dims: [2, 2, 3, 4], opset: 18, body: (b, x) => one(b, 'Resize', [x, '', '', b.initializer('sz', i64([5, 7]))], { mode: 'linear', coordinate_transformation_mode: 'align_corners', axes: [2, 3] }) },
  { name: 'Resize linear pytorch_half_pixel downsampling 6→4 (scales)', dims: [2, 2, 6, 6], body: (b, x) => one(b, 'Resize', [x, '', b.initializer('sc', Tensor.from([1, 1, 2 / 3, 2 / 3], [4]))], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }) },
  { name: 'Resize cubic (A = -0.75)', dims: [2, 1, 4, 4], body: (b, x) => one(b, 'Resize', [x, '', b.initializer('sc', Tensor.from([1, 1, 2, 2], [4]))], { mode: 'cubic', cubic_coeff_a: { type: 'float', value: -0.75 } }) },
  { name: 'Upsample opset 9 (nearest, scales input)', dims: [2, 2, 3, 3], opset: 9, body: (b, x) => one(b, 'Upsample', [x, b.initializer('sc', Tensor.from([1, 1, 2, 3], [4]))], { mode: 'nearest' }) },
  { name: 'Upsample opset 9 linear', dims: [2, 2, 3, 3], opset: 9, body: (b, x) => one(b, 'Upsample', [x, b.initializer('sc', Tensor.from([1, 1, 2, 2], [4]))], { mode: 'linear' }) },
  { name: 'Resize opset 10 (scales only, asymmetric)', dims: [2, 2, 3, 3], opset: 10, body: (b, x) => one(b, 'Resize', [x, b.initializer('sc', Tensor.from([1, 1, 2, 2], [4]))], { mode: 'linear' }) },
];

for (const [family, cases] of Object.entries({ elementwise, activations, normalization, reductions, shapes, spatial, matmul, resize })) {
  describe(`registry ops vs finite differences: ${family}`, () => {
    for (const c of cases) it(c.name, () => check(c));
  });
}

