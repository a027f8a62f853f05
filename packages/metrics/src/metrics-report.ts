import { lineChartSvg, type ChartSeries } from '@whitebox/visualize';
import type { MetricRow, MetricsResult } from './evaluate-metrics.js';
import { METRIC_FAMILIES, directionArrow, type MetricFamily, type MetricInfo } from './metric.js';

/** The model-blind baselines every metrics table carries. */
export const BASELINE_METHODS = ['random', 'sobel'] as const;

const FAMILY_TITLES: Record<MetricFamily, string> = {
  faithfulness: 'Faithfulness', robustness: 'Robustness', randomization: 'Randomization', complexity: 'Complexity', localization: 'Localization (ground-truth masks)',
};

/** Curve metrics charted in the report (mean curve per method). */
const CHARTED = ['pixel-flipping', 'region-perturbation', 'deletion-blur', 'insertion-blur', 'deletion-constant', 'insertion-constant', 'irof', 'mprt-cascading-spearman', 'mprt-cascading-ssim'];

const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

function rowOf(r: MetricsResult, metric: string, method: string): MetricRow | undefined {
  return r.rows.find((x) => x.metric === metric && x.method === method);
}

/** Whether `v` is better than `w` in direction `d` (reference metrics: never). */
function better(d: MetricInfo['direction'], v: number, w: number): boolean {
  return d === 'higher' ? v > w : d === 'lower' ? v < w : false;
}

/** For one metric: the best method's name and which methods beat both model-blind baselines. */
export function standing(r: MetricsResult, m: MetricInfo): { best?: string; beatsBaselines: Set<string> } {
  const vals = r.methods.map((name) => [name, rowOf(r, m.id, name)?.mean] as const).filter((x): x is readonly [string, number] => typeof x[1] === 'number');
  const beats = new Set<string>();
  if (m.direction === 'reference') return { beatsBaselines: beats };
  const base = BASELINE_METHODS.map((b) => rowOf(r, m.id, b)?.mean).filter((v): v is number => typeof v === 'number');
  let best: string | undefined;
  let bestV = 0;
  for (const [name, v] of vals) {
    if (best === undefined || better(m.direction, v, bestV)) {
      best = name;
      bestV = v;
    }
    if (!(BASELINE_METHODS as readonly string[]).includes(name) && base.length && base.every((b) => better(m.direction, v, b))) beats.add(name);
  }
  return { ...(best !== undefined ? { best } : {}), beatsBaselines: beats };
}

