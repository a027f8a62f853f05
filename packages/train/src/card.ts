import { createHash } from 'node:crypto';
import type { Dataset } from '@whitebox/datasets';
import type { Evaluation, TrainedClassifier } from './classifier.js';
import type { EpochRecord } from './train.js';

/** The JSON model card shipped next to each model (models/<name>.json). */
export interface ModelCard {
  name: string;
  file: string;
  sha256: string;
  bytes: number;
  architecture: string;
  parameterCount: number;
  input: { name: 'input'; shape: (string | number)[]; range: '[0, 1] pixels, NCHW float32' };
  output: { name: 'logits'; shape: (string | number)[] };
  dataset: { name: string; source: string; trainImages: number; validationImages: number; testImages: number; classes: string[] };
  normalization: { mean: number[]; std: number[]; embedded: string };
  training: {
    framework: string;
    optimizer: string;
    /** Epochs in the exported checkpoint's history (its curve). */
    epochs: number;
    epochsPlanned: number;
    /** Epochs the schedule actually ran (≥ epochs when a best-validation checkpoint from earlier is exported). */
    epochsRun?: number;
    /** The epoch the exported weights come from. */
    checkpointEpoch?: number;
    batchSize: number;
    lr: number;
    schedule: string;
    warmupEpochs: number;
    momentum: number;
    weightDecay: number;
    augmentation: string;
    seed: number;
    checkpoint: string;
    seconds: number;
  };
  test: { accuracy: number; loss: number; count: number; perClass: { class: string; accuracy: number; count: number }[] };
  validation: { bestAccuracy?: number; bestEpoch?: number };
  curve: EpochRecord[];
  parity?: { images: number; maxAbsLogitDiff: number; samePredictions: boolean; runtime: string };
  status: string;
  notes: string[];
  /** Accuracy on other test sets of the same task (e.g. the localization benchmark's variants), by name. */
  variants?: Record<string, { accuracy: number; count: number; description?: string }>;
}

/** What `buildModelCard` describes: the trained classifier, its ONNX bytes, data and evaluation. */
export interface CardInput {
  name: string;
  classifier: TrainedClassifier;
  onnx: Uint8Array;
  train: Dataset;
  test: Dataset;
  evaluation: Evaluation;
  datasetSource: string;
  /** Epochs the schedule spans (may exceed epochs done when training continues across sessions). */
  epochsPlanned?: number;
  /** Epochs training ran in all (the last checkpoint's), when the exported weights are an earlier best checkpoint. */
  epochsRun?: number;
  checkpoint?: 'last' | 'best';
  parity?: ModelCard['parity'];
  status?: string;
  notes?: string[];
  variants?: ModelCard['variants'];
}

/** The model card (Markdown and JSON) of a trained classifier. */
export function buildModelCard(c: CardInput): ModelCard {
  const clf = c.classifier;
  const o = clf.info.options;
  const cfg = clf.config;
  const hist = clf.history;
  const validationImages = Math.round(c.train.count * o.validationFraction);
  return {
    name: c.name,
    file: `${c.name}.onnx`,
    sha256: createHash('sha256').update(c.onnx).digest('hex'),
    bytes: c.onnx.length,
    architecture: `SimpleCNN: ${(cfg.widths ?? [32, 64, 128]).length} × [conv3×3 pad 1 (no bias) → BatchNorm → ReLU → maxpool 2] with ${(cfg.widths ?? [32, 64, 128]).join('/')} channels → dense ${cfg.hidden ?? 1024} → ReLU → dense ${cfg.classes} logits`,
    parameterCount: clf.parameterCount,
    input: { name: 'input', shape: ['N', cfg.channels, cfg.height, cfg.width], range: '[0, 1] pixels, NCHW float32' },
    output: { name: 'logits', shape: ['N', cfg.classes] },
    dataset: { name: c.train.name.replace(/-train$/, ''), source: c.datasetSource, trainImages: c.train.count - validationImages, validationImages, testImages: c.test.count, classes: c.train.classes },
    normalization: { mean: clf.info.mean, std: clf.info.std, embedded: 'Sub(mean) and Div(std) nodes at the front of the ONNX graph' },
    training: {
      framework: 'tfjs 4.22 on the WebAssembly backend (Node, SIMD, 1 thread), explicit backward pass (@whitebox/train)',
      optimizer: `SGD, momentum ${o.momentum}, weight decay ${o.weightDecay} on conv/dense weights`,
      epochs: hist.length,
      epochsPlanned: c.epochsPlanned ?? o.epochs,
      epochsRun: Math.max(c.epochsRun ?? hist.length, hist.length),
      checkpointEpoch: hist.length,
      batchSize: o.batchSize,
      lr: o.lr,
      schedule: o.schedule === 'cosine' ? `linear warm-up over ${o.warmupEpochs} epoch(s), then cosine decay to 0 at epoch ${o.epochs}` : o.schedule,
      warmupEpochs: o.warmupEpochs,
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      augmentation: o.augment ? `random crop with zero padding ${o.augment.cropPadding}${o.augment.flip ? ', horizontal flip' : ''}` : 'none',
      seed: o.seed,
      checkpoint: c.checkpoint === 'best' ? 'best validation accuracy' : 'last epoch',
      seconds: Math.round(hist.reduce((a, h) => a + h.seconds, 0)),
    },
    test: { accuracy: c.evaluation.accuracy, loss: c.evaluation.loss, count: c.evaluation.count, perClass: c.evaluation.perClass.map((p) => ({ class: p.class, accuracy: p.accuracy, count: p.count })) },
    validation: { bestAccuracy: clf.info.bestValidationAccuracy, bestEpoch: clf.info.bestEpoch },
    curve: hist,
    parity: c.parity,
    status: c.status ?? 'complete',
    notes: c.notes ?? [],
    ...(c.variants ? { variants: c.variants } : {}),
  };
}

