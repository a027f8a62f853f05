/**
 * The whitebox command line: explain ONNX image classifiers with saliency maps, export gradient graphs, evaluate methods and write reports.
 *
 * @packageDocumentation
 * @module @whitebox/cli
 */
export { progressBar, type ProgressBar } from './progress.js';
