import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Model } from '@whitebox/core';
import { DirectoryStore, QueueSession, startRedisServer, startWorker, type RedisServer, type RunningWorker } from '@whitebox/queue';
import type { BenchTable, Suite } from '../harness.js';

const BIN = fileURLToPath(new URL('../../../cli/dist/bin.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL('../../../cli/package.json', import.meta.url)), 'utf8')) as { version: string }).version;

/** Empty jobs through the whole path: enqueue, a BullMQ worker, a store record written and read back, completion seen by the run. */
async function noopThroughput(redis: RedisServer, count: number, workers: number, concurrency: number): Promise<number> {
  const dir = mkdtempSync(join(os.tmpdir(), 'wb-bench-queue-'));
  const queueName = `noop-${workers}-${concurrency}-${Date.now()}`;
  const running: RunningWorker[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      running.push(await startWorker({
        url: redis.url, queueName, version: VERSION, concurrency, store: new DirectoryStore(join(dir, 'store')),
        loadModel: async () => ({}) as Model, explainer: () => { throw new Error('no maps here'); },
      }));
    }
    const session = await QueueSession.open({ url: redis.url, queueName, store: new DirectoryStore(join(dir, 'store')), version: VERSION, model: { bytes: new Uint8Array([1]), label: 'none' } });
    const t0 = performance.now();
    const done = await session.runNoops(count);
    const seconds = (performance.now() - t0) / 1000;
    await session.close();
    if (done !== count) throw new Error(`${count - done} no-op jobs failed`);
    return count / seconds;
  } finally {
    await Promise.all(running.map((w) => w.close(true)));
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`whitebox ${args[0]} exited with ${code}: ${err}`))));
  });
}

/** One ROAR/KAR evaluation, locally with `threads` retraining threads or through the queue with `workers` worker processes. */
async function roarKarWall(redis: RedisServer, evalArgs: string[], mode: { threads: number } | { workers: number }): Promise<number> {
  const dir = mkdtempSync(join(os.tmpdir(), 'wb-bench-queue-run-'));
  const procs: ChildProcess[] = [];
  try {
    const out = ['--out', join(dir, 'out'), '--cache-dir', join(dir, 'cache'), '--quiet'];
    if ('threads' in mode) return await run([...evalArgs, ...out, '--workers', String(mode.threads)]);
    const queueName = `run-${mode.workers}-${Date.now()}`;
    for (let i = 0; i < mode.workers; i++) procs.push(spawn(process.execPath, [BIN, 'worker', '--queue', redis.url, '--queue-name', queueName, '--quiet'], { stdio: 'ignore' }));
    // Wall time from the run's start: the workers start beside it, as they would already be running on a cluster.
    return await run([...evalArgs, ...out, '--queue', redis.url, '--queue-name', queueName, '--store', join(dir, 'store')]);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

export const suite: Suite = {
  name: 'queue',
  async run({ quick }) {
    const load = os.loadavg()[0]!.toFixed(1);
    const cores = os.cpus().length;
    const tables: BenchTable[] = [];
    const n = quick ? 300 : 2000;
    const throughput: Array<Array<string | number>> = [];
    for (const persistence of [false, true]) {
      const redis = await startRedisServer({ persistence });
      try {
        for (const [workers, concurrency] of [[1, 1], [1, 8], [3, 8]] as const) {
          process.stderr.write(`bench queue: ${n} no-op jobs, ${workers} worker(s) × concurrency ${concurrency}, persistence ${persistence ? 'on' : 'off'}...\n`);
          const rate = await noopThroughput(redis, n, workers, concurrency);
          throughput.push([persistence ? 'AOF, fsync always' : 'none', workers, concurrency, rate.toFixed(0), (1000 / rate).toFixed(2)]);
        }
      } finally {
        await redis.stop();
      }
    }
    tables.push({
      title: 'Queue overhead: empty jobs per second',
      notes: `${n} no-op jobs per row through @whitebox/queue on a private redis-server (127.0.0.1): addBulk, a BullMQ worker (in the bench process) that writes the job's result record to a DirectoryStore in /tmp, completion seen by the run (queue events + polling) and the record read back. ms/job = 1000 / rate: what every map shard or retraining pays on top of its work (a retraining takes seconds to hours). 1-min load average when the suite started: ${load}, ${cores} cores.`,
      columns: ['Redis persistence', 'workers', 'concurrency each', 'jobs/s', 'ms per job'],
      rows: throughput,
    });

    const evalArgs = ['evaluate', '--dataset', 'mnist', '--scale', 'quick', '--stages', 'roar-maps,roar-kar', '--methods', quick ? 'grad-cam' : 'vanilla-gradient,grad-cam', ...(quick ? ['--fractions', '0.5', '--roar-train', '500', '--roar-test', '200'] : [])];
    const retrainings = quick ? 1 + 2 * 2 * 1 : 1 + 3 * 2 * 5;
    const redis = await startRedisServer({ persistence: true });
    const rows: Array<Array<string | number>> = [];
    try {
      for (const mode of [{ threads: 1 }, { threads: 2 }, { workers: 1 }, { workers: 2 }, { workers: 3 }]) {
        const label = 'threads' in mode ? `local, ${mode.threads} retraining thread(s), no queue` : `queue, ${mode.workers} worker process(es) on this machine`;
        process.stderr.write(`bench queue: ${label}...\n`);
        rows.push([label, (await roarKarWall(redis, evalArgs, mode)).toFixed(1)]);
      }
    } finally {
      await redis.stop();
    }
    tables.push({
      title: 'ROAR/KAR on MNIST (quick scale): wall seconds with and without the queue',
      notes: `\`node packages/cli/dist/bin.js ${evalArgs.join(' ')}\` — ${retrainings} retrainings plus the maps of ${quick ? 1 : 2} method(s) — run locally with retraining worker threads, then with \`--queue\` and W \`whitebox worker\` processes (concurrency 1 each) started beside it on the same ${cores}-core machine (AOF persistence on). Wall time of the run process, including worker start-up, model and data loading. With more workers than cores the queue cannot be faster than the cores allow; on a cluster each worker brings its own. 1-min load average when the suite started: ${load}.`,
      columns: ['configuration', 'wall s'],
      rows,
    });
    return { suite: 'queue', tables };
  },
};
