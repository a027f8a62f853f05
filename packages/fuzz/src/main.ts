#!/usr/bin/env node
/**
 * `pnpm fuzz [--sample] [--seed N] [--only prefix,...] [--concurrency N] [--timeout ms] [--max-rss MiB] [--out file.jsonl]`
 * Runs the fuzz corpus (or its bounded sample), prints counts by category and outcome and every case whose outcome is
 * not a named error or a correct result, and exits 1 when there is one.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ACCEPTABLE, corpus } from './cases.js';
import { runCases, summaryTable, type RunRecord } from './runner.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };

const seed = Number(value('--seed') ?? 1);
const sample = flag('--sample');
const only = value('--only')?.split(',');
const concurrency = Number(value('--concurrency') ?? cpus().length);
const timeoutMs = Number(value('--timeout') ?? 60_000);
const maxRssMb = Number(value('--max-rss') ?? 2048);
const outFile = value('--out');

const cases = corpus({ seed, sample, only });
const started = Date.now();
process.stderr.write(`whitebox fuzz: ${cases.length} cases (${sample ? 'sample' : 'full corpus'}, seed ${seed}), ${concurrency} at a time, ${timeoutMs} ms and ${maxRssMb} MiB each\n`);
const records: RunRecord[] = await runCases(cases, {
  concurrency, timeoutMs, maxRssMb,
  onResult: (r, done, total) => {
    const bad = !ACCEPTABLE.includes(r.outcome);
    if (bad || done % 50 === 0 || done === total) process.stderr.write(`[${done}/${total}] ${bad ? `FAIL ${r.outcome} ${r.id}: ${r.what} → ${r.code ?? ''} ${(r.message ?? '').split('\n')[0]}` : `${Math.round((Date.now() - started) / 1000)} s`}\n`);
  },
});
const seconds = (Date.now() - started) / 1000;
if (outFile) writeFileSync(outFile, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
const failures = records.filter((r) => !ACCEPTABLE.includes(r.outcome));
process.stdout.write(`\n${summaryTable(records)}\n\n${records.length} cases in ${seconds.toFixed(0)} s; ${failures.length} failures\n`);
for (const f of failures) process.stdout.write(`\n- ${f.outcome} ${f.id} (seed ${f.seed}): ${f.what}\n  ${f.code ?? ''} ${(f.message ?? '').replace(/\n/g, '\n  ')}\n`);
process.exit(failures.length ? 1 : 0);
