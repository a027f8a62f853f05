import { type AttributionFactory, LIMITS, WhiteBoxError } from '@whitebox/core';
import { deconvnet } from '@whitebox/deconvnet';
import { gradCam } from '@whitebox/grad-cam';
import { guidedBackprop } from '@whitebox/guided-backprop';
import { guidedGradCam } from '@whitebox/guided-grad-cam';
import { inputXGradient } from '@whitebox/input-x-gradient';
import { integratedGradients } from '@whitebox/integrated-gradients';
import { SMOOTHGRAD_VARIANTS, type SmoothGradVariant, smoothGrad } from '@whitebox/smoothgrad';
import { vanillaGradient } from '@whitebox/vanilla-gradient';
import { ablationCam } from '@whitebox/ablation-cam';
import { eigenCam } from '@whitebox/eigen-cam';
import { gradCamPlusPlus } from '@whitebox/grad-cam-plus-plus';
import { hiResCam } from '@whitebox/hires-cam';
import { layerCam } from '@whitebox/layer-cam';
import { occlusion } from '@whitebox/occlusion';
import { scoreCam } from '@whitebox/score-cam';
import { xGradCam } from '@whitebox/xgrad-cam';

// Each method's option type differs; the registry holds them alike.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFactory = AttributionFactory<any>;

export interface MethodEntry {
  factory: AnyFactory;
  description: string;
}

/** Every attribution method, by id (what `--methods`, `evaluate` and `run` take): the seven gradient methods, then the CAM family and Occlusion. */
export const METHODS: Record<string, MethodEntry> = {
  'vanilla-gradient': { factory: vanillaGradient, description: 'Vanilla backpropagation: d logit / d input' },
  'input-x-gradient': { factory: inputXGradient, description: 'Input × Gradient' },
  deconvnet: { factory: deconvnet, description: 'DeconvNet (Zeiler & Fergus 2014): ReLUs pass positive gradients' },
  'guided-backprop': { factory: guidedBackprop, description: 'Guided Backpropagation (Springenberg et al. 2014)' },
  'integrated-gradients': { factory: integratedGradients, description: 'Integrated Gradients (Sundararajan et al. 2017), zero baseline' },
  'grad-cam': { factory: gradCam, description: 'Grad-CAM (Selvaraju et al. 2017) at the last conv block' },
  'guided-grad-cam': { factory: guidedGradCam, description: 'Guided Grad-CAM: guided backprop ⊙ Grad-CAM' },
  'grad-cam-plus-plus': { factory: gradCamPlusPlus, description: 'Grad-CAM++ (Chattopadhyay et al. 2018), as pytorch-grad-cam' },
  'xgrad-cam': { factory: xGradCam, description: 'XGrad-CAM (Fu et al. 2020)' },
  'hires-cam': { factory: hiResCam, description: 'HiResCAM (Draelos & Carin 2020): Σ_k gradient ⊙ activation' },
  'layer-cam': { factory: layerCam, description: 'Layer-CAM (Jiang et al. 2021): Σ_k ReLU(gradient) ⊙ activation' },
  'score-cam': { factory: scoreCam, description: 'Score-CAM (Wang et al. 2020): softmaxed logits of activation-masked inputs' },
  'ablation-cam': { factory: ablationCam, description: 'Ablation-CAM (Desai & Ramaswamy 2020): logit drop per zeroed channel' },
  'eigen-cam': { factory: eigenCam, description: 'Eigen-CAM (Muhammad & Yeasin 2020): first principal component of the activations' },
  occlusion: { factory: occlusion, description: 'Occlusion (Zeiler & Fergus 2014): logit drop under a sliding 4×4 window, stride 2' },
};

/** Every method id. */
export const METHOD_IDS = Object.keys(METHODS);
/** What `--methods all` means: the seven gradient methods (the default of `explain` and `run`). */
export const GRADIENT_METHOD_IDS = METHOD_IDS.slice(0, 7);
/** What `--methods cam` means: the CAM family and Occlusion (issue #12). */
export const CAM_METHOD_IDS = METHOD_IDS.slice(7);
/** Method groups `--methods` takes besides ids. */
export const METHOD_GROUPS: Record<string, readonly string[]> = { all: GRADIENT_METHOD_IDS, cam: CAM_METHOD_IDS };

/** The registry entry of a method id: own properties only ('constructor', '__proto__', 'toString' are no methods). */
export function methodEntry(id: string): MethodEntry | undefined {
  return Object.hasOwn(METHODS, id) ? METHODS[id] : undefined;
}

const isVariant = (id: string): id is SmoothGradVariant => (SMOOTHGRAD_VARIANTS as readonly string[]).includes(id);

