import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WhiteBoxError, makeDirs } from '@whitebox/core';
import { barChartSvg, lineChartSvg, type ChartSeries } from '@whitebox/visualize';
import type { CoherenceResult } from './coherence.js';
import type { MetricsResult } from './evaluate-metrics.js';
import { metricsCsv, metricsMarkdown, metricsSectionHtml } from './metrics-report.js';
import { gridPng, imageToRgb, relevanceToRgb, type RgbImage } from './render.js';
import type { RoadResult } from './road.js';
import type { JobFailure, RoarKarResult } from './roar.js';
import type { SanityResult } from './sanity.js';
import type { SelectivityResult } from './selectivity.js';

/** What was evaluated, when, with which command, and how long each stage took. */
export interface EvaluationMeta {
  dataset: string;
  scale: string;
  model: string;
  modelHash: string;
  methods: string[];
  createdAt: string;
  command?: string;
  /** Wall-clock seconds per stage. */
  timings: Record<string, number>;
  /** CPU seconds per stage (this process and its worker threads): robust to other load on the machine. */
  cpuTimings?: Record<string, number>;
  /** Sizes, steps, epochs, seeds... as run. */
  settings: Record<string, unknown>;
}

/** Every stage's results of one evaluation (what results.json holds). */
export interface EvaluationResults {
  meta: EvaluationMeta;
  coherence?: CoherenceResult;
  selectivity?: SelectivityResult;
  roarKar?: RoarKarResult;
  road?: RoadResult;
  sanity?: SanityResult;
  /** Faithfulness, robustness, randomization, complexity and localization metrics (the 'metrics' stage). */
  metrics?: MetricsResult;
  /** Jobs that failed their last attempt (queue runs): listed by name in the report. */
  failures?: JobFailure[];
}

/** Paths of the report files written. */
export interface ReportFiles {
  dir: string;
  html: string;
  json: string;
  /** summary.md: the numbers as Markdown tables (what docs/results.md is made of). */
  markdown: string;
  csv: string[];
  png: string[];
}

/** The report's data as stored in results.json (PNG grids referenced by file name). */
export interface SerializedResults {
  meta: EvaluationMeta;
  coherence?: { classes: string[]; indices: number[]; methods: string[]; png: string };
  selectivity?: Omit<SelectivityResult, 'curves'> & { curves: Array<Omit<SelectivityResult['curves'][number], 'checkpoints'> & { checkpointSteps: number[]; png?: string }> };
  roarKar?: RoarKarResult;
  road?: RoadResult;
  sanity?: SanityResult;
  metrics?: MetricsResult;
  failures?: JobFailure[];
}

const fileSafe = (s: string): string => s.replace(/[^a-z0-9_-]/gi, '_');

/** Splits results into JSON-able data and the PNG files it refers to. */
export function serializeResults(results: EvaluationResults): { data: SerializedResults; images: Record<string, Uint8Array> } {
  const images: Record<string, Uint8Array> = {};
  const data: SerializedResults = { meta: results.meta };
  if (results.coherence) {
    const co = results.coherence;
    images['coherence.png'] = co.png;
    data.coherence = { classes: co.classes, indices: co.indices, methods: co.methods, png: 'coherence.png' };
  }
  if (results.selectivity) {
    const s = results.selectivity;
    data.selectivity = {
      ...s,
      curves: s.curves.map(({ checkpoints, ...c }) => {
        const png = selectivityCheckpointPng(s, c.method);
        const name = `selectivity_${fileSafe(c.method)}.png`;
        if (png) images[name] = png;
        return { ...c, checkpointSteps: checkpoints.map((p) => p.step), ...(png ? { png: name } : {}) };
      }),
    };
  }
  if (results.roarKar) data.roarKar = results.roarKar;
  if (results.road) data.road = results.road;
  if (results.sanity) data.sanity = results.sanity;
  if (results.metrics) data.metrics = results.metrics;
  if (results.failures?.length) data.failures = results.failures;
  return { data, images };
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : String(v));
const dataUri = (png: Uint8Array): string => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

