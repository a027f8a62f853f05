/**
 * Small networks for the CAM-family tests: a hand net (TinyModel, a 2-channel 2×2 layer) whose maps are worked out by
 * hand, ONNX models built node by node (linear after global pooling, a residual block, an auxiliary head), and a model
 * that returns fixed layer tensors (token layers, rank-1 activations).
 */
import {
  type ForwardResult, type GradientOptions, type GradientResult, type LayerInfo, type Model, type Targets,
  Rng, Tensor, targetsToCotangent,
} from '@whitebox/core';
import { GraphBuilder, f32 } from '@whitebox/onnx';
import { TinyModel } from '../../vanilla-gradient/test/fixtures/tiny-model.js';

export { expectClose } from '../../vanilla-gradient/test/fixtures/hand-nets.js';

/**
 * Hand net C: input 1×2×2, conv centre weights [1, −1], biases [0, 1] (z1_0 = x, z1_1 = 1 − x, both ≥ 0 on [0, 1], so
 * layer relu1 = A0 = x, A1 = 1 − x), fc rows [1 1 1 1 | 0 0 0 0] and [0 0 0 0 | 1 0 0 2], logits [z2_0, −z2_0 + z2_1].
 * At x = [0.2, 0.4, 0.6, 1.0]: A0 = [0.2, 0.4, 0.6, 1.0], A1 = [0.8, 0.6, 0.4, 0.0], z2 = [2.2, 0.8], logits [2.2, −1.4].
 * Gradients at relu1: target 0: g0 = [1, 1, 1, 1], g1 = 0 (an all-zero channel); target 1: g0 = −1, g1 = [1, 0, 0, 2].
 */
export function handNetC(): { model: TinyModel; input: Tensor } {
  const centre = (...v: number[]) => { const o = new Float64Array(9 * v.length); v.forEach((x, k) => (o[k * 9 + 4] = x)); return o; };
  const model = new TinyModel({
    channels: 1, height: 2, width: 2, K: 2, M: 2, classes: 2,
    convW: centre(1, -1), convB: Float64Array.from([0, 1]),
    w2: Float64Array.from([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2]), b2: new Float64Array(2),
    w3: Float64Array.from([1, 0, -1, 1]), b3: new Float64Array(2),
  });
  return { model, input: Tensor.from([0.2, 0.4, 0.6, 1.0], [1, 1, 2, 2]) };
}

function randn(rng: Rng, dims: number[], scale: number, offset = 0): Tensor {
  const t = Tensor.zeros(dims);
  for (let i = 0; i < t.size; i++) t.data[i] = offset + rng.normal() * scale;
  return t;
}

/**
 * Linear after global pooling: input [N, C, H, W] → Conv3×3 pad 1 (K filters) → Relu ('feat') → [MaxPool 2 ('pooled')]
 * → GlobalAveragePool → Flatten → Gemm(fc [classes, K], bias): logits = fc · mean_ij(A) + b. `fc` given or random.
 */
