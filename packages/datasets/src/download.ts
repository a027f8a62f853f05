import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, openSync, closeSync, writeSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { WhiteBoxError, type ProgressCallback } from '@whitebox/core';

/** The official CIFAR-10 binary archive. */
export const CIFAR10_ARCHIVE = {
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  file: 'cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  /** Top-level directory inside the archive. */
  folder: 'cifar-10-batches-bin',
  bytes: 170052171,
} as const;

/** `$WHITEBOX_DATA_DIR`, else `~/.cache/whitebox`. */
export function defaultCacheDir(): string {
  return process.env.WHITEBOX_DATA_DIR || join(homedir(), '.cache', 'whitebox');
}

/** Hex md5 or sha256 of a file, streamed. */
export async function fileDigest(path: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** How long a download may take; each is in milliseconds. */
export interface DownloadTimeouts {
  /** Until the response headers arrive (DNS, connect, TLS, request): default 30 s. */
  connectMs?: number;
  /** Without receiving any byte of the body: default 60 s. */
  idleMs?: number;
  /** For the whole download: default 2 h (the CIFAR-10 archive is 170 MB: 2 h is 24 kB/s). */
  totalMs?: number;
  /**
   * Slowest accepted transfer, averaged over each `idleMs` window: default 1024 bytes/s (a server trickling a byte a
   * second fails after one window instead of after `totalMs`).
   */
  minBytesPerSecond?: number;
}

/** Download timeouts used when none are given: 30 s to connect, 60 s without data, 2 h in all, at least 1 KiB/s. */
export const DEFAULT_DOWNLOAD_TIMEOUTS: Required<DownloadTimeouts> = { connectMs: 30_000, idleMs: 60_000, totalMs: 2 * 60 * 60_000, minBytesPerSecond: 1024 };

/** Largest download when the expected size is not known (4 GiB). */
export const DEFAULT_DOWNLOAD_MAX_BYTES = 4 * 2 ** 30;

/** Options of `downloadFile`: URL, destination, checksums, size limits, timeouts and progress. */
export interface DownloadOptions {
  url: string;
  /** Final path; written atomically (data goes to `<dest>.part`, renamed after verification). */
  dest: string;
  md5?: string;
  sha256?: string;
  /**
   * The file's exact size when known: a response announcing more, or a body running past it, is stopped at once
   * (LIMIT_EXCEEDED) instead of being written in full before the checksum.
   */
  expectedBytes?: number;
  /** Largest accepted file when `expectedBytes` is not given (default DEFAULT_DOWNLOAD_MAX_BYTES). */
  maxBytes?: number;
  timeouts?: DownloadTimeouts;
  onProgress?: ProgressCallback;
  /** Injected fetch (tests). */
  fetch?: typeof fetch;
}

class DownloadTimeout extends Error {
  constructor(readonly which: 'connect' | 'idle' | 'total' | 'slow', readonly ms: number) {
    super(`${which} timeout`);
  }
}

function checkTimeout(v: number | undefined, name: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new WhiteBoxError('INVALID_ARGUMENT', `download timeout ${name} must be a number of milliseconds > 0, got ${v}`);
}

/**
 * Downloads `url` to `dest`: resumes a previous `<dest>.part` with an HTTP Range request, verifies md5/sha256,
 * then renames into place. A checksum mismatch deletes the partial file and throws CHECKSUM_MISMATCH.
 * Returns the sha256 of the file.
 */
export async function downloadFile(opts: DownloadOptions): Promise<{ path: string; md5: string; sha256: string }> {
  const doFetch = opts.fetch ?? fetch;
  const t = { ...DEFAULT_DOWNLOAD_TIMEOUTS, ...(opts.timeouts ?? {}) };
  checkTimeout(t.connectMs, 'connectMs');
  checkTimeout(t.idleMs, 'idleMs');
  checkTimeout(t.totalMs, 'totalMs');
  if (!(Number.isFinite(t.minBytesPerSecond) && t.minBytesPerSecond >= 0)) throw new WhiteBoxError('INVALID_ARGUMENT', `minBytesPerSecond must be a number ≥ 0, got ${t.minBytesPerSecond}`);
  const cap = opts.expectedBytes ?? opts.maxBytes ?? DEFAULT_DOWNLOAD_MAX_BYTES;
  if (!(Number.isSafeInteger(cap) && cap >= 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `download size limit must be an integer ≥ 1, got ${cap}`);
  const capWhat = opts.expectedBytes !== undefined ? `the expected size of ${cap.toLocaleString('en-US')} bytes` : `the limit of ${cap.toLocaleString('en-US')} bytes (maxBytes)`;
  const part = opts.dest + '.part';
  let offset = existsSync(part) ? statSync(part).size : 0;
  if (offset > cap) {
    rmSync(part, { force: true });
    offset = 0;
  }
  // One controller for all three timeouts; `fired` says which one aborted.
  const controller = new AbortController();
  let fired: DownloadTimeout | undefined;
  const fire = (which: 'connect' | 'idle' | 'total' | 'slow', ms: number) => () => {
    fired = new DownloadTimeout(which, ms);
    controller.abort(fired);
  };
  const totalTimer = setTimeout(fire('total', t.totalMs), t.totalMs);
  let phaseTimer: ReturnType<typeof setTimeout> | undefined = setTimeout(fire('connect', t.connectMs), t.connectMs);
  const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(fired ?? new Error('aborted')), { once: true }));
  aborted.catch(() => {});
  const timeoutError = (done: number, cause: unknown) => {
    const f = fired!;
    const what = f.which === 'connect' ? `no response within ${f.ms} ms (connect timeout)`
      : f.which === 'idle' ? `no data for ${f.ms} ms after ${done.toLocaleString('en-US')} bytes (idle timeout)`
        : f.which === 'slow' ? `slower than ${t.minBytesPerSecond} bytes/s over ${f.ms} ms after ${done.toLocaleString('en-US')} bytes (minBytesPerSecond)`
          : `not finished after ${f.ms} ms, ${done.toLocaleString('en-US')} bytes received (total timeout)`;
    return new WhiteBoxError('TIMEOUT', `download of ${opts.url}: ${what}${done > 0 ? `; ${part} is kept and the next call resumes it` : ''}`, { url: opts.url, timeout: f.which, ms: f.ms }, { cause });
  };
  try {
    let res: Response;
    try {
      res = await Promise.race([doFetch(opts.url, { signal: controller.signal, ...(offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {}) }), aborted]);
    } catch (e) {
      if (fired) throw timeoutError(0, e);
      throw new WhiteBoxError('RUNTIME_ERROR', `download of ${opts.url} failed: ${(e as Error).message}`, { url: opts.url }, { cause: e });
    }
    clearTimeout(phaseTimer);
    if (res.status === 416 && offset > 0) {
      // Range not satisfiable: the part file is already complete.
      await res.body?.cancel().catch(() => {});
    } else if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new WhiteBoxError('RUNTIME_ERROR', `download of ${opts.url} failed: HTTP ${res.status} ${res.statusText}`, { url: opts.url, status: res.status });
    } else {
      if (offset > 0 && res.status !== 206) offset = 0; // server ignored the Range: start over
      const header = res.headers.get('content-length');
      const length = header !== null && /^\d+$/.test(header.trim()) ? Number(header) : NaN;
      const total = offset + (Number.isFinite(length) ? length : 0);
      if (Number.isFinite(length) && total > cap) {
        await res.body?.cancel().catch(() => {});
        rmSync(part, { force: true });
        throw new WhiteBoxError('LIMIT_EXCEEDED', `download of ${opts.url}: the server announces ${total.toLocaleString('en-US')} bytes, more than ${capWhat}; nothing was written`, { url: opts.url, bytes: total, limit: cap });
      }
      const fd = openSync(part, offset > 0 ? 'a' : 'w');
      let done = offset;
      let tooLarge = false;
      let windowStart = Date.now();
      let windowBytes = 0;
      try {
        if (res.body) {
          const reader = res.body.getReader();
          for (;;) {
            phaseTimer = setTimeout(fire('idle', t.idleMs), t.idleMs);
            const { done: end, value } = await Promise.race([reader.read(), aborted]);
            clearTimeout(phaseTimer);
            if (end) break;
            windowBytes += value.length;
            const now = Date.now();
            if (now - windowStart >= t.idleMs) {
              if (windowBytes < (t.minBytesPerSecond * (now - windowStart)) / 1000) fire('slow', now - windowStart)();
              windowStart = now;
              windowBytes = 0;
            }
            if (fired) throw fired;
            if (done + value.length > cap) {
              tooLarge = true;
              await reader.cancel().catch(() => {});
              break;
            }
            writeSync(fd, value);
            done += value.length;
            opts.onProgress?.({ done, total: Math.max(total, done), stage: 'download' });
          }
        }
      } catch (e) {
        if (fired) {
          await res.body?.cancel().catch(() => {});
          throw timeoutError(done, e);
        }
        throw new WhiteBoxError('RUNTIME_ERROR', `download of ${opts.url} was interrupted after ${done} bytes (${(e as Error).message}); ${part} is kept and the next call resumes it`, { url: opts.url, file: part }, { cause: e });
      } finally {
        closeSync(fd);
      }
      if (tooLarge) {
        rmSync(part, { force: true });
        throw new WhiteBoxError('LIMIT_EXCEEDED', `download of ${opts.url}: the body runs past ${capWhat}; stopped and deleted ${part}`, { url: opts.url, limit: cap });
      }
      if (Number.isFinite(length) && done < total) {
        throw new WhiteBoxError('RUNTIME_ERROR', `download of ${opts.url} ended after ${done} of ${total} bytes; ${part} is kept and the next call resumes it`, { url: opts.url, file: part });
      }
    }
  } finally {
    clearTimeout(totalTimer);
    clearTimeout(phaseTimer);
  }
  const md5 = await fileDigest(part, 'md5');
  const sha256 = await fileDigest(part, 'sha256');
  const expected = opts.md5 ? { alg: 'md5', want: opts.md5, got: md5 } : opts.sha256 ? { alg: 'sha256', want: opts.sha256, got: sha256 } : null;
  if (expected && expected.want.toLowerCase() !== expected.got) {
    rmSync(part, { force: true });
    throw new WhiteBoxError('CHECKSUM_MISMATCH', `${opts.dest}: ${expected.alg} ${expected.got} does not match the expected ${expected.want} (downloaded from ${opts.url}; the partial file was deleted)`, {
      file: opts.dest,
      url: opts.url,
    });
  }
  if (opts.md5 && opts.sha256 && opts.sha256.toLowerCase() !== sha256) {
    rmSync(part, { force: true });
    throw new WhiteBoxError('CHECKSUM_MISMATCH', `${opts.dest}: sha256 ${sha256} does not match the expected ${opts.sha256}`, { file: opts.dest, url: opts.url });
  }
  renameSync(part, opts.dest);
  return { path: opts.dest, md5, sha256 };
}

