import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WhiteBoxError } from '@whitebox/core';
import { probeRedis } from './redis.js';

/** Options of `startRedisServer`: persistence, data directory and binary. */
export interface RedisServerOptions {
  /** Append-only file with fsync on every write, so a restart keeps every job (default true). */
  persistence?: boolean;
  /** Data directory (default: a new temporary one, removed by stop()). */
  dir?: string;
  /** The redis-server binary (default $REDIS_SERVER, /usr/bin/redis-server, or redis-server on PATH). */
  binary?: string;
}

/** A redis-server process started for tests and local runs. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops it (SIGTERM: Redis flushes its append-only file) and starts it again on the same port and data. */
  restart(downMs?: number): Promise<void>;
  /** Stops it and removes its temporary data directory. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a private redis-server on a free loopback port (127.0.0.1 only) with its own data directory:
 * what WhiteBox's queue tests and benchmarks run against.
 */
export async function startRedisServer(o: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = o.binary ?? process.env.REDIS_SERVER ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server');
  const ownDir = !o.dir;
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'wb-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'),
    ...(o.persistence === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'])];
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn(binary, args, { stdio: 'ignore' });
    const failed = new Promise<never>((_, reject) => {
      c.once('error', (e) => reject(new WhiteBoxError('NOT_FOUND', `cannot start ${binary}: ${e.message} (Debian: apt-get install redis-server)`, { file: binary })));
      c.once('exit', (code) => reject(new WhiteBoxError('RUNTIME_ERROR', `${binary} exited with code ${code} at start (log: ${join(dir, 'redis.log')})`)));
    });
    failed.catch(() => {});
    child = c;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await Promise.race([probeRedis(url, 500), failed]);
        return;
      } catch (err) {
        if (!(err instanceof WhiteBoxError && err.code === 'UNREACHABLE') || Date.now() > deadline) {
          c.kill('SIGKILL');
          throw err;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const halt = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    c.removeAllListeners('exit');
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5000).unref();
    });
  };
  await start();
  return {
    url,
    port,
    dir,
    async restart(downMs = 500) {
      await halt();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async stop() {
      await halt();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
