/**
 * ONNX external data: models whose tensors live in files beside the .onnx file (every model over protobuf's 2 GiB:
 * torchvision's ViT-H/14 and RegNetY-128GF, most exported LLM-sized vision backbones).
 *
 * Reading: each external tensor names a `location` (a path relative to the model's directory), an `offset` and a
 * `length`. The reader accepts only locations inside the model's directory (no absolute paths, no '..', no symlink
 * that leads out), only regular files, only ranges inside the file, and at most a byte budget in all; the data is
 * read into the tensor (the model then holds it inline, as if it had been saved that way).
 *
 * Writing: the graphs WhiteBox builds from such a model (forward, gradient, cut) are as large as it, so when their
 * weights exceed a session's inline budget they are handed to the backend as `{ model, externalData }`: the large
 * initializers are moved to data files of at most 1 GiB each, at 4 KiB-aligned offsets (ONNX Runtime maps aligned
 * ranges).
 */
import { WhiteBoxError, type ExternalDataFile } from '@whitebox/core';
import { externalTensorProtos, onnx, type IModelProto, type ITensorProto } from './proto.js';

/** Reads byte ranges of a model's external data files by the `location` its tensors give. */
export interface ExternalDataReader {
  /** Bytes [offset, offset + length) of `location`; `length` undefined = to the end of the file. `where` names the tensor. */
  read(location: string, offset: number, length: number | undefined, where: string): Uint8Array;
  /** Releases open files. */
  close(): void;
}

/** One external tensor's reference: its location, offset and length (undefined: to the end of the file). */
export interface ExternalRef {
  location: string;
  offset: number;
  length: number | undefined;
}

function decimal(v: string | null | undefined, key: string, where: string): number {
  if (typeof v !== 'string' || !/^\d{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new WhiteBoxError('INVALID_MODEL', `${where}: external data '${key}' must be a non-negative integer, got ${JSON.stringify(v)}`, { where, key });
  }
  return Number(v);
}

/**
 * A location normalized to '/'-separated segments, or an INVALID_MODEL error: it must be relative to the model's
 * directory and stay inside it (the ONNX spec's rule; ONNX Runtime enforces the same).
 */
export function normalizeLocation(location: string, where: string): string {
  const bad = (why: string): never => {
    throw new WhiteBoxError('INVALID_MODEL', `${where}: external data location ${JSON.stringify(location)} ${why}`, { where, location });
  };
  if (location.length === 0) bad('is empty');
  if (location.length > 4096) bad('is longer than 4,096 characters');
  if (location.includes('\0')) bad('contains a NUL character');
  if (location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location)) bad('is absolute; it must be relative to the model file\'s directory');
  const segments = location.split(/[/\\]+/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) bad('leads out of the model file\'s directory (\'..\')');
  if (segments.length === 0) bad('names no file');
  return segments.join('/');
}

/** Parses a tensor's external_data entries (location, offset, length; checksum and unknown keys are ignored). */
export function externalRef(t: ITensorProto, where: string): ExternalRef {
  const kv = new Map<string, string>();
  for (const e of t.externalData ?? []) {
    const key = e.key ?? '';
    if (kv.has(key)) throw new WhiteBoxError('INVALID_MODEL', `${where}: external data key '${key}' is given twice`, { where, key });
    kv.set(key, e.value ?? '');
  }
  const location = kv.get('location');
  if (location === undefined) throw new WhiteBoxError('INVALID_MODEL', `${where}: the tensor is stored externally but names no 'location'`, { where });
  return {
    location: normalizeLocation(location, where),
    offset: kv.has('offset') ? decimal(kv.get('offset'), 'offset', where) : 0,
    length: kv.has('length') ? decimal(kv.get('length'), 'length', where) : undefined,
  };
}

/** The length of [offset, offset + length) inside a file of `size` bytes (`length` undefined: to its end), or INVALID_MODEL naming the tensor. */
function rangeLength(offset: number, length: number | undefined, size: number, file: string, where: string, location: string): number {
  const len = length ?? size - offset;
  if (offset > size || len < 0 || offset + len > size) {
    throw new WhiteBoxError('INVALID_MODEL', `${where}: external data range [${offset.toLocaleString('en-US')}, ${(offset + (length ?? 0)).toLocaleString('en-US')}) is outside ${file} (${size.toLocaleString('en-US')} bytes)`, { where, location });
  }
  return len;
}

