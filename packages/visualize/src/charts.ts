import { WhiteBoxError } from '@whitebox/core';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One line of a line chart: its name in the legend and its (x, y) points, optionally with ± error. */
export interface ChartSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Per-point half-width of an error band (e.g. std over seeds), same length as `points`. */
  error?: readonly number[];
}

/** Options of `lineChartSvg`: title, axis labels, size, y domain and points. */
export interface LineChartOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Fixed y domain, e.g. [0, 1] for accuracies. */
  yDomain?: readonly [number, number];
  /** Draw a dot on every point (default true when a series has ≤ 12 points). */
  points?: boolean;
}

/** One bar: label, value, optional error bar and group. */
export interface BarDatum {
  label: string;
  value: number;
  error?: number;
  group?: string;
}

/** Options of `barChartSvg`: title, axis labels, size and y domain. */
export interface BarChartOptions {
  title?: string;
  xLabel?: string;
  yLabel: string;
  width?: number;
  height?: number;
  yDomain?: readonly [number, number];
}

function checkFinite(v: number, what: string): void {
  if (!Number.isFinite(v)) throw new WhiteBoxError('INVALID_ARGUMENT', `${what} is not a finite number (${v})`, { value: v });
}

/** Compiles a vega-lite spec and renders it headless (no canvas) to an SVG string. */
export async function vegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A multi-series line chart (x numeric) as a standalone SVG string, with optional ± error bands. */
export async function lineChartSvg(series: readonly ChartSeries[], options: LineChartOptions): Promise<string> {
  if (series.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `lineChartSvg${options.title ? ` '${options.title}'` : ''}: no series to draw`);
  const rows: Array<{ series: string; x: number; y: number; lo?: number; hi?: number }> = [];
  let hasError = false;
  let maxLen = 0;
  for (const s of series) {
    if (s.error && s.error.length !== s.points.length) {
      throw new WhiteBoxError('SHAPE_MISMATCH', `lineChartSvg: series '${s.name}' has ${s.points.length} points but ${s.error.length} error values`);
    }
    maxLen = Math.max(maxLen, s.points.length);
    s.points.forEach(([x, y], i) => {
      checkFinite(x, `x of point ${i} of series '${s.name}'`);
      checkFinite(y, `y of point ${i} of series '${s.name}'`);
      const e = s.error?.[i];
      if (e !== undefined) {
        checkFinite(e, `error of point ${i} of series '${s.name}'`);
        hasError = true;
        rows.push({ series: s.name, x, y, lo: y - e, hi: y + e });
      } else rows.push({ series: s.name, x, y, lo: y, hi: y });
    });
  }
  const showPoints = options.points ?? maxLen <= 12;
  const yScale = options.yDomain ? { domain: [...options.yDomain], zero: false } : { zero: false };
  const color = { field: 'series', type: 'nominal' as const, title: null, sort: series.map((s) => s.name) };
  const layers: object[] = [];
  if (hasError) {
    layers.push({
      mark: { type: 'area', opacity: 0.18 },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative', scale: yScale }, y2: { field: 'hi' }, color },
    });
  }
  layers.push({
    mark: { type: 'line', point: showPoints, strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xLabel, scale: { zero: false, nice: false } },
      y: { field: 'y', type: 'quantitative', title: options.yLabel, scale: yScale },
      color,
    },
  });
  return vegaLiteToSvg(layeredSpec(rows, layers, options, { legend: { orient: 'right', labelLimit: 320 } }));
}

/** A layered vega-lite spec with the shared title, size and font. */
function layeredSpec(rows: object[], layers: object[], options: { title?: string; width?: number; height?: number }, config: object = {}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? 360,
    height: options.height ?? 220,
    data: { values: rows },
    layer: layers,
    config: { font: 'sans-serif', ...config },
  } as unknown as TopLevelSpec;
}

/** A bar chart (optionally grouped, with error bars) as a standalone SVG string. */
export async function barChartSvg(data: readonly BarDatum[], options: BarChartOptions): Promise<string> {
  if (data.length === 0) throw new WhiteBoxError('INVALID_ARGUMENT', `barChartSvg${options.title ? ` '${options.title}'` : ''}: no bars to draw`);
  data.forEach((d, i) => {
    checkFinite(d.value, `value of bar ${i} ('${d.label}')`);
    if (d.error !== undefined) checkFinite(d.error, `error of bar ${i} ('${d.label}')`);
  });
  const rows = data.map((d) => ({ label: d.label, group: d.group ?? d.label, value: d.value, lo: d.value - (d.error ?? 0), hi: d.value + (d.error ?? 0) }));
  const grouped = data.some((d) => d.group !== undefined);
  const yScale = options.yDomain ? { domain: [...options.yDomain] } : {};
  const x = { field: 'label', type: 'nominal', title: options.xLabel ?? null, sort: null, axis: { labelAngle: -30 } };
  const enc: Record<string, unknown> = { x, y: { field: 'value', type: 'quantitative', title: options.yLabel, scale: yScale }, color: { field: grouped ? 'group' : 'label', type: 'nominal', title: null, legend: grouped ? {} : null } };
  if (grouped) enc.xOffset = { field: 'group', type: 'nominal' };
  const layers: object[] = [{ mark: 'bar', encoding: enc }];
  if (data.some((d) => d.error !== undefined)) {
    const errEnc: Record<string, unknown> = { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } };
    if (grouped) errEnc.xOffset = { field: 'group', type: 'nominal' };
    layers.push({ mark: { type: 'rule', color: 'black' }, encoding: errEnc });
  }
  const spec = layeredSpec(rows, layers, options);
  return vegaLiteToSvg(spec);
}
