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

export async function fileDigest(path: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface DownloadOptions {
  url: string;
  /** Final path; written atomically (data goes to `<dest>.part`, renamed after verification). */
  dest: string;
  md5?: string;
  sha256?: string;
  onProgress?: ProgressCallback;
  /** Injected fetch (tests). */
  fetch?: typeof fetch;
}

/**
 * Downloads `url` to `dest`: resumes a previous `<dest>.part` with an HTTP Range request, verifies md5/sha256,
 * then renames into place. A checksum mismatch deletes the partial file and throws CHECKSUM_MISMATCH.
 * Returns the sha256 of the file.
 */
export async function downloadFile(opts: DownloadOptions): Promise<{ path: string; md5: string; sha256: string }> {
  const doFetch = opts.fetch ?? fetch;
  const part = opts.dest + '.part';
  let offset = existsSync(part) ? statSync(part).size : 0;
  let res: Response;
  try {
    res = await doFetch(opts.url, offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {});
  } catch (e) {
    throw new WhiteBoxError('RUNTIME_ERROR', `download of ${opts.url} failed: ${(e as Error).message}`, { url: opts.url }, { cause: e });
  }
  if (res.status === 416 && offset > 0) {
    // Range not satisfiable: the part file is already complete.
  } else if (!res.ok) {
    throw new WhiteBoxError('RUNTIME_ERROR', `download of ${opts.url} failed: HTTP ${res.status} ${res.statusText}`, { url: opts.url, status: res.status });
  } else {
    if (offset > 0 && res.status !== 206) offset = 0; // server ignored the Range: start over
    const length = Number(res.headers.get('content-length') ?? NaN);
    const total = offset + (Number.isFinite(length) ? length : 0);
    const fd = openSync(part, offset > 0 ? 'a' : 'w');
    let done = offset;
    try {
      if (res.body) {
        const reader = res.body.getReader();
        for (;;) {
          const { done: end, value } = await reader.read();
          if (end) break;
          writeSync(fd, value);
          done += value.length;
          opts.onProgress?.({ done, total: Math.max(total, done), stage: 'download' });
        }
      }
    } catch (e) {
      throw new WhiteBoxError('RUNTIME_ERROR', `download of ${opts.url} was interrupted after ${done} bytes (${(e as Error).message}); ${part} is kept and the next call resumes it`, { url: opts.url, file: part }, { cause: e });
    } finally {
      closeSync(fd);
    }
    if (Number.isFinite(length) && done < total) {
      throw new WhiteBoxError('RUNTIME_ERROR', `download of ${opts.url} ended after ${done} of ${total} bytes; ${part} is kept and the next call resumes it`, { url: opts.url, file: part });
    }
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

export interface DownloadCifar10Options {
  cacheDir?: string;
  url?: string;
  md5?: string;
  onProgress?: ProgressCallback;
  /** When false, a missing cache is an error instead of a download. */
  allowDownload?: boolean;
  fetch?: typeof fetch;
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
    const r = await downloadFile({ url: options.url ?? CIFAR10_ARCHIVE.url, dest: archivePath, md5: options.md5 ?? CIFAR10_ARCHIVE.md5, onProgress: options.onProgress, fetch: options.fetch });
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