export function gapLinearModel(o: { c?: number; h?: number; w?: number; k?: number; classes?: number; seed?: number; fc?: number[]; pool?: boolean } = {}): { bytes: Uint8Array; fc: Float32Array; bias: Float32Array } {
  const { c = 1, h = 6, w = 6, k = 3, classes = 3, seed = 1, pool = false } = o;
  const rng = new Rng(seed);
  const b = new GraphBuilder('gap-linear');
  b.input('input', ['N', c, h, w]);
  b.initializer('conv.w', randn(rng, [k, c, 3, 3], 0.6));
  b.initializer('conv.b', randn(rng, [k], 0.1, 0.2));
  b.node('Conv', ['input', 'conv.w', 'conv.b'], ['conv'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv');
  let x = b.node('Relu', ['conv'], ['feat'], {}, 'relu')[0]!;
  if (pool) x = b.node('MaxPool', [x], ['pooled'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool')[0]!;
  b.node('GlobalAveragePool', [x], ['gap'], {}, 'gap');
  b.node('Flatten', ['gap'], ['flat'], { axis: 1 }, 'flatten');
  const fc = o.fc ? Float32Array.from(o.fc) : randn(rng, [classes, k], 1).data;
  const bias = randn(rng, [classes], 0.3).data;
  b.initializer('fc.w', new Tensor(fc, [classes, k]));
  b.initializer('fc.b', new Tensor(bias, [classes]));
  b.node('Gemm', ['flat', 'fc.w', 'fc.b'], ['logits'], { transB: 1 }, 'fc');
  b.output('logits', ['N', classes]);
  return { bytes: b.toModelBytes(), fc, bias };
}

/**
 * A residual classifier: input [N, C, 8, 8] → conv1 → relu 'r1' → conv2 → relu 'r2' → conv3 → Add(conv3, r1) → relu
 * 'r3' → MaxPool 2 → GlobalAveragePool → Flatten → Gemm(classes). Its default CAM layer is r3; cutting at
 * 'r2' needs r1 (the skip), so the sub-model also takes the input. With `split`, also returns the hand-built sub-model
 * from 'r2' (inputs r2 and the image) as an independent reference for the cut.
 */
export function residualModel(o: { c?: number; width?: number; classes?: number; seed?: number; size?: number } = {}): { bytes: Uint8Array; fromR2: Uint8Array } {
  const { c = 3, width = 6, classes = 5, seed = 3, size = 8 } = o;
  const build = (cutAtR2: boolean) => {
    const rng = new Rng(seed);
    const b = new GraphBuilder(cutAtR2 ? 'residual-from-r2' : 'residual');
    b.input('input', ['N', c, size, size]);
    const conv = (name: string, inp: string, cin: number, init: boolean) => {
      const wt = randn(rng, [width, cin, 3, 3], Math.sqrt(2 / (cin * 9)));
      const bs = randn(rng, [width], 0.05);
      if (!init) return; // same random draws, nothing added
      b.initializer(`${name}.w`, wt);
      b.initializer(`${name}.b`, bs);
      b.node('Conv', [inp, `${name}.w`, `${name}.b`], [name], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, name);
    };
    conv('conv1', 'input', c, true);
    b.node('Relu', ['conv1'], ['r1'], {}, 'relu1');
    if (cutAtR2) {
      conv('conv2', 'r1', width, false);
      b.input('r2', ['N', width, size, size]);
    } else {
      conv('conv2', 'r1', width, true);
      b.node('Relu', ['conv2'], ['r2'], {}, 'relu2');
    }
    conv('conv3', 'r2', width, true);
    b.node('Add', ['conv3', 'r1'], ['sum'], {}, 'add');
    b.node('Relu', ['sum'], ['r3'], {}, 'relu3');
    b.node('MaxPool', ['r3'], ['p3'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool3');
    b.node('GlobalAveragePool', ['p3'], ['gap'], {}, 'gap');
    b.node('Flatten', ['gap'], ['flat'], { axis: 1 }, 'flatten');
    b.initializer('fc.w', randn(rng, [classes, width], 1));
    b.initializer('fc.b', randn(rng, [classes], 0.1));
    b.node('Gemm', ['flat', 'fc.w', 'fc.b'], ['logits'], { transB: 1 }, 'fc');
    b.output('logits', ['N', classes]);
    return b.toModelBytes();
  };
  return { bytes: build(false), fromR2: build(true) };
}

/** A model with an auxiliary head: outputs [logits, aux]; the aux branch ('aux_feat') feeds only the second output. */
export function auxHeadModel(): Uint8Array {
  const rng = new Rng(5);
  const b = new GraphBuilder('aux-head');
  b.input('input', ['N', 1, 6, 6]);
  b.initializer('conv.w', randn(rng, [2, 1, 3, 3], 0.5));
  b.node('Conv', ['input', 'conv.w'], ['conv'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv');
  b.node('Relu', ['conv'], ['feat'], {}, 'relu');
  b.initializer('aux.w', randn(rng, [2, 2, 3, 3], 0.5));
  b.node('Conv', ['feat', 'aux.w'], ['aux_conv'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'aux_conv');
  b.node('Relu', ['aux_conv'], ['aux_feat'], {}, 'aux_relu');
  b.node('GlobalAveragePool', ['aux_feat'], ['aux_gap'], {}, 'aux_gap');
  b.node('Flatten', ['aux_gap'], ['aux'], { axis: 1 }, 'aux_flat');
  b.node('GlobalAveragePool', ['feat'], ['gap'], {}, 'gap');
  b.node('Flatten', ['gap'], ['flat'], { axis: 1 }, 'flatten');
  b.initializer('fc.w', f32([1, -1, -1, 1, 0.5, 0.5], [3, 2]));
  b.node('Gemm', ['flat', 'fc.w'], ['logits'], { transB: 1 }, 'fc');
  b.output('logits', ['N', 3]);
  b.output('aux', ['N', 2]);
  return b.toModelBytes();
}

/**
 * A model whose layer 'feat' returns fixed tensors for every input item (activation and gradient, item shape `dims`);
 * the logits are the dot products of the activation with per-class weights (so Score-CAM-like callers still run).
 * For tokens, `grid` is the layer's LayerInfo.grid.
 */
export class FixedLayerModel implements Model {
  readonly inputName = 'input';
  readonly inputShape: readonly (number | null)[];
  readonly numClasses = 2;
  readonly layers: readonly LayerInfo[];
  readonly defaultCamLayer = 'feat';
  readonly backendName = 'js';
  readonly executionProvider = 'cpu' as const;
  readonly modelBytes = new Uint8Array(0);
  readonly modelHash = 'fixed';

  constructor(readonly activation: Float32Array, readonly gradient: Float32Array, readonly dims: number[], grid?: LayerInfo['grid'], input: number[] = [1, 4, 4]) {
    this.inputShape = [null, ...input];
    this.layers = [{ name: 'feat', op: 'Relu', shape: [null, ...dims], ...(grid ? { grid } : {}) }];
  }

  async forward(input: Tensor): Promise<ForwardResult> {
    const n = input.batchSize;
    const logits = new Float32Array(n * 2);
    for (let b = 0; b < n; b++) {
      let s = 0;
      for (let i = 0; i < input.itemSize; i++) s += input.data[b * input.itemSize + i]!;
      logits[b * 2] = s;
      logits[b * 2 + 1] = -s;
    }
    return { logits: new Tensor(logits, [n, 2]), probabilities: new Tensor(logits.map(() => 0.5), [n, 2]), predictions: new Int32Array(n) };
  }

  async gradients(input: Tensor, targets: Targets, options: GradientOptions = {}): Promise<GradientResult> {
    const n = input.batchSize;
    targetsToCotangent(targets, n, 2);
    const rep = (d: Float32Array) => { const o = new Float32Array(n * d.length); for (let b = 0; b < n; b++) o.set(d, b * d.length); return new Tensor(o, [n, ...this.dims]); };
    const layers: GradientResult['layers'] = {};
    for (const l of options.layers ?? []) layers[l] = { activation: rep(this.activation), gradient: rep(this.gradient) };
    return { logits: (await this.forward(input)).logits, layers };
  }

  async dispose(): Promise<void> {}
}
