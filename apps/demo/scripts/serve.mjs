#!/usr/bin/env node
// Serves the built demo (apps/demo/dist) on 127.0.0.1 and prints its URL.
// Usage: node scripts/serve.mjs [--port 5180] [--host 127.0.0.1] [--dir dist]   (--port 0 picks a free port)
// Sends COOP/COEP headers so the page is cross-origin isolated (SharedArrayBuffer: threaded WebAssembly).
import { closeSync, constants, createReadStream, existsSync, fstatSync, openSync, realpathSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.map': 'application/json',
};

/** True when `file` is `dir` or inside it (both real paths). */
function inside(dir, file) {
  return file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * Opens `file` for serving: its real path (symlinks resolved) must stay inside `realBase`, and it must be a regular
 * file. Opened non-blocking, so a FIFO never hangs the request. Returns { fd, size } or { status, message }.
 */
function openServed(realBase, file) {
  let real;
  try {
    real = realpathSync(file);
  } catch (err) {
    return err.code === 'ENOENT' || err.code === 'ENOTDIR' ? { status: 404, message: 'not found' } : { status: 403, message: 'forbidden' };
  }
  if (!inside(realBase, real)) return { status: 403, message: 'forbidden' };
  let fd;
  try {
    fd = openSync(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return err.code === 'ENOENT' ? { status: 404, message: 'not found' } : { status: 403, message: 'forbidden' };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      return { status: 404, message: 'not found' };
    }
    return { fd, size: st.size };
  } catch {
    closeSync(fd);
    return { status: 500, message: 'internal error' };
  }
}

/** Starts the server; resolves with { server, url }. */
export function startServer({ root, port = 5180, host = '127.0.0.1' } = {}) {
  const base = resolve(root ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
  if (!existsSync(join(base, 'index.html'))) {
    throw new Error(`no built demo at ${base} (index.html missing): run \`pnpm turbo run build --filter=@whitebox/demo...\` first`);
  }
  const realBase = realpathSync(base);
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
    if (path.includes('\0')) {
      res.writeHead(400, headers).end('bad request');
      return;
    }
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403, headers).end('forbidden');
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
    } catch {
      // missing: answered below
    }
    const opened = openServed(realBase, file);
    if (opened.status) {
      const body = opened.status === 404 ? `not found: ${path}` : opened.message;
      res.writeHead(opened.status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': opened.size });
    if (req.method === 'HEAD') {
      closeSync(opened.fd);
      res.end();
      return;
    }
    const stream = createReadStream('', { fd: opened.fd, autoClose: true });
    // A read error after the headers (EIO, a file truncated under us) ends this response, never the server.
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
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
