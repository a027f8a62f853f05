import { Rng, WhiteBoxError, check } from '@whitebox/core';
import { channelStats, imageSize, validateDataset, type Dataset, type TrainTest } from './dataset.js';
import { loadMnist, type LoadMnistOptions } from './mnist.js';

/**
 * Which images the localization benchmark holds:
 * - `single`: one source image (an MNIST digit) pasted at a uniformly random position of a larger canvas;
 *   the class is its label.
 * - `pair` (CLEVR-XAI style, Arras et al. 2022): two source images of different classes pasted without overlap;
 *   the class is the *larger* of the two labels, so exactly one of the two objects decides it and the other is a
 *   distractor of the same kind (same size, same contrast) that a model-blind map cannot tell apart.
 * - `mixed`: each image is `single` or `pair` with probability 1/2 (what the shipped model is trained on).
 */
export type LocalizationVariant = 'single' | 'pair' | 'mixed';
/** Localization variants: one digit, a pair where the larger digit decides the class, or a mix. */
export const LOCALIZATION_VARIANTS: readonly LocalizationVariant[] = ['single', 'pair', 'mixed'];

/** The canvas under the pasted objects: black, uniform noise in [0, noise], or either with probability 1/2. */
export type CanvasBackground = 'blank' | 'noise' | 'mixed';
/** Backgrounds of the localization canvases: blank, uniform noise, or a mix. */
export const CANVAS_BACKGROUNDS: readonly CanvasBackground[] = ['blank', 'noise', 'mixed'];

/** Options of `localizationBenchmark`: how many canvases, their size, variant, background and seed. */
export interface LocalizationOptions {
  /** Images to make. */
  count: number;
  /** Canvas side in pixels (default 56; at least the source side). */
  size?: number;
  variant?: LocalizationVariant;
  background?: CanvasBackground;
  /** Upper bound of the uniform background noise, [0, 1] pixel scale (default 0.25). */
  noise?: number;
  /** A source pixel counts as part of its object when its value exceeds this (0..255, default 0: the digit's ink). */
  inkThreshold?: number;
  seed?: number;
  /** Dataset name (default `<source>-loc<size>-<variant>-<background>`). */
  name?: string;
}

/** Localization canvases with their ground-truth boxes as masks. */
export interface LocalizationSet {
  /** The canvases, `size`×`size`, the source's channels; classes are the source's. */
  dataset: Dataset;
  /** Ground truth [count, size*size]: 1 inside the box of the object that decides the class. */
  masks: Uint8Array;
  /** `[count, size*size]`: 1 inside the distractor's box (`pair` images), else 0. */
  distractorMasks: Uint8Array;
  /** Per image: 1 when it holds two objects. */
  pairs: Uint8Array;
  /** Per image [decider, distractor] source indices (distractor −1 for single images). */
  sources: Int32Array;
  /** Per image [y0, x0, y1, x1] of the decider's box then of the distractor's (end-exclusive; −1 when absent). */
  boxes: Int32Array;
  options: Required<Omit<LocalizationOptions, 'name'>>;
}

interface Ink {
  y0: number;
  x0: number;
  y1: number;
  x1: number;
}

/** Bounding box of the pixels above `threshold` (any channel) of source image `i`; the whole tile when none is. */
function inkBox(ds: Dataset, i: number, threshold: number): Ink {
  const { channels: c, height: h, width: w } = ds;
  const off = i * imageSize(ds);
  let y0 = h;
  let x0 = w;
  let y1 = 0;
  let x1 = 0;
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (ds.images[off + (k * h + y) * w + x]! > threshold) {
          if (y < y0) y0 = y;
          if (x < x0) x0 = x;
          if (y + 1 > y1) y1 = y + 1;
          if (x + 1 > x1) x1 = x + 1;
        }
      }
    }
  }
  return y1 > y0 ? { y0, x0, y1, x1 } : { y0: 0, x0: 0, y1: h, x1: w };
}

const overlaps = (a: readonly number[], b: readonly number[], gap: number): boolean =>
  a[0]! < b[2]! + gap && b[0]! < a[2]! + gap && a[1]! < b[3]! + gap && b[1]! < a[3]! + gap;

/**
 * A seeded localization benchmark with exact ground truth, built from a classification dataset (MNIST digits,
 * or CIFAR-10 images, whose "object" is then the whole tile): every image is a `size`×`size` canvas with one or
 * two source images pasted in (pixel = max(background, source)), and its mask is the box of the object that
 * decides the class. Same options and seed → the same images, byte for byte.
 */