/** Family tables as rows: method, then one cell per metric (mean ± std). */
export function familyTable(r: MetricsResult, family: MetricFamily): { metrics: MetricInfo[]; rows: Array<{ method: string; cells: Array<{ text: string; best: boolean; beats: boolean }> }> } {
  const metrics = r.metrics.filter((m) => m.family === family);
  const st = metrics.map((m) => standing(r, m));
  const rows = r.methods.map((method) => ({
    method,
    cells: metrics.map((m, j) => {
      const row = rowOf(r, m.id, method);
      const text = !row || row.mean === null ? '—' : `${fmt(row.mean)} ± ${fmt(row.std)}${row.excluded ? ` (${row.samples}/${row.samples + row.excluded})` : ''}`;
      return { text, best: st[j]!.best === method, beats: st[j]!.beatsBaselines.has(method) };
    }),
  }));
  return { metrics, rows };
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The report's "Metrics" section body: one table per family (direction in every header), curve charts, definitions. */
export async function metricsSectionHtml(r: MetricsResult): Promise<string> {
  const parts: string[] = [];
  parts.push(`<p class="note">${r.samples} test images (balanced over classes), seed ${r.seed}, every method's signed per-pixel map (channels summed); the model-blind baselines <b>random</b> (uniform noise) and <b>sobel</b> (edge magnitude of the input) are in every table. <b>↑</b> higher is better, <b>↓</b> lower is better, <b>○</b> a reference every map gets alike. Cells: mean ± std over the images (scored/total when some images could not be scored, e.g. a constant map). <b>Bold</b>: the best in the column; <span class="beats">green</span>: better than both baselines.</p>`);
  for (const family of METRIC_FAMILIES) {
    const { metrics, rows } = familyTable(r, family);
    if (metrics.length === 0) continue;
    const head = `<tr><th>method</th>${metrics.map((m) => `<th title="${esc(m.definition)} (${esc(m.paper)})">${esc(m.name)} ${directionArrow(m.direction)}</th>`).join('')}</tr>`;
    const body = rows.map((row) => `<tr><td>${esc(row.method)}</td>${row.cells.map((c) => `<td class="${c.beats ? 'beats' : ''}">${c.best ? `<b>${esc(c.text)}</b>` : esc(c.text)}</td>`).join('')}</tr>`).join('\n');
    parts.push(`<h3>${esc(FAMILY_TITLES[family])}</h3><div class="wide"><table>${head}\n${body}</table></div>`);
  }
  const charts: string[] = [];
  for (const id of CHARTED) {
    const m = r.metrics.find((x) => x.id === id);
    if (!m) continue;
    const curves = r.curves.filter((c) => c.metric === id);
    if (curves.length === 0) continue;
    const series: ChartSeries[] = curves.map((c) => ({ name: c.method, points: c.x.map((x, i) => [x, c.y[i]!] as [number, number]) }));
    const isRandomization = m.family === 'randomization';
    charts.push(await lineChartSvg(series, {
      title: `${m.name}: ${isRandomization ? 'similarity per step' : 'mean curve'} (score ${directionArrow(m.direction)})`,
      xLabel: isRandomization ? 'layers randomized (cascading from the top)' : id.startsWith('region') ? 'fraction of regions perturbed' : id === 'irof' ? 'fraction of superpixels removed' : 'fraction of pixels perturbed',
      yLabel: curves[0]!.yLabel, width: 420,
    }));
  }
  if (charts.length) parts.push(`<h3>Curves</h3><div class="charts">${charts.join('\n')}</div>`);
  parts.push(`<details><summary>Definitions (${r.metrics.length} metrics)</summary>${definitionsTable(r.metrics)}</details>`);
  if (r.skipped?.length) {
    const why = [...new Set(r.skipped.map((x) => x.reason))];
    parts.push(`<p class="note">Not run here: ${why.map((w) => `${esc(r.skipped!.filter((x) => x.reason === w).map((x) => x.metric).join(', '))} (${esc(w)})`).join('; ')}.</p>`);
  }
  const excluded = r.rows.filter((x) => x.excluded > 0 || x.error);
  if (excluded.length) parts.push(`<details><summary>Images left out (${excluded.length} metric × method pairs)</summary><ul>${excluded.map((x) => `<li>${esc(x.metric)} / ${esc(x.method)}: ${x.error ? esc(x.error) : `${x.excluded} image(s); e.g. ${esc(x.note ?? '')}`}</li>`).join('')}</ul></details>`);
  return parts.join('\n');
}

function definitionsTable(metrics: readonly MetricInfo[]): string {
  return `<table><tr><th>metric</th><th>family</th><th>better</th><th>paper</th><th>definition</th></tr>${metrics.map((m) => `<tr><td>${esc(m.id)}</td><td>${m.family}</td><td>${directionArrow(m.direction)}</td><td>${esc(m.paper)}</td><td style="text-align:left">${esc(m.definition)}</td></tr>`).join('')}</table>`;
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** The metrics as Markdown: one table per family, metrics as columns with their direction; ★ = beats both baselines. */
export function metricsMarkdown(r: MetricsResult): string {
  const out: string[] = [`#### Metrics (${r.samples} test images, seed ${r.seed}; ↑ higher is better, ↓ lower is better, ○ reference; **bold** = best, ★ = better than both model-blind baselines, random and sobel)`, ''];
  for (const family of METRIC_FAMILIES) {
    const { metrics, rows } = familyTable(r, family);
    if (metrics.length === 0) continue;
    out.push(`${FAMILY_TITLES[family]}:`, '');
    out.push(`| method | ${metrics.map((m) => mdCell(`${m.id} ${directionArrow(m.direction)}`)).join(' | ')} |`);
    out.push(`| --- | ${metrics.map(() => '---').join(' | ')} |`);
    for (const row of rows) {
      out.push(`| ${row.method} | ${row.cells.map((c) => mdCell(`${c.best ? `**${c.text.split(' ± ')[0]}**` : c.text.split(' ± ')[0]}${c.beats ? ' ★' : ''}`)).join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** metrics.csv rows: one per (metric, method). */
export function metricsCsv(r: MetricsResult): { columns: string[]; rows: Array<Array<string | number>> } {
  return {
    columns: ['metric', 'family', 'direction', 'method', 'mean', 'std', 'samples', 'excluded'],
    rows: r.rows.map((x) => {
      const m = r.metrics.find((q) => q.id === x.metric);
      return [x.metric, m?.family ?? '', m?.direction ?? '', x.method, x.mean ?? '', x.std ?? '', x.samples, x.excluded];
    }),
  };
}