/** Options of inlineExternalData. */
export interface InlineExternalDataOptions {
  /** Most bytes read in all (LIMIT_EXCEEDED above it, before reading). */
  maxBytes: number;
  /** How to raise maxBytes, for the message. */
  raise?: string;
  /** Called with each tensor's bytes as read (loadModel hashes them). */
  onData?: (data: Uint8Array) => void;
}

/**
 * Reads every external tensor of `model` through `reader` into its raw data, in place, so that the rest of WhiteBox
 * sees an ordinary model. Without a reader, a model that has external tensors is INVALID_MODEL saying how to load
 * it. Returns the bytes read.
 */
export function inlineExternalData(model: IModelProto, reader: ExternalDataReader | undefined, source: string | undefined, options: InlineExternalDataOptions): number {
  const ext = externalTensorProtos(model);
  if (ext.length === 0) return 0;
  const inModel = source ? ` ${source}` : '';
  if (!reader) {
    throw new WhiteBoxError(
      'INVALID_MODEL',
      `ONNX model${inModel} stores ${ext.length} tensor${ext.length === 1 ? '' : 's'} in external data files (${ext.slice(0, 3).map((e) => e.where).join(', ')}${ext.length > 3 ? `, and ${ext.length - 3} more` : ''}); load it from its file path with the data files beside it, or pass their bytes as the externalData option`,
      { file: source, tensors: ext.slice(0, 20).map((e) => e.where) },
    );
  }
  const overLimit = (where: string) => new WhiteBoxError(
    'LIMIT_EXCEEDED',
    `ONNX model${inModel}: its external data exceeds the limit of ${options.maxBytes.toLocaleString('en-US')} bytes at ${where}${options.raise ? ` (${options.raise})` : ''}`,
    { file: source, limit: options.maxBytes },
  );
  let total = 0;
  for (const { t, where } of ext) {
    const ref = externalRef(t, where);
    // A stated length is checked before the read allocates it; one to the end of the file, after.
    if (ref.length !== undefined && total + ref.length > options.maxBytes) throw overLimit(where);
    const data = reader.read(ref.location, ref.offset, ref.length, where);
    total += data.byteLength;
    if (total > options.maxBytes) throw overLimit(where);
    options.onData?.(data);
    t.rawData = data;
    t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    t.externalData = [];
  }
  return total;
}

/** External data given as bytes (browsers, or bytes already in memory): `files` by the location the model names. */
export function memoryExternalDataReader(files: readonly { path: string; data: Uint8Array }[]): ExternalDataReader {
  const byPath = new Map<string, Uint8Array>();
  for (const f of files) {
    if (!f || typeof f.path !== 'string' || !(f.data instanceof Uint8Array)) {
      throw new WhiteBoxError('INVALID_ARGUMENT', 'externalData entries must be { path: string, data: Uint8Array }');
    }
    byPath.set(normalizeLocation(f.path, 'externalData option'), f.data);
  }
  return {
    read(location, offset, length, where) {
      const data = byPath.get(location);
      if (!data) {
        throw new WhiteBoxError('NOT_FOUND', `${where}: external data file '${location}' is not in the externalData option (it has ${[...byPath.keys()].slice(0, 10).join(', ') || 'no files'})`, { where, location });
      }
      const len = rangeLength(offset, length, data.byteLength, `'${location}'`, where, location);
      return data.subarray(offset, offset + len);
    },
    close() {},
  };
}

/** The synchronous subset of `node:fs` / `node:path` the file reader uses (injected: the package runs in browsers). */
export interface ExternalDataFs {
  realpathSync(p: string): string;
  openSync(p: string, flags: number): number;
  fstatSync(fd: number): { size: number; isFile(): boolean };
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  closeSync(fd: number): void;
  constants: { O_RDONLY: number; O_NONBLOCK?: number };
}
export interface ExternalDataPath {
  dirname(p: string): string;
  resolve(...p: string[]): string;
  sep: string;
}

/**
 * External data read from files beside `modelPath`. A location whose real path (symlinks resolved) is outside the
 * model's directory, a file that is not a regular file, or a range past its end is refused, naming the tensor.
 */
