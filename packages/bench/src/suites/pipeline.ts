import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSimpleCnn } from '@whitebox/onnx';
import type { BenchTable, Suite } from '../harness.js';

const BIN = fileURLToPath(new URL('../../../cli/dist/bin.js', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../../../models/mnist-simplecnn.onnx', import.meta.url));
const STAGE_ORDER = ['coherence', 'selectivity', 'road', 'sanity', 'metrics', 'roar-maps', 'roar-kar', 'report'];

interface RunTiming {
  wall: number;
  stages: Record<string, number>;
  cpu: Record<string, number>;
  settings: Record<string, unknown>;
}

/** One `whitebox run` on MNIST in a child process, with a fresh map cache; its per-stage timings from results.json. */
function runPipeline(scale: string, model: string): Promise<RunTiming> {
  const dir = mkdtempSync(join(os.tmpdir(), `wb-bench-pipeline-${scale}-`));
  const out = join(dir, 'report');
  const args = [BIN, 'run', '--dataset', 'mnist', '--scale', scale, '--model', model, '--out', out, '--cache-dir', join(dir, 'cache'), '--quiet'];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - t0) / 1000;
      try {
        if (code !== 0) throw new Error(`whitebox run --scale ${scale} exited with ${code}: ${err}`);
        const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { meta: { timings: Record<string, number>; cpuTimings?: Record<string, number>; settings: Record<string, unknown> } };
        resolve({ wall, stages: json.meta.timings, cpu: json.meta.cpuTimings ?? {}, settings: json.meta.settings });
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

export const suite: Suite = {
  name: 'pipeline',
  async run({ quick }) {
    let model = SHIPPED;
    let modelNote = 'the shipped models/mnist-simplecnn.onnx';
    if (!existsSync(SHIPPED)) {
      model = join(mkdtempSync(join(os.tmpdir(), 'wb-bench-model-')), 'random-simplecnn.onnx');
      writeFileSync(model, buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 1 }));
      modelNote = 'a random-weight SimpleCNN (the shipped model was missing): same architecture and cost';
    }
    const scales = quick ? ['quick'] : ['quick', 'standard'];
    const load = os.loadavg()[0]!.toFixed(1);
    const runs: Array<[string, RunTiming]> = [];
    for (const s of scales) {
      process.stderr.write(`bench pipeline: whitebox run --scale ${s}...\n`);
      runs.push([s, await runPipeline(s, model)]);
    }
    const table: BenchTable = {
      title: 'Main job on MNIST: seconds per stage (`whitebox run`, what `pnpm start` runs)',
      notes: `One run per scale of \`node packages/cli/dist/bin.js run --dataset mnist --scale <scale>\` with ${modelNote}, a fresh map cache (so ROAR/KAR maps are computed, not read), 2 retraining worker threads. Stages as timed by the pipeline itself: wall seconds, and CPU seconds of the process and its retraining worker threads (robust to other load; on an idle 2-core machine wall ≈ CPU for single-threaded stages and ≈ CPU / 2 for the 2-worker retraining). "total" wall is the child process's, including model and data loading. 1-min load average when the suite started: ${load} (other work on the machine slows every stage).`,
      columns: ['stage', ...scales.flatMap((s) => [`${s}: wall s`, `${s}: CPU s`])],
      rows: [
        ...STAGE_ORDER.map((st) => [st, ...runs.flatMap(([, r]) => [(r.stages[st] ?? 0).toFixed(1), (r.cpu[st] ?? 0).toFixed(1)])]),
        ['total', ...runs.flatMap(([, r]) => [r.wall.toFixed(1), Object.values(r.cpu).reduce((a, b) => a + b, 0).toFixed(1)])],
      ],
    };
    const sizes: BenchTable = {
      title: 'Main job sizes per scale',
      columns: ['setting', ...scales],
      rows: ['selectivitySamples', 'selectivitySteps', 'roadSamples', 'sanitySamples', 'metricSamples', 'roarTrain', 'roarTest', 'fractions', 'seeds', 'epochs', 'retrainWidths'].map((k) => [k, ...runs.map(([, r]) => JSON.stringify(r.settings[k] ?? 'all').replace(/\|/g, '/'))]),
    };
    return { suite: 'pipeline', tables: [table, sizes] };
  },
};
