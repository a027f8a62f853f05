import { WhiteBoxError } from '@whitebox/core';
import type { Dataset } from '@whitebox/datasets';

const MAGIC = 'WBDS1\n';

/** A dataset as one blob: a magic line, a JSON header line, the uint8 images, then the labels. */
export function encodeDataset(ds: Dataset): Uint8Array {
  const header = JSON.stringify({ name: ds.name, classes: ds.classes, count: ds.count, channels: ds.channels, height: ds.height, width: ds.width, mean: ds.mean, std: ds.std });
  const head = new TextEncoder().encode(`${MAGIC}${header}\n`);
  const out = new Uint8Array(head.length + ds.images.length + ds.labels.length);
  out.set(head, 0);
  out.set(ds.images, head.length);
  out.set(ds.labels, head.length + ds.images.length);
  return out;
}

/** A dataset from the bytes `encodeDataset` wrote (throws INVALID_DATA for anything else). */
export function decodeDataset(bytes: Uint8Array, where = 'dataset blob'): Dataset {
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) throw new WhiteBoxError('INVALID_DATA', `${where} is not a WhiteBox dataset blob`);
  const nl = bytes.indexOf(10, MAGIC.length);
  if (nl < 0) throw new WhiteBoxError('INVALID_DATA', `${where} has no header line`);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length, nl))) as Omit<Dataset, 'images' | 'labels'>;
  const n = h.count * h.channels * h.height * h.width;
  if (bytes.length !== nl + 1 + n + h.count) throw new WhiteBoxError('INVALID_DATA', `${where}: ${bytes.length} bytes for ${h.count} images of ${h.channels}×${h.height}×${h.width} and their labels`);
  return { ...h, images: bytes.slice(nl + 1, nl + 1 + n), labels: bytes.slice(nl + 1 + n) };
}

/** The bytes of a Float32Array (little-endian, as on every platform WhiteBox runs on). */
export function float32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A Float32Array from little-endian bytes (throws INVALID_DATA for a length not a multiple of 4). */
export function bytesToFloat32(bytes: Uint8Array, where = 'float32 blob'): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new WhiteBoxError('INVALID_DATA', `${where}: ${bytes.byteLength} bytes is not a whole number of float32 values`);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
