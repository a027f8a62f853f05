// The static server behind `pnpm demo`: isolation headers, content types, no escape from the served folder.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { startServer } from '../scripts/serve.mjs';

/** Raw GET/HEAD/POST with the path sent as is (fetch would normalize '..'). */
function raw(url: string, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('scripts/serve.mjs', () => {
  let root: string;
  let outside: string;
  let server: { close(cb: () => void): void };
  let url: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'whitebox-serve-'));
    outside = `${root}-secret.txt`;
    writeFileSync(outside, 'SECRET');
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
    mkdirSync(join(root, 'ort'));
    writeFileSync(join(root, 'ort', 'a.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
    ({ server, url } = await startServer({ root, port: 0 }));
  });

  afterAll(async () => {
    await new Promise<void>((ok) => server.close(ok));
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { force: true });
  });

  it('serves index.html on a free 127.0.0.1 port with the cross-origin isolation headers', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await raw(url, '/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>x</title>');
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('serves WebAssembly as application/wasm, answers HEAD, refuses POST', async () => {
    const r = await raw(url, '/ort/a.wasm');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/wasm');
    expect(r.headers['content-length']).toBe('4');
    const h = await raw(url, '/ort/a.wasm', 'HEAD');
    expect([h.status, h.body]).toEqual([200, '']);
    expect((await raw(url, '/', 'POST')).status).toBe(405);
  });

  it('never serves files outside its folder', async () => {
    const name = outside.split('/').pop()!;
    for (const p of [`/../${name}`, `/%2e%2e/${name}`, `/ort/../../${name}`, `/..%2f${name}`]) {
      const r = await raw(url, p);
      expect(r.body, p).not.toContain('SECRET');
      expect([403, 404], p).toContain(r.status);
    }
    expect((await raw(url, '/nope.js')).status).toBe(404);
    expect((await raw(url, '/%E0%A4%A')).status).toBe(400); // malformed escape
  });

  it('does not follow symlinks out of its folder (a real-path check, not a string prefix)', async () => {
    symlinkSync(outside, join(root, 'link.txt'));
    mkdirSync(join(root, 'linkdir'));
    symlinkSync(join(outside, '..'), join(root, 'linkdir', 'up'));
    writeFileSync(join(root, 'inner.txt'), 'INNER');
    symlinkSync(join(root, 'inner.txt'), join(root, 'ok-link.txt'));
    for (const p of ['/link.txt', `/linkdir/up/${outside.split('/').pop()}`]) {
      const r = await raw(url, p);
      expect(r.body, p).not.toContain('SECRET');
      expect(r.status, p).toBe(403);
    }
    // A symlink that stays inside is served.
    expect((await raw(url, '/ok-link.txt')).body).toBe('INNER');
  });

  it('survives a directory named index.html, a FIFO and an unreadable file, and keeps serving', async () => {
    mkdirSync(join(root, 'sub', 'index.html'), { recursive: true });
    execFileSync('mkfifo', [join(root, 'pipe.js')]);
    writeFileSync(join(root, 'secret.js'), 'x');
    chmodSync(join(root, 'secret.js'), 0o000);
    const dirIndex = await raw(url, '/sub/');
    expect(dirIndex.status).toBe(404);
    expect((await raw(url, '/sub/index.html')).status).toBe(404);
    const t0 = Date.now();
    expect((await raw(url, '/pipe.js')).status).toBe(404);
    expect(Date.now() - t0).toBeLessThan(2000);
    // Root reads any file, so the unreadable file is only refused for other users.
    const unreadable = await raw(url, '/secret.js');
    expect(process.getuid?.() === 0 ? [200] : [403]).toContain(unreadable.status);
    expect((await raw(url, '/')).status).toBe(200);
  });

  it('says what to do when there is no build', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'whitebox-serve-empty-'));
    try {
      expect(() => startServer({ root: empty, port: 0 })).toThrow(/no built demo at .*index\.html missing.*pnpm turbo run build/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
