import cliProgress from 'cli-progress';
import type { Progress, ProgressCallback } from '@whitebox/core';

/** A terminal progress bar (cli-progress) for long commands. */
export interface ProgressBar {
  /** Pass as any `onProgress` option. */
  update: ProgressCallback;
  /** Stops and clears the bar. */
  stop(): void;
}

/**
 * A terminal progress bar with ETA for long work. On a non-TTY (CI, pipes) it prints a
 * line at most every few seconds instead of redrawing.
 */
export function progressBar(label: string): ProgressBar {
  const tty = !!process.stderr.isTTY;
  if (!tty) {
    let last = 0;
    const started = Date.now();
    return {
      update(p: Progress) {
        const now = Date.now();
        if (p.done !== p.total && now - last < 5000) return;
        last = now;
        const elapsed = (now - started) / 1000;
        const eta = p.done > 0 ? (elapsed / p.done) * (p.total - p.done) : NaN;
        process.stderr.write(`${label}${p.stage ? ` [${p.stage}]` : ''}: ${Number.isInteger(p.done) ? p.done : p.done.toFixed(1)}/${p.total} (${Math.round((100 * p.done) / Math.max(1, p.total))}%) elapsed ${elapsed.toFixed(0)}s ETA ${Number.isFinite(eta) ? eta.toFixed(0) + 's' : '?'}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} {stage} |{bar}| {percentage}% | {value}/{total} | elapsed {duration_formatted} | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p: Progress) {
      if (!started) {
        bar.start(p.total, p.done, { stage: p.stage ?? '' });
        started = true;
      }
      bar.setTotal(p.total);
      bar.update(p.done, { stage: p.stage ?? '' });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
