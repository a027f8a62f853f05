import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** sha256 (hex) of a JSON-serialisable key. */
export function cacheKey(key: unknown): string {
  return createHash('sha256').update(JSON.stringify(key)).digest('hex');
}

/**
 * Float32 arrays cached on disk under `dir`, keyed by any JSON value (model hash, method and
 * its options, dataset and subset): computed once, then read back. Writes are atomic (rename).
 */
export async function cachedFloat32(dir: string | undefined, key: unknown, expectedLength: number, compute: () => Promise<Float32Array>): Promise<{ data: Float32Array; hit: boolean }> {
  if (!dir) return { data: await compute(), hit: false };
  const file = join(dir, `${cacheKey(key)}.f32`);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    if (buf.byteLength === expectedLength * 4) {
      const data = new Float32Array(expectedLength);
      new Uint8Array(data.buffer).set(buf);
      return { data, hit: true };
    }
  }
  const data = await compute();
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  writeFileSync(join(dir, `${cacheKey(key)}.json`), JSON.stringify(key));
  renameSync(tmp, file);
  return { data, hit: false };
}
