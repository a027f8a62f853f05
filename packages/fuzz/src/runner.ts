/**
 * Runs fuzz cases, each in its own child process with a time limit and a memory limit (V8 heap via
 * --max-old-space-size, resident memory by polling /proc/<pid>/status), and classifies each outcome.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCEPTABLE, CATEGORIES, OUTCOMES, type CaseResult, type FuzzCase, type Outcome } from './cases.js';
import { cliCase } from './cli-cases.js';
import { RESULT_MARKER } from './marker.js';

const PKG = fileURLToPath(new URL('../', import.meta.url));
export const CHILD_JS = join(PKG, 'dist', 'child.js');
export const CLI_BIN = join(PKG, '..', 'cli', 'dist', 'bin.js');

export interface RunOptions {
  /** Wall-clock limit per case (default 60 s); a case past it is a hang. */
  timeoutMs?: number;
  /** Resident-memory limit per case in MiB (default 2048); V8's heap is capped at the same size. */
  maxRssMb?: number;
  /** Cases run at once (default: the CPU count). */
  concurrency?: number;
  /** Called after each case. */
  onResult?: (r: RunRecord, done: number, total: number) => void;
}

export interface RunRecord extends CaseResult {
  id: string;
  category: string;
  seed: number;
  /** Wall-clock milliseconds. */
  ms: number;
  /** Peak resident memory seen, MiB. */
  peakRssMb: number;
  /** The command line, for CLI cases. */
  argv?: string[];
}

function readStatus(pid: number): { rssKb: number; hwmKb: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const num = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { rssKb: num('VmRSS'), hwmKb: num('VmHWM') };
  } catch {
    return undefined;
  }
}

/** How a CLI run ended, from its exit code and output. */
export function classifyCli(code: number, stdout: string, stderr: string, what: string): CaseResult {
  const lines = stderr.split('\n').map((l) => l.replace(/\r/g, '').trim()).filter((l) => l.startsWith('whitebox:'));
  const stack = /^\s+at .+:\d+:\d+\)?$/m.test(stderr);
  const message = lines.join(' | ').slice(0, 600);
  if (code === 0) {
    if (/\bNaN\b|\bInfinity\b/.test(stdout)) return { outcome: 'nan', what, message: stdout.slice(0, 400) };
    return { outcome: 'success', what, message: stdout.split('\n')[0]?.slice(0, 200) };
  }
  if (/internal error/.test(stderr) || stack) return { outcome: 'other-exception', what, code: `exit ${code}`, message: stderr.slice(-1200) };
  // A usage error that prints the command's help (no command given): exit code 2, help on stderr.
  if (code === 2 && lines.length === 0 && /^Usage: whitebox/m.test(stderr)) return { outcome: 'named-error', what, code: 'exit 2', message: 'usage help' };
  if ((code === 1 || code === 2) && lines.length === 1) {
    const m = lines[0]!;
    const bad = m.length < 20 || /\[object Object\]/.test(m);
    return { outcome: bad ? 'bad-message' : 'named-error', what, code: `exit ${code}`, message };
  }
  return { outcome: 'other-exception', what, code: `exit ${code}`, message: stderr.slice(-1200) || stdout.slice(-400) };
}

