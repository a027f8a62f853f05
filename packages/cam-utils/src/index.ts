/**
 * What the WhiteBox CAM methods share: layer resolution, ViT token grids, ReLU/upsampling/normalization, augSmooth and eigenSmooth.
 *
 * @packageDocumentation
 * @module @whitebox/cam-utils
 */
export * from './layer.js';
export * from './maps.js';
export * from './eigen.js';
export * from './augment.js';
export * from './cam.js';
