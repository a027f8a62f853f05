import { dirname } from 'node:path';
import type { Command } from 'commander';
import { RELU_RULES, WhiteBoxError, type ReluRule } from '@whitebox/core';
import { exportGradientGraphs } from '@whitebox/onnx';
import { progressBar } from '../progress.js';
import { ensureOutDir, outDirOption, validatedOption } from '../options.js';

export interface ExportGradientsOptions {
  rules?: string;
  layers?: string;
  out?: string;
}

function parseList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** Parses `--rules` (comma-separated ReLU rules), rejecting unknown ones. */
export function parseRules(value: string | undefined): ReluRule[] {
  const rules = value === undefined ? [...RELU_RULES] : parseList(value);
  if (rules.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `--rules is empty (known rules: ${RELU_RULES.join(', ')})`);
  for (const r of rules) {
    if (!RELU_RULES.includes(r as ReluRule)) throw new WhiteBoxError('INVALID_ARGUMENT', `unknown rule '${r}' in --rules (known rules: ${RELU_RULES.join(', ')})`);
  }
  return rules as ReluRule[];
}

/** Writes `<model>.grad.<rule>.onnx` per rule; returns the written paths. */
export async function exportGradients(modelPath: string, options: ExportGradientsOptions = {}): Promise<string[]> {
  const rules = parseRules(options.rules);
  const layers = parseList(options.layers);
  if (options.out !== undefined) ensureOutDir(options.out, '--out');
  const bar = progressBar('export-gradients');
  try {
    return await exportGradientGraphs(modelPath, options.out ?? dirname(modelPath), rules, { layers, onProgress: bar.update });
  } finally {
    bar.stop();
  }
}

/** Registers `whitebox export-gradients <model.onnx> [--rules ...] [--layers ...] [--out dir]`. */
export function register(program: Command): void {
  program
    .command('export-gradients')
    .description('Write the gradient graphs of an ONNX classifier (one per ReLU rule): standard-ONNX models with inputs [input, cotangent] and outputs logits, input_grad and <layer>:activation/<layer>:grad, runnable by any ONNX Runtime')
    .argument('<model>', 'ONNX model file (pixels in [0, 1] in, logits out)')
    .option('--rules <list>', `comma-separated ReLU backward rules (${RELU_RULES.join(', ')})`, validatedOption((v) => { parseRules(v); return v; }), RELU_RULES.join(','))
    .option('--layers <list>', 'comma-separated intermediate tensor names whose activation and gradient to output')
    .option('--out <dir>', "output directory (default: the model's directory)", outDirOption('--out'))
    .action(async (model: string, opts: ExportGradientsOptions) => {
      const files = await exportGradients(model, opts);
      for (const f of files) process.stdout.write(`${f}\n`);
    });
}
