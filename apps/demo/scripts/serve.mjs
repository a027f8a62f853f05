#!/usr/bin/env node
// Serves the built demo (apps/demo/dist) on 127.0.0.1 and prints its URL.
// Usage: node scripts/serve.mjs [--port 5180] [--host 127.0.0.1] [--dir dist]   (--port 0 picks a free port)
// Sends COOP/COEP headers so the page is cross-origin isolated (SharedArrayBuffer: threaded WebAssembly).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.map': 'application/json',
};

/** Starts the server; resolves with { server, url }. */
export function startServer({ root, port = 5180, host = '127.0.0.1' } = {}) {
  const base = resolve(root ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
  if (!existsSync(join(base, 'index.html'))) {
    throw new Error(`no built demo at ${base} (index.html missing): run \`pnpm turbo run build --filter=@whitebox/demo...\` first`);
  }
  const server = createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-cache',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end('method not allowed');
      return;
    }
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400, headers).end('bad request');
      return;
    }
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403, headers).end('forbidden');
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${path}`);
      return;
    }
    const size = statSync(file).size;
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const addr = server.address();
      ok({ server, url: `http://${host}:${addr.port}/` });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
  };
  const port = Number(opt('--port', process.env.PORT ?? '5180'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer in 0..65535, got ${opt('--port', process.env.PORT)}`);
    process.exit(2);
  }
  try {
    const { url } = await startServer({ port, host: opt('--host', '127.0.0.1'), root: opt('--dir', undefined) });
    console.log(`WhiteBox demo: ${url}`);
  } catch (err) {
    console.error(`serve: ${err.message}`);
    process.exit(1);
  }
}
