import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WhiteBoxError } from '@whitebox/core';

/**
 * Where jobs put and find their large payloads (models, datasets, map shards) and their results:
 * blobs addressed by the sha256 of their bytes, records (small JSON) by a job key. Redis only
 * carries the addresses. A directory on shared storage implements it; an object store can too.
 */
export interface ContentStore {
  /** What a worker on another machine is told to open (a directory path, a URL). */
  readonly location: string;
  /** Stores `bytes` and returns their sha256 (hex); storing the same bytes again is a no-op. */
  put(bytes: Uint8Array): Promise<string>;
  /** The bytes stored under `hash`, checked against it. */
  get(hash: string): Promise<Uint8Array>;
  /** Whether a blob with this sha256 is stored. */
  has(hash: string): Promise<boolean>;
  /** A job's result, under its key (written atomically; a later write of the same key replaces it). */
  putRecord(key: string, value: unknown): Promise<void>;
  /** The JSON record stored under `key`, if any. */
  getRecord<T = unknown>(key: string): Promise<T | undefined>;
}

/** Hex sha256 of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

function atomicWrite(file: string, data: Uint8Array | string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** A ContentStore in a directory: `blobs/ab/<sha256>` and `records/ab/<key>.json`. */
export class DirectoryStore implements ContentStore {
  readonly location: string;
  /** Blobs this process has already checked against their hash (they are immutable). */
  private readonly verified = new Set<string>();

  constructor(dir: string) {
    this.location = resolve(dir);
    try {
      mkdirSync(this.location, { recursive: true });
    } catch (err) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `store directory ${this.location} cannot be created: ${(err as Error).message}`, { file: this.location });
    }
  }

  private blobPath(hash: string): string {
    if (!HEX64.test(hash)) throw new WhiteBoxError('INVALID_ARGUMENT', `store: '${hash}' is not a sha256 address`);
    return join(this.location, 'blobs', hash.slice(0, 2), hash);
  }

  private recordPath(key: string): string {
    if (!/^[0-9a-z-]{8,128}$/i.test(key)) throw new WhiteBoxError('INVALID_ARGUMENT', `store: '${key}' is not a record key`);
    return join(this.location, 'records', key.slice(0, 2), `${key}.json`);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const hash = sha256(bytes);
    const file = this.blobPath(hash);
    if (!(existsSync(file) && statSync(file).size === bytes.byteLength)) atomicWrite(file, bytes);
    this.verified.add(hash);
    return hash;
  }

  async get(hash: string): Promise<Uint8Array> {
    const file = this.blobPath(hash);
    if (!existsSync(file)) throw new WhiteBoxError('NOT_FOUND', `store ${this.location} has no blob ${hash} (${file}): is --store the directory the run wrote to?`, { file });
    const bytes = new Uint8Array(readFileSync(file));
    if (!this.verified.has(hash)) {
      const actual = sha256(bytes);
      if (actual !== hash) throw new WhiteBoxError('CHECKSUM_MISMATCH', `store blob ${file} is corrupt: its sha256 is ${actual}`, { file });
      this.verified.add(hash);
    }
    return bytes;
  }

  /** Whether a blob with this sha256 is stored. */
  async has(hash: string): Promise<boolean> {
    return existsSync(this.blobPath(hash));
  }

  async putRecord(key: string, value: unknown): Promise<void> {
    atomicWrite(this.recordPath(key), JSON.stringify(value));
  }

  /** The JSON record stored under `key`, if any. */
  async getRecord<T = unknown>(key: string): Promise<T | undefined> {
    const file = this.recordPath(key);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch (err) {
      throw new WhiteBoxError('INVALID_DATA', `store record ${file} is not valid JSON: ${(err as Error).message}`, { file });
    }
  }
}