export function localizationBenchmark(source: Dataset, options: LocalizationOptions): LocalizationSet {
  validateDataset(source, `localization source '${source.name}'`);
  const o: Required<Omit<LocalizationOptions, 'name'>> = {
    count: options.count,
    size: options.size ?? 56,
    variant: options.variant ?? 'single',
    background: options.background ?? 'noise',
    noise: options.noise ?? 0.25,
    inkThreshold: options.inkThreshold ?? 0,
    seed: options.seed ?? 0,
  };
  check(Number.isInteger(o.count) && o.count >= 0, `localizationBenchmark: count must be an integer ≥ 0, got ${o.count}`);
  check(Number.isInteger(o.size) && o.size >= Math.max(source.height, source.width), `localizationBenchmark: size must be an integer ≥ the source's ${source.height}×${source.width}, got ${o.size}`);
  check(LOCALIZATION_VARIANTS.includes(o.variant), `localizationBenchmark: unknown variant '${o.variant}' (known: ${LOCALIZATION_VARIANTS.join(', ')})`);
  check(CANVAS_BACKGROUNDS.includes(o.background), `localizationBenchmark: unknown background '${o.background}' (known: ${CANVAS_BACKGROUNDS.join(', ')})`);
  check(Number.isFinite(o.noise) && o.noise >= 0 && o.noise <= 1, `localizationBenchmark: noise must be in [0, 1], got ${o.noise}`);
  const numClasses = source.classes.length;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < source.count; i++) byClass[source.labels[i]!]!.push(i);
  const present = byClass.map((l, k) => (l.length ? k : -1)).filter((k) => k >= 0);
  if (present.length === 0) throw new WhiteBoxError('INVALID_DATA', `localizationBenchmark: source '${source.name}' has no images`, { dataset: source.name });
  const wantsPairs = o.variant !== 'single' && o.count > 0;
  if (wantsPairs && present.length < 2) throw new WhiteBoxError('INVALID_DATA', `localizationBenchmark: pairs need two classes with images; source '${source.name}' has ${present.length}`, { dataset: source.name });

  const { channels: c, height: sh, width: sw } = source;
  const S = o.size;
  const plane = S * S;
  const images = new Uint8Array(o.count * c * plane);
  const labels = new Uint8Array(o.count);
  const masks = new Uint8Array(o.count * plane);
  const distractorMasks = new Uint8Array(o.count * plane);
  const pairs = new Uint8Array(o.count);
  const sources = new Int32Array(o.count * 2).fill(-1);
  const boxes = new Int32Array(o.count * 8).fill(-1);
  const rng = new Rng(o.seed);
  const inkCache = new Map<number, Ink>();
  const ink = (i: number): Ink => {
    let b = inkCache.get(i);
    if (!b) inkCache.set(i, (b = inkBox(source, i, o.inkThreshold)));
    return b;
  };
  const pick = (k: number): number => byClass[k]![rng.int(byClass[k]!.length)]!;
  const place = (b: Ink): [number, number] => [rng.int(S - (b.y1 - b.y0) + 1), rng.int(S - (b.x1 - b.x0) + 1)];
  const paste = (n: number, src: number, b: Ink, y: number, x: number, mask: Uint8Array): number[] => {
    for (let k = 0; k < c; k++) {
      for (let yy = b.y0; yy < b.y1; yy++) {
        for (let xx = b.x0; xx < b.x1; xx++) {
          const v = source.images[src * c * sh * sw + (k * sh + yy) * sw + xx]!;
          const d = (n * c + k) * plane + (y + yy - b.y0) * S + (x + xx - b.x0);
          if (v > images[d]!) images[d] = v;
        }
      }
    }
    const box = [y, x, y + b.y1 - b.y0, x + b.x1 - b.x0];
    for (let yy = box[0]!; yy < box[2]!; yy++) for (let xx = box[1]!; xx < box[3]!; xx++) mask[n * plane + yy * S + xx] = 1;
    return box;
  };

  for (let n = 0; n < o.count; n++) {
    const pair = o.variant === 'pair' || (o.variant === 'mixed' && rng.next() < 0.5);
    const noisy = o.background === 'noise' || (o.background === 'mixed' && rng.next() < 0.5);
    if (noisy && o.noise > 0) {
      const hi = o.noise * 255;
      for (let i = 0; i < c * plane; i++) images[n * c * plane + i] = Math.round(rng.next() * hi);
    }
    // The decider's class: uniform over the classes that can win (a pair's winner has a smaller-labelled partner).
    const eligible = pair ? present.filter((k) => k > present[0]!) : present;
    const label = eligible[rng.int(eligible.length)]!;
    labels[n] = label;
    const decider = pick(label);
    const db = ink(decider);
    sources[n * 2] = decider;
    if (!pair) {
      const [y, x] = place(db);
      boxes.set(paste(n, decider, db, y, x, masks), n * 8);
      continue;
    }
    pairs[n] = 1;
    const smaller = present.filter((k) => k < label);
    const distractor = pick(smaller[rng.int(smaller.length)]!);
    const xb = ink(distractor);
    sources[n * 2 + 1] = distractor;
    // Non-overlapping boxes (2-pixel gap), by rejection; side by side when the canvas is too tight.
    let a = place(db);
    let b = place(xb);
    let tries = 0;
    const boxOf = (p: [number, number], k: Ink): number[] => [p[0], p[1], p[0] + k.y1 - k.y0, p[1] + k.x1 - k.x0];
    while (overlaps(boxOf(a, db), boxOf(b, xb), 2) && ++tries < 200) {
      a = place(db);
      b = place(xb);
    }
    if (overlaps(boxOf(a, db), boxOf(b, xb), 2)) {
      const wa = db.x1 - db.x0;
      const wb = xb.x1 - xb.x0;
      if (wa + wb + 2 > S) throw new WhiteBoxError('INVALID_ARGUMENT', `localizationBenchmark: a ${S}×${S} canvas cannot hold two objects ${wa} and ${wb} pixels wide side by side; use a larger size`);
      a = [rng.int(S - (db.y1 - db.y0) + 1), 0];
      b = [rng.int(S - (xb.y1 - xb.y0) + 1), S - wb];
      if (rng.next() < 0.5) [a, b] = [[a[0], S - wa], [b[0], 0]];
    }
    boxes.set(paste(n, decider, db, a[0], a[1], masks), n * 8);
    boxes.set(paste(n, distractor, xb, b[0], b[1], distractorMasks), n * 8 + 4);
  }
  const stats = channelStats(images, o.count, c, S, S);
  const base = source.name.replace(/-(train|test)$/, '');
  const split = /-(train|test)$/.exec(source.name)?.[0] ?? '';
  const name = options.name ?? `${base}-loc${S}-${o.variant}-${o.background}${split}`;
  const dataset: Dataset = { name, classes: [...source.classes], count: o.count, channels: c, height: S, width: S, images, labels, mean: stats.mean, std: stats.std };
  return { dataset, masks, distractorMasks, pairs, sources, boxes, options: o };
}