export function fileExternalDataReader(modelPath: string, fs: ExternalDataFs, path: ExternalDataPath): ExternalDataReader {
  const open = new Map<string, { fd: number; size: number }>();
  let dir: string | undefined;
  const file = (location: string, where: string) => {
    dir ??= fs.realpathSync(path.dirname(path.resolve(modelPath)));
    let real: string;
    try {
      real = fs.realpathSync(path.resolve(dir, location));
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new WhiteBoxError(code === 'ENOENT' || code === 'ENOTDIR' ? 'NOT_FOUND' : 'INVALID_MODEL', `${where}: external data file '${location}' beside ${modelPath} cannot be read (${code ?? (err as Error).message})`, { where, location, file: modelPath }, { cause: err });
    }
    if (!real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep)) {
      throw new WhiteBoxError('INVALID_MODEL', `${where}: external data file '${location}' resolves to ${real}, outside the model's directory ${dir} (a symbolic link?)`, { where, location, file: modelPath });
    }
    let f = open.get(real);
    if (!f) {
      let fd: number;
      try {
        fd = fs.openSync(real, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
      } catch (err) {
        throw new WhiteBoxError('INVALID_MODEL', `${where}: cannot open external data file ${real}: ${(err as { code?: string }).code ?? (err as Error).message}`, { where, location }, { cause: err });
      }
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        fs.closeSync(fd);
        throw new WhiteBoxError('INVALID_MODEL', `${where}: external data file ${real} is not a regular file`, { where, location });
      }
      f = { fd, size: st.size };
      open.set(real, f);
    }
    return { ...f, real };
  };
  return {
    read(location, offset, length, where) {
      const f = file(location, where);
      const len = rangeLength(offset, length, f.size, f.real, where, location);
      const buf = new Uint8Array(len);
      for (let got = 0; got < len;) {
        const n = fs.readSync(f.fd, buf, got, Math.min(len - got, 1 << 30), offset + got);
        if (n === 0) throw new WhiteBoxError('INVALID_MODEL', `${where}: external data file ${f.real} ended early (it shrank while being read)`, { where, location });
        got += n;
      }
      return buf;
    },
    close() {
      for (const f of open.values()) {
        try { fs.closeSync(f.fd); } catch { /* already closed */ }
      }
      open.clear();
    },
  };
}

/** Initializer bytes above which a session's model carries its weights as external data (protobuf caps a model at 2 GiB). */
export const SESSION_INLINE_WEIGHT_BYTES = 1.5 * 2 ** 30;
/** Largest external data file written for a session (a typed array and a write call stay well within their limits). */
const EXTERNAL_FILE_BYTES = 2 ** 30;
/** Tensors smaller than this stay inline. */
const EXTERNAL_MIN_TENSOR_BYTES = 1024;
const ALIGN = 4096;

/**
 * Moves the large raw-data initializers of `initializer` to external data files when their total exceeds
 * `maxInlineBytes` (files `<filePrefix>-<k>.bin`); returns the initializers to serialize (new objects for the moved ones) and the files (undefined
 * when everything stays inline). Only `rawData` tensors move; the original protos are not changed.
 */
export function externalizeInitializers(initializer: readonly ITensorProto[], maxInlineBytes: number, filePrefix = 'weights'): { initializer: ITensorProto[]; files?: ExternalDataFile[] } {
  const total = initializer.reduce((s, t) => s + (t.rawData?.byteLength ?? 0), 0);
  if (total <= maxInlineBytes) return { initializer: [...initializer] };
  const files: Array<{ path: string; parts: Uint8Array[]; size: number }> = [];
  const out: ITensorProto[] = [];
  for (const t of initializer) {
    const raw = t.rawData;
    if (!raw || raw.byteLength < EXTERNAL_MIN_TENSOR_BYTES) {
      out.push(t);
      continue;
    }
    let f = files[files.length - 1];
    if (!f || (f.size > 0 && f.size + raw.byteLength > EXTERNAL_FILE_BYTES)) {
      f = { path: `${filePrefix}-${files.length}.bin`, parts: [], size: 0 };
      files.push(f);
    }
    const pad = (ALIGN - (f.size % ALIGN)) % ALIGN;
    if (pad > 0) {
      f.parts.push(new Uint8Array(pad));
      f.size += pad;
    }
    out.push({
      name: t.name, dims: t.dims, dataType: t.dataType, docString: t.docString,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: f.path },
        { key: 'offset', value: String(f.size) },
        { key: 'length', value: String(raw.byteLength) },
      ],
    });
    f.parts.push(raw);
    f.size += raw.byteLength;
  }
  return { initializer: out, files: files.map(({ path, parts }) => ({ path, parts })) };
}
