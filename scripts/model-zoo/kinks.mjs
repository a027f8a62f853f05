// Traces a model-zoo input-gradient mismatch to float32 kinks (see kinks.py): compares WhiteBox's float32
// pre-activation at every ReLU-family node with PyTorch's float64 one, lists the units on the other side of a kink,
// and asks PyTorch for the float64 input gradient with exactly those units on WhiteBox's side. If WhiteBox matches
// that, the difference is float32 rounding at the named units, not a gradient rule.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const FAMILY = new Set(['Relu', 'Clip', 'LeakyRelu']);

export async function traceKinks({ python, script, out, name, threads, onnxPath, model, x, cotangent, inputGradient, importModel, relMax, keep = false }) {
  const env = { ...process.env, ZOO_THREADS: String(threads) };
  const run = (what) => spawnSync(python, [script, what, '--model', name, '--out', out], { encoding: 'utf8', env, timeout: 3600_000 });
  const files = ['-pre.bin', '-pre.json', '-flips.json', '-forced.bin'].map((s) => join(out, name + s));
  try {
    const d = run('dump');
    if (d.status !== 0) return { error: `kinks.py dump failed: ${(d.stderr || '').trim().split('\n').pop()}` };
    const { calls, pools = [] } = JSON.parse(readFileSync(files[1], 'utf8'));
    const pre = readFileSync(files[0]);
    const graph = importModel(new Uint8Array(readFileSync(onnxPath)), onnxPath);
    const nodes = graph.nodes.filter((n) => FAMILY.has(n.op));
    if (nodes.length !== calls.length) return { error: `${calls.length} ReLU-family calls in PyTorch, ${nodes.length} nodes in the ONNX graph: not traced` };
    const poolNodes = graph.nodes.filter((n) => n.op === 'MaxPool');
    if (poolNodes.length !== pools.length) return { error: `${pools.length} max-pool calls in PyTorch, ${poolNodes.length} MaxPool nodes in the ONNX graph: not traced` };
    const names = [...new Set([...nodes, ...poolNodes].map((n) => n.inputs[0]))];
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
    // Max-pool windows whose maximum is another element than in float64 (near-ties): WhiteBox routes the gradient to
    // the first maximum of its float32 values.
    const poolFlips = [];
    for (let j = 0; j < pools.length; j++) {
      const p = pools[j];
      const [n, c, H, W] = p.dims;
      const wb = r.layers[poolNodes[j].inputs[0]].activation.data;
      const f64 = new Float64Array(pre.buffer.slice(pre.byteOffset + p.offset, pre.byteOffset + p.offset + n * c * H * W * 8));
      const outSide = (len, k, s, pad) => {
        const span = len + 2 * pad - k;
        let o = (p.ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
        if (p.ceil && (o - 1) * s >= len + pad) o--;
        return o;
      };
      const oh = outSide(H, p.kernel[0], p.stride[0], p.padding[0]);
      const ow = outSide(W, p.kernel[1], p.stride[1], p.padding[1]);
      for (let plane = 0; plane < n * c; plane++) {
        const base = plane * H * W;
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let a32 = -1; let a64 = -1;
            for (let y = oy * p.stride[0] - p.padding[0], ye = Math.min(H, y + p.kernel[0]); y < ye; y++) {
              if (y < 0) continue;
              for (let xx = ox * p.stride[1] - p.padding[1], xe = Math.min(W, xx + p.kernel[1]); xx < xe; xx++) {
                if (xx < 0) continue;
                const i = y * W + xx;
                if (a32 < 0 || wb[base + i] > wb[base + a32]) a32 = i;
                if (a64 < 0 || f64[base + i] > f64[base + a64]) a64 = i;
              }
            }
            if (a32 !== a64) poolFlips.push({ pool: j, module: p.module || '(top)', node: poolNodes[j].name, plane, out: oy * ow + ox, index: a32, gap: f64[base + a64] - f64[base + a32] });
          }
        }
      }
    }
    if (flips.length === 0 && poolFlips.length === 0) return { flips: 0, windows: 0 };
    writeFileSync(files[2], JSON.stringify({ flips, poolFlips }));
    const f = run('force');
    if (f.status !== 0) return { flips: flips.length, error: `kinks.py force failed: ${(f.stderr || '').trim().split('\n').pop()}` };
    const forced = new Float32Array(new Uint8Array(readFileSync(files[3])).buffer);
    return {
      flips: flips.length,
      windows: poolFlips.length,
      units: [
        ...flips.slice(0, 5).map((u) => `${u.module} (${u.node}) #${u.index}: float64 ${u.float64.toExponential(2)}, WhiteBox ${u.float32.toExponential(2)}`),
        ...poolFlips.slice(0, 3).map((u) => `max-pool ${u.module} (${u.node}) plane ${u.plane} window ${u.out}: float64 maximum ${u.gap.toExponential(2)} above WhiteBox's`),
      ],
      maxDistance: Math.max(0, ...flips.map((u) => u.dist)),
      maxGap: Math.max(0, ...poolFlips.map((u) => u.gap)),
      forced: relMax(inputGradient.data, forced),
    };
  } finally {
    if (!keep) for (const p of files) rmSync(p, { force: true });
  }
}
