import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { WhiteBoxError, type Model, type ProgressCallback } from '@whitebox/core';
import type { Dataset } from '@whitebox/datasets';
import { RELEVANCE_CHUNK, type JobFailure, type RelevanceProvider, type RetrainOutcome, type RoarKarExecutor } from '@whitebox/metrics';
import { bytesToFloat32, encodeDataset, float32Bytes } from './codec.js';
import { DEFAULT_QUEUE_NAME, PROTOCOL, jobId, jobName, metaKey, type MapShardJob, type MapShardResult, type NoopResult, type QueueMeta, type RetrainJob, type RetrainResult, type RetrainTrainingOptions, type WhiteBoxJob } from './protocol.js';
import { parseRedisUrl, probeRedis, redactUrl } from './redis.js';
import type { ContentStore } from './store.js';

/** Options of a queue session: Redis URL, version, model, store and retry policy. */
export interface QueueSessionOptions {
  /** redis://host:port */
  url: string;
  queueName?: string;
  store: ContentStore;
  /** This WhiteBox's version: recorded in every job; workers of another version refuse them. */
  version: string;
  /** The model under evaluation (its bytes go to the store; its hash keys every job). */
  model: { bytes: Uint8Array; label: string };
  /** Attempts per job before it is reported as failed (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubling per attempt (default 2000). */
  backoffMs?: number;
  /** Images per map shard (default 2048; rounded up to a multiple of the 256-image chunk). */
  shardSize?: number;
  /** Remove every job of the queue first (another model's leftovers). */
  clear?: boolean;
  command?: string;
  /** Receives progress messages (default none). */
  log?: (message: string) => void;
  /** How often pending jobs are polled besides queue events (ms, default 1000). */
  pollMs?: number;
}

/** A job's outcome: its result (and whether a stored result was reused), or why it failed. */
export type JobOutcome<R> = { result: R; skipped: boolean } | { failure: JobFailure };

/** One finished job, as the session saw it (tests and the report read these). */
export interface JobRecord {
  id: string;
  name: string;
  kind: WhiteBoxJob['kind'];
  result?: MapShardResult | RetrainResult | NoopResult;
  failure?: JobFailure;
  /** Finished before this run (found in the store): not run again. */
  skipped: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The `run` side of the queue: puts payloads in the store, enqueues jobs on BullMQ, waits for workers to
 * finish them, and reads their results back. `relevanceProvider()` and `roarKarExecutor()` plug into
 * @whitebox/metrics' pipeline in place of computing maps and retraining here.
 */
export class QueueSession {
  readonly queueName: string;
  readonly modelHash: string;
  readonly jobs: JobRecord[] = [];
  private readonly datasetHashes = new WeakMap<Dataset, Promise<string>>();
  /** Shard blobs of maps this session assembled: a retraining job refers to them instead of storing the maps again. */
  private readonly relevanceBlobs = new WeakMap<Float32Array, string[]>();
  private readonly dirty = new Set<string>();
  private wake: (() => void) | undefined;
  private workersAlive = 0;
  private workersCheckedAt = 0;

  private constructor(
    private readonly o: QueueSessionOptions,
    readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly redis: Redis,
    modelHash: string,
  ) {
    this.queueName = queue.name;
    this.modelHash = modelHash;
    const mark = ({ jobId: id }: { jobId: string }): void => {
      this.dirty.add(id);
      this.wake?.();
    };
    events.on('completed', mark);
    events.on('failed', mark);
    events.on('error', () => {});
  }

