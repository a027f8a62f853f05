// Traces a model-zoo input-gradient mismatch to float32 kinks (see kinks.py): compares WhiteBox's float32
// pre-activation at every ReLU-family node with PyTorch's float64 one, lists the units on the other side of a kink,
// and asks PyTorch for the float64 input gradient with exactly those units on WhiteBox's side. If WhiteBox matches
// that, the difference is float32 rounding at the named units, not a gradient rule.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const FAMILY = new Set(['Relu', 'Clip', 'LeakyRelu']);

export async function traceKinks({ python, script, out, name, threads, onnxPath, model, x, cotangent, inputGradient, importModel, relMax }) {
  const env = { ...process.env, ZOO_THREADS: String(threads) };
  const run = (what) => spawnSync(python, [script, what, '--model', name, '--out', out], { encoding: 'utf8', env, timeout: 3600_000 });
  const files = ['-pre.bin', '-pre.json', '-flips.json', '-forced.bin'].map((s) => join(out, name + s));
  try {
    const d = run('dump');
    if (d.status !== 0) return { error: `kinks.py dump failed: ${(d.stderr || '').trim().split('\n').pop()}` };
    const { calls } = JSON.parse(readFileSync(files[1], 'utf8'));
    const pre = readFileSync(files[0]);
    const graph = importModel(new Uint8Array(readFileSync(onnxPath)), onnxPath);
    const nodes = graph.nodes.filter((n) => FAMILY.has(n.op));
    if (nodes.length !== calls.length) return { error: `${calls.length} ReLU-family calls in PyTorch, ${nodes.length} nodes in the ONNX graph: not traced` };
    const names = [...new Set(nodes.map((n) => n.inputs[0]))];
    const known = new Set(model.layers.map((l) => l.name));
    const missing = names.filter((n) => !known.has(n));
    if (missing.length) return { error: `pre-activation ${missing[0]} is not a layer: not traced` };
    const r = await model.gradients(x, cotangent, { layers: names, inputGradient: false });
    const flips = [];
    for (let k = 0; k < calls.length; k++) {
      const c = calls[k];
      const wb = r.layers[nodes[k].inputs[0]].activation.data;
      const n = c.dims.reduce((a, b) => a * b, 1);
      if (wb.length !== n) return { error: `call ${k} (${c.module}): PyTorch shape [${c.dims}] vs ONNX ${nodes[k].name} with ${wb.length} elements: not traced` };
      const f64 = new Float64Array(pre.buffer.slice(pre.byteOffset + c.offset, pre.byteOffset + c.offset + n * 8));
      const side = (v) => (v > c.lo) && (c.hi === null || v < c.hi);
      for (let i = 0; i < n; i++) {
        if (side(wb[i]) !== side(f64[i])) {
          const dist = Math.min(Math.abs(f64[i] - c.lo), c.hi === null ? Infinity : Math.abs(f64[i] - c.hi));
          flips.push({ call: k, module: c.module || '(top)', node: nodes[k].name, index: i, active: side(wb[i]), float64: f64[i], float32: wb[i], dist });
        }
      }
    }
    if (flips.length === 0) return { flips: 0 };
    writeFileSync(files[2], JSON.stringify({ flips }));
    const f = run('force');
    if (f.status !== 0) return { flips: flips.length, error: `kinks.py force failed: ${(f.stderr || '').trim().split('\n').pop()}` };
    const forced = new Float32Array(new Uint8Array(readFileSync(files[3])).buffer);
    const worst = flips.reduce((a, b) => (b.dist > a.dist ? b : a));
    return {
      flips: flips.length,
      units: flips.slice(0, 5).map((u) => `${u.module} (${u.node}) #${u.index}: float64 ${u.float64.toExponential(2)}, WhiteBox ${u.float32.toExponential(2)}`),
      maxDistance: worst.dist,
      forced: relMax(inputGradient.data, forced),
    };
  } finally {
    for (const p of files) rmSync(p, { force: true });
  }
}