/** Training and test canvases with the test set's ground truth. */
export interface LocalizationSplits extends TrainTest {
  /** Ground truth of the test images [test.count, H*W] (and the distractors'). */
  testMasks: Uint8Array;
  testDistractorMasks: Uint8Array;
  testPairs: Uint8Array;
}

/** Options of `loadMnistLocalization`: the MNIST source, the test variant and background, sizes and seed. */
export interface LoadLocalizationOptions extends LoadMnistOptions {
  /** Test-set variant (default 'single'); the training set is always 'mixed' (what the shipped model learned). */
  variant?: LocalizationVariant;
  /** Test-set background (default 'noise'); the training set's is 'mixed'. */
  background?: CanvasBackground;
  /** Sizes (defaults 30,000 training / 5,000 test canvases). */
  trainCount?: number;
  testCount?: number;
  size?: number;
  seed?: number;
}

/**
 * The MNIST localization benchmark as the shipped `models/localization-simplecnn.onnx` was trained and tested:
 * training canvases from MNIST's training digits (mixed single/pair, mixed blank/noise, seed `seed`), test
 * canvases from MNIST's test digits (the requested variant and background, seed `seed + 1`), 56×56.
 */
export function loadMnistLocalization(options: LoadLocalizationOptions = {}): LocalizationSplits {
  const { train: mtrain, test: mtest } = loadMnist(options.dir ? { dir: options.dir } : {});
  const seed = options.seed ?? 0;
  const size = options.size ?? 56;
  const train = localizationBenchmark(mtrain, { count: options.trainCount ?? 30000, size, variant: 'mixed', background: 'mixed', seed, name: `mnist-loc${size}-train` });
  const variant = options.variant ?? 'single';
  const background = options.background ?? 'noise';
  const test = localizationBenchmark(mtest, { count: options.testCount ?? 5000, size, variant, background, seed: seed + 1, name: `mnist-loc${size}-${variant}-${background}-test` });
  return { train: train.dataset, test: test.dataset, testMasks: test.masks, testDistractorMasks: test.distractorMasks, testPairs: test.pairs };
}