  /** Connects (a clear error within seconds if Redis is not there), checks the queue is not another run's, and records this run in it. */
  static async open(o: QueueSessionOptions): Promise<QueueSession> {
    const name = o.queueName ?? DEFAULT_QUEUE_NAME;
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw new WhiteBoxError('INVALID_ARGUMENT', `--queue-name '${name}' may only use letters, digits, '.', '_' and '-'`);
    await probeRedis(o.url);
    const connection = parseRedisUrl(o.url);
    const redis = new Redis({ ...connection, maxRetriesPerRequest: 20 });
    redis.on('error', () => {});
    const queue = new Queue(name, { connection });
    queue.on('error', () => {});
    try {
      if (o.clear) {
        await queue.obliterate({ force: true });
        await redis.del(metaKey(name));
        o.log?.(`queue '${name}' cleared`);
      }
      const modelHash = await o.store.put(o.model.bytes);
      const metaRaw = await redis.get(metaKey(name));
      const meta = metaRaw ? (JSON.parse(metaRaw) as QueueMeta) : undefined;
      const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
      const pending = Object.values(counts).reduce((a, b) => a + b, 0);
      const where = `queue '${name}' at ${redactUrl(o.url)}`;
      if (meta && pending > 0) {
        if (meta.model !== modelHash) {
          throw new WhiteBoxError('CONFLICT', `${where} holds ${pending} unfinished job(s) for another model: ${meta.modelLabel} (sha256 ${meta.model.slice(0, 16)}…), not this run's ${o.model.label} (sha256 ${modelHash.slice(0, 16)}…). Let its workers finish, pick another --queue-name, or pass --queue-clear to drop them.`, { queue: name, model: meta.model });
        }
        if (meta.whitebox !== o.version || meta.protocol !== PROTOCOL) {
          throw new WhiteBoxError('VERSION_MISMATCH', `${where} holds ${pending} unfinished job(s) from WhiteBox ${meta.whitebox} (job protocol ${meta.protocol}); this is WhiteBox ${o.version} (protocol ${PROTOCOL}). Let workers of ${meta.whitebox} finish them, pick another --queue-name, or pass --queue-clear.`, { queue: name });
        }
      }
      const next: QueueMeta = { protocol: PROTOCOL, whitebox: o.version, model: modelHash, modelLabel: o.model.label, store: o.store.location, ...(o.command ? { command: o.command } : {}), updatedAt: new Date().toISOString() };
      await redis.set(metaKey(name), JSON.stringify(next));
      const events = new QueueEvents(name, { connection });
      await events.waitUntilReady();
      return new QueueSession(o, queue, events, redis, modelHash);
    } catch (err) {
      await queue.close().catch(() => {});
      redis.disconnect();
      throw err;
    }
  }

  /** Closes the session's queue connections. */
  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    this.redis.disconnect();
  }

  private jobOptions(id: string): JobsOptions {
    return {
      jobId: id,
      attempts: this.o.attempts ?? 3,
      backoff: { type: 'exponential', delay: this.o.backoffMs ?? 2000 },
      // Results live in the store; Redis keeps finished jobs a day (for dashboards) and failed ones until a rerun retries them.
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: false,
    };
  }

  /** Live workers (BullMQ's CLIENT LIST of the queue's worker connections), refreshed every 2 s. */
  async workers(): Promise<number> {
    if (Date.now() - this.workersCheckedAt > 2000) {
      this.workersCheckedAt = Date.now();
      this.workersAlive = await this.queue.getWorkersCount();
    }
    return this.workersAlive;
  }

