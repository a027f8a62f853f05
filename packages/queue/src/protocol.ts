import { createHash } from 'node:crypto';
import type { RetrainTask, SimpleCnnRetrainOptions } from '@whitebox/metrics';

/** Version of the job format below; a change that alters results or fields bumps it. */
export const PROTOCOL = 1;

/** The BullMQ queue name when none is given. */
export const DEFAULT_QUEUE_NAME = 'whitebox';

/** How a retraining trains (SimpleCNN options that cross machines). */
export type RetrainTrainingOptions = Omit<SimpleCnnRetrainOptions, 'workers'>;

interface JobCommon {
  protocol: number;
  /** WhiteBox version of the run that queued it; a worker of another version refuses it. */
  whitebox: string;
  /** sha256 of the ONNX model the run evaluates (a blob in the store). */
  model: string;
}

/** Maps of images [start, end) of one dataset split with one method (a slice of a dataset-scale map computation). */
export interface MapShardJob extends JobCommon {
  kind: 'map';
  method: { id: string; spec: unknown; options: unknown };
  /** sha256 of the dataset blob. */
  data: string;
  split: string;
  start: number;
  end: number;
  /** Images per explainer call, counted from `start`. */
  chunk: number;
}

/** One ROAR/KAR retraining (or a baseline) with one seed. */
export interface RetrainJob extends JobCommon {
  kind: 'retrain';
  task: RetrainTask;
  /** sha256 of the unmodified train and test dataset blobs. */
  train: string;
  test: string;
  /** The method's train and test maps: blobs whose concatenation is the [N, H*W] Float32 array. Absent for the baseline. */
  relevance?: { train: string[]; test: string[] };
  training: RetrainTrainingOptions;
}

/** A job that does nothing but go through the queue and the store: what `pnpm bench` times as the queue's overhead. */
export interface NoopJob extends JobCommon {
  kind: 'noop';
  index: number;
  /** Makes otherwise equal no-op jobs of different runs distinct. */
  salt: string;
}

/** Any job WhiteBox puts on the queue. */
export type WhiteBoxJob = MapShardJob | RetrainJob | NoopJob;

/** Result of a no-op job (queue throughput measurements). */
export interface NoopResult {
  index: number;
  seconds: number;
  worker: string;
}

/** Result of a map-shard job: where its maps are in the store. */
export interface MapShardResult {
  /** sha256 of the shard's Float32 maps [(end − start), H*W]. */
  blob: string;
  count: number;
  seconds: number;
  worker: string;
}

/** Result of a retraining job: the accuracy and the retrained model's hash. */
export interface RetrainResult {
  accuracy: number;
  /** sha256 of the retrained model's ONNX bytes: equal across retries and reruns (deterministic training). */
  modelSha256: string;
  seconds: number;
  worker: string;
}

/** What `run` records in Redis beside the queue: which run its jobs belong to, and where the store is. */
export interface QueueMeta {
  protocol: number;
  whitebox: string;
  model: string;
  modelLabel: string;
  store: string;
  command?: string;
  updatedAt: string;
}

/** JSON with object keys sorted, so equal values give equal keys whatever the construction order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return v;
  });
}

/**
 * A job's id: its kind and the sha256 of everything that determines its result (model, data, method and
 * options, range or task, seed, training options, WhiteBox version). Equal ids, bit-identical results:
 * that is what makes retries and reruns safe, and lets a rerun skip finished jobs.
 */
export function jobId(job: WhiteBoxJob): string {
  return `${job.kind}-${createHash('sha256').update(canonicalJson(job)).digest('hex')}`;
}

/** How output and reports name a job. */
export function jobName(job: WhiteBoxJob): string {
  return job.kind === 'map' ? `map ${job.method.id} ${job.split} [${job.start}, ${job.end})` : job.kind === 'retrain' ? job.task.name : `noop ${job.index}`;
}

/** Redis key of the queue's meta record (beside BullMQ's own keys). */
export function metaKey(queueName: string, prefix = 'bull'): string {
  return `${prefix}:${queueName}:whitebox-meta`;
}
