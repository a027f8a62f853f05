// The attribution methods (seven gradient methods, the CAM family, Occlusion) and the SmoothGrad ensembles, bound to a model for the worker.
import type { Attribution, Model } from '@whitebox/core';
import { Deconvnet } from '@whitebox/deconvnet';
import { GradCam } from '@whitebox/grad-cam';
import { GuidedBackprop } from '@whitebox/guided-backprop';
import { GuidedGradCam } from '@whitebox/guided-grad-cam';
import { InputXGradient } from '@whitebox/input-x-gradient';
import { IntegratedGradients } from '@whitebox/integrated-gradients';
import { SmoothGrad, type SmoothGradVariant } from '@whitebox/smoothgrad';
import { VanillaGradient } from '@whitebox/vanilla-gradient';
import { AblationCam } from '@whitebox/ablation-cam';
import { EigenCam } from '@whitebox/eigen-cam';
import { GradCamPlusPlus } from '@whitebox/grad-cam-plus-plus';
import { HiResCam } from '@whitebox/hires-cam';
import { LayerCam } from '@whitebox/layer-cam';
import { Occlusion } from '@whitebox/occlusion';
import { ScoreCam } from '@whitebox/score-cam';
import { XGradCam } from '@whitebox/xgrad-cam';
import type { MethodId } from './protocol.js';

// Each method's options type differs; the worker builds options per method (see methodOptions).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAttribution = Attribution<any>;

const CLASSES: Record<MethodId, new (model: Model) => AnyAttribution> = {
  'vanilla-gradient': VanillaGradient,
  'input-x-gradient': InputXGradient,
  deconvnet: Deconvnet,
  'guided-backprop': GuidedBackprop,
  'integrated-gradients': IntegratedGradients,
  'grad-cam': GradCam,
  'guided-grad-cam': GuidedGradCam,
  'grad-cam-plus-plus': GradCamPlusPlus,
  'xgrad-cam': XGradCam,
  'hires-cam': HiResCam,
  'layer-cam': LayerCam,
  'score-cam': ScoreCam,
  'ablation-cam': AblationCam,
  'eigen-cam': EigenCam,
  occlusion: Occlusion,
};

/** A method instance for a model (the worker caches one per model and method). */
export function createMethod(id: MethodId, model: Model): AnyAttribution {
  return new CLASSES[id](model);
}

/** SmoothGrad / SmoothGrad² / VarGrad around a method instance. */
export function ensembleOf(base: AnyAttribution, variant: SmoothGradVariant, samples: number, sigma: number): AnyAttribution {
  return new SmoothGrad(base, { variant, samples, sigma, seed: 0 });
}
