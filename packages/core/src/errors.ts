/**
 * Every error WhiteBox raises on bad input is a WhiteBoxError with a stable `code`
 * and a message that names what is wrong and where (file, node, op, shape).
 */
export type WhiteBoxErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SHAPE_MISMATCH'
  | 'TARGET_OUT_OF_RANGE'
  | 'INVALID_MODEL'
  | 'UNSUPPORTED_OP'
  | 'BACKEND_UNAVAILABLE'
  | 'INVALID_DATA'
  | 'CHECKSUM_MISMATCH'
  | 'NOT_FOUND'
  | 'RUNTIME_ERROR'
  /** A NaN or infinite value where a finite one is required (weights, logits, maps, scores). */
  | 'NON_FINITE'
  /** A size above a documented limit (steps, samples, pixels, bytes, threads); the message says how to raise it. */
  | 'LIMIT_EXCEEDED'
  /** A network or file operation that did not finish in time. */
  | 'TIMEOUT'
  /** A service (Redis) cannot be reached. */
  | 'UNREACHABLE'
  /** Shared state belongs to another run (a job queue holding another model's jobs). */
  | 'CONFLICT'
  /** Two processes of different WhiteBox versions meet (a worker and its queue). */
  | 'VERSION_MISMATCH';

/** The error every WhiteBox package throws: a stable `code` to branch on, a message, and structured `details`. */
export class WhiteBoxError extends Error {
  readonly code: WhiteBoxErrorCode;
  /** Structured context: file, node, op, shape, ... */
  readonly details: Record<string, unknown>;

  constructor(code: WhiteBoxErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.name = 'WhiteBoxError';
    this.code = code;
    this.details = details;
  }
}

/**
 * A message on one line: names read from a corrupt file (a node name with newlines and control bytes) or raw
 * multi-line runtime text would otherwise break the message apart; line breaks become spaces, other control
 * characters \\xNN escapes; messages over 2,000 characters (a 10,000-character node name) keep their start and end.
 */
function oneLine(message: string): string {
  let s = String(message);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) s = s.replace(/\s*[\r\n]+\s*/g, ' ').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  // A name of thousands of characters from a hostile file would bury the rest of the message.
  if (s.length > MAX_MESSAGE) s = `${s.slice(0, MAX_MESSAGE - 200)} … (${(s.length - MAX_MESSAGE + 200).toLocaleString('en-US')} characters cut) … ${s.slice(-200)}`;
  return s;
}

/** Longest message, in characters: longer ones keep their start and end. */
const MAX_MESSAGE = 2000;

/** A {@link WhiteBoxError} with code INVALID_ARGUMENT. */
export function invalidArgument(message: string, details: Record<string, unknown> = {}): WhiteBoxError {
  return new WhiteBoxError('INVALID_ARGUMENT', message, details);
}

/** Throws INVALID_ARGUMENT unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string), details: Record<string, unknown> = {}): asserts condition {
  if (!condition) throw invalidArgument(typeof message === 'function' ? message() : message, details);
}

/**
 * A value as a message shows it after "got": numbers and booleans as themselves, strings quoted, arrays and plain
 * objects as short JSON, other objects by class ("a Float64Array"): never "[object Object]".
 */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'function') return 'a function';
  const name = (v as object).constructor?.name;
  if (Array.isArray(v) || !name || name === 'Object') {
    let json: string | undefined;
    try { json = JSON.stringify(v); } catch { json = undefined; }
    if (json !== undefined) return json.length > 80 ? `${json.slice(0, 80)}…` : json;
    return Array.isArray(v) ? 'an array' : 'an object';
  }
  return `a ${name}`;
}
