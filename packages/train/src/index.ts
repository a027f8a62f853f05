/**
 * Train the WhiteBox SimpleCNN with tfjs on the WebAssembly backend and export it to ONNX (ROAR/KAR retraining).
 *
 * @packageDocumentation
 * @module @whitebox/train
 */
export { initTf, tf, wasmDir } from './tf.js';
export { registerWasmTrainingKernels } from './kernels.js';
export * from './model.js';
export * from './augment.js';
export * from './train.js';
export * from './classifier.js';
export * from './export.js';
export * from './card.js';
export * from './worker.js';
