export * from './layer.js';
export * from './maps.js';
export * from './eigen.js';
export * from './augment.js';
export * from './cam.js';
