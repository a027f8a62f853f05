import { Redis } from 'ioredis';
import { WhiteBoxError } from '@whitebox/core';

/** Where a Redis is: what ioredis and BullMQ take as connection options. */
export interface RedisAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
}

/** The address in `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
export function parseRedisUrl(url: string): RedisAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WhiteBoxError('INVALID_ARGUMENT', `--queue expects a Redis URL like redis://127.0.0.1:6379, got '${url}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new WhiteBoxError('INVALID_ARGUMENT', `--queue expects a redis:// or rediss:// URL, got '${url}' (protocol ${u.protocol})`);
  const port = u.port ? Number(u.port) : 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new WhiteBoxError('INVALID_ARGUMENT', `--queue: port '${u.port}' in '${url}' is not a TCP port`);
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new WhiteBoxError('INVALID_ARGUMENT', `--queue: database '${u.pathname.slice(1)}' in '${url}' is not a number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** The URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * Connects once with no retries and pings, so that a wrong address fails within `timeoutMs`
 * with an error naming it (the long-lived BullMQ connections retry forever, by design).
 */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<{ version: string }> {
  const opts = parseRedisUrl(url);
  const client = new Redis({ ...opts, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError: Error | undefined;
  client.on('error', (e: Error) => {
    lastError = e;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([
      (async () => {
        await client.connect();
        return client.info('server');
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { version: /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown' };
  } catch (err) {
    // ioredis reports 'Connection is closed'; the socket's own error (ECONNREFUSED, ENOTFOUND...) says why.
    const why = lastError?.message ?? ((err as Error).message || String(err));
    throw new WhiteBoxError('UNREACHABLE', `cannot reach Redis at ${redactUrl(url)}: ${why.replace(/\.$/, '')}. Start one (e.g. 'redis-server --port ${opts.port}') or pass the address of a running one to --queue.`, { url: redactUrl(url) }, { cause: err });
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
