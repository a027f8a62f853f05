import { WhiteBoxError, type WhiteBoxErrorCode } from './errors.js';

/** The synchronous subset of `node:fs` that `readFileCapped` uses (injected, so that core never imports Node built-ins). */
export interface CappedReadFs {
  /** Opens a file (as `fs.openSync`), returning a descriptor. */
  openSync(path: string, flags: number): number;
  /** Stats a descriptor (as `fs.fstatSync`). */
  fstatSync(fd: number): {
    size: number;
    /** Whether it is a regular file. */
    isFile(): boolean;
    /** Whether it is a directory. */
    isDirectory(): boolean;
    /** Whether it is a FIFO. */
    isFIFO(): boolean;
    /** Whether it is a character device. */
    isCharacterDevice(): boolean;
    /** Whether it is a block device. */
    isBlockDevice(): boolean;
    /** Whether it is a socket. */
    isSocket(): boolean;
  };
  /** Reads into `buffer` (as `fs.readSync`), returning the bytes read. */
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  /** Closes a descriptor (as `fs.closeSync`). */
  closeSync(fd: number): void;
  constants: { O_RDONLY: number; O_NONBLOCK?: number };
}

/** Options of `readFileCapped`: the size limit and how messages name the file. */
export interface ReadFileCappedOptions {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** What the file is, for messages: 'ONNX model', 'data file'. */
  what: string;
  /** How to accept a larger file, e.g. 'pass maxModelBytes'. */
  raise?: string;
}

function kind(st: ReturnType<CappedReadFs['fstatSync']>): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a whole regular file with a size cap: never blocks on a FIFO (opened non-blocking), never reads endlessly
 * from a device (/dev/zero, /dev/urandom) or a directory, and refuses files above `maxBytes` before reading them.
 * Errors are WhiteBoxErrors naming the file: NOT_FOUND, INVALID_ARGUMENT (not a regular file, unreadable),
 * LIMIT_EXCEEDED (too large).
 */
export function readFileCapped(fs: CappedReadFs, path: string, options: ReadFileCappedOptions): Uint8Array {
  const { maxBytes, what } = options;
  if (typeof path !== 'string' || path === '') {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${what} path must be a non-empty string, got ${JSON.stringify(path)}`, { file: path });
  }
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as { code?: string }).code;
    const errorCode: WhiteBoxErrorCode = code === 'ENOENT' || code === 'ENOTDIR' ? 'NOT_FOUND' : 'INVALID_ARGUMENT';
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
    throw new WhiteBoxError(errorCode, `cannot read ${what} ${path}: ${why}${code ? ` (${code})` : ''}`, { file: path, code }, { cause: err });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw new WhiteBoxError('INVALID_ARGUMENT', `cannot read ${what} ${path}: it is ${kind(st)}, not a regular file`, { file: path });
    }
    const limitError = (size: string) => new WhiteBoxError(
      'LIMIT_EXCEEDED',
      `${what} ${path} is ${size} bytes, above the limit of ${maxBytes.toLocaleString('en-US')} bytes${options.raise ? ` (${options.raise})` : ''}`,
      { file: path, limit: maxBytes },
    );
    if (st.size > maxBytes) throw limitError(st.size.toLocaleString('en-US'));
    // One byte more than the stat size detects a file that grows while being read.
    const buf = new Uint8Array(st.size + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        throw limitError(`more than ${st.size.toLocaleString('en-US')} (it grew while being read)`);
      }
      let n: number;
      try {
        n = fs.readSync(fd, buf, got, buf.length - got, null);
      } catch (err) {
        throw new WhiteBoxError('INVALID_ARGUMENT', `cannot read ${what} ${path}: ${(err as Error).message}`, { file: path }, { cause: err });
      }
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** The synchronous subset of `node:fs` that `makeDirs` uses (injected, as for readFileCapped). */
export interface MakeDirsFs {
  /** Whether the path exists (as `fs.existsSync`). */
  existsSync(path: string): boolean;
  /** Creates one directory (as `fs.mkdirSync`). */
  mkdirSync(path: string, options?: { recursive?: boolean }): unknown;
  /** Stats a path (as `fs.statSync`). */
  statSync(path: string): {
    /** Whether it is a directory. */
    isDirectory(): boolean;
  };
}

/**
 * Creates directory `dir` and its missing parents one level at a time. Node's `mkdirSync(dir, { recursive: true })`
 * loops forever under /proc (mkdir answers ENOENT for a parent that exists, and it retries), which hung
 * `whitebox explain --out /proc/x`; here every failure is INVALID_ARGUMENT naming the directory, `what` it is for
 * (e.g. "--out") and the system's code (ENOENT, EACCES, EROFS, ENOTDIR).
 */
export function makeDirs(fs: MakeDirsFs, dir: string, what: string): void {
  if (typeof dir !== 'string' || dir === '') throw new WhiteBoxError('INVALID_ARGUMENT', `${what}: the directory path is empty`, { dir });
  const missing: string[] = [];
  let cur = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
  for (let depth = 0; depth < 4096 && cur !== '' && !fs.existsSync(cur); depth++) {
    missing.push(cur);
    const cut = cur.lastIndexOf('/');
    cur = cut > 0 ? cur.slice(0, cut) : cut === 0 ? '/' : '';
  }
  if (cur !== '' && !fs.statSync(cur).isDirectory()) {
    throw new WhiteBoxError('INVALID_ARGUMENT', `${what} '${dir}': '${cur}' exists and is not a directory`, { dir });
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EEXIST' && fs.statSync(d).isDirectory()) continue;
      throw new WhiteBoxError('INVALID_ARGUMENT', `${what} '${dir}': cannot create directory ${d} (${code ?? (err as Error).message})`, { dir, code }, { cause: err });
    }
  }
}