/** Options of `downloadCifar10`: cache, URL and checksum, progress, timeouts. */
export interface DownloadCifar10Options {
  cacheDir?: string;
  url?: string;
  md5?: string;
  onProgress?: ProgressCallback;
  /** When false, a missing cache is an error instead of a download. */
  allowDownload?: boolean;
  /** The fetch implementation (default the global `fetch`; tests pass a fake). */
  fetch?: typeof fetch;
  timeouts?: DownloadTimeouts;
  /** The archive's size (default: the official 170,052,171 bytes when the md5 is the official one). */
  expectedBytes?: number;
}

/**
 * Makes sure the CIFAR-10 binary batches are in the cache: `<cache>/cifar-10-batches-bin/`. Downloads and
 * verifies (md5) the archive when needed, extracts it into a temporary directory and renames it into place
 * (atomic: an interrupted extraction never leaves a half-filled directory). Returns the directory.
 */
export async function downloadCifar10(options: DownloadCifar10Options = {}): Promise<{ dir: string; archive?: { md5: string; sha256: string } }> {
  const cache = options.cacheDir ?? defaultCacheDir();
  const dir = join(cache, CIFAR10_ARCHIVE.folder);
  if (existsSync(join(dir, 'test_batch.bin'))) return { dir };
  if (options.allowDownload === false) {
    throw new WhiteBoxError('NOT_FOUND', `CIFAR-10 not found in ${dir}; pass a data directory (--data-dir / WHITEBOX_CIFAR10_DIR) or allow the download`, { file: dir });
  }
  mkdirSync(cache, { recursive: true });
  const archivePath = join(cache, CIFAR10_ARCHIVE.file);
  let sums: { md5: string; sha256: string } | undefined;
  if (!existsSync(archivePath)) {
    const md5 = options.md5 ?? CIFAR10_ARCHIVE.md5;
    const r = await downloadFile({
      url: options.url ?? CIFAR10_ARCHIVE.url, dest: archivePath, md5, onProgress: options.onProgress, fetch: options.fetch, timeouts: options.timeouts,
      // The official archive's size is known: a body running past it is stopped at once.
      expectedBytes: options.expectedBytes ?? (md5 === CIFAR10_ARCHIVE.md5 ? CIFAR10_ARCHIVE.bytes : undefined),
    });
    sums = { md5: r.md5, sha256: r.sha256 };
  } else {
    const md5 = await fileDigest(archivePath, 'md5');
    const want = options.md5 ?? CIFAR10_ARCHIVE.md5;
    if (md5 !== want) {
      throw new WhiteBoxError('CHECKSUM_MISMATCH', `${archivePath}: md5 ${md5} does not match the expected ${want}; delete it to download again`, { file: archivePath });
    }
    sums = { md5, sha256: await fileDigest(archivePath, 'sha256') };
  }
  const tmp = join(cache, `.extract-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  try {
    options.onProgress?.({ done: 0, total: 1, stage: 'extract' });
    await tar.x({ file: archivePath, cwd: tmp });
    const extracted = join(tmp, CIFAR10_ARCHIVE.folder);
    if (!existsSync(join(extracted, 'test_batch.bin'))) {
      throw new WhiteBoxError('INVALID_DATA', `${archivePath}: archive does not contain ${CIFAR10_ARCHIVE.folder}/test_batch.bin`, { file: archivePath });
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(extracted, dir);
    options.onProgress?.({ done: 1, total: 1, stage: 'extract' });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dir, archive: sums };
}