  /**
   * Runs `jobs` on the queue and waits for all: each finishes (its result, from the store) or fails its
   * last attempt (a failure naming it). Jobs finished by an earlier run are skipped. Never waits on a
   * dead worker: BullMQ's stalled-job check hands its job to another worker.
   */
  async runJobs<R>(jobs: readonly WhiteBoxJob[], onProgress?: ProgressCallback, label = 'jobs'): Promise<JobOutcome<R>[]> {
    const ids = jobs.map(jobId);
    const names = jobs.map(jobName);
    const out: Array<JobOutcome<R> | undefined> = new Array(jobs.length);
    const byId = new Map<string, number[]>();
    ids.forEach((id, i) => byId.set(id, [...(byId.get(id) ?? []), i]));
    const finish = (id: string, o: JobOutcome<R>): void => {
      for (const i of byId.get(id) ?? []) {
        if (out[i]) continue;
        out[i] = o;
        this.jobs.push({ id, name: names[i]!, kind: jobs[i]!.kind, skipped: 'result' in o && o.skipped, ...('result' in o ? { result: o.result as MapShardResult | RetrainResult | NoopResult } : { failure: o.failure }) });
      }
    };
    // Finished earlier (this or another run): the store has the result.
    for (const id of byId.keys()) {
      const rec = await this.o.store.getRecord<R>(id);
      if (rec !== undefined) finish(id, { result: rec, skipped: true });
    }
    const todo = [...byId.keys()].filter((id) => !out[byId.get(id)![0]!]);
    const skipped = byId.size - todo.length;
    if (skipped > 0) this.o.log?.(`${label}: ${skipped} of ${byId.size} job(s) finished before, skipped`);
    const first = (id: string): number => byId.get(id)![0]!;
    const enqueue = async (list: string[]): Promise<void> => {
      for (let s = 0; s < list.length; s += 500) {
        const part = list.slice(s, s + 500);
        await this.queue.addBulk(part.map((id) => ({ name: names[first(id)]!, data: jobs[first(id)]!, opts: this.jobOptions(id) })));
      }
    };
    await enqueue(todo);
    // A job left failed by an earlier run gets its attempts back.
    for (const id of todo) {
      if ((await this.queue.getJobState(id)) === 'failed') {
        const job = await this.queue.getJob(id);
        await job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        this.o.log?.(`${names[first(id)]}: failed in an earlier run, queued again`);
      }
    }
    const pending = new Set(todo);
    const total = byId.size;
    let failed = 0;
    let redisError: string | undefined;
    const report = async (): Promise<void> => {
      const done = total - pending.size;
      const w = redisError ? '?' : String(await this.workers().catch(() => '?'));
      const stage = redisError
        ? `${label}: Redis unreachable (${redisError}), retrying`
        : `${label} · ${w} worker${w === '1' ? '' : 's'} alive${failed ? ` · ${failed} failed` : ''}${w === '0' && pending.size ? ` · start 'whitebox worker --queue ${redactUrl(this.o.url)}'` : ''}`;
      onProgress?.({ done, total, stage });
    };
    const check = async (id: string): Promise<void> => {
      const state = await this.queue.getJobState(id);
      if (state === 'completed' || state === 'unknown') {
        const rec = await this.o.store.getRecord<R>(id);
        if (rec !== undefined) {
          pending.delete(id);
          finish(id, { result: rec, skipped: false });
          return;
        }
        if (state === 'completed') {
          const job = await this.queue.getJob(id);
          if (job?.returnvalue) {
            pending.delete(id);
            finish(id, { result: job.returnvalue as R, skipped: false });
            return;
          }
        }
        // Lost (Redis restarted without its data, or the job was removed): queue it again.
        this.o.log?.(`${names[first(id)]}: missing from the queue, queued again`);
        await enqueue([id]);
      } else if (state === 'failed') {
        const job = await this.queue.getJob(id);
        pending.delete(id);
        failed++;
        const failure: JobFailure = { name: names[first(id)]!, error: job?.failedReason ?? 'failed', attempts: job?.attemptsMade ?? 0 };
        this.o.log?.(`${failure.name}: failed after ${failure.attempts} attempt(s): ${failure.error}`);
        finish(id, { failure });
      }
    };
    const pollMs = this.o.pollMs ?? 1000;
    let lastFull = 0;
    await report();
    while (pending.size > 0) {
      try {
        const full = Date.now() - lastFull >= pollMs;
        const ids = full ? [...pending] : [...this.dirty].filter((id) => pending.has(id));
        this.dirty.clear();
        if (full) lastFull = Date.now();
        for (let s = 0; s < ids.length; s += 200) await Promise.all(ids.slice(s, s + 200).map(check));
        if (redisError) this.o.log?.(`Redis is back: ${redactUrl(this.o.url)}`);
        redisError = undefined;
      } catch (err) {
        if (!redisError) this.o.log?.(`Redis at ${redactUrl(this.o.url)}: ${(err as Error).message}; waiting for it`);
        redisError = (err as Error).message;
        await sleep(500);
      }
      await report();
      if (pending.size === 0) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(pollMs, 200));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return out as JobOutcome<R>[];
  }

  private datasetBlob(ds: Dataset): Promise<string> {
    let p = this.datasetHashes.get(ds);
    if (!p) {
      p = this.o.store.put(encodeDataset(ds));
      this.datasetHashes.set(ds, p);
    }
    return p;
  }

  private async relevanceRefs(a: Float32Array): Promise<string[]> {
    return this.relevanceBlobs.get(a) ?? [await this.o.store.put(float32Bytes(a))];
  }

