// Option parsing: every bad command-line value stops the command in commander's parser with exit code 2 and one
// line naming the option (never a stack trace, never a late or odd failure).
import { execFile } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { LIMITS, WhiteBoxError } from '@whitebox/core';
import { buildSimpleCnn } from '@whitebox/onnx';
import { explain, register as registerExplain } from '../src/commands/explain.js';
import { evaluateModelCommand } from '../src/commands/evaluate-model.js';
import { trainCommand } from '../src/commands/train.js';
import { methodEntry, resolveMethods, parseSmoothGrad } from '../src/methods.js';
import { ensureOutDir, enumOption, intOption, numberOption, outDirProblem, parseIntValue, parseNumberValue, USAGE_EXIT_CODE } from '../src/options.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'dist', 'bin.js');
const repo = join(here, '..', '..', '..');
const mnistModel = join(repo, 'models', 'mnist-simplecnn.onnx');

/** Runs the built CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
async function cli(args: string[], timeout = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], { timeout, cwd: repo });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; killed?: boolean };
    if (e.killed) throw new Error(`whitebox ${args.join(' ')} timed out`);
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('option parsers', () => {
  it('parse integers and numbers strictly, with ranges', () => {
    expect(parseIntValue('12', '--n')).toBe(12);
    expect(parseIntValue('1e3', '--n')).toBe(1000);
    expect(parseIntValue('0', '--workers', { min: 0 })).toBe(0);
    for (const bad of ['abc', '', ' ', '1.5', 'NaN', 'Infinity', '0x10', '1e400', '12abc']) expect(() => parseIntValue(bad, '--n'), bad).toThrow(/--n must be an integer ≥ 1/);
    expect(() => parseIntValue('0', '--batch-size')).toThrow(/--batch-size must be ≥ 1, got 0/);
    expect(() => parseIntValue('300', '--threads', { max: 256, maxWhy: 'the documented thread limit' })).toThrow(/--threads must be ≤ 256 \(the documented thread limit\), got 300/);
    expect(parseNumberValue('0.25', '--alpha', { min: 0, max: 1 })).toBe(0.25);
    for (const bad of ['NaN', 'abc', '', 'Infinity', '-Infinity']) expect(() => parseNumberValue(bad, '--alpha', { min: 0, max: 1 }), bad).toThrow(/--alpha must be a finite number/);
    expect(() => parseNumberValue('1.5', '--alpha', { min: 0, max: 1 })).toThrow(/--alpha must be ≥ 0 and ≤ 1, got 1.5/);
    expect(() => parseNumberValue('0', '--lr', { min: 0, minExclusive: true })).toThrow(/--lr must be > 0/);
    expect(enumOption('--device', ['cpu', 'cuda'])('cpu')).toBe('cpu');
    expect(() => enumOption('--device', ['cpu', 'cuda'])('gpu')).toThrow(/--device must be one of cpu, cuda, got 'gpu'/);
    // commander usage errors carry exit code 2.
    try {
      intOption('--steps')('abc');
      expect.unreachable();
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(USAGE_EXIT_CODE);
    }
    expect(() => numberOption('--x')('1e999')).toThrow(/finite/);
  });

  it('refuse output directories that are empty, files, /dev/null or under a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-out-'));
    try {
      const file = join(dir, 'f');
      writeFileSync(file, 'x');
      expect(outDirProblem('')).toBe('is empty');
      expect(outDirProblem(file)).toMatch(/exists and is not a directory/);
      expect(outDirProblem('/dev/null')).toMatch(/exists and is not a directory/);
      expect(outDirProblem(join(file, 'a', 'b'))).toMatch(/is under '.*f', which is not a directory/);
      expect(outDirProblem(join(dir, 'new', 'deeper'))).toBeUndefined();
      for (const bad of ['', file, '/dev/null', join(file, 'sub')]) {
        expect(() => ensureOutDir(bad, '--out'), bad).toThrow(WhiteBoxError);
      }
      expect(ensureOutDir(join(dir, 'new', 'deeper'))).toBe(join(dir, 'new', 'deeper'));
      expect(existsSync(join(dir, 'new', 'deeper'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('look methods up by own property only', () => {
    for (const id of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(methodEntry(id), id).toBeUndefined();
      expect(() => resolveMethods(id), id).toThrow(new RegExp(`unknown method '${id}'`));
      expect(() => resolveMethods(`vargrad/${id}`), id).toThrow(/unknown method/);
    }
    expect(() => parseSmoothGrad('1000000000,0.1')).toThrow(/above the limit of 10,000/);
    expect(() => parseSmoothGrad(',0.1')).toThrow(/n an integer ≥ 1/);
  });
});

describe('commands refuse bad values before any work (API and commander program)', () => {
  let dir: string;
  let model: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wb-cli-bad-'));
    model = join(dir, 'm.onnx');
    writeFileSync(model, buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 2, widths: [4, 4, 4], hidden: 8 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('explain: --out that is a file, /dev/null, empty or under a file is a named error', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    for (const out of [file, join(file, 'sub'), '/dev/null', '']) {
      await expect(explain({ model, dataset: 'mnist', index: '0', methods: 'vanilla-gradient', out, quiet: true }), out).rejects.toMatchObject({ name: 'WhiteBoxError', code: 'INVALID_ARGUMENT' });
    }
    await expect(explain({ model, dataset: 'mnist', index: '0', methods: 'vanilla-gradient', out: join(dir, 'o'), alpha: NaN, quiet: true })).rejects.toThrow(/--alpha must be a number in \[0, 1\], got NaN/);
  });

  it('the commander program rejects bad numbers and enums in its parsers (CommanderError, exit code 2)', async () => {
    const bad: string[][] = [
      ['--steps', 'abc'], ['--steps', '0'], ['--steps', String(LIMITS.integratedGradientsSteps + 1)], ['--threads', '100000'], ['--threads', '5000'],
      ['--batch-size', 'abc'], ['--batch-size', '0'], ['--alpha', 'NaN'], ['--alpha', '2'], ['--device', 'gpu'], ['--backend', 'gpu'],
      ['--methods', 'constructor'], ['--methods', '__proto__'], ['--smoothgrad', '1000000000,0.1'], ['--colormap', 'rainbow'], ['--index', 'abc'],
      ['--out', '/dev/null'], ['--out', ''], ['--target', '-1'], ['--target', 'abc'],
    ];
    for (const args of bad) {
      const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
      registerExplain(program);
      await expect(program.parseAsync(['node', 'whitebox', 'explain', '--model', model, '--dataset', 'mnist', ...args]), args.join(' ')).rejects.toMatchObject({ code: 'commander.invalidArgument', exitCode: 2 });
    }
  });

  it('evaluate-model and train refuse 0 and non-numbers instead of looping or using everything', async () => {
    await expect(evaluateModelCommand({ model, dataset: 'mnist', batchSize: 0, quiet: true })).rejects.toThrow(/--batch-size must be an integer in 1\.\.65536, got 0/);
    await expect(evaluateModelCommand({ model, dataset: 'mnist', limit: Number('abc'), quiet: true })).rejects.toThrow(/--limit must be an integer ≥ 1, got NaN/);
    await expect(evaluateModelCommand({ model, dataset: 'mnist', limit: 0, quiet: true })).rejects.toThrow(/--limit must be an integer ≥ 1, got 0/);
    await expect(trainCommand({ dataset: 'mnist', trainLimit: 0, out: join(dir, 'models'), quiet: true })).rejects.toThrow(/--train-limit must be an integer ≥ 1, got 0/);
    await expect(trainCommand({ dataset: 'mnist', epochs: Number('x'), out: join(dir, 'models'), quiet: true })).rejects.toThrow(/--epochs must be an integer ≥ 1, got NaN/);
    await expect(trainCommand({ dataset: 'mnist', name: '../escape', out: join(dir, 'models'), quiet: true })).rejects.toThrow(/--name must be/);
  });
});

describe('the whitebox binary: exit code 2 and one line for bad arguments, named errors for bad files', () => {
  const oneLine = (s: string) => s.trim().split('\n').length === 1 && !/\n\s+at /.test(s);
  it.each([
    [['explain', '--model', mnistModel, '--dataset', 'mnist', '--steps', 'abc'], /--steps must be an integer ≥ 1, got 'abc'/],
    [['explain', '--model', mnistModel, '--dataset', 'mnist', '--steps', '1000000000'], /--steps must be ≤ 10,000/],
    [['explain', '--model', mnistModel, '--dataset', 'mnist', '--smoothgrad', '1000000000,0.1'], /above the limit of 10,000/],
    [['explain', '--model', mnistModel, '--dataset', 'mnist', '--methods', 'constructor'], /unknown method 'constructor'/],
    [['explain', '--model', mnistModel, '--dataset', 'mnist', '--out', '/dev/null'], /--out '\/dev\/null' exists and is not a directory/],
    [['explain', '--model', mnistModel, '--dataset', 'mnist', '--threads', '100000'], /--threads must be ≤ 256/],
    [['explain', '--model', mnistModel, '--dataset', 'mnist', '--alpha', 'NaN'], /--alpha must be a finite number/],
    [['evaluate-model', '--model', mnistModel, '--dataset', 'mnist', '--batch-size', '0'], /--batch-size must be ≥ 1, got 0/],
    [['evaluate-model', '--model', mnistModel, '--dataset', 'mnist', '--limit', 'abc'], /--limit must be an integer/],
    [['train', '--dataset', 'mnist', '--train-limit', '0'], /--train-limit must be ≥ 1, got 0/],
    [['explain', '--dataset', 'mnist'], /required option '--model <file>' not specified/],
  ])('whitebox %j', async (args, message) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(oneLine(r.stderr), r.stderr).toBe(true);
  });

  it('--out under /proc is a named error at once, not an endless mkdir loop; export-gradients names an unwritable --out (fuzz cases cli.invocation#37, #109)', async () => {
    for (const args of [['explain', '--model', mnistModel, '--dataset', 'mnist', '--methods', 'vanilla-gradient', '--out', '/proc/whitebox-x'], ['export-gradients', mnistModel, '--out', '/proc'], ['export-gradients', mnistModel, '--out', '/proc/whitebox-x/y']]) {
      const r = await cli(args, 60_000);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/whitebox: error \[INVALID_ARGUMENT\]: (--out|output directory) '\/proc\/whitebox-x(\/y)?': cannot create directory \/proc\/whitebox-x \(ENOENT\)|cannot write gradient graph \/proc\/mnist-simplecnn\.grad\.gradient\.onnx: ENOENT/);
      expect(r.stderr).not.toMatch(/internal error/);
    }
  });

  it('no command is a usage error like the others: help on stderr, exit code 2, not 1 (fuzz case cli.invocation#17)', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Usage: whitebox/m);
    expect((await cli(['--help'])).code).toBe(0);
  });

  it('names a device, a FIFO and a directory given as the model, without hanging (exit code 1, one line)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-cli-fifo-'));
    try {
      const fifo = join(dir, 'model.onnx');
      execFileSync('mkfifo', [fifo]);
      for (const [path, what] of [['/dev/zero', 'a character device'], ['/dev/urandom', 'a character device'], [fifo, 'a FIFO (named pipe)'], [dir, 'a directory']] as const) {
        const r = await cli(['explain', '--model', path, '--dataset', 'mnist', '--out', join(dir, 'out')], 30_000);
        expect(r.code, path).toBe(1);
        expect(r.stderr, path).toContain(`cannot read ONNX model ${path}: it is ${what}, not a regular file`);
        expect(oneLine(r.stderr), r.stderr).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
