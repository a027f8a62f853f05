/**
 * Saliency maps to pictures: colormaps, heat-map overlays on images and PNG grids, in pure TypeScript.
 *
 * @packageDocumentation
 * @module @whitebox/visualize
 */
export * from './colormaps.js';
export * from './render.js';
export * from './png.js';
export * from './grid.js';
export * from './text.js';
export * from './charts.js';
