export * from './proto.js';
export * from './builder.js';
export {
  SUPPORTED_OPS, importModel, inferShapes, prepareGraph, pruneGraph, validateOps, forwardModelBytes,
  type IrGraph, type IrNode, type Shapes,
} from './graph.js';
export { buildGradientGraph, prepareModel, gradientGraphFromPrepared, type GradientGraphOptions, type PreparedModel } from './gradient.js';
export { buildSimpleCnn, randomImages, type SimpleCnnOptions } from './testing.js';
export { loadModel, randomizeInitializers, exportGradientGraphs, readModelFile, sha256Hex, modelLayers, defaultCamLayerOf } from './model.js';
