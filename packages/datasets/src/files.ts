import { existsSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { WhiteBoxError } from '@whitebox/core';

/** Reads a whole file; `.gz` files (or gzip magic) are inflated. Missing files → NOT_FOUND naming the path. */
export function readDataFile(path: string): Uint8Array {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new WhiteBoxError('NOT_FOUND', `data file not found: ${path}`, { file: path });
  }
  const raw = readFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return new Uint8Array(gunzipSync(raw));
    } catch (e) {
      throw new WhiteBoxError('INVALID_DATA', `${path}: gzip data is corrupt or truncated (${(e as Error).message})`, { file: path }, { cause: e });
    }
  }
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}
