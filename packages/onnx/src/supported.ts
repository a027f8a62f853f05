import { registeredOps } from './ops/index.js';

/** Every operator WhiteBox runs forward and, where a gradient can flow through it, differentiates. */
export const SUPPORTED_OPS: readonly string[] = registeredOps().map((o) => o.op);

/** Markdown table of the supported operators by family (what the README lists). */
export function supportedOpsTable(): string {
  const byFamily = new Map<string, string[]>();
  for (const o of registeredOps()) {
    const l = byFamily.get(o.family) ?? [];
    l.push(o.rewrittenAs ? `${o.op} (→ ${o.rewrittenAs})` : o.backward ? o.op : `${o.op}°`);
    byFamily.set(o.family, l);
  }
  const rows = [...byFamily].map(([f, ops]) => `| ${f} | ${ops.join(', ')} |`);
  return ['| family | operators |', '| --- | --- |', ...rows, '', '° forward only: integer and boolean ops (shape arithmetic, masks) evaluated at load time or carried into the gradient graph as forward computation; no gradient flows through them.'].join('\n');
}
