/** Hostile HTTP servers on 127.0.0.1 for the dataset downloader: stalls, trickles, oversized bodies, resets, bad sums. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Rng } from '@whitebox/core';
import { pick, randomBytes } from './bytes.js';
import { classifyError, type CaseResult } from './cases.js';

type Behavior = (req: IncomingMessage, res: ServerResponse, body: Uint8Array) => void;

const BEHAVIORS: Record<string, Behavior> = {
  'stall after headers': (_q, res) => { res.writeHead(200, { 'Content-Length': '1000' }); res.flushHeaders(); },
  'never answers': () => undefined,
  'one byte a second': (_q, res, body) => {
    res.writeHead(200, { 'Content-Length': String(body.length) });
    let i = 0;
    const t = setInterval(() => { if (i >= body.length || res.destroyed) { clearInterval(t); res.end(); return; } res.write(body.subarray(i, ++i)); }, 1000);
    res.on('close', () => clearInterval(t));
  },
  'a body past the expected size, without Content-Length': (_q, res, body) => {
    res.writeHead(200);
    const chunk = new Uint8Array(1 << 16);
    let sent = 0;
    const more = () => { while (sent < 64 << 20) { sent += chunk.length; if (!res.write(chunk)) { res.once('drain', more); return; } } res.end(); };
    res.write(body);
    more();
  },
  'Content-Length above the expected size': (_q, res) => { res.writeHead(200, { 'Content-Length': String(400 << 20) }); res.write(new Uint8Array(10)); },
  'a wrong checksum': (_q, res, body) => { const b = body.slice(); b[0]! ^= 1; res.writeHead(200, { 'Content-Length': String(b.length) }); res.end(b); },
  'status 500': (_q, res) => { res.writeHead(500); res.end('boom'); },
  'status 404': (_q, res) => { res.writeHead(404); res.end('nope'); },
  'a redirect loop': (q, res) => { res.writeHead(302, { Location: q.url ?? '/' }); res.end(); },
  'reset mid-body': (_q, res, body) => { res.writeHead(200, { 'Content-Length': String(body.length) }); res.write(body.subarray(0, body.length >> 1)); setTimeout(() => res.socket?.destroy(), 50); },
  'Content-Length says more than is sent': (_q, res, body) => { res.writeHead(200, { 'Content-Length': String(body.length + 100) }); res.end(body); },
  'a 200 to a range request (a .part file exists)': (_q, res, body) => { res.writeHead(200, { 'Content-Length': String(body.length) }); res.end(body); },
  'a 206 with the wrong range': (q, res, body) => {
    if (q.headers.range) { res.writeHead(206, { 'Content-Range': `bytes 5-${body.length - 1}/${body.length}`, 'Content-Length': String(body.length - 5) }); res.end(body.subarray(5)); return; }
    res.writeHead(200, { 'Content-Length': String(body.length) }); res.end(body);
  },
  'a correct file': (_q, res, body) => { res.writeHead(200, { 'Content-Length': String(body.length) }); res.end(body); },
};

export const DOWNLOAD_BEHAVIORS = Object.keys(BEHAVIORS);

export async function downloadCase(rng: Rng, index: number, dir: string): Promise<CaseResult> {
  const { downloadFile } = await import('@whitebox/datasets');
  const name = DOWNLOAD_BEHAVIORS[index % DOWNLOAD_BEHAVIORS.length]!;
  const body = randomBytes(rng, 1000 + rng.int(50_000));
  const md5 = createHash('md5').update(body).digest('hex');
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((q, r) => BEHAVIORS[name]!(q, r, body));
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cifar.tar.gz`;
  const dest = join(dir, 'cifar.tar.gz');
  if (name.includes('.part') || name.includes('206')) writeFileSync(`${dest}.part`, body.subarray(0, 10));
  const known = rng.next() < 0.7;
  const what = `downloader vs a server sending ${name}${known ? ' (size known)' : ''}`;
  try {
    const r = await downloadFile({
      url, dest, md5, expectedBytes: known ? body.length : undefined, maxBytes: known ? undefined : pick(rng, [1 << 20, 8 << 20]),
      timeouts: { connectMs: 1500, idleMs: 1500, totalMs: 8000, minBytesPerSecond: 1024 },
    });
    const got = existsSync(r.path) ? readFileSync(r.path) : undefined;
    if (!got || Buffer.compare(got, Buffer.from(body)) !== 0) return { outcome: 'wrong-result', what, message: `downloaded ${got?.length ?? 'no'} bytes that differ from the served file` };
    return { outcome: 'success', what, message: `${body.length} bytes, md5 verified` };
  } catch (err) {
    return classifyError(err, what);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
}