/** "30 of 30 planned epochs run; exported checkpoint: best validation accuracy, epoch 27 (...)" — run vs exported, kept apart. */
function epochsSentence(t: ModelCard['training']): string {
  const run = t.epochsRun ?? t.epochs;
  const at = t.checkpointEpoch ?? t.epochs;
  const minutes = `${(t.seconds / 60).toFixed(0)} min of training`;
  if (run > at) {
    return `${run} of ${t.epochsPlanned} planned epochs run; exported checkpoint: ${t.checkpoint}, from epoch ${at} (the per-epoch table and curve end there; ${minutes} up to it)`;
  }
  return `${run} of ${t.epochsPlanned} planned epochs, ${minutes}; exported checkpoint: ${t.checkpoint}${t.checkpoint === 'last epoch' ? '' : ` (epoch ${at})`}`;
}

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(2)}%`);

/** The short markdown card (models/<name>.md). */
export function modelCardMarkdown(card: ModelCard): string {
  const t = card.training;
  const lines = [
    `# ${card.name}`,
    '',
    `${card.architecture}. ${card.parameterCount.toLocaleString('en-US')} parameters. Input \`input\` [${card.input.shape.join(', ')}], ${card.input.range}; output \`logits\` [${card.output.shape.join(', ')}].`,
    '',
    `**Test accuracy: ${pct(card.test.accuracy)}** on ${card.test.count.toLocaleString('en-US')} test images (status: ${card.status}).`,
    '',
    `- Dataset: ${card.dataset.name} — ${card.dataset.source}. ${card.dataset.trainImages.toLocaleString('en-US')} training / ${card.dataset.validationImages.toLocaleString('en-US')} validation (held out from the training split, seeded) / ${card.dataset.testImages.toLocaleString('en-US')} test images.`,
    `- Normalization (embedded in the ONNX graph): mean [${card.normalization.mean.map((m) => m.toFixed(4)).join(', ')}], std [${card.normalization.std.map((s) => s.toFixed(4)).join(', ')}] on the [0, 1] scale, computed on the training split.`,
    `- Training: ${t.framework}; ${t.optimizer}; batch ${t.batchSize}; peak lr ${t.lr}, ${t.schedule}; augmentation: ${t.augmentation}; seed ${t.seed}; ${epochsSentence(t)}.`,
    card.parity ? `- Export check: ${card.parity.runtime} vs tfjs on ${card.parity.images} test images, max |Δlogit| ${card.parity.maxAbsLogitDiff.toExponential(2)}, ${card.parity.samePredictions ? 'identical' : 'DIFFERENT'} predictions.` : '',
    `- File: \`${card.file}\`, ${card.bytes.toLocaleString('en-US')} bytes, sha256 \`${card.sha256}\`.`,
    ...card.notes.map((n) => `- ${n}`),
    '',
    ...(card.variants ? ['| test set | accuracy | images |', '| --- | --- | --- |', ...Object.entries(card.variants).map(([k, v]) => `| ${k}${v.description ? ` (${v.description})` : ''} | ${pct(v.accuracy)} | ${v.count.toLocaleString('en-US')} |`), ''] : []),
    '| class | test accuracy | images |',
    '| --- | --- | --- |',
    ...card.test.perClass.map((p) => `| ${p.class} | ${pct(p.accuracy)} | ${p.count} |`),
    '',
    '| epoch | lr (end) | train loss | train acc | val loss | val acc |',
    '| --- | --- | --- | --- | --- | --- |',
    ...card.curve.map((h) => `| ${h.epoch} | ${h.lr.toExponential(2)} | ${h.trainLoss.toFixed(4)} | ${pct(h.trainAccuracy)} | ${h.validationLoss?.toFixed(4) ?? '–'} | ${pct(h.validationAccuracy)} |`),
    '',
    `Training curve: [${card.name}.curve.svg](${card.name}.curve.svg).`,
    '',
  ];
  return lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n');
}
