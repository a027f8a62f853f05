import type { Command } from 'commander';
import '@whitebox/backend-node';
import type { LayerInfo } from '@whitebox/core';
import { loadModel } from '@whitebox/onnx';

export interface LayersOptions {
  all?: boolean;
  json?: boolean;
  output?: string;
}

export interface LayerListing {
  model: string;
  inputShape: readonly (number | null)[];
  numClasses: number;
  defaultCamLayer: string | undefined;
  layers: (LayerInfo & { camCandidate: boolean; default: boolean })[];
}

/** The model's layers (every float tensor that depends on the input), marking Grad-CAM candidates and the default. */
export async function listLayers(modelPath: string, options: LayersOptions = {}): Promise<LayerListing> {
  const model = await loadModel(modelPath, { backend: 'node', ...(options.output ? { output: options.output } : {}) });
  try {
    const layers = model.layers.map((l) => ({ ...l, camCandidate: l.kind === 'spatial' || l.kind === 'tokens', default: l.name === model.defaultCamLayer }));
    return { model: modelPath, inputShape: model.inputShape, numClasses: model.numClasses, defaultCamLayer: model.defaultCamLayer, layers };
  } finally {
    await model.dispose();
  }
}

const shapeText = (s: readonly (number | null)[]) => `[${s.map((d) => d ?? 'N').join(', ')}]`;

/** The listing as aligned text: one layer a line, `*` = default CAM layer, `c` = CAM candidate. */
export function formatLayers(l: LayerListing, all = false): string {
  const rows = l.layers.filter((x) => all || x.camCandidate);
  const nameW = Math.min(80, Math.max(5, ...rows.map((r) => r.name.length)));
  const opW = Math.max(2, ...rows.map((r) => r.op.length));
  const lines = [
    `${l.model}: input ${shapeText(l.inputShape)}, ${l.numClasses} classes, ${l.layers.length} layers (${l.layers.filter((x) => x.camCandidate).length} usable by CAM methods)`,
    `default CAM layer: ${l.defaultCamLayer ?? '(none)'}`,
    '',
    `   ${'layer'.padEnd(nameW)}  ${'op'.padEnd(opW)}  shape`,
    ...rows.map((r) => `${r.default ? '*' : ' '}${r.camCandidate ? 'c' : ' '} ${r.name.padEnd(nameW)}  ${r.op.padEnd(opW)}  ${shapeText(r.shape)}${r.grid ? `  tokens: ${r.grid.prefixTokens} + ${r.grid.h}×${r.grid.w}` : ''}`),
  ];
  if (!all) lines.push('', `(${l.layers.length - rows.length} other layers hidden; --all lists every layer)`);
  return `${lines.join('\n')}\n`;
}

/** Registers `whitebox layers <model.onnx> [--all] [--json]`. */
export function register(program: Command): void {
  program
    .command('layers')
    .description("List a model's layers — every float tensor that depends on the input, with op type and shape — marking the ones CAM methods can use (c) and Grad-CAM's default (*)")
    .argument('<model>', 'ONNX model file')
    .option('--all', 'list every layer, not only CAM candidates')
    .option('--json', 'print JSON')
    .option('--output <name>', 'the graph output holding the logits, for a model with several outputs')
    .action(async (model: string, opts: LayersOptions) => {
      const listing = await listLayers(model, opts);
      process.stdout.write(opts.json ? `${JSON.stringify(listing, null, 2)}\n` : formatLayers(listing, opts.all));
    });
}
