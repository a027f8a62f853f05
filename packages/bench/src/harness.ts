import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One table of a benchmark suite, rendered into BENCHMARKS.md. */
export interface BenchTable {
  title: string;
  /** What the rows measure, how, and what they mean. */
  notes?: string;
  columns: string[];
  rows: (string | number)[][];
}

export interface BenchSection {
  suite: string;
  tables: BenchTable[];
}

export interface BenchOptions {
  /** Shorter runs (fewer repetitions) for a smoke check. */
  quick: boolean;
  /** The command line's arguments (suite-specific flags such as --vs-captum). */
  args?: readonly string[];
}

export interface Suite {
  name: string;
  run(options: BenchOptions): Promise<BenchSection>;
}

export interface IsolatedResult<T> {
  result: T;
  /** Peak resident set size of the child process, MiB. */
  peakRssMiB: number;
}

/**
 * Runs `exportName` of module `moduleUrl` with `args` in a fresh Node process, so that the
 * peak RSS reported belongs to that one configuration alone.
 */
export function runIsolated<T>(moduleUrl: string, exportName: string, args: unknown): Promise<IsolatedResult<T>> {
  const child = fileURLToPath(new URL('./child.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const proc = fork(child, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    proc.once('message', (msg: { ok: boolean; result?: T; error?: string; maxRssKiB: number }) => {
      if (msg.ok) resolve({ result: msg.result as T, peakRssMiB: msg.maxRssKiB / 1024 });
      else reject(new Error(msg.error));
      proc.kill();
    });
    proc.once('error', reject);
    proc.send({ moduleUrl, exportName, args });
  });
}

/** Median of timings, in seconds, of `fn` run `reps` times after `warmup` runs. */
export async function timeMedian(fn: () => Promise<unknown>, reps: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** A long-lived child process that runs exported functions of one module on request (see `startWorker`). */
export interface BenchWorker {
  call<T>(exportName: string, args: unknown): Promise<T>;
  /** Peak RSS of the child so far, MiB (as of its last reply). */
  readonly peakRssMiB: number;
  close(): void;
}

/**
 * Starts a child Node process that keeps `moduleUrl`'s state between calls, so that a bench can alternate
 * measurements of several configurations (one process each: wasm threads and ORT sessions are per process) row by row.
 */
export function startWorker(moduleUrl: string): BenchWorker {
  const file = fileURLToPath(new URL('./worker.js', import.meta.url));
  const proc = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  let peak = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  proc.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string; maxRssKiB: number }) => {
    peak = Math.max(peak, msg.maxRssKiB / 1024);
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.ok) p?.resolve(msg.result);
    else p?.reject(new Error(msg.error));
  });
  proc.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`bench worker exited (code ${code})`));
    pending.clear();
  });
  return {
    call<T>(exportName: string, args: unknown): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, moduleUrl, exportName, args });
      });
    },
    get peakRssMiB() { return peak; },
    close() { proc.kill(); },
  };
}
