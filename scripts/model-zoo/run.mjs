#!/usr/bin/env node
// The model-zoo check (outside CI): exports torchvision classification models with seeded random weights at the given
// opsets (scripts/model-zoo/zoo.py, Debian's /usr/bin/python3 with python3-torch, python3-torchvision, python3-onnx),
// loads each with WhiteBox and compares logits, input gradients, guided backprop and Grad-CAM with PyTorch autograd.
//
//   pnpm build && node scripts/model-zoo/run.mjs [--models resnet18,vit_b_16 | all] [--opsets 13,17] [--threads 2]
//        [--out /tmp/whitebox-zoo] [--results docs/model-zoo.jsonl] [--markdown docs/models.md] [--keep]
//        [--level all|extended|disabled]   (ONNX Runtime optimization level of every session; default: the model's own)
//
// Each model's result is appended to the JSONL file as soon as it is known (a rerun skips models already there unless
// --redo); docs/models.md is rendered from the JSONL at the end (or alone with --render).
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { Tensor } = await import(join(root, 'packages/core/dist/index.js'));
await import(join(root, 'packages/backend-node/dist/index.js'));
const { loadModel, importModel: importOnnx, fileExternalDataReader } = await import(join(root, 'packages/onnx/dist/index.js'));
const fs = await import('node:fs');
const path = await import('node:path');
/** The model file's graph, its external data (ViT-H/14, RegNetY-128GF) read from beside it. */
function importModel(bytes, file) {
  const externalData = fileExternalDataReader(file, fs, path);
  try {
    return importOnnx(bytes, file, { externalData, maxExternalBytes: 2 ** 33 });
  } finally {
    externalData.close();
  }
}
const { traceKinks } = await import('./kinks.mjs');
const { camFromLayer } = await import(join(root, 'packages/grad-cam/dist/index.js'));

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
  return acc;
}, []));
const python = process.env.ZOO_PYTHON ?? '/usr/bin/python3';
const out = args.out ?? '/tmp/whitebox-zoo';
const resultsFile = resolve(args.results ?? join(root, 'docs/model-zoo.jsonl'));
const markdown = resolve(args.markdown ?? join(root, 'docs/models.md'));
const threads = Number(args.threads ?? 2);
const opsets = (args.opsets ?? '13,17').split(',').map(Number);
const zoo = join(root, 'scripts/model-zoo/zoo.py');

function allModels() {
  return JSON.parse(execFileSync(python, [zoo, '--list'], { encoding: 'utf8' }));
}

/** max |a - b| / max |b| */
function relMax(a, b) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) { num = Math.max(num, Math.abs(a[i] - b[i])); den = Math.max(den, Math.abs(b[i])); }
  return num / Math.max(den, 1e-30);
}

function pearson(a, b) {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) { const x = a[i] - ma; const y = b[i] - mb; sab += x * y; saa += x * x; sbb += y * y; }
  return saa === 0 || sbb === 0 ? (saa === sbb ? 1 : 0) : sab / Math.sqrt(saa * sbb);
}

/** Bilinear (align_corners=false) upsampling of [N, 1, h, w] to H × W. */
function upsample(t, H, W) {
  const [n, , h, w] = t.dims;
  const outData = new Float32Array(n * H * W);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < H; y++) {
      const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / H - 0.5));
      const y0 = Math.floor(sy);
      const y1 = Math.min(h - 1, y0 + 1);
      const fy = sy - y0;
      for (let x = 0; x < W; x++) {
        const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / W - 0.5));
        const x0 = Math.floor(sx);
        const x1 = Math.min(w - 1, x0 + 1);
        const fx = sx - x0;
        const v = (r, c) => t.data[(b * h + r) * w + c];
        outData[(b * H + y) * W + x] = (1 - fy) * ((1 - fx) * v(y0, x0) + fx * v(y0, x1)) + fy * ((1 - fx) * v(y1, x0) + fx * v(y1, x1));
      }
    }
  }
  return new Tensor(outData, [n, 1, H, W]);
}

/** A token tensor [N, p + h·w, C] as [N, C, h, w] (prefix tokens dropped). */
function tokensToGrid(t, grid) {
  const [n, T, c] = t.dims;
  const { prefixTokens: p, h, w } = grid;
  const d = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++) for (let k = 0; k < h * w; k++) for (let ch = 0; ch < c; ch++) d[((b * c + ch) * h * w) + k] = t.data[(b * T + p + k) * c + ch];
  return new Tensor(d, [n, c, h, w]);
}

