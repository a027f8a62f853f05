export { initTf, tf, wasmDir } from './tf.js';
export { registerWasmTrainingKernels } from './kernels.js';
export * from './model.js';
export * from './augment.js';
export * from './train.js';
export * from './classifier.js';
export * from './export.js';
export * from './card.js';
export * from './worker.js';
