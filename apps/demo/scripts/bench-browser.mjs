#!/usr/bin/env node
// Attribution throughput in headless Debian chromium (the page bench.html, onnxruntime-web), after a build:
//   node scripts/bench-browser.mjs [--threads 1,2] [--batch 64] [--reps 3] [--methods a,b] [--webgpu]
// Prints one markdown table: maps/s per model, method and thread count, and whether the page was cross-origin
// isolated (multi-threaded WebAssembly needs it; serve.mjs sends COOP/COEP).
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const threadCounts = opt('--threads', '1,2').split(',').map(Number);
const query = (threads) => new URLSearchParams({
  threads: String(threads), batch: opt('--batch', '64'), reps: opt('--reps', '3'),
  ...(opt('--methods') ? { methods: opt('--methods') } : {}), ...(args.includes('--webgpu') ? { device: 'webgpu' } : {}),
}).toString();

const { server, url } = await startServer({ port: 0 });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  // --no-liftoff: WebAssembly compiled by the optimizing tier up front. Otherwise Chrome starts on its baseline
  // compiler and recompiles onnxruntime's 28 MB module in the background, which at 2 threads on 2 cores takes the
  // cores from the first rows measured (steady state is what a page that keeps running sees).
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--js-flags=--no-liftoff',
    ...(args.includes('--webgpu') ? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'] : ['--disable-gpu'])],
});
const results = new Map();
let isolated;
let agent;
try {
  for (const threads of threadCounts) {
    const page = await browser.newPage();
    await page.goto(`${url}bench.html?${query(threads)}`);
    await page.waitForFunction(() => window.__bench?.done, undefined, { timeout: 1_800_000, polling: 500 });
    const b = await page.evaluate(() => window.__bench);
    if (b.error) throw new Error(`bench.html (${threads} threads) failed: ${b.error}`);
    isolated = b.crossOriginIsolated;
    agent = b.userAgent;
    for (const r of b.rows) results.set(`${r.model}\t${r.method}\t${threads}`, r.mapsPerSecond);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`${agent}; crossOriginIsolated=${isolated}; batch ${opt('--batch', '64')}, best of ${opt('--reps', '3')} calls after a warm-up call`);
console.log(`| model | method | ${threadCounts.map((t) => `${t} thread${t > 1 ? 's' : ''} maps/s`).join(' | ')} |`);
console.log(`| --- | --- | ${threadCounts.map(() => '---').join(' | ')} |`);
const keys = [...new Set([...results.keys()].map((k) => k.split('\t').slice(0, 2).join('\t')))];
for (const k of keys) {
  const [model, method] = k.split('\t');
  console.log(`| ${model} | ${method} | ${threadCounts.map((t) => results.get(`${k}\t${t}`)?.toFixed(1) ?? '—').join(' | ')} |`);
}