/** The ONNX tensor that is a torch module's output: the last layer named inside the module's export scope. */
function scopeTensor(layers, path) {
  const seg = path.split('.');
  const cumulative = seg.map((_, i) => seg.slice(0, i + 1).join('.'));
  const styles = [`/${seg.join('/')}/`, `/${cumulative.join('/')}/`, `/${path}/`];
  const inside = layers.filter((l) => styles.some((s) => l.name.includes(s)) || l.name.startsWith(`/${seg[0]}/`) && seg.length === 1);
  return inside[inside.length - 1];
}

function camAt(result, layerInfo, relu = true) {
  let { activation, gradient } = result;
  if (layerInfo.kind === 'tokens') { activation = tokensToGrid(activation, layerInfo.grid); gradient = tokensToGrid(gradient, layerInfo.grid); }
  if (activation.dims.length !== 4) return undefined;
  return camFromLayer(activation, gradient, relu);
}

/**
 * A traced mismatch: 'match (float32 kinks)' when deciding every kink as WhiteBox did (the traced units on its side, the
 * rest as in the unforced float64 pass) makes PyTorch's float64 input gradient equal WhiteBox's (within 1e-3). Guided backprop goes through the same forward masks, so the same
 * units move it too; it is not forced separately: it must be within 1e-2 of one of the two references.
 */
function classifyTrace(row) {
  const t = row.kinks;
  if (!t || row.status === 'match' || row.status === 'match (float64)') return;
  const what = [t.flips ? `${t.flips} unit(s) on the other side of a ReLU kink than in float64 (|pre-activation| ≤ ${fmt(t.maxDistance)})` : '', t.windows ? `${t.windows} max-pool window(s) with another maximum (float64 gap ≤ ${fmt(t.maxGap)})` : ''].filter(Boolean).join(' and ');
  // Grad-CAM's layer gradient passes the same masks (a unit of DenseNet's final ReLU moves norm5's gradient): within
  // 1e-2, and said so, when it is over 1e-3.
  const cam = row.camAtConventional;
  if (t.forced !== undefined && t.forced < 1e-3 && Math.min(row.logits, row.logits64) < 1e-3 && Math.min(row.guided, row.guided64) < 1e-2 && (cam === undefined || cam < 1e-2)) {
    row.status = 'match (float32 kinks)';
    row.detail = `${what}; e.g. ${t.units[0]}. With them on WhiteBox's side, PyTorch's float64 input gradient is within ${fmt(t.forced)} of WhiteBox's${cam !== undefined && cam >= 1e-3 ? ` (Grad-CAM ${fmt(cam)}: the same masks, not forced)` : ''}. Default layer \`${row.defaultLayer}\``;
  } else {
    row.status = 'mismatch';
    row.detail = t.error ?? `${what || 'no unit on the other side of a kink'}; with them forced, WhiteBox vs float64 ${fmt(t.forced)}`;
  }
}

