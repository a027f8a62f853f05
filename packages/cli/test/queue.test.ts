import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoarKarResult } from '@whitebox/metrics';
import { DirectoryStore, QueueSession, freePort, startRedisServer, type RedisServer } from '@whitebox/queue';
import { evaluateCommand, type EvaluationCliOptions } from '../src/commands/run.js';
import { VERSION } from '../src/version.js';

// Real Redis, real worker processes (the built CLI), quick-scale MNIST ROAR/KAR cut down to a few
// retrainings: results through the queue must equal the local run's, with and without faults.
const root = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(root, 'packages/cli/dist/bin.js');

const common: EvaluationCliOptions = {
  dataset: 'mnist', scale: 'quick', out: '', stages: 'roar-maps,roar-kar', methods: 'vanilla-gradient,grad-cam',
  fractions: '0.5', epochs: 1, roarTrain: 300, roarTest: 100, quiet: true,
};
const cliArgs = ['evaluate', '--dataset', 'mnist', '--scale', 'quick', '--stages', 'roar-maps,roar-kar', '--methods', 'vanilla-gradient,grad-cam', '--fractions', '0.5', '--epochs', '1', '--roar-train', '300', '--roar-test', '100'];

interface Proc {
  child: ChildProcess;
  out: string[];
  exited: Promise<number | null>;
}

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const take = (b: Buffer): void => void out.push(...b.toString().split('\n').filter(Boolean));
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  return { child, out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every job result in a store, by job id. */
function records(store: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const dir = join(store, 'records');
  for (const sub of readdirSync(dir)) for (const f of readdirSync(join(dir, sub))) out.set(f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, sub, f), 'utf8')));
  return out;
}

const strip = (r: RoarKarResult): unknown => ({ fractions: r.fractions, seeds: r.seeds, baseline: r.baseline, rows: r.rows });

