/**
 * MNIST, CIFAR-10 and a seeded MNIST localization benchmark for WhiteBox: loaders, checksummed downloader with cache, the Dataset type.
 *
 * @packageDocumentation
 * @module @whitebox/datasets
 */
export * from './dataset.js';
export * from './idx.js';
export * from './files.js';
export * from './mnist.js';
export * from './cifar10.js';
export * from './download.js';
export * from './localization.js';
