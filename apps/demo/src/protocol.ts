// Messages between the page (main thread) and the explanation worker.
import type { Device } from '@whitebox/core';

export type ShippedModel = 'mnist' | 'cifar10';
export type MethodId =
  | 'vanilla-gradient'
  | 'input-x-gradient'
  | 'deconvnet'
  | 'guided-backprop'
  | 'integrated-gradients'
  | 'grad-cam'
  | 'guided-grad-cam'
  | CamMethodId;
/** The CAM family and Occlusion (shown plain, in their own table). */
export type CamMethodId = 'grad-cam-plus-plus' | 'xgrad-cam' | 'hires-cam' | 'layer-cam' | 'score-cam' | 'ablation-cam' | 'eigen-cam' | 'occlusion';
export type Ensemble = 'none' | 'smoothgrad' | 'smoothgrad-squared' | 'vargrad';
export type Baseline = 'black' | 'white' | 'gray' | 'noise';

/** The seven gradient methods (one column each, a row per ensemble). */
export const METHOD_IDS: readonly MethodId[] = [
  'vanilla-gradient', 'input-x-gradient', 'deconvnet', 'guided-backprop', 'integrated-gradients', 'grad-cam', 'guided-grad-cam',
];
export const CAM_METHOD_IDS: readonly CamMethodId[] = [
  'grad-cam-plus-plus', 'xgrad-cam', 'hires-cam', 'layer-cam', 'score-cam', 'ablation-cam', 'eigen-cam', 'occlusion',
];
/** Methods that take the CAM layer option. */
export const LAYER_METHODS: ReadonlySet<MethodId> = new Set<MethodId>(['grad-cam', 'guided-grad-cam', ...CAM_METHOD_IDS.filter((m) => m !== 'occlusion')]);
export const METHOD_LABELS: Record<MethodId, string> = {
  'vanilla-gradient': 'Vanilla gradient',
  'input-x-gradient': 'Input × gradient',
  deconvnet: 'Deconvnet',
  'guided-backprop': 'Guided backprop',
  'integrated-gradients': 'Integrated gradients',
  'grad-cam': 'Grad-CAM',
  'guided-grad-cam': 'Guided Grad-CAM',
  'grad-cam-plus-plus': 'Grad-CAM++',
  'xgrad-cam': 'XGrad-CAM',
  'hires-cam': 'HiResCAM',
  'layer-cam': 'Layer-CAM',
  'score-cam': 'Score-CAM',
  'ablation-cam': 'Ablation-CAM',
  'eigen-cam': 'Eigen-CAM',
  occlusion: 'Occlusion',
};
export const ENSEMBLE_LABELS: Record<Ensemble, string> = {
  none: 'plain',
  smoothgrad: 'SmoothGrad',
  'smoothgrad-squared': 'SmoothGrad²',
  vargrad: 'VarGrad',
};

export interface ModelInfo {
  /** 'mnist', 'cifar10' or 'custom:<file name>'. */
  key: string;
  title: string;
  inputName: string;
  channels: number;
  height: number;
  width: number;
  numClasses: number;
  classes: string[];
  layers: { name: string; op: string; shape: (number | null)[] }[];
  defaultCamLayer: string | undefined;
  executionProvider: Device;
  /** False when the shipped model file is missing and a random-weight SimpleCNN stands in. */
  shipped: boolean;
  /** Shown under the model picker (model card summary, or why a stand-in is used). */
  note: string;
  loadMs: number;
}

export interface ExplainOptions {
  igSteps: number;
  igBaseline: Baseline;
  sgSigma: number;
  sgSamples: number;
  camLayer: string | undefined;
}

export interface ExplainTask {
  method: MethodId;
  ensemble: Ensemble;
}

export type Request =
  | { id: number; type: 'load'; model: ShippedModel; device: Device }
  | { id: number; type: 'load-custom'; bytes: ArrayBuffer; fileName: string; device: Device }
  | { id: number; type: 'predict'; modelKey: string; device: Device; pixels: Float32Array }
  | {
      id: number;
      type: 'explain';
      modelKey: string;
      device: Device;
      pixels: Float32Array;
      /** The class to explain; null: the model's prediction for this input (the worker runs the forward pass). */
      target: number | null;
      tasks: ExplainTask[];
      options: ExplainOptions;
    }
  | { id: number; type: 'cancel' };

export interface PredictResult {
  probabilities: number[];
  predicted: number;
  ms: number;
}

export interface MapResult {
  method: MethodId;
  ensemble: Ensemble;
  /** Map as returned by the method, one item: [C, H, W] (C = input channels, or 1 for layer methods). */
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
  ms: number;
  /** Set when WebGPU failed on this method and the map was computed on WebAssembly instead: why. */
  fallback?: string;
}

export interface WorkerErrorInfo {
  code: string;
  message: string;
}

export type Response =
  | { id: number; type: 'done'; result: unknown }
  | { id: number; type: 'error'; error: WorkerErrorInfo }
  | { id: number; type: 'progress'; done: number; total: number; stage?: string }
  | { id: number; type: 'map'; map: MapResult }
  | { id: number; type: 'map-error'; method: MethodId; ensemble: Ensemble; error: WorkerErrorInfo };
