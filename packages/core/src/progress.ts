/** Progress of long work; `total` counts the same units as `done`. */
export interface Progress {
  done: number;
  total: number;
  stage?: string;
}
/** Receives progress reports of long work. */
export type ProgressCallback = (progress: Progress) => void;
