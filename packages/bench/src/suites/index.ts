import type { Suite } from '../harness.js';

/** Suites run by `pnpm bench`, in order. Each suite's `name` is its BENCHMARKS.md section title. */
export const suites: Suite[] = [];
