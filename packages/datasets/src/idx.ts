import { WhiteBoxError } from '@whitebox/core';

/** A parsed IDX file (the MNIST format): unsigned-byte data with its dims. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses an IDX file with unsigned-byte data (type 0x08). Checks the magic number (0x0000 08 NN), the rank,
 * and that the payload has exactly prod(dims) bytes. `expectedRank` (1 for labels, 3 for images) is checked too.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedRank?: number): IdxArray {
  const bad = (msg: string, details: Record<string, unknown> = {}): never => {
    throw new WhiteBoxError('INVALID_DATA', `${file}: ${msg}`, { file, ...details });
  };
  if (bytes.length < 4) bad(`truncated IDX file: ${bytes.length} bytes, no header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = (magic >>> 8) & 0xff;
  const rank = magic & 0xff;
  if (magic >>> 16 !== 0 || type !== 0x08 || rank < 1) {
    bad(`wrong magic number 0x${magic.toString(16).padStart(8, '0')} (expected 0x000008NN: unsigned-byte IDX${expectedRank ? `, here 0x0000080${expectedRank}` : ''})`, { magic });
  }
  if (expectedRank !== undefined && rank !== expectedRank) {
    bad(`IDX rank ${rank} but expected ${expectedRank} (magic 0x${magic.toString(16).padStart(8, '0')})`, { magic, rank });
  }
  const header = 4 + 4 * rank;
  if (bytes.length < header) bad(`truncated IDX header: ${bytes.length} bytes, need ${header} for rank ${rank}`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const have = bytes.length - header;
  if (have < size) bad(`truncated IDX file: dims [${dims.join(', ')}] need ${size} data bytes but only ${have} are present`, { dims });
  if (have > size) bad(`IDX file has ${have - size} trailing bytes after dims [${dims.join(', ')}]`, { dims });
  return { dims, data: bytes.subarray(header, header + size) };
}

/** Encodes unsigned-byte data as IDX (for tests and tools). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}