  /** Map shards on the queue in place of computing ROAR/KAR's maps here. */
  relevanceProvider(): RelevanceProvider {
    const shard = Math.ceil((this.o.shardSize ?? 2048) / RELEVANCE_CHUNK) * RELEVANCE_CHUNK;
    return async (model: Model, requests, onProgress) => {
      if (model.modelBytes.byteLength > 0 && (await this.o.store.put(model.modelBytes)) !== this.modelHash) {
        throw new WhiteBoxError('INVALID_ARGUMENT', 'queue: the pipeline\'s model is not the model this queue session was opened with');
      }
      const jobs: MapShardJob[] = [];
      const perRequest: Array<{ from: number; to: number }> = [];
      for (const r of requests) {
        if (r.method.spec === undefined) throw new WhiteBoxError('INVALID_ARGUMENT', `method '${r.method.id}' has no spec, so a worker cannot rebuild it: it cannot run on a queue`, { method: r.method.id });
        const data = await this.datasetBlob(r.ds);
        const from = jobs.length;
        for (let s = 0; s < r.ds.count; s += shard) {
          jobs.push({ kind: 'map', protocol: PROTOCOL, whitebox: this.o.version, model: this.modelHash, method: { id: r.method.id, spec: r.method.spec, options: r.method.options ?? null }, data, split: r.split, start: s, end: Math.min(r.ds.count, s + shard), chunk: RELEVANCE_CHUNK });
        }
        perRequest.push({ from, to: jobs.length });
      }
      const outcomes = await this.runJobs<MapShardResult>(jobs, onProgress, 'map shards');
      const results: Awaited<ReturnType<RelevanceProvider>> = [];
      for (let k = 0; k < requests.length; k++) {
        const r = requests[k]!;
        const { from, to } = perRequest[k]!;
        const mine = outcomes.slice(from, to);
        const failures = mine.flatMap((o) => ('failure' in o ? [o.failure] : []));
        if (failures.length) {
          results.push({ failures });
          continue;
        }
        const hw = r.ds.height * r.ds.width;
        const data = new Float32Array(r.ds.count * hw);
        const blobs: string[] = [];
        for (let j = 0; j < mine.length; j++) {
          const res = (mine[j] as { result: MapShardResult }).result;
          const part = bytesToFloat32(await this.o.store.get(res.blob), `map shard ${res.blob}`);
          const start = jobs[from + j]!.start;
          if (part.length !== (jobs[from + j]!.end - start) * hw) throw new WhiteBoxError('INVALID_DATA', `${jobName(jobs[from + j]!)}: shard ${res.blob} has ${part.length} values, expected ${(jobs[from + j]!.end - start) * hw}`);
          data.set(part, start * hw);
          blobs.push(res.blob);
        }
        this.relevanceBlobs.set(data, blobs);
        results.push({ data, hit: mine.every((o) => 'result' in o && o.skipped) });
      }
      return results;
    };
  }

  /** `count` no-op jobs through the queue and the store (the queue's own cost per job, for benchmarks). */
  async runNoops(count: number, onProgress?: ProgressCallback): Promise<number> {
    const salt = `${Date.now()}-${Math.random()}`;
    const jobs = Array.from({ length: count }, (_, index) => ({ kind: 'noop' as const, protocol: PROTOCOL, whitebox: this.o.version, model: this.modelHash, index, salt }));
    const out = await this.runJobs<NoopResult>(jobs, onProgress, 'no-op jobs');
    return out.filter((o) => 'result' in o).length;
  }

  /** ROAR/KAR retrainings on the queue, trained with `training`, in place of retraining here. */
  roarKarExecutor(training: RetrainTrainingOptions): RoarKarExecutor {
    return {
      run: async ({ train, test, relevance, tasks, onProgress }) => {
        const trainHash = await this.datasetBlob(train);
        const testHash = await this.datasetBlob(test);
        const refs = new Map<string, { train: string[]; test: string[] }>();
        for (const set of relevance) refs.set(set.method, { train: await this.relevanceRefs(set.train), test: await this.relevanceRefs(set.test) });
        const jobs: RetrainJob[] = tasks.map((task) => {
          const rel = refs.get(task.method);
          if (task.mode !== 'baseline' && !rel) throw new WhiteBoxError('INVALID_ARGUMENT', `queue: task '${task.name}' has no maps of method '${task.method}'`);
          return { kind: 'retrain', protocol: PROTOCOL, whitebox: this.o.version, model: this.modelHash, task, train: trainHash, test: testHash, ...(task.mode === 'baseline' ? {} : { relevance: rel }), training };
        });
        const outcomes = await this.runJobs<RetrainResult>(jobs, onProgress, 'retrainings');
        return outcomes.map((o): RetrainOutcome => ('failure' in o ? { failure: o.failure } : { accuracy: o.result.accuracy }));
      },
    };
  }
}