export const ENSEMBLE_DESCRIPTIONS: Record<SmoothGradVariant, string> = {
  smoothgrad: 'SmoothGrad: mean over noisy copies',
  'smoothgrad-squared': 'SmoothGrad²: mean of squared maps over noisy copies',
  vargrad: 'VarGrad: variance over noisy copies',
};

export interface SmoothGradSettings {
  samples: number;
  /** Fraction of each input's (max − min). */
  sigma: number;
  seed?: number;
}

/** Wraps a method with a SmoothGrad variant. */
export function withSmoothGrad(entry: MethodEntry, variant: SmoothGradVariant, settings: SmoothGradSettings): MethodEntry {
  return {
    factory: smoothGrad(entry.factory, { variant, samples: settings.samples, sigma: settings.sigma, seed: settings.seed ?? 0 }),
    description: `${ENSEMBLE_DESCRIPTIONS[variant]} (${settings.samples} samples, σ = ${settings.sigma}) of ${entry.description}`,
  };
}

export interface ResolvedMethod extends MethodEntry {
  /** e.g. 'guided-backprop', 'vargrad/guided-backprop' */
  id: string;
}

/** Parses `--smoothgrad n,sigma`. */
export function parseSmoothGrad(spec: string): SmoothGradSettings {
  const parts = spec.split(',').map((s) => s.trim());
  const samples = Number(parts[0]);
  const sigma = parts[1] === undefined || parts[1] === '' ? 0.15 : Number(parts[1]);
  if (parts.length > 2 || parts[0] === '' || !Number.isInteger(samples) || samples < 1) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `--smoothgrad expects 'n,sigma' with n an integer ≥ 1 (e.g. 50,0.15), got '${spec}'`);
  }
  if (samples > LIMITS.smoothGradSamples) {
    throw new WhiteBoxError('LIMIT_EXCEEDED', `--smoothgrad: ${samples.toLocaleString('en-US')} samples is above the limit of ${LIMITS.smoothGradSamples.toLocaleString('en-US')} noisy copies per input`);
  }
  if (!Number.isFinite(sigma) || sigma < 0) throw new WhiteBoxError('INVALID_ARGUMENT', `--smoothgrad: sigma must be a number ≥ 0 (a fraction of each input's max − min), got '${parts[1]}'`);
  return { samples, sigma };
}

/**
 * Resolves a method list: groups 'all' (the seven gradient methods) and 'cam' (the CAM family and Occlusion), or
 * comma-separated ids. An id is a method,
 * a SmoothGrad variant alone ('vargrad' = VarGrad of vanilla gradient), or 'variant/method'
 * ('smoothgrad-squared/guided-backprop'). With `smoothgrad` settings every plain method is
 * wrapped in SmoothGrad (mean) with them; variants use them too (default 50 samples, σ 0.15).
 */
export function resolveMethods(spec: string, options: { smoothgrad?: SmoothGradSettings } = {}): ResolvedMethod[] {
  const known = `${METHOD_IDS.join(', ')}; ensembles ${SMOOTHGRAD_VARIANTS.join(', ')} (alone = over vanilla-gradient, or as <ensemble>/<method>); or the groups 'all' (the seven gradient methods) and 'cam' (the CAM family and occlusion)`;
  const tokens = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (tokens.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `no methods given; known methods: ${known}`);
  const settings = options.smoothgrad ?? { samples: 50, sigma: 0.15 };
  const out: ResolvedMethod[] = [];
  const push = (m: ResolvedMethod) => {
    if (!out.some((o) => o.id === m.id)) out.push(m);
  };
  for (const token of tokens) {
    if (Object.hasOwn(METHOD_GROUPS, token)) {
      for (const id of METHOD_GROUPS[token]!) push(plain(id));
      continue;
    }
    const [head, tail] = token.split('/', 2) as [string, string | undefined];
    if (isVariant(head)) {
      const baseId = tail ?? 'vanilla-gradient';
      const base = methodEntry(baseId);
      if (!base) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown method '${baseId}' in '${token}'; known methods: ${known}`, { method: baseId });
      push({ id: `${head}/${baseId}`, ...withSmoothGrad(base, head as SmoothGradVariant, settings) });
      continue;
    }
    if (tail !== undefined || !methodEntry(head)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown method '${token}'; known methods: ${known}`, { method: token });
    push(plain(head));
  }
  return out;

  function plain(id: string): ResolvedMethod {
    const entry = methodEntry(id)!;
    if (options.smoothgrad) return { id: `smoothgrad/${id}`, ...withSmoothGrad(entry, 'smoothgrad', options.smoothgrad) };
    return { id, ...entry };
  }
}
