import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, WhiteBoxError, type Model } from '@whitebox/core';
import type { Dataset } from '@whitebox/datasets';
import { relevanceRange, type Explainer, type PipelineMethod } from '@whitebox/metrics';
import {
  DirectoryStore, QueueSession, bytesToFloat32, canonicalJson, decodeDataset, encodeDataset, float32Bytes, jobId, parseRedisUrl, probeRedis, sha256,
  startRedisServer, startWorker, freePort, type RedisServer, type RunningWorker,
} from '@whitebox/queue';

function dataset(count: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * 2 * 4 * 4);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng.next() * 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 3);
  return { name: `toy-${seed}`, classes: ['a', 'b', 'c'], count, channels: 2, height: 4, width: 4, images, labels, mean: [0.5, 0.4], std: [0.2, 0.3] };
}

/** A deterministic stand-in method: relevance = channel-0 pixel × (label + 1) × scale. */
function toyExplainer(scale: number): Explainer {
  return {
    name: 'toy',
    async relevance(input, targets) {
      const [n, c, h, w] = input.dims as [number, number, number, number];
      const out = new Float32Array(n * h * w);
      for (let i = 0; i < n; i++) for (let p = 0; p < h * w; p++) out[i * h * w + p] = input.data[i * c * h * w + p]! * (targets[i]! + 1) * scale;
      return out;
    },
  };
}

const modelBytes = (tag: string): Uint8Array => new TextEncoder().encode(`not really onnx: ${tag}`);
const fakeModel = (bytes: Uint8Array): Model => ({ modelBytes: bytes, modelHash: sha256(bytes) }) as unknown as Model;
const method: PipelineMethod = { id: 'toy', explainer: () => toyExplainer(2), options: { scale: 2 }, spec: { scale: 2 } };

describe('content store and codecs', () => {
  it('addresses blobs by sha256, detects corruption, keeps records, round-trips datasets and float32', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-store-'));
    const store = new DirectoryStore(dir);
    const bytes = new Uint8Array([1, 2, 3, 250]);
    const h = await store.put(bytes);
    expect(h).toBe('bacdef9c76b37eb70caaf81ea41ecddd56d625b72e453de5eabbd59745279847'); // python3 hashlib.sha256(bytes([1, 2, 3, 250]))
    expect(await store.put(bytes)).toBe(h);
    expect([...(await store.get(h))]).toEqual([1, 2, 3, 250]);
    expect(await store.has(sha256(new Uint8Array([9])))).toBe(false);
    await expect(store.get(sha256(new Uint8Array([9])))).rejects.toThrow(/has no blob/);
    await expect(store.get('../etc/passwd')).rejects.toThrow(/not a sha256 address/);
    // A blob changed on disk is caught by a store that has not read it yet.
    writeFileSync(join(dir, 'blobs', h.slice(0, 2), h), new Uint8Array([1, 2, 3, 251]));
    await expect(new DirectoryStore(dir).get(h)).rejects.toThrow(/is corrupt: its sha256 is/);
    await store.putRecord('retrain-abc12345', { accuracy: 0.5 });
    expect(await store.getRecord('retrain-abc12345')).toEqual({ accuracy: 0.5 });
    expect(await store.getRecord('retrain-missing1')).toBeUndefined();
    const ds = dataset(7, 1);
    expect(decodeDataset(encodeDataset(ds))).toEqual(ds);
    expect(() => decodeDataset(encodeDataset(ds).subarray(0, 200))).toThrow(/200 bytes for 7 images of 2×4×4/);
    const f = Float32Array.from([0.1, -2, 3.5e-8]);
    expect(bytesToFloat32(float32Bytes(f))).toEqual(f);
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: 2 } })).toBe('{"a":{"c":2,"d":[1,{"y":1,"z":0}]},"b":1}');
  });
});

