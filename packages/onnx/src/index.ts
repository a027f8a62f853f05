/**
 * ONNX model loading, graph building, shape inference and gradient-graph export (reverse-mode differentiation of ONNX models) for WhiteBox explanations.
 *
 * @packageDocumentation
 * @module @whitebox/onnx
 */
export * from './proto.js';
export * from './builder.js';
export {
  importModel, pruneGraph, forwardModelBytes, forwardSessionModel, cloneGraph, consumers, outputOpset,
  type IrGraph, type IrNode, type ImportOptions,
} from './graph.js';
export { inferGraph, inferShapes, GraphShapes, fixedBatch, type Infos } from './shapes.js';
export { prepareGraph, prepareModel, type PreparedModel } from './prepare.js';
export { buildGradientGraph, gradientGraphFromPrepared, gradientSessionModel, type GradientGraphOptions } from './gradient.js';
export {
  SESSION_INLINE_WEIGHT_BYTES, externalizeInitializers, externalRef, fileExternalDataReader, inlineExternalData, memoryExternalDataReader, normalizeLocation,
  type ExternalDataReader, type ExternalRef,
} from './external.js';
export { SUPPORTED_OPS, supportedOpsTable } from './supported.js';
export { registeredOps, getOp, type OpSchema, type TensorInfo, type ElemType } from './ops/index.js';
export { buildSimpleCnn, randomImages, type SimpleCnnOptions } from './testing.js';
export { loadModel, randomizeInitializers, exportGradientGraphs, readModelFile, sha256Hex, sha256OfParts, sessionOptimizationLevel, HUGE_GRAPH_NODES, defaultBatchSize, DEFAULT_RUN_ACTIVATION_BYTES } from './model.js';
export { modelLayers, defaultCamLayerOf } from './layers.js';
export { cutGraphAt, type CutModel } from './subgraph.js';
