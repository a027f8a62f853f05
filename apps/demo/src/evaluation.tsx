// The Evaluation view: the report that `whitebox run` (pnpm start) writes to report/ (and report/<name>/),
// copied into the demo at build time. The report's own page (index.html: curves, tables, map grids) is shown
// in a frame; a results.json without its page is shown generically (numeric series as line charts, lists of
// records as tables, scalars as key/value lists).
import { useEffect, useState } from 'react';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Report {
  /** '' for report/, else the sub-folder name. */
  dir: string;
  html?: string;
  results?: Json;
  error?: string;
}

type State = { kind: 'loading' } | { kind: 'missing' } | { kind: 'error'; message: string } | { kind: 'ok'; reports: Report[] };

const BASE = import.meta.env.BASE_URL;

async function loadReports(): Promise<Report[]> {
  const idx = await fetch(`${BASE}report/index.json`).then((r) => (r.ok ? r.json() : { files: [] })).catch(() => ({ files: [] }));
  const files: string[] = Array.isArray(idx.files) ? idx.files.map(String) : [];
  const dirs = [...new Set(files.filter((f) => /(^|\/)(index\.html|results\.json)$/.test(f)).map((f) => f.replace(/(^|\/)[^/]+$/, '')))].sort();
  return Promise.all(
    dirs.map(async (dir) => {
      const prefix = dir ? `${dir}/` : '';
      const report: Report = { dir };
      if (files.includes(`${prefix}index.html`)) report.html = `${BASE}report/${prefix}index.html`;
      if (files.includes(`${prefix}results.json`)) {
        try {
          report.results = (await (await fetch(`${BASE}report/${prefix}results.json`)).json()) as Json;
        } catch (e) {
          report.error = `report/${prefix}results.json is not valid JSON: ${(e as Error).message}`;
        }
      }
      return report;
    }),
  );
}

export function EvaluationView() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [shown, setShown] = useState(0);
  useEffect(() => {
    loadReports()
      .then((reports) => setState(reports.length ? { kind: 'ok', reports } : { kind: 'missing' }))
      .catch((e: Error) => setState({ kind: 'error', message: e.message }));
  }, []);

  const report = state.kind === 'ok' ? state.reports[Math.min(shown, state.reports.length - 1)] : undefined;
  return (
    <main className="evaluation" data-testid="evaluation">
      <h2>Evaluation of the shipped models</h2>
      {state.kind === 'loading' && <p>Loading the report…</p>}
      {state.kind === 'missing' && (
        <p className="notice" data-testid="evaluation-missing">
          No evaluation report was built into this demo. Run <code>pnpm start</code> to produce the evaluation (it writes <code>report/</code>: <code>results.json</code> and its page), then <code>pnpm demo</code> again.
        </p>
      )}
      {state.kind === 'error' && <p className="error" role="alert">{state.message}</p>}
      {state.kind === 'ok' && report && (
        <>
          {state.reports.length > 1 && (
            <div className="choices">
              {state.reports.map((r, i) => (
                <label key={r.dir}><input type="radio" name="report" checked={r === report} onChange={() => setShown(i)} /> {r.dir || 'report'}</label>
              ))}
            </div>
          )}
          <ReportMeta results={report.results} />
          {report.error && <p className="error" role="alert">{report.error}</p>}
          <MetricsSummary results={report.results} />
          {report.html ? (
            <ReportFrame src={report.html} />
          ) : (
            report.results !== undefined && <JsonSection value={report.results} path="results" depth={0} />
          )}
        </>
      )}
    </main>
  );
}

function ReportMeta(props: { results: Json | undefined }) {
  const r = props.results;
  if (!r || typeof r !== 'object' || Array.isArray(r)) return null;
  const meta = r.meta;
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return null;
  const methods = Array.isArray(meta.methods) ? meta.methods.join(', ') : '';
  return (
    <p className="report-meta" data-testid="report-meta">
      Dataset <b>{String(meta.dataset ?? '?')}</b> ({String(meta.scale ?? '?')} scale), model <code>{String(meta.model ?? '?')}</code>
      {methods && <>, methods: {methods}</>}{meta.createdAt ? <>, generated {String(meta.createdAt)}</> : null}.
    </p>
  );
}

interface MetricInfoJson { id: string; name: string; family: string; direction: 'higher' | 'lower' | 'reference'; paper: string; definition: string }
interface MetricRowJson { metric: string; method: string; mean: number | null; std: number | null; samples: number; excluded: number }

const ARROWS: Record<string, string> = { higher: '↑', lower: '↓', reference: '○' };
const FAMILIES = ['faithfulness', 'robustness', 'randomization', 'complexity', 'localization'];
const BASELINES = ['random', 'sobel'];

