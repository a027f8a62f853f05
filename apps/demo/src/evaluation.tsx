// The Evaluation view: the report that `whitebox run` (pnpm start) writes to report/, copied into the
// demo at build time. results.json is shown generically: numeric series as line charts, lists of
// records as tables, scalars as key/value lists; the report's SVG/PNG figures are shown as images.
import { useEffect, useState } from 'react';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

type State = { kind: 'loading' } | { kind: 'missing' } | { kind: 'error'; message: string } | { kind: 'ok'; results: Json | undefined; figures: string[] };

export function EvaluationView() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  useEffect(() => {
    const base = import.meta.env.BASE_URL;
    (async () => {
      const idx = await fetch(`${base}report/index.json`).then((r) => (r.ok ? r.json() : { files: [] })).catch(() => ({ files: [] }));
      const files: string[] = Array.isArray(idx.files) ? idx.files : [];
      const figures = files.filter((f) => /\.(svg|png)$/.test(f));
      let results: Json | undefined;
      if (files.includes('results.json')) {
        const r = await fetch(`${base}report/results.json`);
        try {
          results = (await r.json()) as Json;
        } catch (e) {
          setState({ kind: 'error', message: `report/results.json is not valid JSON: ${(e as Error).message}` });
          return;
        }
      }
      if (results === undefined && figures.length === 0) setState({ kind: 'missing' });
      else setState({ kind: 'ok', results, figures });
    })().catch((e: Error) => setState({ kind: 'error', message: e.message }));
  }, []);

  return (
    <main className="evaluation" data-testid="evaluation">
      <h2>Evaluation of the shipped models</h2>
      {state.kind === 'loading' && <p>Loading the report…</p>}
      {state.kind === 'missing' && (
        <p className="notice" data-testid="evaluation-missing">
          No evaluation report was built into this demo. Run <code>pnpm start</code> to produce the evaluation (it writes <code>report/results.json</code>), then <code>pnpm demo</code> again.
        </p>
      )}
      {state.kind === 'error' && <p className="error" role="alert">{state.message}</p>}
      {state.kind === 'ok' && (
        <>
          {state.figures.length > 0 && (
            <div className="figures">
              {state.figures.map((f) => (
                <figure key={f}>
                  <img src={`${import.meta.env.BASE_URL}report/${f}`} alt={f} />
                  <figcaption>{f}</figcaption>
                </figure>
              ))}
            </div>
          )}
          {state.results !== undefined && <JsonSection value={state.results} path="results" depth={0} />}
        </>
      )}
    </main>
  );
}

const isNumArray = (v: Json): v is number[] => Array.isArray(v) && v.length > 1 && v.every((x) => typeof x === 'number');
const isRecord = (v: Json): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: Json) => v === null || typeof v !== 'object';
const fmt = (v: Json) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === null ? '—' : String(v));

function JsonSection(props: { value: Json; path: string; depth: number }) {
  const { value, depth } = props;
  if (depth > 6) return null;
  if (isScalar(value)) return <span>{fmt(value)}</span>;
  if (isNumArray(value)) return <LineChart series={{ [props.path.split('.').at(-1)!]: value }} />;
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((r) => isRecord(r) && Object.values(r).every(isScalar))) return <Table rows={value as Record<string, Json>[]} />;
    return <>{value.slice(0, 50).map((v, i) => <JsonSection key={i} value={v} path={`${props.path}[${i}]`} depth={depth + 1} />)}</>;
  }
  const entries = Object.entries(value);
  const scalars = entries.filter(([, v]) => isScalar(v));
  const curves = Object.fromEntries(entries.filter(([, v]) => isNumArray(v))) as Record<string, number[]>;
  const rest = entries.filter(([, v]) => !isScalar(v) && !isNumArray(v));
  const H = (depth < 2 ? 'h3' : 'h4') as 'h3' | 'h4';
  return (
    <section className="report-section">
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
