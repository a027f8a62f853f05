// The bounded fuzz sample: every case in its own child process (time and memory limits), and the only acceptable
// outcomes are a named WhiteBoxError or a correct result. `pnpm fuzz` runs the full corpus (docs/reliability.md).
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACCEPTABLE, CATEGORIES, corpus } from '../src/cases.js';
import { CHILD_JS, CLI_BIN, runCases, summaryTable } from '../src/runner.js';

describe('fuzz sample', () => {
  it('is seeded: the same seed gives the same cases and inputs', async () => {
    const a = corpus({ sample: true });
    expect(a.length).toBeGreaterThanOrEqual(200);
    expect(corpus({ sample: true })).toEqual(a);
    expect(corpus({ sample: true, seed: 2 })[0]!.seed).not.toBe(a[0]!.seed);
    expect(corpus().length).toBeGreaterThanOrEqual(1000);
    expect(new Set(CATEGORIES.map((c) => c.name)).size).toBe(CATEGORIES.length);
  });

  it('every case ends in a named error or a correct result: no crash, hang, memory blow-up, unnamed exception or NaN', async () => {
    expect(existsSync(CHILD_JS) && existsSync(CLI_BIN), 'the fuzz and cli packages are built (pnpm build)').toBe(true);
    const cases = corpus({ sample: true });
    const records = await runCases(cases, { concurrency: 2, timeoutMs: 90_000, maxRssMb: 2048 });
    const failures = records.filter((r) => !ACCEPTABLE.includes(r.outcome));
    const report = failures.map((f) => `${f.outcome} ${f.id} (seed ${f.seed}): ${f.what} → ${f.code ?? ''} ${f.message ?? ''}`).join('\n');
    expect(failures, `${summaryTable(records)}\n\n${report}`).toEqual([]);
  }, 900_000);
});