/** Reads results.metrics when it has the shape the metrics stage writes; else undefined. */
export function metricsOf(results: Json | undefined): { samples: number; metrics: MetricInfoJson[]; methods: string[]; rows: MetricRowJson[] } | undefined {
  if (!results || typeof results !== 'object' || Array.isArray(results)) return undefined;
  const m = results.metrics;
  if (!m || typeof m !== 'object' || Array.isArray(m) || !Array.isArray(m.metrics) || !Array.isArray(m.rows) || !Array.isArray(m.methods)) return undefined;
  return m as unknown as { samples: number; metrics: MetricInfoJson[]; methods: string[]; rows: MetricRowJson[] };
}

/**
 * The metrics stage's numbers as one table per family, every column headed with its direction (↑ higher is better,
 * ↓ lower, ○ reference), the best value in bold and the methods that beat both model-blind baselines (random, Sobel)
 * highlighted — the same reading as the report's Metrics section, without opening it.
 */
function MetricsSummary(props: { results: Json | undefined }) {
  const m = metricsOf(props.results);
  if (!m) return null;
  const value = (metric: string, method: string) => m.rows.find((r) => r.metric === metric && r.method === method)?.mean;
  const better = (d: string, a: number, b: number) => (d === 'higher' ? a > b : d === 'lower' ? a < b : false);
  return (
    <section className="metrics-summary" data-testid="metrics-summary">
      <h3>Metrics ({m.samples} test images; ↑ higher is better, ↓ lower is better, ○ reference; bold = best, green = beats both random and Sobel)</h3>
      {FAMILIES.map((family) => {
        const cols = m.metrics.filter((x) => x.family === family);
        if (cols.length === 0) return null;
        return (
          <div key={family} className="metrics-family">
            <h4>{family}</h4>
            <table className="report-table">
              <thead><tr><th>method</th>{cols.map((c) => <th key={c.id} title={`${c.definition} (${c.paper})`}>{c.name} {ARROWS[c.direction] ?? ''}</th>)}</tr></thead>
              <tbody>
                {m.methods.map((method) => (
                  <tr key={method}>
                    <td>{method}</td>
                    {cols.map((c) => {
                      const v = value(c.id, method);
                      const vals = m.methods.map((x) => value(c.id, x)).filter((x): x is number => typeof x === 'number');
                      const best = typeof v === 'number' && c.direction !== 'reference' && vals.every((x) => !better(c.direction, x, v));
                      const base = BASELINES.map((b) => value(c.id, b)).filter((x): x is number => typeof x === 'number');
                      const beats = typeof v === 'number' && !BASELINES.includes(method) && base.length > 0 && base.every((b) => better(c.direction, v, b));
                      const text = typeof v === 'number' ? v.toFixed(3) : '—';
                      return <td key={c.id} className={beats ? 'beats' : undefined}>{best ? <b>{text}</b> : text}</td>;
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      })}
    </section>
  );
}

/** The report's own HTML page, sized to its content. */
function ReportFrame(props: { src: string }) {
  const [height, setHeight] = useState(800);
  return (
    <iframe
      className="report-frame"
      title="evaluation report"
      data-testid="report-frame"
      src={props.src}
      style={{ height }}
      onLoad={(e) => {
        const doc = e.currentTarget.contentDocument;
        if (doc?.body) setHeight(Math.max(400, doc.documentElement.scrollHeight + 20));
      }}
    />
  );
}

const isNumArray = (v: Json): v is number[] => Array.isArray(v) && v.length > 1 && v.every((x) => typeof x === 'number');
const isRecord = (v: Json): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: Json) => v === null || typeof v !== 'object';
const fmt = (v: Json) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === null ? '—' : String(v));

function JsonSection(props: { value: Json; path: string; depth: number; title?: string }) {
  const { value, depth } = props;
  if (depth > 6) return null;
  if (isScalar(value)) return <span>{fmt(value)}</span>;
  if (isNumArray(value)) return <LineChart series={{ [props.path.split('.').at(-1)!]: value }} />;
  if (Array.isArray(value)) {
    if (value.every(isScalar)) return <p className="list">{value.slice(0, 200).map(fmt).join(', ')}</p>;
    if (value.length > 0 && value.every(isRecord)) {
      // A list of records: their scalar fields as one table, their numeric series as one chart per record.
      const recs = value as Record<string, Json>[];
      const rows = recs.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => isScalar(v))));
      const nested = recs.map((r) => Object.entries(r).filter(([, v]) => !isScalar(v)));
      return (
        <>
          {rows.some((r) => Object.keys(r).length > 0) && <Table rows={rows} />}
          {recs.map((r, i) => {
            if (nested[i]!.length === 0) return null;
            const label = rows[i]![Object.keys(rows[i]!).find((k) => typeof rows[i]![k] === 'string') ?? ''] ?? `#${i}`;
            return <JsonSection key={i} value={Object.fromEntries(nested[i]!)} path={`${props.path}[${i}] ${String(label)}`} depth={depth + 1} title={rows.length > 1 ? Object.values(rows[i]!).filter((v) => typeof v === 'string').join(' · ') : undefined} />;
          })}
        </>
      );
    }
    return <>{value.slice(0, 50).map((v, i) => <JsonSection key={i} value={v} path={`${props.path}[${i}]`} depth={depth + 1} />)}</>;
  }
  const entries = Object.entries(value);
  const scalars = entries.filter(([, v]) => isScalar(v));
  const curves = Object.fromEntries(entries.filter(([, v]) => isNumArray(v))) as Record<string, number[]>;
  const rest = entries.filter(([, v]) => !isScalar(v) && !isNumArray(v));
  const H = (depth < 2 ? 'h3' : 'h4') as 'h3' | 'h4';
  return (
    <section className="report-section">
      {props.title && <H>{props.title}</H>}
      {scalars.length > 0 && (
        <dl className="scalars">
          {scalars.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{fmt(v)}</dd></div>)}
        </dl>
      )}
      {Object.keys(curves).length > 0 && <LineChart series={curves} />}
      {rest.map(([k, v]) => (
        <div key={k}>
          <H>{k}</H>
          <JsonSection value={v} path={`${props.path}.${k}`} depth={depth + 1} />
        </div>
      ))}
    </section>
  );
}

function Table(props: { rows: Record<string, Json>[] }) {
  const cols = [...new Set(props.rows.flatMap((r) => Object.keys(r)))];
  return (
    <table className="report-table">
      <thead><tr>{cols.map((c) => <th key={c}>{c}</th>)}</tr></thead>
      <tbody>{props.rows.slice(0, 200).map((r, i) => <tr key={i}>{cols.map((c) => <td key={c}>{fmt(r[c] ?? null)}</td>)}</tr>)}</tbody>
    </table>
  );
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Numeric series against their index (an 'x', 'fractions' or 'steps' series, when present, is the x axis). */
function LineChart(props: { series: Record<string, number[]> }) {
  const entries = Object.entries(props.series);
  const xKey = entries.find(([k]) => /^(x|fractions?|steps?|percent(ages)?|ratios?)$/i.test(k))?.[0];
  const xs = xKey ? props.series[xKey]! : undefined;
  const lines = entries.filter(([k]) => k !== xKey);
  if (lines.length === 0) return null;
  const W = 420, H = 220, L = 44, B = 24, T = 8, R = 8;
  const all = lines.flatMap(([, v]) => v).filter(Number.isFinite);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi === lo) { hi += 1; lo -= 1; }
  const n = Math.max(...lines.map(([, v]) => v.length));
  const xv = (i: number) => (xs ? xs[i]! : i);
  const x0 = xv(0), x1 = xv(n - 1) === x0 ? x0 + 1 : xv(n - 1);
  const px = (i: number) => L + ((xv(i) - x0) / (x1 - x0)) * (W - L - R);
  const py = (v: number) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  return (
    <figure className="chart">
      <svg width={W} height={H} role="img">
        <line x1={L} y1={H - B} x2={W - R} y2={H - B} stroke="#888" />
        <line x1={L} y1={T} x2={L} y2={H - B} stroke="#888" />
        <text x={L - 4} y={T + 8} textAnchor="end" fontSize="10">{fmt(hi)}</text>
        <text x={L - 4} y={H - B} textAnchor="end" fontSize="10">{fmt(lo)}</text>
        <text x={L} y={H - 6} fontSize="10">{fmt(x0)}</text>
        <text x={W - R} y={H - 6} textAnchor="end" fontSize="10">{fmt(x1)}{xKey ? ` (${xKey})` : ''}</text>
        {lines.map(([k, v], j) => (
          <polyline key={k} fill="none" stroke={PALETTE[j % PALETTE.length]} strokeWidth={1.5}
            points={v.map((y, i) => (Number.isFinite(y) ? `${px(i).toFixed(1)},${py(y).toFixed(1)}` : '')).filter(Boolean).join(' ')} />
        ))}
      </svg>
      <figcaption>
        {lines.map(([k], j) => <span key={k} className="legend"><i style={{ background: PALETTE[j % PALETTE.length] }} />{k}</span>)}
      </figcaption>
    </figure>
  );
}