/** Runs one case in a child process. */
export function runCase(c: FuzzCase, options: RunOptions = {}): Promise<RunRecord> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxRssMb = options.maxRssMb ?? 2048;
  const category = CATEGORIES.find((x) => x.name === c.category);
  const isCli = category?.runner === 'cli';
  const dir = mkdtempSync(join(tmpdir(), 'wb-fuzz-case-'));
  let argv: string[];
  let what = c.category;
  if (isCli) {
    const cc = cliCase(c, dir);
    argv = [CLI_BIN, ...cc.args];
    what = cc.what;
  } else {
    argv = [CHILD_JS, JSON.stringify(c)];
  }
  const started = Date.now();
  return new Promise<RunRecord>((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${maxRssMb}`, ...argv], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OMP_NUM_THREADS: '1', NO_COLOR: '1', WHITEBOX_DATA_DIR: join(dir, '.cache') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { if (stdout.length < 1 << 20) stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 1 << 20) stderr += d.toString(); });
    let peakKb = 0;
    let killedFor: Outcome | undefined;
    const poll = setInterval(() => {
      const s = child.pid ? readStatus(child.pid) : undefined;
      if (!s) return;
      peakKb = Math.max(peakKb, s.hwmKb, s.rssKb);
      if (s.rssKb > maxRssMb * 1024 && !killedFor) { killedFor = 'memory'; child.kill('SIGKILL'); }
    }, 50);
    const timer = setTimeout(() => { if (!killedFor) { killedFor = 'hang'; child.kill('SIGKILL'); } }, timeoutMs);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      const ms = Date.now() - started;
      const base = { id: c.id, category: c.category, seed: c.seed, ms, argv: isCli ? argv.slice(1) : undefined };
      let result: CaseResult;
      let reportedMb = 0;
      if (killedFor) {
        result = { outcome: killedFor, what, message: killedFor === 'hang' ? `no result after ${timeoutMs} ms` : `resident memory above ${maxRssMb} MiB` };
      } else if (signal) {
        result = { outcome: 'crash', what, code: signal, message: stderr.slice(-800) };
      } else if (isCli) {
        result = classifyCli(code ?? -1, stdout, stderr, what);
      } else {
        const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
        if (line) {
          const r = JSON.parse(line.slice(RESULT_MARKER.length)) as CaseResult & { maxRssMb: number };
          reportedMb = r.maxRssMb;
          result = { outcome: r.outcome, what: r.what, code: r.code, message: r.message };
        } else {
          const oom = /heap out of memory|Allocation failed/.test(stderr);
          result = { outcome: oom ? 'memory' : 'crash', what, code: `exit ${code}`, message: stderr.slice(-800) };
        }
      }
      const peakRssMb = Math.max(peakKb / 1024, reportedMb);
      if (peakRssMb > maxRssMb && ACCEPTABLE.includes(result.outcome)) result = { ...result, outcome: 'memory', message: `peak resident memory ${peakRssMb.toFixed(0)} MiB (${result.outcome}: ${result.message ?? ''})` };
      resolve({ ...base, ...result, peakRssMb: Math.round(peakRssMb) });
    });
  });
}

/** Runs cases with a pool of `concurrency` child processes at a time. */
export async function runCases(cases: readonly FuzzCase[], options: RunOptions = {}): Promise<RunRecord[]> {
  const concurrency = Math.max(1, options.concurrency ?? cpus().length);
  const out: RunRecord[] = new Array(cases.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= cases.length) return;
      out[i] = await runCase(cases[i]!, options);
      done++;
      options.onResult?.(out[i]!, done, cases.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, worker));
  return out;
}

/** Counts by outcome, overall and per category. */
export function summarize(records: readonly RunRecord[]): { total: Record<Outcome, number>; byCategory: Record<string, Record<Outcome, number>>; peakRssMb: number; failures: RunRecord[] } {
  const zero = () => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const total = zero();
  const byCategory: Record<string, Record<Outcome, number>> = {};
  for (const r of records) {
    total[r.outcome]++;
    (byCategory[r.category] ??= zero())[r.outcome]++;
  }
  return { total, byCategory, peakRssMb: Math.max(0, ...records.map((r) => r.peakRssMb)), failures: records.filter((r) => !ACCEPTABLE.includes(r.outcome)) };
}

/** A Markdown table of the summary. */
export function summaryTable(records: readonly RunRecord[]): string {
  const s = summarize(records);
  const cols = OUTCOMES;
  const rows = [`| category | cases | ${cols.join(' | ')} | max RSS MiB |`, `|---|---:|${cols.map(() => '---:').join('|')}|---:|`];
  for (const [cat, counts] of Object.entries(s.byCategory)) {
    const n = Object.values(counts).reduce((a, b) => a + b, 0);
    const rss = Math.max(0, ...records.filter((r) => r.category === cat).map((r) => r.peakRssMb));
    rows.push(`| ${cat} | ${n} | ${cols.map((o) => counts[o]).join(' | ')} | ${rss} |`);
  }
  rows.push(`| **all** | ${records.length} | ${cols.map((o) => s.total[o]).join(' | ')} | ${s.peakRssMb} |`);
  return rows.join('\n');
}
