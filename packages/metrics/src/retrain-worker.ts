// Worker thread of simpleCnnRetrainer: trains one SimpleCNN per message and answers with the test accuracy.
import { parentPort } from 'node:worker_threads';
// Loaded when the worker starts (with the main process), not at the first job minutes later.
import '@whitebox/train';
import { trainOnce, type RetrainJob } from './retrain.js';

parentPort!.on('message', async (job: RetrainJob & { id: number }) => {
  try {
    const accuracy = await trainOnce(job);
    parentPort!.postMessage({ id: job.id, ok: true, accuracy });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, ok: false, error: (err as Error)?.stack ?? String(err), code: (err as { code?: string }).code });
  }
});
