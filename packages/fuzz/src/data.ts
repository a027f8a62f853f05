import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { Rng } from '@whitebox/core';
import { bitFlips, byteEdit, concat, pick, randomBytes, truncate } from './bytes.js';

/** IDX bytes (unsigned-byte type) for dims and data. */
export function idx(dims: readonly number[], data: Uint8Array, typeCode = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, (typeCode << 8) | dims.length, false);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d >>> 0, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/**
 * A gzip bomb made of concatenated gzip members: each member inflates 16 MiB of zeros from ~16 KiB, so `members`
 * members inflate to members × 16 MiB from a small file (gunzip reads every member).
 */
export function gzipBomb(members: number): Uint8Array {
  const one = gzipSync(new Uint8Array(16 << 20), { level: 9 });
  const parts = Array.from({ length: members }, () => one);
  return concat(...parts);
}

let bombCache: Uint8Array | undefined;
/** 64 members: 1 GiB when inflated, above LIMITS.dataBytes (512 MiB); ~1 MB on disk. */
export function bigGzipBomb(): Uint8Array {
  bombCache ??= gzipBomb(64);
  return bombCache;
}

export const MNIST_NAMES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] as const;

/** A valid small MNIST-like directory (20 train, 10 test images of h × w), as file name → bytes. */
export function mnistFiles(rng: Rng, h = 8, w = 8): Record<string, Uint8Array> {
  const lab = (n: number) => Uint8Array.from({ length: n }, () => rng.int(10));
  return {
    [MNIST_NAMES[0]]: idx([20, h, w], randomBytes(rng, 20 * h * w)),
    [MNIST_NAMES[1]]: idx([20], lab(20)),
    [MNIST_NAMES[2]]: idx([10, h, w], randomBytes(rng, 10 * h * w)),
    [MNIST_NAMES[3]]: idx([10], lab(10)),
  };
}

export interface MnistDirCase {
  what: string;
  /** loadMnist options besides dir. */
  options: { trainLimit?: number; testLimit?: number; maxBytes?: number };
}

