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
