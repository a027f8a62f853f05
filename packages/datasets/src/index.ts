export * from './dataset.js';
export * from './idx.js';
export * from './files.js';
export * from './mnist.js';
export * from './cifar10.js';
export * from './download.js';
export * from './localization.js';