/** Writes a malformed MNIST directory into `dir`: one file (or the directory's layout) broken one of many ways. */
export function writeMnistDir(rng: Rng, dir: string): MnistDirCase {
  mkdirSync(dir, { recursive: true });
  const files = mnistFiles(rng);
  const target = pick(rng, MNIST_NAMES);
  const isImages = target.includes('images');
  const options: MnistDirCase['options'] = {};
  let what: string;
  let special: (() => void) | undefined;
  const kind = rng.int(20);
  const bytes = files[target]!;
  switch (kind) {
    case 0: files[target] = randomBytes(rng, pick(rng, [0, 3, 8, 100, 5000])); what = `${target}: random bytes`; break;
    case 1: { const t = truncate(rng, bytes); files[target] = t.bytes; what = `${target}: ${t.what}`; break; }
    case 2: { const f = bitFlips(rng, bytes, 1 + rng.int(4), [0, Math.min(bytes.length, 16)]); files[target] = f.bytes; what = `${target} header: ${f.what}`; break; }
    case 3: { const e = byteEdit(rng, bytes); files[target] = e.bytes; what = `${target}: ${e.what}`; break; }
    case 4: files[target] = idx(isImages ? [20, 8, 8] : [20], bytes.subarray(isImages ? 16 : 8), pick(rng, [0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00])); what = `${target}: IDX type code not unsigned byte`; break;
    case 5: files[target] = idx(isImages ? [20, 64] : [20, 1], bytes.subarray(isImages ? 16 : 8)); what = `${target}: wrong rank`; break;
    case 6: files[target] = idx(isImages ? [0xffffffff, 0xffffffff, 0xffffffff] : [0xffffffff], bytes.subarray(16)); what = `${target}: dims 2^32-1`; break;
    case 7: files[target] = idx(isImages ? [0, 8, 8] : [0], new Uint8Array(0)); what = `${target}: zero items`; break;
    case 8: files[target] = isImages ? idx([20, 0, 8], new Uint8Array(0)) : idx([20], Uint8Array.from({ length: 20 }, () => 10 + rng.int(246))); what = `${target}: ${isImages ? 'zero height' : 'labels > 9'}`; break;
    case 9: files[target] = isImages ? idx([19, 8, 8], bytes.subarray(16, 16 + 19 * 64)) : idx([21], new Uint8Array(21)); what = `${target}: count mismatch`; break;
    case 10: files[target] = concat(bytes, randomBytes(rng, 1 + rng.int(100))); what = `${target}: trailing bytes`; break;
    case 11: { files[`${target}.gz`] = gzipSync(bytes); delete files[target]; what = `${target}.gz (valid)`; break; }
    case 12: { const gz = gzipSync(bytes); const t = truncate(rng, gz); files[`${target}.gz`] = t.bytes; delete files[target]; what = `${target}.gz ${t.what}`; break; }
    case 13: { const gz = bitFlips(rng, gzipSync(bytes), 1 + rng.int(3)); files[`${target}.gz`] = gz.bytes; delete files[target]; what = `${target}.gz ${gz.what}`; break; }
    case 14: { files[`${target}.gz`] = gzipBomb(4); delete files[target]; options.maxBytes = 1 << 20; what = `${target}.gz: 64 MiB gzip bomb under maxBytes 1 MiB`; break; }
    case 15: { files[`${target}.gz`] = bigGzipBomb(); delete files[target]; what = `${target}.gz: 1 GiB gzip bomb under the default limit`; break; }
    case 16: {
      // Other image sizes: 14×14 both splits (valid), or train 28×28 and test 14×56 (must be refused).
      const odd = rng.next() < 0.5;
      const f2 = mnistFiles(rng, 14, 14);
      Object.assign(files, f2);
      if (odd) { files[MNIST_NAMES[0]] = idx([20, 28, 28], randomBytes(rng, 20 * 784)); files[MNIST_NAMES[2]] = idx([10, 14, 56], randomBytes(rng, 10 * 784)); }
      what = odd ? 'train 28×28, test 14×56' : '14×14 images (valid)';
      break;
    }
    case 17: {
      const p = join(dir, target);
      special = () => {
        const how = rng.int(4);
        if (how === 0) { try { execFileSync('mkfifo', [p]); } catch { mkdirSync(p); } }
        else if (how === 1) symlinkSync('/dev/zero', p);
        else if (how === 2) symlinkSync('/dev/urandom', p);
        else mkdirSync(p);
      };
      delete files[target];
      what = `${target}: a FIFO, /dev/zero, /dev/urandom or a directory`;
      break;
    }
    case 18: delete files[target]; what = `${target} missing`; break;
    default: {
      options.trainLimit = pick(rng, [0, -1, 1.5, NaN, 1e12, 5]);
      options.testLimit = pick(rng, [0, -3, 2, Infinity]);
      what = `limits ${JSON.stringify(options, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}`;
    }
  }
  for (const [name, b] of Object.entries(files)) writeFileSync(join(dir, name), b);
  special?.();
  return { what, options };
}

/** CIFAR-10 binary records (1 label + 3072 pixels each), mutated. */
export function cifarBytes(rng: Rng): { bytes: Uint8Array; what: string; limit?: number } {
  const n = 1 + rng.int(4);
  const rec = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) { rec[i * 3073] = rng.int(10); rec.set(randomBytes(rng, 3072), i * 3073 + 1); }
  const kind = rng.int(8);
  switch (kind) {
    case 0: return { bytes: randomBytes(rng, pick(rng, [0, 1, 3072, 3074, 6146])), what: 'random bytes' };
    case 1: { const t = truncate(rng, rec); return { bytes: t.bytes, what: t.what }; }
    case 2: { rec[3073 * rng.int(n)] = 10 + rng.int(246); return { bytes: rec, what: 'a label > 9' }; }
    case 3: { const e = byteEdit(rng, rec); return { bytes: e.bytes, what: e.what }; }
    case 4: return { bytes: rec, what: 'valid records', limit: pick(rng, [0, 1, 100]) };
    case 5: return { bytes: rec, what: 'valid records, bad limit', limit: pick(rng, [-1, NaN, 0.5]) };
    case 6: return { bytes: concat(rec, new Uint8Array(1)), what: 'one byte over' };
    default: return { bytes: rec, what: 'valid records' };
  }
}