async function compare(base) {
  const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
  const row = { model: meta.model, opset: meta.opset, size: meta.size, params: meta.params, fixedBatch: meta.fixedBatch || undefined };
  if (meta.exportError) return { ...row, status: 'export-failed', detail: meta.exportError };
  const bin = readFileSync(`${base}.bin`);
  const arr = (k) => {
    const a = meta.arrays[k];
    const n = a.dims.reduce((x, y) => x * y, 1);
    return new Tensor(new Float32Array(bin.buffer.slice(bin.byteOffset + a.offset, bin.byteOffset + a.offset + n * 4)), a.dims);
  };
  const x = arr('x');
  const t0 = performance.now();
  let model;
  try {
    // The zoo's largest models (ViT-L 1.2 GB in one file; ViT-H/14 and RegNetY-128GF 2.5-2.6 GB in external data
    // files beside it) are above loadModel's 1 GiB default cap.
    model = await loadModel(`${base}.onnx`, { backend: 'node', threads, maxModelBytes: 2 ** 33, ...(args.level ? { graphOptimizationLevel: args.level } : {}) });
  } catch (err) {
    return { ...row, status: 'load-failed', detail: String(err.message).slice(0, 400) };
  }
  try {
    // Each ONNX Runtime session holds (and prepacks) its own copy of the weights: for the 600M-parameter models five
    // cached sessions would not fit in 24 GiB, so their sessions are released between steps (they reopen on demand).
    const release = meta.params > 3e8 ? () => model.dispose() : async () => {};
    const fw = await model.forward(x);
    await release();
    row.loadSeconds = +((performance.now() - t0) / 1000).toFixed(2);
    row.logits = relMax(fw.logits.data, arr('logits').data);
    const cot = arr('cotangent');
    const t1 = performance.now();
    const g = await model.gradients(x, cot);
    await release();
    row.gradSeconds = +((performance.now() - t1) / 1000).toFixed(2);
    row.inputGrad = relMax(g.inputGradient.data, arr('input_grad').data);
    const gg = await model.gradients(x, cot, { rule: 'guided' });
    await release();
    row.guided = relMax(gg.inputGradient.data, arr('guided_grad').data);
    const target = Array.from(arr('target').data, Math.round);
    row.defaultLayer = model.defaultCamLayer;
    if (meta.camLayer) {
      const conv = scopeTensor(model.layers, meta.camLayer);
      row.conventional = `${meta.camLayer} → ${conv?.name ?? '(not found)'}`;
      if (conv) {
        const r = await model.gradients(x, target, { layers: [conv.name], inputGradient: false });
        await release();
        const cam = camAt(r.layers[conv.name], conv);
        const ref = arr('cam');
        if (cam && cam.size === ref.size) {
          if (ref.data.some((v) => v !== 0)) row.camAtConventional = relMax(cam.data, ref.data);
          else if (meta.arrays.cam_raw) {
            // Every channel-weighted sum is negative (random-weight ViTs): compare the maps before the ReLU.
            row.camAtConventional = relMax(camAt(r.layers[conv.name], conv, false).data, arr('cam_raw').data);
            row.camNote = 'Grad-CAM compared before its ReLU (the reference map is all negative)';
          } else row.camNote = 'reference Grad-CAM is all zeros (ReLU of a negative map)';
        }
        row.defaultIsConventional = conv.name === model.defaultCamLayer;
        const def = model.layers.find((l) => l.name === model.defaultCamLayer);
        if (def) {
          const rd = await model.gradients(x, target, { layers: [def.name], inputGradient: false });
          const beforeRelu = !ref.data.some((v) => v !== 0) && !!meta.arrays.cam_raw;
          const camD = camAt(rd.layers[def.name], def, !beforeRelu);
          const refD = beforeRelu ? arr('cam_raw') : ref;
          if (camD) row.defaultVsConventionalCorr = +pearson(upsample(camD, meta.size, meta.size).data, upsample(refD, meta.size, meta.size).data).toFixed(4);
        }
      }
    }
    if (!arr('input_grad').data.some((v) => v !== 0)) { row.status = 'degenerate'; row.detail = 'the PyTorch input gradient is all zeros'; return row; }
    const camOk = row.camAtConventional === undefined || row.camAtConventional < 1e-3;
    const ok = row.logits < 1e-4 && row.inputGrad < 1e-3 && row.guided < 1e-3 && camOk;
    if (meta.arrays.input_grad_f64) {
      // Against PyTorch's float64 result (the exact answer up to float64 rounding), and how far PyTorch's own float32
      // result is from it: near a ReLU kink float32 rounding can put a unit on the other side in either engine.
      row.logits64 = relMax(fw.logits.data, arr('logits_f64').data);
      row.inputGrad64 = relMax(g.inputGradient.data, arr('input_grad_f64').data);
      row.guided64 = relMax(gg.inputGradient.data, arr('guided_grad_f64').data);
      row.torch32vs64 = relMax(arr('input_grad').data, arr('input_grad_f64').data);
      row.guidedTorch32vs64 = relMax(arr('guided_grad').data, arr('guided_grad_f64').data);
    }
    const ok64 = row.inputGrad64 !== undefined && row.logits64 < 1e-4 && row.inputGrad64 < 1e-3 && row.guided64 < 1e-3 && camOk;
    row.status = ok ? 'match' : ok64 ? 'match (float64)' : 'mismatch';
    if (row.status === 'mismatch' && Math.min(row.logits, row.logits64) < 1e-3 && row.inputGrad64 !== undefined && !args['no-trace']) {
      const t = await traceKinks({ python, script: join(root, 'scripts/model-zoo/kinks.py'), out, name: meta.model, threads, onnxPath: `${base}.onnx`, model, x, cotangent: cot, inputGradient: g.inputGradient, importModel, relMax });
      row.kinks = t;
      classifyTrace(row);
    }
    if (!ok && ok64) row.detail = `WhiteBox is within ${fmt(Math.max(row.inputGrad64, row.guided64))} of PyTorch's float64 result; PyTorch's float32 input gradient is ${fmt(row.torch32vs64)} from it (guided ${fmt(row.guidedTorch32vs64)}): a float32 kink on PyTorch's side. Default layer \`${row.defaultLayer}\``;
  } catch (err) {
    row.status = 'failed';
    row.detail = String(err.message).slice(0, 400);
  } finally {
    await model.dispose();
  }
  return row;
}

