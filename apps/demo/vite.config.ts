import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { type Plugin, defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

/** onnxruntime-web's dist folder (resolved from @whitebox/backend-web, which depends on it). */
function ortDist(): string {
  const req = createRequire(join(repo, 'packages', 'backend-web', 'package.json'));
  return dirname(req.resolve('onnxruntime-web')); // the 'require' entry: dist/ort.min.js
}

/**
 * Files the app fetches at run time, as (served path -> file on disk):
 * - ort/: the WebAssembly runtime (the worker calls setWasmPaths('<base>ort/'));
 * - models/: the shipped ONNX models and their cards, when they have been trained (models/index.json lists them);
 * - report/: the evaluation report (index.html, results.json, PNG/CSV files; also report/<name>/), when
 *   `pnpm start` has produced it, plus report/index.json listing what was copied.
 */
function runtimeFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const ort = ortDist();
  for (const f of ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.mjs']) files.set(`ort/${f}`, join(ort, f));
  const models = join(repo, 'models');
  if (existsSync(models)) {
    // Only the two shipped models and their cards (checkpoints and logs stay out of the site).
    for (const f of readdirSync(models)) if (/^(mnist|cifar10)-simplecnn\.(onnx|json)$/.test(f)) files.set(`models/${f}`, join(models, f));
  }
  // The report of `whitebox run` (report/) and per-dataset reports one level down (report/<name>/).
  const report = join(repo, 'report');
  const copyReportDir = (dir: string, prefix: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      const st = statSync(p);
      if (st.isDirectory() && prefix === 'report/') copyReportDir(p, `${prefix}${f}/`);
      else if (st.isFile() && /\.(html|json|svg|png|csv)$/.test(f) && st.size < 20 * 2 ** 20 && !(prefix === 'report/' && f === 'index.json')) files.set(`${prefix}${f}`, p);
    }
  };
  if (existsSync(report)) copyReportDir(report, 'report/');
  return files;
}

/** report/index.json and models/index.json: what the build copied, so the app asks only for files that exist. */
function listing(files: Map<string, string>, dir: string): string {
  return JSON.stringify({ files: [...files.keys()].filter((k) => k.startsWith(`${dir}/`)).map((k) => k.slice(dir.length + 1)) });
}

const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

function whiteboxAssets(): Plugin {
  return {
    name: 'whitebox-assets',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent((req.url ?? '').split('?')[0]!.replace(/^\//, ''));
        const files = runtimeFiles();
        // Workers (ort's pthreads) loaded from these files must carry the isolation headers too.
        for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
        const dir = /^(report|models)\/index\.json$/.exec(path)?.[1];
        if (dir) {
          res.setHeader('Content-Type', 'application/json');
          res.end(listing(files, dir));
          return;
        }
        const file = files.get(path);
        if (!file) return next();
        res.setHeader('Content-Type', path.endsWith('.wasm') ? 'application/wasm' : path.endsWith('.mjs') ? 'text/javascript' : path.endsWith('.json') ? 'application/json' : path.endsWith('.svg') ? 'image/svg+xml' : path.endsWith('.html') ? 'text/html' : path.endsWith('.png') ? 'image/png' : 'application/octet-stream');
        res.end(readFileSync(file));
      });
    },
    generateBundle(_options, bundle) {
      // onnxruntime-web's bundle references its .wasm by `new URL(…, import.meta.url)`, so Vite emits a second
      // copy under assets/; the worker loads ort/ (setWasmPaths), so that copy is dead weight.
      for (const name of Object.keys(bundle)) if (/^assets\/ort-wasm[^/]*\.wasm$/.test(name)) delete bundle[name];
      const files = runtimeFiles();
      for (const [fileName, file] of files) this.emitFile({ type: 'asset', fileName, source: readFileSync(file) });
      for (const dir of ['report', 'models']) this.emitFile({ type: 'asset', fileName: `${dir}/index.json`, source: listing(files, dir) });
    },
  };
}

export default defineConfig({
  plugins: [react(), whiteboxAssets()],
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  // bench.html: the browser throughput page (scripts/bench-browser.mjs).
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, sourcemap: false, rollupOptions: { input: { main: resolve(here, 'index.html'), bench: resolve(here, 'bench.html') } } },
  server: { headers: isolation },
  preview: { headers: isolation },
});
