// The downloader against a hostile local server (127.0.0.1): stalls, silence, trickles and oversized bodies end in a
// named TIMEOUT or LIMIT_EXCEEDED within the configured time, never a hang or a full write of a huge body.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_ARCHIVE, downloadCifar10, downloadFile } from '../src/index.js';

let server: Server;
let base = '';
const root = mkdtempSync(join(tmpdir(), 'wb-dl-hostile-'));
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    switch (req.url) {
      case '/silent':
        return; // accepts the connection, never answers
      case '/stall':
        res.writeHead(200, { 'content-length': '1000000' });
        res.write(new Uint8Array(100));
        return; // headers and 100 bytes, then nothing
      case '/trickle': {
        res.writeHead(200, { 'content-length': '1000000' });
        const t = setInterval(() => res.write(new Uint8Array(1)), 20);
        res.on('close', () => clearInterval(t));
        return;
      }
      case '/announce-huge':
        res.writeHead(200, { 'content-length': String(400 * 2 ** 20) });
        res.write(new Uint8Array(1000));
        return;
      case '/no-length': {
        // A chunked body (no Content-Length) that never ends on its own.
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        const chunk = new Uint8Array(64 * 1024);
        const pump = () => { while (res.write(chunk)) { /* fill the socket */ } };
        res.on('drain', pump);
        pump();
        return;
      }
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const r of open) r.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(root, { recursive: true, force: true });
});

const dest = (name: string) => join(root, name);

describe('downloader timeouts and size caps (local server)', () => {
  it('a server that never answers: connect timeout', async () => {
    const t0 = Date.now();
    await expect(downloadFile({ url: `${base}/silent`, dest: dest('a'), timeouts: { connectMs: 300 } })).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/no response within 300 ms \(connect timeout\)/) });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a server that stalls after the headers: idle timeout, the part file kept for resuming', async () => {
    const t0 = Date.now();
    await expect(downloadFile({ url: `${base}/stall`, dest: dest('b'), timeouts: { idleMs: 300 } })).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/no data for 300 ms after 100 bytes \(idle timeout\).*b\.part is kept/) });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(statSync(dest('b.part')).size).toBe(100);
  });

  it('a server that trickles: too slow over a window, and the total timeout', async () => {
    await expect(downloadFile({ url: `${base}/trickle`, dest: dest('c'), timeouts: { idleMs: 400, minBytesPerSecond: 1000 } })).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/slower than 1000 bytes\/s/) });
    await expect(downloadFile({ url: `${base}/trickle`, dest: dest('d'), timeouts: { totalMs: 500, minBytesPerSecond: 0 } })).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/not finished after 500 ms.*\(total timeout\)/) });
  });

  it('a body announced above the expected size is refused before anything is written', async () => {
    await expect(downloadFile({ url: `${base}/announce-huge`, dest: dest('e'), expectedBytes: 10_000 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/announces 419,430,400 bytes, more than the expected size of 10,000 bytes; nothing was written/) });
    expect(existsSync(dest('e.part'))).toBe(false);
  });

  it('a body without Content-Length is stopped at the cap, not written in full', async () => {
    await expect(downloadFile({ url: `${base}/no-length`, dest: dest('f'), maxBytes: 1_000_000 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/runs past the limit of 1,000,000 bytes \(maxBytes\)/) });
    expect(existsSync(dest('f.part'))).toBe(false);
    // The official CIFAR-10 md5 implies the official size as the cap.
    await expect(downloadCifar10({ cacheDir: join(root, 'cache'), url: `${base}/announce-huge` })).rejects.toThrow(`more than the expected size of ${CIFAR10_ARCHIVE.bytes.toLocaleString('en-US')} bytes`);
  });

  it('bad timeout values are named', async () => {
    await expect(downloadFile({ url: `${base}/x`, dest: dest('g'), timeouts: { idleMs: 0 } })).rejects.toThrow(/timeout idleMs must be a number of milliseconds > 0, got 0/);
  });
});
