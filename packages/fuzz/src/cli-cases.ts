/** Hostile `whitebox` command lines: the runner writes the case's files into a directory, then runs the built CLI. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@whitebox/core';
import { buildSimpleCnn } from '@whitebox/onnx';
import { pick } from './bytes.js';
import { pngCase, png, writeMnistDir } from './data.js';
import { MUTATION_NAMES, bitFlipModel, mutantModel, truncatedModel, byteEditModel, REPO_ROOT } from './models.js';
import type { FuzzCase } from './cases.js';

export interface CliCase {
  args: string[];
  what: string;
}

let tiny28: Uint8Array | undefined;
/** A small SimpleCNN with MNIST's input [N, 1, 28, 28], so that a command line that is accepted finishes fast. */
function tinyMnistModel(): Uint8Array {
  tiny28 ??= buildSimpleCnn({ channels: 1, height: 28, width: 28, widths: [2, 3, 4], hidden: 8, seed: 5 });
  return tiny28;
}

type Setup = (dir: string, rng: Rng) => { args: string[]; what: string };

const model = (dir: string) => { const p = join(dir, 'model.onnx'); writeFileSync(p, tinyMnistModel()); return p; };
const image = (dir: string) => { const p = join(dir, 'in.png'); writeFileSync(p, png(28, 28, { colorType: 0 })); return p; };
const explain = (dir: string, extra: string[]) => ['explain', '--model', model(dir), '--input', image(dir), '--methods', 'vanilla-gradient', '--out', join(dir, 'maps'), ...extra];