function fmt(v) {
  return v === undefined ? '' : typeof v === 'number' ? (v === 0 ? '0' : v < 1e-2 ? v.toExponential(1) : v.toFixed(3)) : String(v);
}

/** The torchvision models (per opset seen) that have no row yet: a run stopped before them. */
function notRun(list) {
  let names = [];
  try { names = allModels(); } catch { return []; }
  const lines = [];
  for (const opset of [...new Set(list.map((r) => r.opset))].sort()) {
    const have = new Set(list.filter((r) => r.opset === opset).map((r) => r.model));
    const missing = names.filter((m) => !have.has(m));
    if (missing.length) lines.push(`Not run at opset ${opset} (${missing.length} of ${names.length}): ${missing.join(', ')}.`);
  }
  return lines.length ? ['', ...lines] : [];
}

/** Which host, date and ONNX Runtime level the rows ran on (rows before 2026-12-02 evening: an AMD EPYC, level 'extended' above 64 nodes). */
function hosts(list) {
  const by = new Map();
  for (const r of list) {
    const k = r.host ? `${r.host}, ${r.date}, level ${r.level === 'default' ? "default ('all' up to 2,500 nodes)" : r.level}` : "AMD EPYC, 2026-12-02, level 'extended' above 64 nodes (the default then)";
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return [...by].map(([k, n]) => `${k}: ${n} row(s)`).join('; ');
}

function render() {
  if (!existsSync(resultsFile)) return;
  const rows = readFileSync(resultsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const byKey = new Map(rows.map((r) => [`${r.model}|${r.opset}|${r.fixedBatch ?? ''}`, r]));
  const list = [...byKey.values()].sort((a, b) => a.model.localeCompare(b.model) || a.opset - b.opset);
  for (const r of list) classifyTrace(r);
  const counts = {};
  for (const r of list) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const lines = [
    '# Model zoo: torchvision classifiers through WhiteBox',
    '',
    'Every torchvision classification model, exported by `torch.onnx.export` with seeded random weights (BatchNorm',
    'statistics calibrated on random batches) at opsets 13 and 17, loaded by WhiteBox and compared with PyTorch autograd',
    'on a batch of 2 seeded images: logits, the input gradient of a random cotangent, guided backprop, and Grad-CAM at the',
    "conventional layer (pytorch-grad-cam's choice per family); plus WhiteBox's default CAM layer and how its map",
    'correlates with the conventional one. Errors are max |WhiteBox − PyTorch| / max |PyTorch|.',
    '',
    'The references are computed twice, in float32 (what PyTorch users get) and in float64 (the same weights cast up:',
    'the exact answer up to float64 rounding). Statuses: **match** — logits within 1e-4, input gradient, guided backprop',
    'and Grad-CAM within 1e-3 of float32 PyTorch; **match (float64)** — within those bounds of float64 PyTorch, while',
    "float32 PyTorch is not (a unit within float32 rounding of a ReLU kink lands on the other side in PyTorch's own",
    'float32 computation); **match (float32 kinks)** — the input gradient differs from both, and the kink trace',
    "(`scripts/model-zoo/kinks.py`) finds the units where WhiteBox's float32 pre-activation is on the other side of a",
    'ReLU/ReLU6 kink than the float64 one, and the max-pool windows whose maximum is another element; with every',
    "unit and window decided as WhiteBox decided it (those on WhiteBox's side, all others as in the unforced float64",
    "pass), the float64 input gradient equals WhiteBox's within 1e-3 (the unit, its",
    'pre-activation and the remaining error are in the detail column; guided backprop and Grad-CAM, moved by the same',
    'units, must be within 1e-2 of one reference, logits within 1e-3 — deep random-weight networks such as ResNet-101',
    'amplify float32 rounding in both engines);',
    "**export-failed** — torch 1.13's exporter refuses the model; **load-failed** — WhiteBox refuses the file;",
    'models above protobuf\'s 2 GB limit (ViT-H/14, RegNetY-128GF) are written with their weights in external data files',
    'beside the .onnx file, which loadModel reads (their sessions get them as external data too: see packages/onnx;',
    'their four rows ran at 2 threads on a Zen 3 host, one `--out` folder per model, so their load s / grad s are not',
    'comparable with the other rows);',
    '**mismatch** — anything else. A unit whose pre-activation is 1e-7 from 0 switches the gradient path through it,',
    'so either side is a correct float32 answer; such units are rare (one in 10⁵–10⁶ here) but a deep network has millions.',
    '',
    `Command: \`pnpm build && node scripts/model-zoo/run.mjs --models all --opsets 13,17\` (Debian python3-torch ${list.find((r) => r.torch)?.torch ?? '1.13'}, ${threads} thread(s); \`--models a,b\` for a subset, \`--render\` to rebuild this page from docs/model-zoo.jsonl).`,
    ...notRun(list),
    `Hosts: ${hosts(list)}. Outcome counts: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    '| model | opset | input | params | status | logits | input grad | guided | input grad vs f64 | guided vs f64 | PyTorch f32 vs f64 | Grad-CAM (conv. layer) | default = conv.? | corr(default, conv.) | load s | grad s | default layer / detail |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...list.map((r) => `| ${r.model}${r.fixedBatch ? ' (fixed batch 1)' : ''} | ${r.opset} | ${r.size} | ${r.params ? (r.params / 1e6).toFixed(1) + 'M' : ''} | ${r.status} | ${fmt(r.logits)} | ${fmt(r.inputGrad)} | ${fmt(r.guided)} | ${fmt(r.inputGrad64)} | ${fmt(r.guided64)} | ${fmt(r.torch32vs64)} | ${fmt(r.camAtConventional)} | ${r.defaultIsConventional === undefined ? '' : r.defaultIsConventional ? 'yes' : 'no'} | ${fmt(r.defaultVsConventionalCorr)} | ${fmt(r.loadSeconds)} | ${fmt(r.gradSeconds)} | ${(r.detail ?? `\`${r.defaultLayer ?? ''}\``).replace(/\|/g, '\\|')} |`),
    '',
  ];
  writeFileSync(markdown, lines.join('\n'));
}

if (args.render) { render(); process.exit(0); }
const models = !args.models || args.models === 'all' ? allModels() : args.models.split(',');
mkdirSync(out, { recursive: true });
mkdirSync(dirname(resultsFile), { recursive: true });
const done = new Set(existsSync(resultsFile) && !args.redo ? readFileSync(resultsFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => { const r = JSON.parse(l); return `${r.model}|${r.opset}|${r.fixedBatch ?? ''}`; }) : []);
const jobs = models.flatMap((m) => opsets.map((o) => [m, o]));
const started = performance.now();
let i = 0;
for (const [m, opset] of jobs) {
  i++;
  const fixed = !!args['fixed-batch'];
  if (done.has(`${m}|${opset}|${fixed || ''}`)) continue;
  const eta = i > 1 ? ((performance.now() - started) / (i - 1)) * (jobs.length - i + 1) / 1000 : NaN;
  process.stderr.write(`[${i}/${jobs.length}] ${m} opset ${opset}${Number.isFinite(eta) ? ` (ETA ${Math.round(eta / 60)} min)` : ''}\n`);
  const base = join(out, `${m}-op${opset}${fixed ? '-fixed' : ''}`);
  const py = spawnSync(python, [zoo, '--model', m, '--opset', String(opset), '--out', out, ...(fixed ? ['--fixed-batch'] : [])], { encoding: 'utf8', timeout: 3600_000, env: { ...process.env, ZOO_THREADS: String(threads) } });
  let row;
  if (py.status !== 0 || !existsSync(`${base}.json`)) row = { model: m, opset, status: 'export-failed', detail: (py.stderr || py.error?.message || '').trim().split('\n').slice(-1)[0]?.slice(0, 400) };
  else row = await compare(base);
  row.torch = '1.13';
  row.host = cpus()[0]?.model ?? 'unknown';
  row.level = args.level ?? 'default';
  row.date = new Date().toISOString().slice(0, 10);
  appendFileSync(resultsFile, `${JSON.stringify(row)}\n`);
  process.stderr.write(`   ${row.status} ${row.detail ?? `inputGrad ${fmt(row.inputGrad)} guided ${fmt(row.guided)} cam ${fmt(row.camAtConventional)} default ${row.defaultLayer}`}\n`);
  if (!args.keep) for (const ext of ['.onnx', '.bin', '.json']) rmSync(`${base}${ext}`, { force: true });
}
render();
