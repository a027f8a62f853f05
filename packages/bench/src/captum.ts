import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** packages/bench/scripts/captum_bench.py (next to dist/ and src/). */
const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'captum_bench.py');

export interface CaptumHello {
  torch: string;
  captum: string;
  captumPath: string;
  python: string;
}

/** One PyTorch + Captum worker process (scripts/captum_bench.py) at a fixed thread count. */
export interface CaptumWorker {
  readonly threads: number;
  readonly hello: CaptumHello;
  request<T>(msg: Record<string, unknown>): Promise<T>;
  close(): void;
}

/**
 * Where the bench finds PyTorch and Captum: WHITEBOX_TORCH_PYTHON (default /usr/bin/python3, Debian's python3-torch)
 * and WHITEBOX_CAPTUM_PATH, a Captum source tree (the folder holding `captum/`), put on PYTHONPATH. Captum is never
 * part of this repository.
 */
export function captumSetup(): { python: string; captumPath?: string } {
  return { python: process.env.WHITEBOX_TORCH_PYTHON ?? '/usr/bin/python3', captumPath: process.env.WHITEBOX_CAPTUM_PATH };
}

/**
 * Starts a Captum worker with `threads` intra-op threads (torch.set_num_threads, and OMP/OpenBLAS thread counts fixed
 * at process start, since Debian's torch runs its GEMMs through OpenBLAS, whose pool torch.set_num_threads leaves
 * alone). Resolves to the reason instead when PyTorch or Captum is missing.
 */
export async function startCaptum(threads: number): Promise<CaptumWorker | { reason: string }> {
  const { python, captumPath } = captumSetup();
  if (!captumPath) return { reason: 'WHITEBOX_CAPTUM_PATH is not set (a Captum source tree; see packages/bench/README.md)' };
  if (!existsSync(join(captumPath, 'captum', '__init__.py'))) return { reason: `WHITEBOX_CAPTUM_PATH=${captumPath} holds no captum/__init__.py` };
  const env = {
    ...process.env,
    PYTHONPATH: [captumPath, process.env.PYTHONPATH].filter(Boolean).join(':'),
    OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads),
  };
  const proc = spawn(python, [SCRIPT], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((line: string) => void)[] = [];
  const lines = createInterface({ input: proc.stdout! });
  lines.on('line', (line) => waiting.shift()?.(line));
  let failed: Error | undefined;
  proc.on('error', (e) => { failed = e; for (const w of waiting.splice(0)) w(JSON.stringify({ ok: false, error: e.message })); });
  proc.on('exit', (code) => { for (const w of waiting.splice(0)) w(JSON.stringify({ ok: false, error: `python exited (${code})` })); });
  const request = <T>(msg: Record<string, unknown>): Promise<T> => new Promise<T>((res, rej) => {
    if (failed || proc.exitCode !== null) { rej(failed ?? new Error('python exited')); return; }
    waiting.push((line) => {
      const r = JSON.parse(line) as { ok: boolean; error?: string } & T;
      if (r.ok) res(r);
      else rej(new Error(r.error));
    });
    proc.stdin!.write(JSON.stringify(msg) + '\n');
  });
  try {
    const hello = await request<CaptumHello>({ cmd: 'hello' });
    return { threads, hello, request, close: () => { proc.stdin!.end(); proc.kill(); } };
  } catch (err) {
    proc.kill();
    return { reason: `${python} with PYTHONPATH=${captumPath}: ${(err as Error).message.split('\n')[0]}` };
  }
}