function table(columns: string[], rows: Array<Array<string | number>>): string {
  const head = columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v) => `<td>${esc(typeof v === 'number' ? fmt(v) : v)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function csv(columns: string[], rows: Array<Array<string | number>>): string {
  const cell = (v: string | number): string => (typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [columns.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

/** Checkpoint grid of one selectivity curve: for each kept sample an image row and a map row, one column per checkpoint. */
export function selectivityCheckpointPng(result: SelectivityResult, method: string): Uint8Array | undefined {
  const curve = result.curves.find((c) => c.method === method);
  if (!curve || curve.checkpoints.length === 0) return undefined;
  const [k, c, h, w] = curve.checkpoints[0]!.images.dims as [number, number, number, number];
  const rows: RgbImage[][] = [];
  for (let i = 0; i < k; i++) {
    rows.push(curve.checkpoints.map((cp) => imageToRgb(cp.images.data.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w)));
    rows.push(curve.checkpoints.map((cp) => relevanceToRgb(cp.relevance.subarray(i * h * w, (i + 1) * h * w), h, w)));
  }
  return gridPng(rows, h <= 32 ? 3 : 1);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:.5em 0}figcaption{font-size:.85em;color:#555}img{image-rendering:pixelated;max-width:100%}p.note{color:#555;font-size:.9em}
td.beats{background:#e3f4e1}span.beats{background:#e3f4e1;padding:0 .2em}.wide{overflow-x:auto}details{margin:.6em 0}`;

/**
 * Writes `index.html` (self-contained: PNG grids as data URIs, inline SVG charts, tables),
 * `results.json`, one CSV per evaluation and the PNGs into `outDir`.
 */
export async function writeReport(results: EvaluationResults, outDir: string): Promise<ReportFiles> {
  const { data, images } = serializeResults(results);
  return writeSerializedReport(data, images, outDir);
}

/**
 * Rebuilds the report from a results directory written before (results.json and its PNGs),
 * e.g. by `whitebox evaluate`, into `outDir` (default: the same directory).
 */
export async function writeReportFromDir(resultsDir: string, outDir = resultsDir): Promise<ReportFiles> {
  const file = join(resultsDir, 'results.json');
  if (!existsSync(file)) throw new WhiteBoxError('NOT_FOUND', `no results.json in ${resolve(resultsDir)}: run 'whitebox evaluate' or 'whitebox run' first`, { file });
  let data: SerializedResults;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as SerializedResults;
  } catch (err) {
    throw new WhiteBoxError('INVALID_DATA', `${file} is not valid JSON: ${(err as Error).message}`, { file });
  }
  if (!data || typeof data !== 'object' || !data.meta || typeof data.meta.dataset !== 'string') throw new WhiteBoxError('INVALID_DATA', `${file} has no 'meta' section: not a WhiteBox results file`, { file });
  const images: Record<string, Uint8Array> = {};
  const names = [data.coherence?.png, ...(data.selectivity?.curves.map((c) => c.png) ?? [])].filter((n): n is string => !!n);
  for (const n of names) {
    const p = join(resultsDir, n);
    if (!existsSync(p)) throw new WhiteBoxError('NOT_FOUND', `${file} refers to ${n}, which is missing from ${resolve(resultsDir)}`, { file: p });
    images[n] = new Uint8Array(readFileSync(p));
  }
  return writeSerializedReport(data, images, outDir);
}

