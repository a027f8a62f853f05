import { Tensor, WhiteBoxError } from '@whitebox/core';
import { GraphBuilder } from '@whitebox/onnx';
import { BN_EPSILON, featureSize, resolvedWidths, type ParamMap, type SimpleCNNConfig } from './model.js';

/**
 * Exports a trained SimpleCNN as ONNX (opset 17): input 'input' [N, C, H, W] pixels in [0, 1]; Sub/Div
 * normalization at the front; one [Conv 3×3 pad 1 → BatchNormalization (running statistics) → Relu → MaxPool 2×2] per
 * width (3 by default); Flatten → Gemm → Relu → Gemm → output 'logits' [N, classes]. Tensor names: normalized, conv{k},
 * bn{k}, relu{k}, pool{k}, flatten, fc1, relu{blocks + 1} (relu4 by default), logits (as in @whitebox/onnx's buildSimpleCnn). Weights are converted from
 * tfjs layouts (HWIO filters, NHWC flatten order) to ONNX's (OIHW, NCHW flatten order).
 */
export function exportSimpleCNN(cfg: SimpleCNNConfig, params: ParamMap, norm: { mean: number[]; std: number[] }, name = 'SimpleCNN'): Uint8Array {
  const widths = resolvedWidths(cfg);
  const hidden = cfg.hidden ?? 1024;
  const C = cfg.channels;
  if (norm.mean.length !== C || norm.std.length !== C) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `exportSimpleCNN: mean/std need ${C} values, got ${norm.mean.length}/${norm.std.length}`);
  }
  const get = (k: string, n: number): Float32Array => {
    const a = params[k];
    if (!a || a.length !== n) throw new WhiteBoxError('INVALID_ARGUMENT', `exportSimpleCNN: parameter '${k}' ${a ? `has ${a.length} values, expected ${n}` : 'is missing'}`, { param: k });
    return a;
  };
  const b = new GraphBuilder(name);
  b.input('input', ['N', C, cfg.height, cfg.width]);
  b.initializer('norm_mean', Tensor.from(norm.mean, [1, C, 1, 1]));
  b.initializer('norm_std', Tensor.from(norm.std, [1, C, 1, 1]));
  b.node('Sub', ['input', 'norm_mean'], ['centered'], {}, 'normalize_sub');
  let x = b.node('Div', ['centered', 'norm_std'], ['normalized'], {}, 'normalize_div')[0]!;
  let cin = C;
  widths.forEach((cout, i) => {
    const k = i + 1;
    const w = get(`conv${k}.w`, 9 * cin * cout); // [kh, kw, cin, cout]
    const oihw = new Float32Array(w.length);
    for (let kh = 0; kh < 3; kh++)
      for (let kw = 0; kw < 3; kw++)
        for (let ci = 0; ci < cin; ci++)
          for (let co = 0; co < cout; co++) oihw[((co * cin + ci) * 3 + kh) * 3 + kw] = w[((kh * 3 + kw) * cin + ci) * cout + co]!;
    b.initializer(`conv${k}.weight`, new Tensor(oihw, [cout, cin, 3, 3]));
    b.initializer(`conv${k}.bias`, Tensor.zeros([cout]));
    b.node('Conv', [x, `conv${k}.weight`, `conv${k}.bias`], [`conv${k}`], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, `conv${k}`);
    b.initializer(`bn${k}.scale`, new Tensor(get(`bn${k}.gamma`, cout).slice(), [cout]));
    b.initializer(`bn${k}.bias`, new Tensor(get(`bn${k}.beta`, cout).slice(), [cout]));
    b.initializer(`bn${k}.mean`, new Tensor(get(`bn${k}.mean`, cout).slice(), [cout]));
    b.initializer(`bn${k}.var`, new Tensor(get(`bn${k}.var`, cout).slice(), [cout]));
    b.node('BatchNormalization', [`conv${k}`, `bn${k}.scale`, `bn${k}.bias`, `bn${k}.mean`, `bn${k}.var`], [`bn${k}`], { epsilon: { type: 'float', value: BN_EPSILON } }, `bn${k}`);
    b.node('Relu', [`bn${k}`], [`relu${k}`], {}, `relu${k}`);
    x = b.node('MaxPool', [`relu${k}`], [`pool${k}`], { kernel_shape: [2, 2], strides: [2, 2] }, `pool${k}`)[0]!;
    cin = cout;
  });
  b.node('Flatten', [x], ['flatten'], { axis: 1 }, 'flatten');
  const f = featureSize(cfg);
  const F = f.h * f.w * f.c;
  const w1 = get('fc1.w', F * hidden); // rows in (h, w, c) order
  const g1 = new Float32Array(F * hidden); // [hidden, F] with F in (c, h, w) order
  for (let c = 0; c < f.c; c++)
    for (let hh = 0; hh < f.h; hh++)
      for (let ww = 0; ww < f.w; ww++) {
        const src = ((hh * f.w + ww) * f.c + c) * hidden;
        const col = (c * f.h + hh) * f.w + ww;
        for (let j = 0; j < hidden; j++) g1[j * F + col] = w1[src + j]!;
      }
  b.initializer('fc1.weight', new Tensor(g1, [hidden, F]));
  b.initializer('fc1.bias', new Tensor(get('fc1.b', hidden).slice(), [hidden]));
  b.node('Gemm', ['flatten', 'fc1.weight', 'fc1.bias'], ['fc1'], { transB: 1 }, 'fc1');
  // relu4 for the default 3 blocks (buildSimpleCnn's name); one past the last block's ReLU in general.
  const denseRelu = `relu${widths.length + 1}`;
  b.node('Relu', ['fc1'], [denseRelu], {}, denseRelu);
  const K = cfg.classes;
  const w2 = get('fc2.w', hidden * K);
  const g2 = new Float32Array(hidden * K);
  for (let j = 0; j < hidden; j++) for (let k = 0; k < K; k++) g2[k * hidden + j] = w2[j * K + k]!;
  b.initializer('fc2.weight', new Tensor(g2, [K, hidden]));
  b.initializer('fc2.bias', new Tensor(get('fc2.b', K).slice(), [K]));
  b.node('Gemm', [denseRelu, 'fc2.weight', 'fc2.bias'], ['logits'], { transB: 1 }, 'fc2');
  b.output('logits', ['N', K]);
  return b.toModelBytes({ opset: 17, producer: 'whitebox-train' });
}
