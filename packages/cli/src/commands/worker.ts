import type { Command } from 'commander';
import '@whitebox/backend-node';
import { DEVICES, LIMITS, type BackendName, type Device } from '@whitebox/core';
import { loadModel } from '@whitebox/onnx';
import { enumOption, intOption, nonEmptyOption } from '../options.js';
import { VERSION } from '../version.js';
import { methodFromSpec, type MethodSpec } from './run.js';

export interface WorkerCliOptions {
  queue: string;
  queueName?: string;
  concurrency: number;
  store?: string;
  name?: string;
  lockDuration?: number;
  stalledInterval?: number;
  backend?: BackendName;
  device?: Device;
  threads?: number;
  batchSize?: number;
  quiet?: boolean;
}

/**
 * Takes jobs from a `whitebox run --queue` until stopped: map shards and ROAR/KAR retrainings.
 * Resolves when the worker stops (Ctrl-C / SIGTERM: after finishing the jobs in hand; twice: at once).
 */
export async function workerCommand(o: WorkerCliOptions): Promise<void> {
  const q = await import('@whitebox/queue');
  const stamp = (): string => new Date().toISOString().slice(11, 19);
  const log = (m: string): void => {
    if (!o.quiet) process.stderr.write(`[${stamp()}] ${m}\n`);
  };
  const loadOptions = { backend: o.backend ?? 'node', ...(o.device ? { device: o.device } : {}), ...(o.threads ? { threads: o.threads } : {}), ...(o.batchSize ? { batchSize: o.batchSize } : {}) };
  // Fault injection for the queue's tests: jobs named here (';'-separated) throw on every attempt.
  const failing = new Set((process.env.WHITEBOX_QUEUE_FAIL_JOBS ?? '').split(';').map((s) => s.trim()).filter(Boolean));
  const running = await q.startWorker({
    url: o.queue, ...(o.queueName ? { queueName: o.queueName } : {}), concurrency: o.concurrency, version: VERSION,
    ...(o.store ? { store: new q.DirectoryStore(o.store) } : {}), ...(o.name ? { name: o.name } : {}),
    ...(o.lockDuration ? { lockDurationMs: o.lockDuration } : {}), ...(o.stalledInterval ? { stalledIntervalMs: o.stalledInterval } : {}),
    loadModel: (bytes) => loadModel(bytes, loadOptions),
    explainer: (m, model) => methodFromSpec(m.spec as MethodSpec).explainer(model),
    ...(failing.size ? { failJob: (name: string) => failing.has(name) } : {}),
    log,
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      log('stopping now; the jobs in hand go back to the queue when their locks expire');
      process.exit(130);
    }
    stopping = true;
    log('stopping after the jobs in hand (Ctrl-C again to stop at once)');
    void running.close();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await running.stopped;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Registers `whitebox worker`: runs a queue's jobs on this machine. */
export function register(program: Command): void {
  program.command('worker')
    .description("take jobs (map shards, ROAR/KAR retrainings) from a 'whitebox run --queue' on this machine until stopped")
    .requiredOption('--queue <url>', 'redis://host:port of the queue', nonEmptyOption('--queue'))
    .option('--queue-name <name>', "the queue's name (default whitebox)", nonEmptyOption('--queue-name'))
    .option('--concurrency <n>', 'jobs at once (each retraining trains on one core)', intOption('--concurrency', { max: 256 }), 1)
    .option('--store <dir>', 'the content store (default: the directory the run recorded in the queue; it must be readable here)', nonEmptyOption('--store'))
    .option('--name <name>', 'how the queue lists this worker (default host-pid)', nonEmptyOption('--name'))
    .option('--lock-duration <ms>', 'a job whose lock is not renewed for this long is handed to another worker (default 30000)', intOption('--lock-duration', { min: 100, max: 3_600_000 }))
    .option('--stalled-interval <ms>', 'how often to look for stalled jobs (default 30000)', intOption('--stalled-interval', { min: 100, max: 3_600_000 }))
    .option('--backend <name>', 'node | web', enumOption('--backend', ['node', 'web'] as const), 'node')
    .option('--device <device>', 'cpu | cuda (node), wasm (web)', enumOption('--device', DEVICES))
    .option('--threads <n>', 'intra-op threads for map jobs', intOption('--threads', { max: LIMITS.threads, maxWhy: 'the documented thread limit' }))
    .option('--batch-size <n>', 'largest batch per runtime call', intOption('--batch-size', { max: LIMITS.batchSize }))
    .option('--quiet', 'no log lines')
    .action(async (opts: WorkerCliOptions) => {
      await workerCommand(opts);
    });
}
