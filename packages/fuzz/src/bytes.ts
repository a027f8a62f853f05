import { Rng } from '@whitebox/core';

/** Seeded helpers shared by the generators. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

/** A prefix of `bytes` cut at a random point (biased to both ends, where headers and trailers are). */
export function truncate(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; what: string } {
  const r = rng.next();
  const len = r < 0.3 ? rng.int(Math.min(256, bytes.length)) : r < 0.5 ? bytes.length - 1 - rng.int(Math.min(256, bytes.length)) : rng.int(bytes.length);
  return { bytes: bytes.slice(0, Math.max(0, len)), what: `truncated to ${len} of ${bytes.length} bytes` };
}

/** `count` random bit flips; with `region`, only inside [start, end). */
export function bitFlips(rng: Rng, bytes: Uint8Array, count: number, region?: [number, number]): { bytes: Uint8Array; what: string } {
  const out = bytes.slice();
  const [s, e] = region ?? [0, out.length];
  const at: number[] = [];
  for (let k = 0; k < count && e > s; k++) {
    const i = s + rng.int(e - s);
    out[i]! ^= 1 << rng.int(8);
    at.push(i);
  }
  return { bytes: out, what: `${count} bit flips at ${at.slice(0, 8).join(',')}${at.length > 8 ? ',…' : ''}` };
}

/** One of several byte-level edits: overwrite, insert, delete, duplicate a range, or append the file to itself. */
export function byteEdit(rng: Rng, bytes: Uint8Array, region?: [number, number]): { bytes: Uint8Array; what: string } {
  const [s, e] = region ?? [0, bytes.length];
  const at = s + rng.int(Math.max(1, e - s));
  const len = 1 + rng.int(rng.next() < 0.7 ? 8 : 512);
  const kind = rng.int(7);
  switch (kind) {
    case 0: {
      const out = bytes.slice();
      const v = pick(rng, [0x00, 0xff, 0x7f, 0x80]);
      out.fill(v, at, Math.min(out.length, at + len));
      return { bytes: out, what: `${len} bytes at ${at} set to 0x${v.toString(16)}` };
    }
    case 1: {
      const out = bytes.slice();
      out.set(randomBytes(rng, Math.min(len, out.length - at)), at);
      return { bytes: out, what: `${len} random bytes at ${at}` };
    }
    case 2:
      return { bytes: concat(bytes.subarray(0, at), randomBytes(rng, len), bytes.subarray(at)), what: `${len} random bytes inserted at ${at}` };
    case 3:
      return { bytes: concat(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + len))), what: `${len} bytes deleted at ${at}` };
    case 4:
      return { bytes: concat(bytes.subarray(0, at + len), bytes.subarray(at)), what: `${len} bytes at ${at} duplicated` };
    case 5:
      return { bytes: concat(bytes, bytes), what: 'the file concatenated with itself' };
    default: {
      // A varint-looking run: protobuf lengths and tags decoded as huge numbers.
      const out = bytes.slice();
      for (let i = 0; i < Math.min(10, out.length - at); i++) out[at + i] = i === 9 ? 0x01 : 0xff;
      return { bytes: out, what: `a 10-byte maximal varint at ${at}` };
    }
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** JSON for descriptions: protobuf Longs as numbers, NaN/Infinity as strings, Uint8Arrays by length. */
export function describe(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x && typeof x === 'object' && typeof (x as { toNumber?: unknown }).toNumber === 'function') return (x as { toNumber(): number }).toNumber();
    if (x instanceof Uint8Array) return `<${x.length} bytes>`;
    if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
    if (typeof x === 'bigint') return `${x}n`;
    return x;
  }) ?? String(v);
}
