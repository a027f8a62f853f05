import { Rng, Tensor, type Attribution, type ChannelReduction, type Model } from '@whitebox/core';
import { pixelRelevance } from './data.js';

/**
 * What the evaluations explain with: a named function from images and per-sample targets to
 * per-pixel relevance [N, H*W]. `fromAttribution` wraps any method; `randomExplainer` is the baseline.
 */
export interface Explainer {
  readonly name: string;
  /** Whether the relevance is random (a baseline), drawn afresh on every call. */
  readonly random?: boolean;
  /** Per-pixel relevance [N, H*W] for `input` [N, C, H, W] and one target class per sample. */
  relevance(input: Tensor, targets: Int32Array): Promise<Float32Array>;
}

/** Options of {@link fromAttribution}. */
export interface FromAttributionOptions {
  /** How channels collapse into one relevance per pixel (default 'abs-sum'). */
  reduction?: ChannelReduction;
  batchSize?: number;
  /** Name shown in results (default: the method's name). */
  name?: string;
  /** Extra options for `attribute` (e.g. integrated-gradients `steps`). */
  attributeOptions?: Record<string, unknown>;
}

/** An {@link Explainer} from an attribution method: its maps reduced over channels to one relevance per pixel. */
export function fromAttribution(method: Attribution, options: FromAttributionOptions = {}): Explainer {
  const name = options.name ?? method.name;
  return {
    name,
    async relevance(input, targets) {
      const map = await method.attribute(input, Array.from(targets), { ...(options.attributeOptions ?? {}), ...(options.batchSize ? { batchSize: options.batchSize } : {}) });
      return pixelRelevance(map, input.dims[2]!, input.dims[3]!, options.reduction ?? 'abs-sum', name);
    },
  };
}

/** The random-ranking baseline: i.i.d. uniform relevance per pixel, seeded. */
export function randomExplainer(seed = 0, name = 'random'): Explainer {
  const rng = new Rng(seed);
  return {
    name,
    random: true,
    async relevance(input) {
      const n = input.batchSize * input.dims[2]! * input.dims[3]!;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = rng.next();
      return out;
    },
  };
}

/** The model's predicted classes for `input`. */
export async function predict(model: Model, input: Tensor, batchSize?: number): Promise<Int32Array> {
  return (await model.forward(input, batchSize ? { batchSize } : {})).predictions;
}
