import * as tf from '@tensorflow/tfjs-core';
import { backend_util, getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type TensorInfo, type NamedAttrMap } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { WhiteBoxError } from '@whitebox/core';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function kernel(name: string, backendName: string): KernelFunc {
  const k = getKernel(name, backendName);
  if (!k) throw new WhiteBoxError('BACKEND_UNAVAILABLE', `tfjs kernel ${name} is not registered for backend ${backendName}`);
  return k.kernelFunc;
}

function checkSupported(op: string, attrs: ConvAttrs): void {
  const s = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
  const d = attrs.dilations === undefined ? [1, 1] : typeof attrs.dilations === 'number' ? [attrs.dilations, attrs.dilations] : attrs.dilations;
  if (s[0] !== 1 || s[1] !== 1 || d[0] !== 1 || d[1] !== 1 || attrs.dataFormat === 'NCHW') {
    throw new WhiteBoxError('UNSUPPORTED_OP', `${op} (wasm, WhiteBox kernel): only stride 1, dilation 1, NHWC is supported; got strides [${s.join(', ')}], dilations [${d.join(', ')}], dataFormat ${attrs.dataFormat}`, { op });
  }
}

/** The forward convolution's padding (top, bottom, left, right) for input [N,H,W,C] and filter [fh,fw,ci,co]. */
function padsOf(xShape: number[], filterShape: number[], attrs: ConvAttrs): { top: number; bottom: number; left: number; right: number } {
  const info = backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], 1, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  return info.padInfo;
}

function explicit(top: number, bottom: number, left: number, right: number): backend_util.ExplicitPadding {
  return [[0, 0], [top, bottom], [left, right], [0, 0]];
}

/**
 * Conv2DBackpropInput (stride 1) as a forward convolution of dy with the spatially flipped filter whose in/out
 * channels are swapped, padded by (fh−1−top, fh−1−bottom, fw−1−left, fw−1−right).
 */
function backpropInputKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
    checkSupported('Conv2DBackpropInput', a);
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const b = backend as unknown as { disposeData(id: object): void };
    const [fh, fw] = filter.shape as [number, number, number, number];
    const p = padsOf(a.inputShape, filter.shape, a);
    const reversed = kernel('Reverse', backendName)({ inputs: { x: filter }, backend, attrs: { dims: [0, 1] } as unknown as NamedAttrMap }) as TensorInfo;
    const flipped = kernel('Transpose', backendName)({ inputs: { x: reversed }, backend, attrs: { perm: [0, 1, 3, 2] } as unknown as NamedAttrMap }) as TensorInfo;
    b.disposeData(reversed.dataId);
    const out = kernel('Conv2D', backendName)({
      inputs: { x: dy, filter: flipped },
      backend,
      attrs: { strides: [1, 1], pad: explicit(fh - 1 - p.top, fh - 1 - p.bottom, fw - 1 - p.left, fw - 1 - p.right), dataFormat: 'NHWC', dilations: [1, 1] } as unknown as NamedAttrMap,
    }) as TensorInfo;
    b.disposeData(flipped.dataId);
    return out;
  };
}

/**
 * Conv2DBackpropFilter (stride 1) as a forward convolution: the input transposed to [Ci, H, W, N] (channels as
 * batch, batch as channels) convolved with dy transposed to [Ho, Wo, N, Co], same padding as the forward pass,
 * gives [Ci, fh, fw, Co], transposed back to [fh, fw, Ci, Co].
 */
function backpropFilterKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
    checkSupported('Conv2DBackpropFilter', a);
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const b = backend as unknown as { disposeData(id: object): void };
    const p = padsOf(x.shape, a.filterShape, a);
    const transpose = kernel('Transpose', backendName);
    const xt = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } as unknown as NamedAttrMap }) as TensorInfo;
    const dyt = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } as unknown as NamedAttrMap }) as TensorInfo;
    const conv = kernel('Conv2D', backendName)({
      inputs: { x: xt, filter: dyt },
      backend,
      attrs: { strides: [1, 1], pad: explicit(p.top, p.bottom, p.left, p.right), dataFormat: 'NHWC', dilations: [1, 1] } as unknown as NamedAttrMap,
    }) as TensorInfo;
    b.disposeData(xt.dataId);
    b.disposeData(dyt.dataId);
    const out = transpose({ inputs: { x: conv }, backend, attrs: { perm: [1, 2, 0, 3] } as unknown as NamedAttrMap }) as TensorInfo;
    b.disposeData(conv.dataId);
    return out;
  };
}

function replaceKernel(config: KernelConfig): void {
  if (getKernel(config.kernelName, config.backendName)) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
}

let registered = false;

/** Registers WhiteBox's Conv2DBackpropInput / Conv2DBackpropFilter kernels for the tfjs wasm backend. Idempotent. */
export function registerWasmTrainingKernels(backendName = 'wasm'): void {
  if (registered && backendName === 'wasm') return;
  replaceKernel({ kernelName: tf.Conv2DBackpropInput, backendName, kernelFunc: backpropInputKernel(backendName) });
  replaceKernel({ kernelName: tf.Conv2DBackpropFilter, backendName, kernelFunc: backpropFilterKernel(backendName) });
  if (backendName === 'wasm') registered = true;
}
