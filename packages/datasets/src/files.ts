import * as fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { LIMITS, WhiteBoxError, readFileCapped } from '@whitebox/core';

/** Options of `readDataFile`. */
export interface ReadDataFileOptions {
  /** Largest file, and largest decompressed size of a `.gz` file, in bytes (default LIMITS.dataBytes, 512 MiB). */
  maxBytes?: number;
}

/**
 * Reads a whole data file; `.gz` files (or gzip magic) are inflated with an output limit. Only regular files are
 * read (a FIFO or /dev/zero is refused without blocking). Missing files → NOT_FOUND naming the path; a file or
 * decompressed payload above `maxBytes` → LIMIT_EXCEEDED.
 */
export function readDataFile(path: string, options: ReadDataFileOptions = {}): Uint8Array {
  const maxBytes = options.maxBytes ?? LIMITS.dataBytes;
  if (!(Number.isInteger(maxBytes) && maxBytes >= 1)) throw new WhiteBoxError('INVALID_ARGUMENT', `maxBytes must be an integer ≥ 1, got ${maxBytes}`);
  let raw: Uint8Array;
  try {
    raw = readFileCapped(fs, path, { maxBytes, what: 'data file', raise: 'pass maxBytes to allow larger files' });
  } catch (err) {
    if (err instanceof WhiteBoxError && err.code === 'NOT_FOUND') throw new WhiteBoxError('NOT_FOUND', `data file not found: ${path}`, { file: path }, { cause: err });
    throw err;
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      const out = gunzipSync(raw, { maxOutputLength: maxBytes });
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new WhiteBoxError('LIMIT_EXCEEDED', `${path}: the gzip data inflates to more than ${maxBytes.toLocaleString('en-US')} bytes (a gzip bomb, or pass maxBytes to allow larger files)`, { file: path, limit: maxBytes }, { cause: e });
      }
      throw new WhiteBoxError('INVALID_DATA', `${path}: gzip data is corrupt or truncated (${(e as Error).message})`, { file: path }, { cause: e });
    }
  }
  return raw;
}
