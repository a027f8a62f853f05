/**
 * Parsers for command-line option values, shared by every command: each validates in commander's option parser,
 * so a bad value stops the command before any work with exit code 2 and one line naming the option, e.g.
 *   whitebox: error: option '--steps <n>' argument 'abc' is invalid: --steps must be an integer ≥ 1
 * Use them as the third argument of `.option()`:
 *   .option('--steps <n>', 'IG steps', intOption('--steps', { min: 1, max: LIMITS.integratedGradientsSteps }))
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { WhiteBoxError, makeDirs } from '@whitebox/core';

/** Exit code of a usage error (bad option value, unknown option, missing argument). */
export const USAGE_EXIT_CODE = 2;

/** A usage error raised from an option parser: commander prints it on one line and exits with USAGE_EXIT_CODE. */
export function usageError(message: string): InvalidArgumentError {
  const err = new InvalidArgumentError(message);
  err.exitCode = USAGE_EXIT_CODE;
  return err;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Strict number syntax: decimal, optional sign, fraction and exponent ('1e3', '-0.5'); no '', '0x10', ' 3', 'Infinity'. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface IntOptionSpec {
  /** Smallest accepted value (default 1). */
  min?: number;
  /** Largest accepted value (default Number.MAX_SAFE_INTEGER); name the limit in `maxWhy`. */
  max?: number;
  /** Why the maximum, e.g. 'the documented thread limit'. */
  maxWhy?: string;
}

/** Parses an integer option value in [min, max]. */
export function parseIntValue(value: string, name: string, spec: IntOptionSpec = {}): number {
  const min = spec.min ?? 1;
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const n = NUMBER.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw usageError(`${name} must be an integer${min > -Infinity ? ` ≥ ${fmt(min)}` : ''}, got '${value}'`);
  if (n < min) throw usageError(`${name} must be ≥ ${fmt(min)}, got ${value}`);
  if (n > max) throw usageError(`${name} must be ≤ ${fmt(max)}${spec.maxWhy ? ` (${spec.maxWhy})` : ''}, got ${value}`);
  return n;
}

/** commander parser for an integer option: `intOption('--threads', { max: LIMITS.threads })`. */
export function intOption(name: string, spec: IntOptionSpec = {}): (value: string) => number {
  return (value) => parseIntValue(value, name, spec);
}

export interface NumberOptionSpec {
  min?: number;
  max?: number;
  /** Exclude the minimum itself (e.g. a learning rate > 0). */
  minExclusive?: boolean;
}

/** Parses a finite number option value in [min, max] (or (min, max] with minExclusive). */
export function parseNumberValue(value: string, name: string, spec: NumberOptionSpec = {}): number {
  const n = NUMBER.test(value) ? Number(value) : NaN;
  const range = () => {
    const lo = spec.min === undefined ? '' : `${spec.minExclusive ? '>' : '≥'} ${spec.min}`;
    const hi = spec.max === undefined ? '' : `≤ ${spec.max}`;
    return [lo, hi].filter(Boolean).join(' and ');
  };
  if (!Number.isFinite(n)) throw usageError(`${name} must be a finite number${range() ? ` ${range()}` : ''}, got '${value}'`);
  if (spec.min !== undefined && (n < spec.min || (spec.minExclusive && n === spec.min))) throw usageError(`${name} must be ${range()}, got ${value}`);
  if (spec.max !== undefined && n > spec.max) throw usageError(`${name} must be ${range()}, got ${value}`);
  return n;
}

/** commander parser for a number option: `numberOption('--alpha', { min: 0, max: 1 })`. */
export function numberOption(name: string, spec: NumberOptionSpec = {}): (value: string) => number {
  return (value) => parseNumberValue(value, name, spec);
}

/** commander parser for one of fixed values: `enumOption('--device', ['cpu', 'cuda', 'wasm', 'webgpu'])`. */
export function enumOption<T extends string>(name: string, values: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value)) throw usageError(`${name} must be one of ${values.join(', ')}, got '${value}'`);
    return value as T;
  };
}

/** commander parser for a comma-separated list of fixed values (no empty list, no unknown entries). */
export function enumListOption<T extends string>(name: string, values: readonly T[]): (value: string) => T[] {
  return (value) => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length === 0) throw usageError(`${name} needs at least one of ${values.join(', ')}, got '${value}'`);
    for (const item of items) if (!(values as readonly string[]).includes(item)) throw usageError(`${name}: unknown value '${item}' (known: ${values.join(', ')})`);
    return items as T[];
  };
}

/** commander parser for a non-empty string (a name, a path). */
export function nonEmptyOption(name: string): (value: string) => string {
  return (value) => {
    if (value.trim() === '') throw usageError(`${name} must not be empty`);
    return value;
  };
}

/**
 * Why `dir` cannot be an output directory, or undefined when it can: empty, an existing non-directory
 * (a file, /dev/null), or under a file (some ancestor is not a directory).
 */
export function outDirProblem(dir: string): string | undefined {
  if (typeof dir !== 'string' || dir.trim() === '') return 'is empty';
  let p = resolve(dir);
  if (existsSync(p)) return statSync(p).isDirectory() ? undefined : `'${dir}' exists and is not a directory`;
  for (;;) {
    const parent = dirname(p);
    if (parent === p) return undefined;
    p = parent;
    if (existsSync(p)) return statSync(p).isDirectory() ? undefined : `'${dir}' is under '${p}', which is not a directory`;
  }
}

/** commander parser for an output directory: refuses '', files, /dev/null and paths under a file before any work. */
export function outDirOption(name: string): (value: string) => string {
  return (value) => {
    const problem = outDirProblem(value);
    if (problem) throw usageError(`${name} ${problem}: give a directory to write into`);
    return value;
  };
}

/**
 * Creates the output directory `dir` (given by option `name`), or throws INVALID_ARGUMENT naming the option and why:
 * also for defaults and API calls, which do not go through the option parser.
 */
export function ensureOutDir(dir: string, name = '--out'): string {
  const problem = outDirProblem(dir);
  if (problem) throw new WhiteBoxError('INVALID_ARGUMENT', `${name} ${problem}: give a directory to write into`, { option: name, dir });
  // Not mkdirSync(dir, { recursive: true }): it loops forever under /proc (see makeDirs).
  makeDirs({ existsSync, mkdirSync, statSync }, dir, name);
  return dir;
}

/** Writes one output file, with INVALID_ARGUMENT naming the file instead of a raw EACCES/ENOSPC stack. */
export function writeOutputFile(path: string, data: Uint8Array | string): void {
  try {
    writeFileSync(path, data);
  } catch (err) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `cannot write ${path}: ${(err as { code?: string }).code ?? (err as Error).message}`, { file: path }, { cause: err });
  }
}

/**
 * commander parser from a validating function: its WhiteBoxError (or any Error) becomes a usage error,
 * e.g. `validatedOption((v) => { resolveMethods(v); return v; })`.
 */
export function validatedOption<T>(validate: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return validate(value);
    } catch (err) {
      throw usageError((err as Error).message);
    }
  };
}

/** `--target`: a class index ≥ 0, 'predicted' or 'label' (the class count is checked once the model is loaded). */
export function targetOption(name = '--target'): (value: string) => string {
  return (value) => {
    if (value === 'predicted' || value === 'label') return value;
    parseIntValue(value, name, { min: 0 });
    return value;
  };
}