async function writeSerializedReport(results: SerializedResults, images: Record<string, Uint8Array>, outDir: string): Promise<ReportFiles> {
  const dir = resolve(outDir);
  makeDirs({ existsSync, mkdirSync, statSync }, dir, 'report directory');
  const files: ReportFiles = { dir, html: join(dir, 'index.html'), json: join(dir, 'results.json'), markdown: join(dir, 'summary.md'), csv: [], png: [] };
  const writeCsv = (name: string, columns: string[], rows: Array<Array<string | number>>): void => {
    const p = join(dir, name);
    writeFileSync(p, csv(columns, rows));
    files.csv.push(p);
  };
  const writePng = (name: string, png: Uint8Array): void => {
    const p = join(dir, name);
    writeFileSync(p, png);
    files.png.push(p);
  };
  const { meta } = results;
  const sections: string[] = [];
  const nav: string[] = [];
  const section = (id: string, title: string, body: string): void => {
    nav.push(`<a href="#${id}">${esc(title)}</a>`);
    sections.push(`<section id="${id}"><h2>${esc(title)}</h2>\n${body}\n</section>`);
  };

  if (results.coherence) {
    const co = results.coherence;
    const png = images[co.png]!;
    writePng(co.png, png);
    section('coherence', 'Coherence', `<p class="note">One test sample per class (rows: ${esc(co.classes.join(', '))}); columns: the input, then ${esc(co.methods.join(', '))}. Maps are per-pixel relevance (|map| summed over channels), scaled to each map's 99.5th percentile.</p>
<figure><img class="grid" alt="coherence grid" src="${dataUri(png)}"><figcaption>columns: input | ${esc(co.methods.join(' | '))}</figcaption></figure>`);
  }

  if (results.selectivity) {
    const s = results.selectivity;
    const xs = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    const series = (key: 'probability' | 'accuracy' | 'logit'): ChartSeries[] => s.curves.map((c) => ({ name: c.method, points: xs(c[key].length).map((i) => [i, c[key][i]!] as [number, number]) }));
    const xLabel = `removal steps (${s.patchSize}×${s.patchSize} ${s.patchSize === 1 ? 'pixel' : 'patch'} each, set to ${s.removalValue})`;
    const probSvg = await lineChartSvg(series('probability'), { title: 'Selectivity: target probability', xLabel, yLabel: 'mean probability of the label', yDomain: [0, 1] });
    const accSvg = await lineChartSvg(series('accuracy'), { title: 'Selectivity: accuracy', xLabel, yLabel: 'accuracy', yDomain: [0, 1] });
    const logitSvg = await lineChartSvg(series('logit'), { title: 'Selectivity: target logit', xLabel, yLabel: 'mean logit of the label' });
    const aucRows = [...s.curves].sort((a, b) => a.aucProbability - b.aucProbability).map((c) => [c.method, c.aucProbability, c.aucLogit, c.aucAccuracy]);
    writeCsv('selectivity_auc.csv', ['method', 'auc_probability', 'auc_logit', 'auc_accuracy'], aucRows);
    writeCsv('selectivity.csv', ['method', 'step', 'fraction_removed', 'logit', 'probability', 'accuracy'], s.curves.flatMap((c) => c.logit.map((_, i) => [c.method, i, s.fractionRemoved[i]!, c.logit[i]!, c.probability[i]!, c.accuracy[i]!])));
    const cps: string[] = [];
    for (const c of s.curves) {
      const png = c.png ? images[c.png] : undefined;
      if (!png || !c.png) continue;
      writePng(c.png, png);
      cps.push(`<figure><img alt="selectivity checkpoints ${esc(c.method)}" src="${dataUri(png)}"><figcaption>${esc(c.method)}: steps ${c.checkpointSteps.join(', ')} (image row, then its map)</figcaption></figure>`);
    }
    section('selectivity', 'Selectivity', `<p class="note">Montavon et al. 2018: ${s.samples} test images; after each step the currently most relevant remaining ${s.patchSize === 1 ? 'pixel' : 'patch'} is set to ${s.removalValue} and the image is re-explained. Area = mean height of the curve over ${s.steps} steps: <b>lower = more selective</b>.</p>
<div class="charts">${probSvg}${accSvg}${logitSvg}</div>
${table(['method', 'AUC probability', 'AUC logit', 'AUC accuracy'], aucRows)}
<h3>Images and maps at checkpoints</h3><div class="charts">${cps.join('\n')}</div>`);
  }

  if (results.roarKar) {
    const r = results.roarKar;
    const methods = [...new Set(r.rows.map((x) => x.method))];
    const baseNote = `Baseline (t = 0, unmodified data): ${fmt(r.baseline.mean)} ± ${fmt(r.baseline.std)} over ${r.seeds.length} seed(s).`;
    const mk = (mode: 'roar' | 'kar'): ChartSeries[] =>
      methods.map((m) => {
        const rows = r.rows.filter((x) => x.method === m && x.mode === mode).sort((a, b) => a.fraction - b.fraction);
        const xOf = (x: { fraction: number; kept: number }): number => (mode === 'roar' ? x.fraction : x.kept);
        const pts = rows.map((x) => [xOf(x), x.mean] as [number, number]);
        const err = rows.map((x) => x.std);
        pts.unshift([mode === 'roar' ? 0 : 1, r.baseline.mean]);
        err.unshift(r.baseline.std);
        const order = pts.map((_, i) => i).sort((a, b) => pts[a]![0] - pts[b]![0]);
        return { name: m, points: order.map((i) => pts[i]!), ...(r.seeds.length > 1 ? { error: order.map((i) => err[i]!) } : {}) };
      });
    const rows = (mode: 'roar' | 'kar'): Array<Array<string | number>> =>
      methods.map((m) => [m, ...r.fractions.map((f) => {
        const row = r.rows.find((x) => x.method === m && x.mode === mode && x.fraction === f);
        return row ? (r.seeds.length > 1 ? `${fmt(row.mean)} ± ${fmt(row.std)}` : fmt(row.mean)) : '';
      })]);
    writeCsv('roar_kar.csv', ['method', 'mode', 'fraction_replaced', 'fraction_kept', 'seed', 'accuracy'], [
      ...r.baseline.accuracies.map((a, i) => ['baseline', 'none', 0, 1, (r.baseline.seeds ?? r.seeds)[i]!, a] as Array<string | number>),
      ...r.rows.flatMap((x) => x.accuracies.map((a, i) => [x.method, x.mode, x.fraction, x.kept, (x.seeds ?? r.seeds)[i]!, a])),
    ]);
    if (r.rows.some((x) => x.mode === 'roar')) {
      const svg = await lineChartSvg(mk('roar'), { title: 'ROAR: remove the most relevant, retrain', xLabel: 'fraction t of the most relevant pixels replaced by the mean', yLabel: 'test accuracy after retraining', yDomain: [0, 1] });
      section('roar', 'ROAR', `<p class="note">Hooker et al. 2019: the t most relevant pixels of every train and test image are replaced by the per-channel dataset mean, a fresh SimpleCNN is retrained, and test accuracy is reported. <b>Lower = the ranking found the informative pixels.</b> ${esc(baseNote)}</p>
<div class="charts">${svg}</div>${table(['method', ...r.fractions.map((f) => `t = ${f}`)], rows('roar'))}`);
    }
    if (r.rows.some((x) => x.mode === 'kar')) {
      const svg = await lineChartSvg(mk('kar'), { title: 'KAR: keep the most relevant, retrain', xLabel: 'fraction kept 1 − t (the t least relevant pixels replaced)', yLabel: 'test accuracy after retraining', yDomain: [0, 1] });
      section('kar', 'KAR', `<p class="note">Keep-and-retrain: the t least relevant pixels are replaced (the fraction kept is 1 − t, the original project's axis). <b>Higher = the kept pixels carry the information.</b> ${esc(baseNote)}</p>
<div class="charts">${svg}</div>${table(['method', ...r.fractions.map((f) => `t = ${f} (kept ${fmt(1 - f, 1)})`)], rows('kar'))}`);
    }
  }

  if (results.road) {
    const d = results.road;
    const mk = (o: 'morf' | 'lerf'): ChartSeries[] => d.curves.filter((c) => c.order === o).map((c) => ({ name: c.method, points: c.fractions.map((f, i) => [f, c.accuracy[i]!] as [number, number]) }));
    const charts: string[] = [];
    if (d.curves.some((c) => c.order === 'morf')) charts.push(await lineChartSvg(mk('morf'), { title: 'ROAD MoRF (most relevant removed first)', xLabel: 'fraction of pixels imputed', yLabel: 'accuracy (no retraining)', yDomain: [0, 1] }));
    if (d.curves.some((c) => c.order === 'lerf')) charts.push(await lineChartSvg(mk('lerf'), { title: 'ROAD LeRF (least relevant removed first)', xLabel: 'fraction of pixels imputed', yLabel: 'accuracy (no retraining)', yDomain: [0, 1] }));
    const methods = [...new Set(d.curves.map((c) => c.method))];
    const rows = methods.map((m) => [m, d.curves.find((c) => c.method === m && c.order === 'morf')?.aucAccuracy ?? NaN, d.curves.find((c) => c.method === m && c.order === 'lerf')?.aucAccuracy ?? NaN]);
    writeCsv('road.csv', ['method', 'order', 'fraction', 'accuracy', 'probability'], d.curves.flatMap((c) => c.fractions.map((f, i) => [c.method, c.order, f, c.accuracy[i]!, c.probability[i]!])));
    section('road', 'ROAD', `<p class="note">Rong et al. 2022: pixels are removed by noisy linear imputation (neighbour mean + noise), which leaks little of the mask's shape, and the unchanged model is evaluated on ${d.samples} test images (baseline accuracy ${fmt(d.baselineAccuracy)}). <b>MoRF area: lower is better; LeRF area: higher is better.</b></p>
<div class="charts">${charts.join('\n')}</div>${table(['method', 'MoRF area (↓)', 'LeRF area (↑)'], rows.map((r) => [r[0]!, r[1] as number, r[2] as number]))}`);
  }

  if (results.sanity) {
    const s = results.sanity;
    const methods = [...new Set(s.rows.map((r) => r.method))];
    const series: ChartSeries[] = methods.map((m) => {
      const rows = s.rows.filter((r) => r.method === m);
      return { name: m, points: [[0, 1] as [number, number], ...rows.map((r) => [r.step, r.spearman] as [number, number])] };
    });
    const svg = await lineChartSvg(series, { title: 'Model randomization (cascading from the top)', xLabel: `layers randomised (0 = trained; ${s.layers.map((l, i) => `${i + 1}: ${l}`).join(', ')})`, yLabel: 'Spearman ρ with the original map', yDomain: [-0.2, 1], width: 480 });
    writeCsv('sanity.csv', ['method', 'step', 'layer', 'spearman', 'spearman_std'], s.rows.map((r) => [r.method, r.step, r.layer, r.spearman, r.spearmanStd]));
    section('sanity', 'Sanity check', `<p class="note">Adebayo et al. 2018: the model's layers are re-initialised from the top down, cumulatively; each column is the Spearman rank correlation between the map of the trained model and of the randomised one (mean over ${s.samples} images). <b>A trustworthy method's correlation falls towards 0.</b></p>
<div class="charts">${svg}</div>${table(['method', ...s.layers.map((l, i) => `${i + 1}: ${l}`)], methods.map((m) => [m, ...s.layers.map((_, i) => s.rows.find((r) => r.method === m && r.step === i + 1)?.spearman ?? NaN)]))}`);
  }

  if (results.metrics) {
    const m = results.metrics;
    const c = metricsCsv(m);
    writeCsv('metrics.csv', c.columns, c.rows);
    writeCsv('metrics_curves.csv', ['metric', 'method', 'x', 'y'], m.curves.flatMap((q) => q.x.map((x, i) => [q.metric, q.method, x, q.y[i]!])));
    section('metrics', 'Metrics', await metricsSectionHtml(m));
  }

  if (results.failures?.length) {
    const f = results.failures;
    writeCsv('failures.csv', ['job', 'attempts', 'error'], f.map((x) => [x.name, x.attempts ?? '', x.error]));
    section('failures', 'Failed jobs', `<p class="note">${f.length} job(s) failed their last attempt; the numbers above leave them out (a (method, t) row averages the seeds that succeeded, a method whose maps failed is missing).</p>
${table(['job', 'attempts', 'error'], f.map((x) => [x.name, x.attempts === undefined ? '' : String(x.attempts), x.error]))}`);
  }

  const timingRows = Object.entries(meta.timings).map(([k, v]) => [k, v] as [string, number]);
  writeCsv('timings.csv', ['stage', 'seconds', 'cpu_seconds'], timingRows.map(([k, v]) => [k, v, meta.cpuTimings?.[k] ?? NaN]));
  if (timingRows.length) {
    const svg = await barChartSvg(timingRows.map(([k, v]) => ({ label: k, value: v })), { title: 'Time per stage', yLabel: 'seconds' });
    section('timings', 'Timings', `<div class="charts">${svg}</div>${table(['stage', 'wall seconds', 'CPU seconds'], timingRows.map(([k, v]) => [k, fmt(v, 1), fmt(meta.cpuTimings?.[k] ?? NaN, 1)]))}`);
  }

  writeFileSync(files.json, JSON.stringify(results, null, 2));
  writeFileSync(files.markdown, markdownSummary(results));
  const settings = Object.entries(meta.settings).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WhiteBox report: ${esc(meta.dataset)} (${esc(meta.scale)})</title><style>${STYLE}</style></head>
<body><h1>WhiteBox evaluation report — ${esc(meta.dataset)}, ${esc(meta.scale)} scale</h1>
<p>Model <code>${esc(meta.model)}</code> (sha256 ${esc(meta.modelHash.slice(0, 16))}…), methods: ${esc(meta.methods.join(', '))}. Generated ${esc(meta.createdAt)}${meta.command ? ` by <code>${esc(meta.command)}</code>` : ''}.</p>
<nav>${nav.join(' · ')}</nav>
${table(['setting', 'value'], settings)}
${sections.join('\n')}
<p class="note">Raw results: results.json and the CSV files next to this page.</p>
</body></html>
`;
  writeFileSync(files.html, html);
  return files;
}

function mdTable(columns: string[], rows: Array<Array<string | number>>): string {
  const cell = (v: string | number): string => (typeof v === 'number' ? fmt(v) : v).replace(/\|/g, '\\|');
  return [`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** The report's numbers as Markdown: selectivity AUCs, ROAR/KAR tables, ROAD areas, sanity correlations, timings. */
export function markdownSummary(r: SerializedResults): string {
  const m = r.meta;
  const out: string[] = [`### ${m.dataset}, ${m.scale} scale`, '', `Model \`${m.model}\` (sha256 ${m.modelHash.slice(0, 16)}…); generated ${m.createdAt}${m.command ? ` by \`${m.command}\`` : ''}.`, ''];
  const settings = m.settings as Record<string, unknown>;
  out.push(`Settings: ${Object.entries(settings).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('; ')}.`, '');
  if (r.selectivity) {
    const s = r.selectivity;
    out.push(`#### Selectivity (${s.samples} test images, ${s.steps} steps of ${s.patchSize}×${s.patchSize}, removal value ${s.removalValue}; area = mean height, lower = more selective)`, '');
    out.push(mdTable(['method', 'AUC probability', 'AUC logit', 'AUC accuracy'], [...s.curves].sort((a, b) => a.aucProbability - b.aucProbability).map((c) => [c.method, c.aucProbability, c.aucLogit, c.aucAccuracy])), '');
  }
  if (r.roarKar) {
    const k = r.roarKar;
    const methods = [...new Set(k.rows.map((x) => x.method))];
    const val = (mode: string, method: string, f: number): string => {
      const row = k.rows.find((x) => x.mode === mode && x.method === method && x.fraction === f);
      return row ? (k.seeds.length > 1 ? `${fmt(row.mean)} ± ${fmt(row.std)}` : fmt(row.mean)) : '';
    };
    const base = `baseline (unmodified, t = 0): ${fmt(k.baseline.mean)}${k.seeds.length > 1 ? ` ± ${fmt(k.baseline.std)}` : ''}, ${k.seeds.length} seed(s)`;
    out.push(`#### ROAR: test accuracy after retraining, t = fraction of the most relevant pixels replaced by the mean (lower = better ranking; ${base})`, '');
    out.push(mdTable(['method', ...k.fractions.map((f) => `t = ${f}`)], methods.map((x) => [x, ...k.fractions.map((f) => val('roar', x, f))])), '');
    out.push(`#### KAR: t = fraction of the least relevant pixels replaced, kept = 1 − t (higher = better ranking)`, '');
    out.push(mdTable(['method', ...k.fractions.map((f) => `t = ${f} (kept ${fmt(1 - f, 1)})`)], methods.map((x) => [x, ...k.fractions.map((f) => val('kar', x, f))])), '');
  }
  if (r.road) {
    const d = r.road;
    const methods = [...new Set(d.curves.map((c) => c.method))];
    const acc = (method: string, order: string): string => {
      const c = d.curves.find((x) => x.method === method && x.order === order);
      return c ? c.accuracy.map((a) => fmt(a, 2)).join(' / ') : '';
    };
    out.push(`#### ROAD (${d.samples} test images, noisy linear imputation, no retraining; baseline accuracy ${fmt(d.baselineAccuracy)}; fractions ${d.fractions.join(', ')})`, '');
    out.push(mdTable(['method', 'MoRF area (↓)', 'LeRF area (↑)', 'MoRF accuracy per fraction', 'LeRF accuracy per fraction'], methods.map((x) => [
      x, d.curves.find((c) => c.method === x && c.order === 'morf')?.aucAccuracy ?? NaN, d.curves.find((c) => c.method === x && c.order === 'lerf')?.aucAccuracy ?? NaN, acc(x, 'morf'), acc(x, 'lerf'),
    ])), '');
  }
  if (r.sanity) {
    const s = r.sanity;
    const methods = [...new Set(s.rows.map((x) => x.method))];
    out.push(`#### Sanity check: Spearman ρ between the trained model's map and the map after randomizing layers from the top, cumulatively (${s.samples} images; lower = the method depends on the weights)`, '');
    out.push(mdTable(['method', ...s.layers.map((l, i) => `up to ${l}`)], methods.map((x) => [x, ...s.layers.map((_, i) => s.rows.find((y) => y.method === x && y.step === i + 1)?.spearman ?? NaN)])), '');
  }
  if (r.metrics) out.push(metricsMarkdown(r.metrics), '');
  if (r.failures?.length) {
    out.push(`#### Failed jobs (${r.failures.length}; left out of the tables above)`, '');
    out.push(mdTable(['job', 'attempts', 'error'], r.failures.map((x) => [x.name, x.attempts === undefined ? '' : String(x.attempts), x.error])), '');
  }
  const t = Object.entries(m.timings);
  if (t.length) {
    out.push('#### Time per stage', '');
    out.push(mdTable(['stage', 'wall s', 'CPU s'], t.map(([k, v]) => [k, fmt(v, 1), fmt(m.cpuTimings?.[k] ?? NaN, 1)])), '');
  }
  return out.join('\n');
}
