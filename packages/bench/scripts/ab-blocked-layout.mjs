#!/usr/bin/env node
// Plain against blocked-layout gradient graphs (GradientGraphOptions.blockedLayout) of one model, both sessions open
// in one process and their calls alternated, so a noisy host (clock and neighbours changing from minute to minute)
// slows both alike:
//   node packages/bench/scripts/ab-blocked-layout.mjs --model=PATH.onnx [--batch=16] [--threads=1] [--alternations=10]
// (after `pnpm build`). Prints max |Δ| of the blocked input gradient against the plain one, then per variant the
// fastest and the median call.
import { readFileSync } from 'node:fs';
import { resolveBackend, Tensor } from '@whitebox/core';
import '@whitebox/backend-node';
import { gradientGraphFromPrepared, prepareModel, randomImages } from '@whitebox/onnx';

const arg = (k, d) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d;
const path = arg('model', '');
if (!path) { console.error('usage: ab-blocked-layout.mjs --model=PATH.onnx [--batch=16] [--threads=1] [--alternations=10]'); process.exit(2); }
const batch = Number(arg('batch', 16));
const threads = Number(arg('threads', 1));
const alternations = Number(arg('alternations', 10));
const backend = resolveBackend({ backend: 'node' });
const p = prepareModel(readFileSync(path), path);
const [c, h, w] = p.graph.input.dims.slice(1);
const feeds = {
  [p.graph.input.name]: randomImages(batch, c, h, w, 3),
  cotangent: new Tensor(new Float32Array(batch * p.numClasses).map((_, i) => (i % p.numClasses === 3 ? 1 : 0)), [batch, p.numClasses]),
};
const variants = { plain: false, blocked: true };
const sessions = {};
const grads = {};
for (const [name, blockedLayout] of Object.entries(variants)) {
  sessions[name] = await backend.createSession(gradientGraphFromPrepared(p, { rule: 'gradient', blockedLayout }), { threads, graphOptimizationLevel: 'all' });
  grads[name] = (await sessions[name].run(feeds)).input_grad.data;
}
let diff = 0;
let max = 0;
for (let i = 0; i < grads.plain.length; i++) { diff = Math.max(diff, Math.abs(grads.blocked[i] - grads.plain[i])); max = Math.max(max, Math.abs(grads.plain[i])); }
console.log(`blocked − plain input gradient: max |Δ| ${diff.toExponential(2)} (max |gradient| ${max.toExponential(2)})`);
const times = { plain: [], blocked: [] };
for (let a = 0; a < alternations; a++) {
  for (const name of Object.keys(variants)) {
    const t0 = performance.now();
    await sessions[name].run(feeds);
    times[name].push(performance.now() - t0);
  }
}
for (const name of Object.keys(variants)) {
  const s = [...times[name]].sort((x, y) => x - y);
  const med = s[s.length >> 1];
  console.log(`${name}: fastest ${s[0].toFixed(1)} ms, median ${med.toFixed(1)} ms per call of ${batch} (${((batch / med) * 1000).toFixed(2)} img/s)`);
}
for (const s of Object.values(sessions)) await s.release();