/** Writes a CIFAR-10 directory with small (wrong-sized) or special batch files. */
export function writeCifarDir(rng: Rng, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const kind = rng.int(4);
  const names = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
  if (kind === 0) { for (const f of names) writeFileSync(join(dir, f), cifarBytes(rng).bytes); return 'six short batch files'; }
  if (kind === 1) { symlinkSync('/dev/zero', join(dir, names[0]!)); return 'data_batch_1.bin → /dev/zero'; }
  if (kind === 2) { writeFileSync(join(dir, 'batches.meta.txt'), randomBytes(rng, 200)); writeFileSync(join(dir, names[0]!), new Uint8Array(0)); return 'random meta file, empty batch'; }
  writeFileSync(join(dir, names[0]!), gzipBomb(2)); return 'data_batch_1.bin is a gzip bomb';
}

// ---------------------------------------------------------------------------------------------------------------
// PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length, false);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)), false);
  return out;
}

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

/** A PNG with the given header and image data (rows of filter byte + pixels), checksums right. */
export function png(width: number, height: number, opts: { colorType?: number; bitDepth?: number; interlace?: number; rows?: Uint8Array; plte?: boolean; idat?: boolean } = {}): Uint8Array {
  const colorType = opts.colorType ?? 6;
  const bitDepth = opts.bitDepth ?? 8;
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width >>> 0, false);
  v.setUint32(4, height >>> 0, false);
  ihdr[8] = bitDepth; ihdr[9] = colorType; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = opts.interlace ?? 0;
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType] ?? 4;
  const rows = opts.rows ?? new Uint8Array(height * (1 + Math.ceil((width * channels * bitDepth) / 8)));
  const parts = [SIGNATURE, chunk('IHDR', ihdr)];
  if (opts.plte) parts.push(chunk('PLTE', new Uint8Array(3 * 4)));
  if (opts.idat !== false) parts.push(chunk('IDAT', deflateSync(rows)));
  parts.push(chunk('IEND', new Uint8Array(0)));
  return concat(...parts);
}

export function pngCase(rng: Rng): { bytes: Uint8Array; what: string } {
  const w = 1 + rng.int(40);
  const h = 1 + rng.int(40);
  const rows = new Uint8Array(h * (1 + w * 4));
  for (let r = 0; r < h; r++) { rows[r * (1 + w * 4)] = rng.int(5); rows.set(randomBytes(rng, w * 4), r * (1 + w * 4) + 1); }
  const base = png(w, h, { rows });
  const kind = rng.int(14);
  switch (kind) {
    case 0: return { bytes: randomBytes(rng, pick(rng, [0, 8, 24, 33, 1000])), what: 'random bytes' };
    case 1: { const t = truncate(rng, base); return { bytes: t.bytes, what: t.what }; }
    case 2: { const f = bitFlips(rng, base, 1 + rng.int(8)); return { bytes: f.bytes, what: f.what }; }
    case 3: { const e = byteEdit(rng, base); return { bytes: e.bytes, what: e.what }; }
    case 4: { const [W, H] = pick(rng, [[20000, 20000], [100000, 1], [1, 2 ** 31 - 1], [2 ** 32 - 1, 2 ** 32 - 1], [65536, 65536]]); return { bytes: png(W!, H!, { rows: new Uint8Array(16), idat: true }), what: `header says ${W}×${H}` }; }
    case 5: return { bytes: png(0, h), what: 'zero width' };
    case 6: {
      // A decompression bomb inside the pixel limit: 4000 × 4000 RGBA of zeros from a few kB.
      const side = pick(rng, [2000, 4000, 4096]);
      return { bytes: png(side, side, { colorType: 0 }), what: `${side}×${side} gray, all zero (a small file)` };
    }
    case 7: return { bytes: png(w, h, { colorType: pick(rng, [1, 5, 7, 8]) }), what: 'invalid color type' };
    case 8: return { bytes: png(w, h, { bitDepth: pick(rng, [0, 3, 7, 32]) }), what: 'invalid bit depth' };
    case 9: return { bytes: png(w, h, { colorType: 3, bitDepth: 8 }), what: 'palette image without PLTE' };
    case 10: return { bytes: png(w, h, { interlace: pick(rng, [1, 2]) , rows }), what: 'interlaced / bad interlace flag' };
    case 11: return { bytes: png(w, h, { idat: false }), what: 'no IDAT' };
    case 12: return { bytes: png(w, h, { rows: rows.subarray(0, rows.length >> 1) }), what: 'IDAT with half the rows' };
    default: return { bytes: base, what: `valid ${w}×${h} RGBA` };
  }
}
