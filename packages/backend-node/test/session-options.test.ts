// Session options and runtime errors through loadModel and the backends: named, early, one line.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS, Tensor, resolveBackend } from '@whitebox/core';
import '@whitebox/backend-node';
import '@whitebox/backend-web';
import { buildSimpleCnn, loadModel } from '@whitebox/onnx';
import { VanillaGradient } from '@whitebox/vanilla-gradient';
import { GradCam } from '@whitebox/grad-cam';

const small = () => buildSimpleCnn({ channels: 1, height: 8, width: 8, seed: 3, widths: [2, 2, 2], hidden: 4 });

describe('loadModel session options', () => {
  it("'bogus' optimization level, device 'gpu' and 5000 threads are named before any session is made", async () => {
    await expect(loadModel(small(), { graphOptimizationLevel: 'bogus' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/unknown graphOptimizationLevel 'bogus'/) });
    await expect(loadModel(small(), { device: 'gpu' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/unknown device 'gpu' \(known: cpu, cuda, wasm, webgpu/) });
    await expect(loadModel(small(), { threads: 5000 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await expect(loadModel(small(), { batchSize: LIMITS.batchSize + 1 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    for (const backend of ['node', 'web'] as const) {
      await expect(resolveBackend({ backend }).createSession(small(), { graphOptimizationLevel: 'bogus' as never }), backend).rejects.toThrow(/unknown graphOptimizationLevel 'bogus'/);
      await expect(resolveBackend({ backend }).createSession(small(), { threads: 100_000 }), backend).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    }
  });

  it('a Float64Array input is named as Float64Array (it used to be reported as int64)', async () => {
    const model = await loadModel(small(), { threads: 1 });
    try {
      expect(() => new Tensor(new Float64Array(64) as unknown as Float32Array, [1, 1, 8, 8])).toThrow(/got Float64Array/);
    } finally {
      await model.dispose();
    }
  });

  it('profileFilePrefix reaches the session: the profile is written under it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-profile-'));
    try {
      const prefix = join(dir, 'myprefix');
      const model = await loadModel(small(), { threads: 1, enableProfiling: true, profileFilePrefix: prefix });
      await model.forward(Tensor.zeros([1, 1, 8, 8]));
      await model.dispose();
      // Releasing the session ends profiling and writes <prefix>_<time>.json.
      const files = readdirSync(dir).filter((f) => f.startsWith('myprefix_') && f.endsWith('.json'));
      expect(files.length).toBe(1);
      expect(existsSync(join(process.cwd(), 'whitebox-profile'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runtime errors name the session and are one line', async () => {
    const session = await resolveBackend({ backend: 'node' }).createSession(small());
    try {
      const err = await session.run({ input: Tensor.zeros([1, 1, 8, 7]) }).catch((e: Error) => e);
      expect(err).toMatchObject({ code: 'RUNTIME_ERROR' });
      expect((err as Error).message).toMatch(/^onnxruntime-node \(cpu\) failed to run the model \(\d[\d,]* bytes\) with inputs \{input: \[1, 1, 8, 7\]\}: Got invalid dimensions/);
      expect((err as Error).message).not.toContain('\n');
    } finally {
      await session.release();
    }
  });
});

describe('progress of single-pass methods over large inputs', () => {
  it('VanillaGradient and Grad-CAM report after every runtime batch, not only at the end', async () => {
    const model = await loadModel(small(), { threads: 1, batchSize: 16 });
    try {
      const x = Tensor.zeros([100, 1, 8, 8]);
      for (const method of [new VanillaGradient(model), new GradCam(model)]) {
        const seen: number[] = [];
        await method.attribute(x, 0, { onProgress: (p) => { seen.push(p.done); expect(p.total).toBe(100); } });
        const distinct = [...new Set(seen)];
        expect(distinct, method.name).toEqual([0, 16, 32, 48, 64, 80, 96, 100]);
      }
    } finally {
      await model.dispose();
    }
  });
});
