import { WhiteBoxError } from './errors.js';
import { Tensor, type TensorData } from './tensor.js';

type OrtTensorLike = { type: string; data: unknown; dims: readonly number[] };
type OrtTensorCtor<T> = new (type: 'float32' | 'int32' | 'uint8' | 'int64', data: TensorData, dims: readonly number[]) => T;

/** WhiteBox tensor -> ONNX Runtime tensor (no copy). Shared by the ONNX Runtime backends (core never imports a runtime). */
export function toOrtTensor<T>(Ctor: OrtTensorCtor<T>, t: Tensor<TensorData>): T {
  return new Ctor(t.dtype, t.data, t.dims);
}

/** ONNX Runtime tensor -> WhiteBox tensor (no copy for the supported types). */
export function fromOrtTensor(t: OrtTensorLike): Tensor<TensorData> {
  const data = t.data;
  if (data instanceof Float32Array || data instanceof Int32Array || data instanceof Uint8Array || data instanceof BigInt64Array) {
    return new Tensor(data, [...t.dims]);
  }
  if (t.type === 'bool' && data instanceof Uint8Array) return new Tensor(data, [...t.dims]);
  throw new WhiteBoxError('RUNTIME_ERROR', `unsupported output tensor type '${t.type}'`);
}