describe('whitebox run --queue on a real Redis with worker processes', () => {
  let redis: RedisServer;
  let local: RoarKarResult;
  const procs: Proc[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wb-cli-queue-'));
  const worker = (queueName: string, name: string, env: Record<string, string> = {}): Proc => {
    const p = start(['worker', '--queue', redis.url, '--queue-name', queueName, '--name', name, '--lock-duration', '4000', '--stalled-interval', '1000'], env);
    procs.push(p);
    return p;
  };
  const queued = (queueName: string, extra: Partial<EvaluationCliOptions> = {}) => evaluateCommand({ ...common, out: join(dir, queueName), queue: redis.url, queueName, store: join(dir, `${queueName}-store`), backoff: 200, ...extra });
  const jobStarts = (p: Proc, re: RegExp): string[] => p.out.filter((l) => re.test(l) && /\(attempt \d+\)$/.test(l));
  /** The job a worker's start or done line names. */
  const jobOf = (line: string): string => line.replace(/^\[[\d:]+\] [a-z]\d: (.*?) (\(attempt \d+\)|done in [\d.]+ s)$/, '$1');
  const doneLines = (ps: Proc[]): string[] => ps.flatMap((p) => p.out.filter((l) => / done in [\d.]+ s$/.test(l)));
  /** Ends a test's workers (they would otherwise idle on the shared cores until the file ends). */
  const stopWorkers = async (ps: Proc[]): Promise<void> => {
    for (const p of ps) if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
    await Promise.all(ps.map((p) => p.exited));
  };

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'pnpm build' first (the queue's workers are the built CLI)`);
    redis = await startRedisServer({ persistence: true });
    local = (await evaluateCommand({ ...common, out: join(dir, 'local'), cacheDir: join(dir, 'cache') })).results.roarKar!;
    expect(local.rows).toHaveLength(6); // (vanilla-gradient, grad-cam, random) × (roar, kar) at t = 0.5
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await redis?.stop();
  });

  it('three workers give results identical to the local run; a rerun skips every finished job', async () => {
    const ws = ['a1', 'a2', 'a3'].map((n) => worker('clean', n));
    const { results, files } = await queued('clean');
    expect(strip(results.roarKar!)).toEqual(strip(local));
    expect(results.meta.settings.queue).toMatch(/^redis:\/\/127\.0\.0\.1:\d+ \(clean\)$/);
    expect(readFileSync(files.markdown, 'utf8')).not.toContain('Failed jobs');
    const started = ws.map((w) => jobStarts(w, /./).length);
    // 2 methods × (train, test) map shards and 7 retrainings, each started at least once. More is allowed: a worker
    // whose event loop is held longer than the 4 s lock here (loading the model on a loaded machine) loses its job
    // to another, which runs it again, bit-identically; that is BullMQ's stalled-job recovery, not an error.
    expect(new Set(ws.flatMap((w) => jobStarts(w, /./).map(jobOf))).size).toBe(2 * 2 + 7);
    expect(started.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2 * 2 + 7);
    const again = await queued('clean');
    expect(strip(again.results.roarKar!)).toEqual(strip(local));
    expect(ws.map((w) => jobStarts(w, /./).length)).toEqual(started);
    await stopWorkers(ws);
  });

  it('a worker SIGKILLed and another SIGSTOPped during retrainings, a new worker started later: same results, retried jobs bit-identical', async () => {
    const ws = ['b1', 'b2', 'b3'].map((n) => worker('kill', n));
    const run = queued('kill');
    const training = / (roar|kar|baseline) /;
    await until('a retraining in progress', () => ws.some((w) => jobStarts(w, training).length > 0));
    const victim = ws.find((w) => jobStarts(w, training).length > 0)!;
    const killedJob = jobStarts(victim, training).at(-1)!.replace(/^.*b\d: (.*) \(attempt \d+\)$/, '$1');
    // At once: the worker logs a job's start right before it trains, and even this small retraining takes longer
    // than that (a worker thread, tfjs, an epoch), so the kill lands mid-retraining; checked below.
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(victim.out.some((l) => l.includes(`: ${killedJob} done in`))).toBe(false);
    await until('a second retraining on another worker', () => ws.some((w) => w !== victim && jobStarts(w, training).length > 0));
    const stalled = ws.find((w) => w !== victim && jobStarts(w, training).length > 0)!;
    stalled.child.kill('SIGSTOP');
    const late = worker('kill', 'b4');
    const { results } = await run;
    stalled.child.kill('SIGCONT');
    await stopWorkers([...ws, late]);
    expect(strip(results.roarKar!)).toEqual(strip(local));
    // The killed worker's job ran again elsewhere.
    expect([...ws, late].filter((w) => w !== victim).some((w) => w.out.some((l) => l.includes(`: ${killedJob} (attempt`)))).toBe(true);
    // Every job's result — retrained model hashes included — equals the clean run's, bit for bit.
    const clean = records(join(dir, 'clean-store'));
    const kill = records(join(dir, 'kill-store'));
    expect(kill.size).toBe(11);
    for (const [id, r] of kill) {
      expect(clean.get(id)).toBeDefined();
      const { seconds: _a, worker: _b, ...same } = r;
      const { seconds: _c, worker: _d, ...ref } = clean.get(id)!;
      expect(same).toEqual(ref);
    }
  });

  it('Redis restarted mid-run (append-only file on): same results, no job lost, no hang', async () => {
    const ws = ['c1', 'c2', 'c3'].map((n) => worker('restart', n));
    let finished = false;
    const run = queued('restart').finally(() => {
      finished = true;
    });
    await until('the retrainings to start', () => ws.some((w) => w.out.some((l) => /c\d: (roar|kar|baseline) .* done in/.test(l))));
    const doneBefore = new Set(doneLines(ws).map(jobOf)).size;
    const finishedBefore = finished;
    await redis.restart(1000);
    const { results } = await run;
    // The restart fell in the middle of the run: jobs finished after it, on the workers that lived through it.
    expect(finishedBefore).toBe(false);
    expect(doneBefore).toBeLessThan(11);
    expect(new Set(doneLines(ws).map(jobOf)).size).toBe(11);
    expect(ws.every((w) => w.child.exitCode === null)).toBe(true);
    await stopWorkers(ws);
    expect(strip(results.roarKar!)).toEqual(strip(local));
    // Every job's result is in the store: none was lost with the restart.
    expect(records(join(dir, 'restart-store')).size).toBe(11);
  });

  it('Ctrl-C on run leaves a queue the same command resumes; a job that throws every time is named in the output and the report, the rest complete', async () => {
    const failing = 'kar grad-cam t=0.5 seed 0';
    const ws = ['d1', 'd2', 'd3'].map((n) => worker('throw', n, { WHITEBOX_QUEUE_FAIL_JOBS: failing }));
    const args = [...cliArgs, '--queue', redis.url, '--queue-name', 'throw', '--store', join(dir, 'throw-store'), '--backoff', '100', '--out', join(dir, 'throw')];
    const first = start(args);
    await until('a retraining to finish', () => procs.some((w) => w.out.some((l) => /d\d: (roar|kar|baseline) .* done in/.test(l))));
    const finishedBefore = new Set(doneLines(ws).map(jobOf)).size;
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(finishedBefore).toBeLessThan(10); // 10 jobs can finish (the 11th always throws)
    expect(first.out.join('\n')).toMatch(/interrupted: the jobs stay in queue 'throw' .* run the same command again to resume/);
    // What had finished when the same command was run again, and where each worker's log stood then.
    const doneAtResume = new Set(doneLines(ws).map(jobOf));
    const logAtResume = ws.map((w) => w.out.length);
    const second = start(args);
    const code = await second.exited;
    const text = second.out.join('\n');
    expect(code).toBe(2);
    expect(text).toMatch(/finished before, skipped/);
    expect(text).toContain(`1 job(s) failed after their last attempt`);
    expect(text).toContain(`${failing}: injected failure (WHITEBOX_QUEUE_FAIL_JOBS) in '${failing}' (3 attempts)`);
    const report = JSON.parse(readFileSync(join(dir, 'throw', 'results.json'), 'utf8'));
    expect(report.failures).toEqual([{ name: failing, error: `injected failure (WHITEBOX_QUEUE_FAIL_JOBS) in '${failing}'`, attempts: 3 }]);
    expect(readFileSync(join(dir, 'throw', 'summary.md'), 'utf8')).toContain(`| ${failing} | 3 |`);
    expect(readFileSync(join(dir, 'throw', 'index.html'), 'utf8')).toContain('<section id="failures">');
    const rest = (r: RoarKarResult) => r.rows.filter((x) => !(x.method === 'grad-cam' && x.mode === 'kar'));
    expect(rest(report.roarKar)).toEqual(rest(local));
    expect(report.roarKar.baseline).toEqual(local.baseline);
    // Resuming ran no finished job again: no job done before the second run started was started after it.
    expect(doneAtResume.size).toBeGreaterThan(0);
    const startedAfter = ws.flatMap((w, i) => w.out.slice(logAtResume[i]).filter((l) => /\(attempt \d+\)$/.test(l)).map(jobOf));
    expect(startedAfter.filter((j) => doneAtResume.has(j))).toEqual([]);
    // Every job but the failing one (which throws before a worker logs its start) was started.
    expect(new Set(ws.flatMap((w) => jobStarts(w, /./).map(jobOf)))).toEqual(new Set([...doneLines(ws).map(jobOf)]));
    expect(new Set(doneLines(ws).map(jobOf)).size).toBe(10);
    await stopWorkers(ws);
  });

  it('names what is wrong: unreachable Redis (within seconds), a worker of another WhiteBox version', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(queued('none', { queue: `redis://127.0.0.1:${port}` })).rejects.toThrow(new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED`));
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(queued('none', { queue: 'localhost:6379' })).rejects.toThrow(/--queue expects a redis:\/\/ or rediss:\/\/ URL, got 'localhost:6379'/);
    // A run of another WhiteBox version has used the queue.
    const future = await QueueSession.open({ url: redis.url, queueName: 'future', store: new DirectoryStore(join(dir, 'future-store')), version: '9.9.9', model: { bytes: new Uint8Array([1]), label: 'x.onnx' } });
    await future.close();
    const w = worker('future', 'e1');
    expect(await w.exited).toBe(1);
    const esc = (t: string): string => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    expect(w.out.join('\n')).toMatch(new RegExp(esc(`error [VERSION_MISMATCH]: this worker is WhiteBox ${VERSION} (job protocol 1) but the jobs of queue 'future' at ${redis.url} were queued by WhiteBox 9.9.9`)));
  });
});
