export * from './colormaps.js';
export * from './render.js';
export * from './png.js';
export * from './grid.js';
export * from './text.js';
export * from './charts.js';
