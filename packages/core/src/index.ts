/**
 * Tensors, the backend, model and attribution interfaces, seeded RNG, batching and map post-processing shared by every WhiteBox package.
 *
 * @packageDocumentation
 * @module @whitebox/core
 */
export * from './errors.js';
export * from './tensor.js';
export * from './rng.js';
export * from './backend.js';
export * from './model.js';
export * from './progress.js';
export * from './targets.js';
export * from './batching.js';
export * from './postprocess.js';
export * from './attribution.js';
export * from './ort-interop.js';
export * from './method-utils.js';
export * from './limits.js';
export * from './files.js';
