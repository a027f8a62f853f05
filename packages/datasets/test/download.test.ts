import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhiteBoxError } from '@whitebox/core';
import { CIFAR10_ARCHIVE, defaultCacheDir, downloadCifar10, downloadFile, parseCifar10Batch } from '../src/index.js';

let server: Server;
let base = '';
let archive: Uint8Array;
let md5 = '';
const requests: { url: string; range?: string }[] = [];
let failAfter: number | null = null;
const root = mkdtempSync(join(tmpdir(), 'wb-dl-'));

beforeAll(async () => {
  // A small archive in the official layout: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin with 2 records each.
  const src = join(root, 'src');
  mkdirSync(join(src, CIFAR10_ARCHIVE.folder), { recursive: true });
  for (const f of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) {
    const b = new Uint8Array(2 * 3073);
    b[0] = 3;
    b[3073] = 8;
    for (let i = 1; i < 3073; i++) b[i] = i % 251;
    writeFileSync(join(src, CIFAR10_ARCHIVE.folder, f), b);
  }
  writeFileSync(join(src, CIFAR10_ARCHIVE.folder, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
  await tar.c({ gzip: true, file: join(root, 'a.tar.gz'), cwd: src, portable: true }, [CIFAR10_ARCHIVE.folder]);
  archive = new Uint8Array(readFileSync(join(root, 'a.tar.gz')));
  md5 = createHash('md5').update(archive).digest('hex');
  server = createServer((req, res) => {
    requests.push({ url: req.url!, range: req.headers.range });
    if (req.url === '/missing') return void res.writeHead(404, { connection: 'close' }).end();
    let start = 0;
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (m) start = Number(m[1]);
    const body = archive.subarray(start);
    res.writeHead(m ? 206 : 200, { connection: 'close', 'content-length': String(body.length), ...(m ? { 'content-range': `bytes ${start}-${archive.length - 1}/${archive.length}` } : {}) });
    if (failAfter !== null) {
      // Send part of the body, then drop the connection (a broken download).
      res.write(body.subarray(0, failAfter));
      setTimeout(() => res.destroy(), 20);
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});
afterAll(() => {
  server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('CIFAR-10 downloader (local server, never the network)', () => {
  it('downloads, verifies md5, extracts into the cache atomically, with progress; a second call reuses the cache', async () => {
    const cache = join(root, 'cache1');
    const progress: number[] = [];
    const got = await downloadCifar10({ cacheDir: cache, url: `${base}/cifar-10-binary.tar.gz`, md5, onProgress: (p) => p.stage === 'download' && progress.push(p.done) });
    expect(got.dir).toBe(join(cache, CIFAR10_ARCHIVE.folder));
    expect(got.archive!.md5).toBe(md5);
    expect(got.archive!.sha256).toBe(createHash('sha256').update(archive).digest('hex'));
    expect(progress.at(-1)).toBe(archive.length);
    const p = parseCifar10Batch(new Uint8Array(readFileSync(join(got.dir, 'test_batch.bin'))), 'test_batch.bin');
    expect(Array.from(p.labels)).toEqual([3, 8]);
    expect(readdirSync(cache).sort()).toEqual([CIFAR10_ARCHIVE.file, CIFAR10_ARCHIVE.folder].sort()); // no temp or .part left
    const n = requests.length;
    await downloadCifar10({ cacheDir: cache, url: `${base}/cifar-10-binary.tar.gz`, md5 });
    expect(requests.length).toBe(n);
  });

  it('a checksum mismatch deletes the partial file and throws CHECKSUM_MISMATCH naming the file', async () => {
    const cache = join(root, 'cache2');
    const err = await downloadCifar10({ cacheDir: cache, url: `${base}/x.tar.gz`, md5: CIFAR10_ARCHIVE.md5 }).catch((e) => e as WhiteBoxError);
    expect(err).toBeInstanceOf(WhiteBoxError);
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.message).toContain(join(cache, CIFAR10_ARCHIVE.file));
    expect(err.message).toContain(`does not match the expected ${CIFAR10_ARCHIVE.md5}`);
    expect(existsSync(join(cache, CIFAR10_ARCHIVE.file))).toBe(false);
    expect(existsSync(join(cache, CIFAR10_ARCHIVE.file + '.part'))).toBe(false);
  });

  it('resumes an interrupted download with an HTTP Range request', async () => {
    const dest = join(root, 'resume.tar.gz');
    failAfter = Math.floor(archive.length / 3);
    await expect(downloadFile({ url: `${base}/a`, dest, md5 })).rejects.toThrow(/resume\.tar\.gz\.part is kept and the next call resumes it/);
    failAfter = null;
    expect(existsSync(dest)).toBe(false);
    const partial = readFileSync(dest + '.part').length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(archive.length);
    const r = await downloadFile({ url: `${base}/a`, dest, md5 });
    expect(requests.at(-1)!.range).toBe(`bytes=${partial}-`);
    expect(r.md5).toBe(md5);
    expect(new Uint8Array(readFileSync(dest))).toEqual(archive);
  });

  it('HTTP errors, missing cache without download, and the cache directory default', async () => {
    await expect(downloadFile({ url: `${base}/missing`, dest: join(root, 'm') })).rejects.toThrow(/HTTP 404/);
    await expect(downloadCifar10({ cacheDir: join(root, 'empty'), allowDownload: false })).rejects.toThrow(/CIFAR-10 not found in .*empty\/cifar-10-batches-bin/);
    const before = process.env.WHITEBOX_DATA_DIR;
    process.env.WHITEBOX_DATA_DIR = '/some/where';
    expect(defaultCacheDir()).toBe('/some/where');
    if (before === undefined) delete process.env.WHITEBOX_DATA_DIR;
    else process.env.WHITEBOX_DATA_DIR = before;
    expect(CIFAR10_ARCHIVE.md5).toBe('c32a1d4ab5d03f1284b67883e8d87530');
  });
});
