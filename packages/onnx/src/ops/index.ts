/** The operator registry with every family registered (import order is irrelevant: each file registers its ops). */
import './activation.js';
import './conv.js';
import './elementwise.js';
import './matmul.js';
import './normalization.js';
import './pool.js';
import './reduce.js';
import './resize.js';
import './shape.js';

export * from './registry.js';
export { spatialAttrs, spatialOut, type SpatialAttrs } from './common.js';