describe('Redis addresses', () => {
  it('parses redis:// URLs and names what is wrong', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6390/2')).toEqual({ host: '127.0.0.1', port: 6390, db: 2 });
    expect(parseRedisUrl('rediss://u:p%40ss@example.org')).toMatchObject({ host: 'example.org', port: 6379, username: 'u', password: 'p@ss', tls: {} });
    expect(() => parseRedisUrl('http://127.0.0.1:6379')).toThrow(/expects a redis:\/\/ or rediss:\/\/ URL, got 'http:\/\/127.0.0.1:6379' \(protocol http:\)/);
    expect(() => parseRedisUrl('127.0.0.1:6379')).toThrow(/expects a Redis URL like redis:\/\/127.0.0.1:6379, got '127.0.0.1:6379'/);
    expect(() => parseRedisUrl('not a url')).toThrow(/expects a Redis URL like redis:\/\/127.0.0.1:6379, got 'not a url'/);
    expect(() => parseRedisUrl('redis://h:6379/x')).toThrow(/database 'x'/);
  });
  it('fails within seconds, naming the address, when nothing listens there', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err = await probeRedis(`redis://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WhiteBoxError);
    expect((err as WhiteBoxError).code).toBe('UNREACHABLE');
    expect((err as Error).message).toMatch(new RegExp(`cannot reach Redis at redis://127.0.0.1:${port}: .*ECONNREFUSED`));
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('map shards on a real Redis', () => {
  let redis: RedisServer;
  const workers: RunningWorker[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close(true)));
    await redis?.stop();
  });
  const worker = async (o: { queueName: string; version?: string; failJob?: (n: string) => boolean }): Promise<RunningWorker> => {
    const w = await startWorker({
      url: redis.url, queueName: o.queueName, version: o.version ?? '1.0.0', concurrency: 2,
      loadModel: async (b) => fakeModel(b), explainer: (m) => toyExplainer((m.spec as { scale: number }).scale),
      stalledIntervalMs: 1000, lockDurationMs: 2000, ...(o.failJob ? { failJob: o.failJob } : {}),
    });
    workers.push(w);
    return w;
  };

  it('two workers compute sharded maps equal to computing them here; a rerun skips every shard', async () => {
    const store = new DirectoryStore(mkdtempSync(join(tmpdir(), 'wb-qs-')));
    await worker({ queueName: 'maps' });
    await worker({ queueName: 'maps' });
    const session = await QueueSession.open({ url: redis.url, queueName: 'maps', store, version: '1.0.0', model: { bytes: modelBytes('a'), label: 'a.onnx' }, shardSize: 256, pollMs: 100 });
    const ds = dataset(700, 3);
    const test = dataset(90, 4);
    const provider = session.relevanceProvider();
    const progress: string[] = [];
    const out = await provider(fakeModel(modelBytes('a')), [{ method, ds, split: 'train' }, { method, ds: test, split: 'test' }], (p) => progress.push(p.stage ?? ''));
    const here = await relevanceRange(toyExplainer(2), ds, 0, ds.count);
    expect('data' in out[0]! && out[0].data).toEqual(here);
    expect('data' in out[1]! && out[1].data).toEqual(await relevanceRange(toyExplainer(2), test, 0, test.count));
    expect(session.jobs.map((j) => j.name)).toEqual(expect.arrayContaining(['map toy train [0, 256)', 'map toy train [512, 700)', 'map toy test [0, 90)']));
    expect(session.jobs).toHaveLength(4);
    expect(new Set(session.jobs.map((j) => (j.result as { worker: string }).worker)).size).toBeGreaterThanOrEqual(1);
    expect(progress.some((s) => /map shards · 2 workers alive/.test(s))).toBe(true);
    await session.close();
    const again = await QueueSession.open({ url: redis.url, queueName: 'maps', store, version: '1.0.0', model: { bytes: modelBytes('a'), label: 'a.onnx' }, shardSize: 256 });
    const out2 = await again.relevanceProvider()(fakeModel(modelBytes('a')), [{ method, ds, split: 'train' }]);
    expect(again.jobs.every((j) => j.skipped)).toBe(true);
    expect('hit' in out2[0]! && out2[0].hit).toBe(true);
    expect('data' in out2[0]! && out2[0].data).toEqual(here);
    await again.close();
  });

  it('reports a shard that throws on every attempt by name; the other shards complete', async () => {
    const store = new DirectoryStore(mkdtempSync(join(tmpdir(), 'wb-qs-')));
    await worker({ queueName: 'faulty', failJob: (n) => n === 'map toy train [256, 512)' });
    const session = await QueueSession.open({ url: redis.url, queueName: 'faulty', store, version: '1.0.0', model: { bytes: modelBytes('a'), label: 'a.onnx' }, shardSize: 256, attempts: 2, backoffMs: 50, pollMs: 100 });
    const ds = dataset(600, 5);
    const out = await session.relevanceProvider()(fakeModel(modelBytes('a')), [{ method, ds, split: 'train' }, { method, ds: dataset(50, 6), split: 'test' }]);
    expect(out[0]).toEqual({ failures: [{ name: 'map toy train [256, 512)', error: "injected failure (WHITEBOX_QUEUE_FAIL_JOBS) in 'map toy train [256, 512)'", attempts: 2 }] });
    expect('data' in out[1]!).toBe(true);
    expect(session.jobs.filter((j) => j.failure)).toHaveLength(1);
    await session.close();
  });

  it("refuses a queue holding another model's unfinished jobs, and a worker of another WhiteBox version", async () => {
    const store = new DirectoryStore(mkdtempSync(join(tmpdir(), 'wb-qs-')));
    const a = await QueueSession.open({ url: redis.url, queueName: 'shared', store, version: '1.0.0', model: { bytes: modelBytes('a'), label: 'models/a.onnx' }, shardSize: 256, pollMs: 100 });
    // No worker yet: the jobs wait in the queue.
    const pending = a.relevanceProvider()(fakeModel(modelBytes('a')), [{ method, ds: dataset(300, 7), split: 'train' }]);
    while ((await a.queue.getJobCounts('waiting')).waiting < 2) await new Promise((r) => setTimeout(r, 20));
    const b = QueueSession.open({ url: redis.url, queueName: 'shared', store, version: '1.0.0', model: { bytes: modelBytes('b'), label: 'models/b.onnx' } });
    await expect(b).rejects.toThrow(/queue 'shared' at redis:\/\/127.0.0.1:\d+ holds 2 unfinished job\(s\) for another model: models\/a.onnx \(sha256 [0-9a-f]{16}…\), not this run's models\/b.onnx/);
    await expect(b).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(QueueSession.open({ url: redis.url, queueName: 'shared', store, version: '2.0.0', model: { bytes: modelBytes('a'), label: 'models/a.onnx' } })).rejects.toThrow(/holds 2 unfinished job\(s\) from WhiteBox 1.0.0 .* this is WhiteBox 2.0.0/);
    const old = worker({ queueName: 'shared', version: '0.9.0' });
    await expect(old).rejects.toThrow(/this worker is WhiteBox 0.9.0 \(job protocol 1\) but the jobs of queue 'shared' .* were queued by WhiteBox 1.0.0/);
    await expect(old).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
    await worker({ queueName: 'shared' });
    expect('data' in (await pending)[0]!).toBe(true);
    await a.close();
    // Finished jobs of another model do not block a new run.
    const c = await QueueSession.open({ url: redis.url, queueName: 'shared', store, version: '1.0.0', model: { bytes: modelBytes('b'), label: 'models/b.onnx' } });
    await c.close();
    expect(jobId({ kind: 'map', protocol: 1, whitebox: '1', model: 'm', method: { id: 'x', spec: { a: 1, b: 2 }, options: null }, data: 'd', split: 's', start: 0, end: 1, chunk: 256 }))
      .toBe(jobId({ kind: 'map', protocol: 1, whitebox: '1', model: 'm', method: { id: 'x', spec: { b: 2, a: 1 }, options: null }, data: 'd', split: 's', start: 0, end: 1, chunk: 256 }));
  });
});
