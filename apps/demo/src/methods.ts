// Binds the seven method packages (and the SmoothGrad ensembles) to a model, for the worker.
// Each package exports a class implementing core's `Attribution` (`new X(model).attribute(input, target, opts)`);
// the class is found by shape (a constructor whose prototype has `attribute`), so a renamed export still works.
import type { Attribution, Model } from '@whitebox/core';
import { WhiteBoxError } from '@whitebox/core';
import * as deconvnet from '@whitebox/deconvnet';
import * as gradCam from '@whitebox/grad-cam';
import * as guidedBackprop from '@whitebox/guided-backprop';
import * as guidedGradCam from '@whitebox/guided-grad-cam';
import * as inputXGradient from '@whitebox/input-x-gradient';
import * as integratedGradients from '@whitebox/integrated-gradients';
import * as smoothgrad from '@whitebox/smoothgrad';
import * as vanillaGradient from '@whitebox/vanilla-gradient';
import type { MethodId } from './protocol.js';

type AnyAttribution = Attribution<any>;
type Ctor = new (...args: any[]) => AnyAttribution;

const PACKAGES: Record<MethodId, { pkg: string; ns: Record<string, unknown>; prefer: string[] }> = {
  'vanilla-gradient': { pkg: '@whitebox/vanilla-gradient', ns: vanillaGradient, prefer: ['VanillaGradient', 'Saliency', 'Gradient'] },
  'input-x-gradient': { pkg: '@whitebox/input-x-gradient', ns: inputXGradient, prefer: ['InputXGradient'] },
  deconvnet: { pkg: '@whitebox/deconvnet', ns: deconvnet, prefer: ['Deconvnet', 'DeconvNet', 'Deconvolution'] },
  'guided-backprop': { pkg: '@whitebox/guided-backprop', ns: guidedBackprop, prefer: ['GuidedBackprop', 'GuidedBackpropagation'] },
  'integrated-gradients': { pkg: '@whitebox/integrated-gradients', ns: integratedGradients, prefer: ['IntegratedGradients'] },
  'grad-cam': { pkg: '@whitebox/grad-cam', ns: gradCam, prefer: ['GradCam', 'GradCAM', 'LayerGradCam'] },
  'guided-grad-cam': { pkg: '@whitebox/guided-grad-cam', ns: guidedGradCam, prefer: ['GuidedGradCam', 'GuidedGradCAM'] },
};

function isAttributionClass(v: unknown): v is Ctor {
  return typeof v === 'function' && !!v.prototype && typeof (v.prototype as { attribute?: unknown }).attribute === 'function';
}

function findClass(pkg: string, ns: Record<string, unknown>, prefer: string[]): Ctor {
  for (const name of prefer) if (isAttributionClass(ns[name])) return ns[name];
  const found = Object.values(ns).filter(isAttributionClass);
  if (found.length === 0) {
    throw new WhiteBoxError('NOT_FOUND', `${pkg} exports no attribution class (a class with an attribute() method): is the package built?`, { package: pkg });
  }
  return found[0]!;
}

export function methodClass(id: MethodId): Ctor {
  const p = PACKAGES[id];
  return findClass(p.pkg, p.ns, p.prefer);
}

export function smoothGradClass(): Ctor {
  return findClass('@whitebox/smoothgrad', smoothgrad as Record<string, unknown>, ['SmoothGrad', 'NoiseTunnel']);
}

/** The method instance for a model (cached per model by the caller). */
export function createMethod(id: MethodId, model: Model): AnyAttribution {
  const C = methodClass(id);
  return new C(model);
}
