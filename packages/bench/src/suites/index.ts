import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Suite } from '../harness.js';

/** Order of sections in BENCHMARKS.md; suites not listed come after, by file name. */
const ORDER = ['engine', 'methods', 'train', 'pipeline', 'metrics', 'queue'];

/** Every `suites/<name>.js` that exports `suite: Suite`. */
export async function loadSuites(): Promise<Suite[]> {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.js') && f !== 'index.js');
  const names = files.map((f) => f.slice(0, -3)).sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const out: Suite[] = [];
  for (const n of names) {
    const mod = (await import(new URL(`./${n}.js`, import.meta.url).href)) as { suite?: Suite };
    if (mod.suite) out.push(mod.suite);
  }
  return out;
}
