import { hostname } from 'node:os';
import { DelayedError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { WhiteBoxError, type Model } from '@whitebox/core';
import type { Dataset } from '@whitebox/datasets';
import { checkAccuracy, rankRelevanceSet, relevanceRange, simpleCnnRetrainer, taskDatasets, type Explainer, type RelevanceRanking } from '@whitebox/metrics';
import { bytesToFloat32, decodeDataset, float32Bytes } from './codec.js';
import { DEFAULT_QUEUE_NAME, PROTOCOL, jobName, metaKey, type MapShardJob, type MapShardResult, type NoopResult, type QueueMeta, type RetrainJob, type RetrainResult, type WhiteBoxJob } from './protocol.js';
import { parseRedisUrl, probeRedis, redactUrl } from './redis.js';
import { DirectoryStore, sha256, type ContentStore } from './store.js';

/** Options of `startWorker`: Redis URL, queue, concurrency, store, version and model loading. */
export interface WorkerOptions {
  url: string;
  queueName?: string;
  /** Jobs at once (default 1). Retrainings each train in their own thread, so one per core. */
  concurrency?: number;
  /** The shared store; default: the one the queue's run recorded (a directory, opened here). */
  store?: ContentStore;
  /** This WhiteBox's version: a queue or job of another version is refused. */
  version: string;
  /** How the queue lists this worker (default host-pid). */
  name?: string;
  /** Loads an ONNX model (the CLI's backend and threads). */
  loadModel(bytes: Uint8Array): Promise<Model>;
  /** Rebuilds a map job's method from its spec. */
  explainer(method: MapShardJob['method'], model: Model): Explainer;
  /** A job not renewed within this long is stalled and handed to another worker (ms, BullMQ default 30000). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (ms, default 30000). */
  stalledIntervalMs?: number;
  /** Stalls a job may survive before it fails (default 2). */
  maxStalledCount?: number;
  /** Fault injection for tests: jobs whose name this returns true for throw on every attempt. */
  failJob?: (name: string) => boolean;
  /** Receives progress messages (default none). */
  log?: (message: string) => void;
}

/** A started worker: its name, the BullMQ worker and how to stop it. */
export interface RunningWorker {
  readonly name: string;
  readonly worker: Worker;
  /** Resolves when the worker has stopped; rejects when it stopped because it refused the queue's jobs. */
  readonly stopped: Promise<void>;
  /** Stops taking jobs and waits for the ones in hand (`force`: drop them; BullMQ hands them to another worker). */
  close(force?: boolean): Promise<void>;
}

/** A few decoded payloads kept per worker: consecutive jobs of a run use the same model, datasets and maps. */
class Memo<T> {
  private readonly entries = new Map<string, Promise<T>>();
  constructor(private readonly size: number) {}
  get(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.entries.get(key);
    if (p) {
      this.entries.delete(key);
    } else {
      p = make();
      p.catch(() => this.entries.delete(key));
    }
    this.entries.set(key, p);
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
    return p;
  }
}

/**
 * Takes WhiteBox jobs (map shards, retrainings) from a BullMQ queue and runs them until closed. Retries,
 * stalled-job recovery, backoff and concurrency are BullMQ's; a job's result goes to the store under the
 * job's id before the job completes, so a retried or duplicate run of it writes the same bytes.
 */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const queueName = o.queueName ?? DEFAULT_QUEUE_NAME;
  const name = o.name ?? `${hostname()}-${process.pid}`;
  const log = o.log ?? (() => {});
  await probeRedis(o.url);
  const connection = parseRedisUrl(o.url);
  const redis = new Redis({ ...connection, maxRetriesPerRequest: null });
  redis.on('error', () => {});
  const readMeta = async (): Promise<QueueMeta | undefined> => {
    const raw = await redis.get(metaKey(queueName));
    return raw ? (JSON.parse(raw) as QueueMeta) : undefined;
  };
  const where = `queue '${queueName}' at ${redactUrl(o.url)}`;
  const versionError = (theirs: string, protocol: number, what: string): WhiteBoxError =>
    new WhiteBoxError('VERSION_MISMATCH', `this worker is WhiteBox ${o.version} (job protocol ${PROTOCOL}) but ${what} of ${where} ${what.startsWith('job') ? 'was' : 'were'} queued by WhiteBox ${theirs} (protocol ${protocol}); run a worker of WhiteBox ${theirs}`, { queue: queueName });
  const meta = await readMeta();
  if (meta && (meta.whitebox !== o.version || meta.protocol !== PROTOCOL)) {
    redis.disconnect();
    throw versionError(meta.whitebox, meta.protocol, 'the jobs');
  }
  const stores = new Map<string, ContentStore>();
  const storeFor = async (): Promise<ContentStore> => {
    if (o.store) return o.store;
    const m = await readMeta();
    if (!m) throw new WhiteBoxError('NOT_FOUND', `${where} names no store (no run has used it yet) and this worker was given none (--store)`);
    let s = stores.get(m.store);
    if (!s) {
      s = new DirectoryStore(m.store);
      stores.set(m.store, s);
    }
    return s;
  };
  const models = new Memo<Model>(2);
  const datasets = new Memo<Dataset>(4);
  const rankings = new Memo<RelevanceRanking>(2);

  const dataset = (store: ContentStore, hash: string): Promise<Dataset> => datasets.get(hash, async () => decodeDataset(await store.get(hash), `dataset blob ${hash}`));
  const concatMaps = async (store: ContentStore, blobs: string[], length: number, what: string): Promise<Float32Array> => {
    const out = new Float32Array(length);
    let at = 0;
    for (const b of blobs) {
      const part = bytesToFloat32(await store.get(b), `map blob ${b}`);
      if (at + part.length > length) break;
      out.set(part, at);
      at += part.length;
    }
    if (at !== length) throw new WhiteBoxError('INVALID_DATA', `${what}: its map blobs hold ${at} values, expected ${length}`);
    return out;
  };

  const mapShard = async (store: ContentStore, d: MapShardJob, job: Job): Promise<MapShardResult> => {
    const t0 = performance.now();
    const model = await models.get(d.model, async () => o.loadModel(await store.get(d.model)));
    const ds = await dataset(store, d.data);
    const explainer = o.explainer(d.method, model);
    let last = 0;
    const rel = await relevanceRange(explainer, ds, d.start, d.end, (p) => {
      if (Date.now() - last > 1000) {
        last = Date.now();
        void job.updateProgress(Math.round((100 * p.done) / Math.max(1, p.total))).catch(() => {});
      }
    }, d.chunk, `${d.method.id} ${d.split}`);
    const blob = await store.put(float32Bytes(rel));
    return { blob, count: d.end - d.start, seconds: (performance.now() - t0) / 1000, worker: name };
  };

  const retrain = async (store: ContentStore, d: RetrainJob): Promise<RetrainResult> => {
    const t0 = performance.now();
    const train = await dataset(store, d.train);
    const test = await dataset(store, d.test);
    let ranking: RelevanceRanking | undefined;
    if (d.relevance) {
      const rel = d.relevance;
      ranking = await rankings.get(`${d.train}:${d.test}:${rel.train.join(',')}:${rel.test.join(',')}`, async () => {
        const hw = train.height * train.width;
        const set = {
          method: d.task.method,
          train: await concatMaps(store, rel.train, train.count * hw, `${d.task.name} train maps`),
          test: await concatMaps(store, rel.test, test.count * hw, `${d.task.name} test maps`),
        };
        return rankRelevanceSet(set, train, test);
      });
    }
    const data = taskDatasets(train, test, ranking, d.task);
    const out = await simpleCnnRetrainer({ ...d.training, workers: 1 }).retrainWithModel(data.train, data.test, d.task.seed);
    return { accuracy: checkAccuracy(out.accuracy, d.task), modelSha256: sha256(out.onnx), seconds: (performance.now() - t0) / 1000, worker: name };
  };

  let refused: WhiteBoxError | undefined;
  let running: RunningWorker | undefined;
  const worker = new Worker<WhiteBoxJob, MapShardResult | RetrainResult | NoopResult>(queueName, async (job, token) => {
    const d = job.data;
    const label = jobName(d);
    if (d.whitebox !== o.version || d.protocol !== PROTOCOL) {
      // Put it back for a worker of the right version, and stop: this worker cannot run this queue's jobs.
      refused ??= versionError(d.whitebox, d.protocol, `job '${label}'`);
      await job.moveToDelayed(Date.now() + 1000, token);
      setImmediate(() => void running?.close());
      throw new DelayedError();
    }
    const store = await storeFor();
    const done = await store.getRecord<MapShardResult | RetrainResult | NoopResult>(job.id!);
    if (done) return done; // finished by a twin (a stalled attempt that came back): same result
    if (o.failJob?.(label)) throw new Error(`injected failure (WHITEBOX_QUEUE_FAIL_JOBS) in '${label}'`);
    if (d.kind === 'noop') {
      const result: NoopResult = { index: d.index, seconds: 0, worker: name };
      await store.putRecord(job.id!, result);
      return result;
    }
    log(`${name}: ${label} (attempt ${job.attemptsMade + 1})`);
    const result = d.kind === 'map' ? await mapShard(store, d, job) : await retrain(store, d);
    await store.putRecord(job.id!, result);
    log(`${name}: ${label} done in ${result.seconds.toFixed(1)} s`);
    return result;
  }, {
    connection: { ...connection, maxRetriesPerRequest: null },
    concurrency: o.concurrency ?? 1,
    name,
    lockDuration: o.lockDurationMs ?? 30_000,
    stalledInterval: o.stalledIntervalMs ?? 30_000,
    maxStalledCount: o.maxStalledCount ?? 2,
    autorun: false,
  });
  worker.on('failed', (job, err) => {
    if (job && !(err instanceof DelayedError) && err.name !== 'DelayedError') log(`${name}: ${job.name} failed (attempt ${job.attemptsMade}): ${err.message}`);
  });
  let lastError = '';
  worker.on('error', (err) => {
    if (err.message !== lastError) log(`${name}: ${err.message}`);
    lastError = err.message;
  });
  const runPromise = worker.run();
  await worker.waitUntilReady();
  log(`${name}: waiting for jobs on ${where} (concurrency ${o.concurrency ?? 1})`);
  const stopped = runPromise.then(() => {
    redis.disconnect();
    if (refused) throw refused;
  });
  running = {
    name,
    worker,
    stopped,
    async close(force = false) {
      await worker.close(force);
      await stopped.catch(() => {});
    },
  };
  return running;
}
