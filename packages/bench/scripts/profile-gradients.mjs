#!/usr/bin/env node
// Per-op profile of the gradient graphs (ONNX Runtime's profiler, enableProfiling) of the shipped models:
//   node packages/bench/scripts/profile-gradients.mjs [--batch=64] [--threads=1] [--calls=20] [--out=/tmp/prof]
//        [--model=PATH.onnx] [--graphs=forward,input-gradient] [--level=all|extended|disabled] [--top=10] [--nodes=20]
// (after `pnpm build`). For each model (the shipped SimpleCNNs, or --model) it profiles the forward model and the
// gradient graphs (vanilla input gradient, guided, Grad-CAM's stop-at-layer graph, Guided Grad-CAM's two-chain graph;
// --graphs picks some) and prints the time per op type summed over the calls, as a share of the graph's total node
// time: where a gradient graph spends its time beyond the forward pass's. The level defaults to the one the model's
// sessions open at (sessionOptimizationLevel). --nodes=K also lists the K costliest nodes of each graph. The gradient
// graphs are built as the node backend's CPU sessions build them at 'all' (GradientGraphOptions.blockedLayout);
// --blocked=0 profiles the plain graphs, --maxpool=auto|indices|mask picks the MaxPool backward. --backend=web profiles
// onnxruntime-web's WebAssembly build instead (its sessions use the plain graphs).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { resolveBackend } from '@whitebox/core';
import { defaultCamLayerOf, forwardModelBytes, gradientGraphFromPrepared, prepareModel, randomImages, sessionOptimizationLevel } from '@whitebox/onnx';
import { Tensor } from '@whitebox/core';

const arg = (k, d) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d;
const batch = Number(arg('batch', 64));
const threads = Number(arg('threads', 1));
const calls = Number(arg('calls', 20));
const out = arg('out', '/tmp');
const root = new URL('../../../', import.meta.url).pathname;
// --backend=web: onnxruntime-web's WebAssembly kernels (1 thread in Node), the browser's engine.
const backendName = arg('backend', 'node');
await import(backendName === 'web' ? '@whitebox/backend-web' : '@whitebox/backend-node');
const backend = resolveBackend({ backend: backendName });

const only = arg('graphs', '').split(',').filter(Boolean);
const top = Number(arg('top', 10));
const nodes = Number(arg('nodes', 0));
const models = arg('model', '') ? [[basename(arg('model', ''), '.onnx'), arg('model', '')]] : ['mnist', 'cifar10'].map((m) => [m, join(root, 'models', `${m}-simplecnn.onnx`)]);

for (const [shape, path] of models) {
  const bytes = readFileSync(path);
  const p = prepareModel(bytes, path);
  const [c, h, w] = p.graph.input.dims.slice(1);
  const x = randomImages(batch, c, h, w, 3);
  const cot = new Tensor(new Float32Array(batch * p.numClasses).map((_, i) => (i % p.numClasses === 3 ? 1 : 0)), [batch, p.numClasses]);
  const layer = defaultCamLayerOf(p.graph, p.shapes);
  const level = arg('level', sessionOptimizationLevel(p.graph));
  const common = { blockedLayout: backendName === 'node' && arg('blocked', '1') !== '0' && level === 'all', ...(arg('maxpool', '') ? { maxPoolBackward: arg('maxpool', '') } : {}) };
  const all = {
    forward: () => forwardModelBytes(p.graph, p.numClasses),
    'input gradient': () => gradientGraphFromPrepared(p, { rule: 'gradient', ...common }),
    guided: () => gradientGraphFromPrepared(p, { rule: 'guided', ...common }),
    'grad-cam': () => gradientGraphFromPrepared(p, { rule: 'gradient', layers: [layer], inputGradient: false, ...common }),
    'guided grad-cam': () => gradientGraphFromPrepared(p, { rule: 'guided', layers: [layer], layerRule: 'gradient', ...common }),
  };
  const graphs = Object.fromEntries(Object.entries(all).filter(([name]) => !only.length || only.includes(name.replace(/ /g, '-'))));
  for (const [name, build] of Object.entries(graphs)) {
    const g = build();
    const prefix = join(out, `${shape}-${name.replace(/ /g, '_')}`);
    const s = await backend.createSession(g, { threads, enableProfiling: true, profileFilePrefix: prefix, graphOptimizationLevel: level });
    const feeds = name === 'forward' ? { [p.graph.input.name]: x } : { [p.graph.input.name]: x, cotangent: cot };
    for (let i = 0; i < 3; i++) await s.run(feeds);
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await s.run(feeds);
    const wall = (performance.now() - t0) / calls;
    const file = s.endProfiling();
    await s.release();
    const events = JSON.parse(readFileSync(file, 'utf8'));
    const byOp = new Map();
    const byNode = new Map();
    let total = 0;
    // Only the timed calls: the warm-up runs (the first one slower, WebAssembly's first much slower) are left out.
    const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
    const from = starts.length > calls ? starts[starts.length - calls] : -Infinity;
    const runs = Math.min(calls, starts.length);
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      const node = `${op} ${e.name.slice(0, -'_kernel_time'.length)}`;
      byNode.set(node, (byNode.get(node) ?? 0) + e.dur);
      total += e.dur;
    }
    const perRun = (us) => (us / Math.max(1, runs) / 1000).toFixed(2);
    const rows = [...byOp].sort((a, b) => b[1] - a[1]).slice(0, top).map(([op, us]) => `${op} ${perRun(us)} ms (${((100 * us) / total).toFixed(0)} %)`);
    console.log(`${shape} ${name} (batch ${batch}, ${threads}T): ${wall.toFixed(2)} ms/call wall, ${perRun(total)} ms/call in kernels; ${rows.join(', ')}`);
    if (nodes) for (const [node, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, nodes)) console.log(`  ${perRun(us)} ms  ${node}`);
  }
}