/** Bad values per option of `explain`. */
const EXPLAIN_VALUES: [string, string[]][] = [
  ['--methods', ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', ',', 'all,bogus', 'smoothgrad/__proto__', 'vargrad/constructor', 'valueOf', 'VANILLA-GRADIENT']],
  ['--steps', ['1000000000', 'abc', '0', '-1', '1.5', '1e400', '', '100001', 'NaN']],
  ['--smoothgrad', ['1000000000,0.1', 'a,b', '10', '10,NaN', '10,-1', '0,0.1', ',', '10,0.1,3', '10,Infinity', '1e5,0.1']],
  ['--threads', ['5000', '100000', '0', '-1', 'abc', '1e3']],
  ['--batch-size', ['0', 'abc', '1e9', '-3', '1.5']],
  ['--alpha', ['NaN', '2', '-1', 'abc', 'Infinity']],
  ['--index', ['99999999', 'a', '5..1', '-1', '1,,2']],
  ['--target', ['-1', '10', 'abc', '1e9', 'label', '1.5', '__proto__']],
  ['--window', ['0', '1000', 'abc']],
  ['--stride', ['0', '-2', '1000']],
  ['--colormap', ['bogus', '__proto__', '']],
  ['--backend', ['bogus', 'constructor', '']],
  ['--device', ['gpu', 'cuda', 'webgpu', '__proto__']],
  ['--layer', ['nope', '__proto__', 'constructor', 'input', 'logits', '']],
];

const SETUPS: Record<string, Setup> = {
  'explain-option': (dir, rng) => {
    const [opt, values] = pick(rng, EXPLAIN_VALUES);
    const v = pick(rng, values);
    const extra = [opt, v];
    if (opt === '--window' || opt === '--stride' || opt === '--layer') extra.unshift('--methods', pick(rng, ['occlusion', 'grad-cam']));
    return { args: [...explain(dir, []), ...extra], what: `explain ${opt} ${JSON.stringify(v)}` };
  },
  'out-path': (dir, rng) => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const out = pick(rng, [file, join(file, 'sub'), '', '/dev/null', '/proc/version', '/proc', '/proc/whitebox-fuzz/out', join(dir, 'x'.repeat(300)), join(dir, 'deep', 'a'.repeat(255), 'b')]);
    const cmd = pick(rng, ['explain', 'export-gradients', 'train']);
    if (cmd === 'export-gradients') return { args: ['export-gradients', model(dir), '--out', out], what: `export-gradients --out ${JSON.stringify(out.slice(0, 60))}` };
    if (cmd === 'train') return { args: ['train', '--dataset', 'mnist', '--out', out, '--epochs', '1', '--train-limit', '64', '--test-limit', '16', '--widths', '2,2,2', '--hidden', '8', '--quiet'], what: `train --out ${JSON.stringify(out.slice(0, 60))}` };
    return { args: [...explain(dir, []).slice(0, -2), '--out', out], what: `explain --out ${JSON.stringify(out.slice(0, 60))}` };
  },
  'model-path': (dir, rng) => {
    const kind = rng.int(9);
    let p: string;
    let what: string;
    if (kind === 0) { p = '/dev/zero'; what = '/dev/zero'; }
    else if (kind === 1) { p = '/dev/urandom'; what = '/dev/urandom'; }
    else if (kind === 2) { p = join(dir, 'fifo.onnx'); execFileSync('mkfifo', [p]); what = 'a FIFO'; }
    else if (kind === 3) { p = dir; what = 'a directory'; }
    else if (kind === 4) { p = join(dir, 'missing.onnx'); what = 'a missing file'; }
    else if (kind === 5) { p = join(dir, 'empty.onnx'); writeFileSync(p, new Uint8Array(0)); what = 'an empty file'; }
    else if (kind === 6) { p = join(dir, 'loop.onnx'); symlinkSync(p, p); what = 'a symlink loop'; }
    else if (kind === 7) { p = join(dir, 'twice.onnx'); const b = tinyMnistModel(); const two = new Uint8Array(2 * b.length); two.set(b); two.set(b, b.length); writeFileSync(p, two); what = 'the model concatenated with itself'; }
    else { p = join(REPO_ROOT, 'README.md'); what = 'README.md'; }
    const cmd = pick(rng, ['explain', 'layers', 'evaluate-model', 'export-gradients']);
    const args = cmd === 'layers' ? ['layers', p] : cmd === 'export-gradients' ? ['export-gradients', p, '--out', join(dir, 'g')] : cmd === 'evaluate-model' ? ['evaluate-model', '--model', p, '--dataset', 'mnist', '--limit', '16', '--quiet'] : ['explain', '--model', p, '--input', image(dir), '--methods', 'vanilla-gradient', '--out', join(dir, 'maps')];
    return { args, what: `${cmd} --model ${what}` };
  },
  'model-mutant': (dir, rng) => {
    const r = rng.next();
    const mc = r < 0.5 ? mutantModel(rng, [pick(rng, MUTATION_NAMES)]) : r < 0.7 ? truncatedModel(rng) : r < 0.85 ? bitFlipModel(rng) : byteEditModel(rng);
    const p = join(dir, 'mutant.onnx');
    writeFileSync(p, mc.bytes);
    const cmd = pick(rng, ['layers', 'explain', 'export-gradients']);
    const args = cmd === 'layers' ? ['layers', p, '--all'] : cmd === 'export-gradients' ? ['export-gradients', p, '--out', join(dir, 'g')] : ['explain', '--model', p, '--input', image(dir), '--methods', 'vanilla-gradient,grad-cam', '--out', join(dir, 'maps')];
    return { args, what: `${cmd} on ${mc.what}` };
  },
  'input-png': (dir, rng) => {
    const c = pngCase(rng);
    const p = join(dir, 'bad.png');
    writeFileSync(p, c.bytes);
    return { args: ['explain', '--model', model(dir), '--input', p, '--methods', 'vanilla-gradient', '--out', join(dir, 'maps')], what: `explain --input PNG ${c.what}` };
  },
  'evaluate-model': (dir, rng) => {
    const [opt, v] = pick(rng, [['--batch-size', '0'], ['--batch-size', 'abc'], ['--limit', 'abc'], ['--limit', '0'], ['--limit', '-5'], ['--dataset', 'bogus'], ['--data-dir', '/dev/null'], ['--data-dir', ''], ['--data-dir', 'broken'], ['--device', 'gpu']] as [string, string][]);
    let value = v;
    if (v === 'broken') { value = join(dir, 'mnist'); writeMnistDir(rng, value); }
    const args = ['evaluate-model', '--model', model(dir), '--dataset', 'mnist', '--limit', '16', '--quiet'];
    const i = args.indexOf(opt);
    if (i >= 0) args[i + 1] = value; else args.push(opt, value);
    return { args, what: `evaluate-model ${opt} ${JSON.stringify(v)}` };
  },
  'train-option': (dir, rng) => {
    const [opt, v] = pick(rng, [['--train-limit', '0'], ['--train-limit', 'abc'], ['--epochs', '0'], ['--epochs', '1e9'], ['--lr', 'NaN'], ['--lr', '0'], ['--batch-size', '0'], ['--widths', 'a,b'], ['--widths', '0,0,0'], ['--hidden', '0'], ['--validation-fraction', '1.5'], ['--dataset', 'bogus'], ['--seed', 'x']] as [string, string][]);
    return { args: ['train', '--dataset', 'mnist', '--out', join(dir, 'out'), '--epochs', '1', '--train-limit', '64', '--test-limit', '16', '--widths', '2,2,2', '--hidden', '8', '--quiet', opt, v], what: `train ${opt} ${JSON.stringify(v)}` };
  },
  'layers-option': (dir, rng) => {
    const v = pick(rng, ['nope', '__proto__', '', 'relu1', 'constructor']);
    return { args: ['layers', join(dir, 'm.onnx'), '--output', v].map((a) => a), what: `layers --output ${JSON.stringify(v)}` };
  },
  usage: (_dir, rng) => {
    const args = pick(rng, [[], ['bogus'], ['explain'], ['explain', '--bogus'], ['layers'], ['--version', 'x'], ['explain', '--model'], ['__proto__'], ['constructor', '--help']]);
    return { args, what: `whitebox ${args.join(' ')}` };
  },
};

export const CLI_SETUPS = Object.keys(SETUPS);

/** Writes the files of CLI case `c` into `dir` (an empty directory) and returns the command line. */
export function cliCase(c: FuzzCase, dir: string): CliCase {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(c.seed);
  const name = CLI_SETUPS[c.index % CLI_SETUPS.length]!;
  const s = SETUPS[name]!(dir, rng);
  if (name === 'layers-option') writeFileSync(join(dir, 'm.onnx'), tinyMnistModel());
  return s;
}
