/** Progress of long work; `total` counts the same units as `done`. */
export interface Progress {
  done: number;
  total: number;
  stage?: string;
}
export type ProgressCallback = (progress: Progress) => void;
