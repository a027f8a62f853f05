// bench.html: attribution throughput of the shipped models in this browser (onnxruntime-web), the browser twin of
// `pnpm bench -- --only=methods`: each method's attribute() on one batch of the bundled sample images (tiled to the
// batch size), predicted classes, best of `reps` calls after a warm-up call. URL parameters: threads (default
// hardwareConcurrency), batch (64), reps (3), device (wasm | webgpu), models (mnist,cifar10), methods (comma list).
// Results go to the table and to window.__bench (scripts/bench-browser.mjs reads them).
import { setWasmPaths } from '@whitebox/backend-web';
import { type Device, Tensor } from '@whitebox/core';
import { loadModel } from '@whitebox/onnx';
import { type SampleSet, samplePixels } from './image.js';
import { createMethod } from './methods.js';
import type { MethodId } from './protocol.js';

setWasmPaths(new URL(`${import.meta.env.BASE_URL}ort/`, location.origin).href);

interface BenchRow { model: string; method: MethodId; mapsPerSecond: number; msPerCall: number }
const params = new URLSearchParams(location.search);
const threads = Number(params.get('threads') ?? navigator.hardwareConcurrency);
const batch = Number(params.get('batch') ?? 64);
const reps = Number(params.get('reps') ?? 3);
const device = (params.get('device') ?? 'wasm') as Device;
const models = (params.get('models') ?? 'mnist,cifar10').split(',');
const methods = (params.get('methods') ?? 'vanilla-gradient,input-x-gradient,deconvnet,guided-backprop,integrated-gradients,grad-cam,guided-grad-cam').split(',') as MethodId[];
const state: { done: boolean; error?: string; rows: BenchRow[]; threads: number; batch: number; device: Device; crossOriginIsolated: boolean; userAgent: string } = {
  done: false, rows: [], threads, batch, device, crossOriginIsolated: self.crossOriginIsolated, userAgent: navigator.userAgent,
};
(window as unknown as { __bench: typeof state }).__bench = state;

function addRow(r: BenchRow): void {
  const tr = document.createElement('tr');
  for (const v of [r.model, r.method, r.mapsPerSecond.toFixed(1), r.msPerCall.toFixed(1)]) {
    const td = document.createElement('td');
    td.textContent = v;
    tr.append(td);
  }
  document.querySelector('#results tbody')!.append(tr);
}

async function run(): Promise<void> {
  for (const name of models) {
    const bytes = new Uint8Array(await (await fetch(`${import.meta.env.BASE_URL}models/${name}-simplecnn.onnx`)).arrayBuffer());
    const set = (await (await fetch(`${import.meta.env.BASE_URL}samples/${name}.json`)).json()) as SampleSet;
    const model = await loadModel(bytes, { backend: 'web', device, threads, batchSize: batch });
    const [c, h, w] = model.inputShape.slice(1) as number[];
    const size = c! * h! * w!;
    const data = new Float32Array(batch * size);
    for (let i = 0; i < batch; i++) data.set(samplePixels(set, i % set.images.length, c!, h!, w!), i * size);
    const x = new Tensor(data, [batch, c!, h!, w!]);
    const targets = (await model.forward(x)).predictions;
    for (const id of methods) {
      document.getElementById('status')!.textContent = `running ${name} ${id}…`;
      const m = createMethod(id, model);
      await m.attribute(x, targets);
      let best = Infinity;
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        await m.attribute(x, targets);
        best = Math.min(best, performance.now() - t0);
      }
      const row = { model: name, method: id, mapsPerSecond: (batch * 1000) / best, msPerCall: best };
      state.rows.push(row);
      addRow(row);
    }
    await model.dispose();
  }
}

run()
  .catch((e: Error) => { state.error = e.message; })
  .finally(() => {
    state.done = true;
    document.getElementById('status')!.textContent = state.error ? `failed: ${state.error}` : 'done';
  });
