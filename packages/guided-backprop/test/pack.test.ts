/**
 * Packaging: `pnpm pack` core, onnx, backend-node and every method package; `npm install` core + onnx +
 * backend-node + guided-backprop (with their third-party dependencies from the npm registry) into a
 * scratch project. Then each method in turn is unpacked alone into node_modules (what npm does for a
 * package without third-party dependencies; a full npm install per method costs ~10 s each), with only
 * the method packages it declares, explains an input, and is removed again. Proves each published
 * method is self-contained: a user installs only what they use.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BASE = ['core', 'onnx', 'backend-node'];

/** Each method: its extra packages (besides itself) and the script lines that build it for `model`. */
const METHODS: Record<string, { needs: string[]; make: string; opts?: string; channels?: number }> = {
  'vanilla-gradient': { needs: [], make: "new (await import('@whitebox/vanilla-gradient')).VanillaGradient(model)", opts: '{ abs: true }' },
  'input-x-gradient': { needs: [], make: "new (await import('@whitebox/input-x-gradient')).InputXGradient(model)" },
  deconvnet: { needs: [], make: "new (await import('@whitebox/deconvnet')).Deconvnet(model)" },
  'guided-backprop': { needs: [], make: "new (await import('@whitebox/guided-backprop')).GuidedBackprop(model)" },
  'integrated-gradients': { needs: [], make: "new (await import('@whitebox/integrated-gradients')).IntegratedGradients(model)", opts: '{ steps: 8 }' },
  'grad-cam': { needs: ['cam-utils'], make: "new (await import('@whitebox/grad-cam')).GradCam(model)", channels: 1 },
  'guided-grad-cam': { needs: ['guided-backprop', 'grad-cam', 'cam-utils'], make: "new (await import('@whitebox/guided-grad-cam')).GuidedGradCam(model)" },
  // Ablation-CAM runs the published onnx package's forwardFrom (the graph cut at the layer).
  'ablation-cam': { needs: ['cam-utils'], make: "new (await import('@whitebox/ablation-cam')).AblationCam(model)", opts: '{ batchSize: 4 }' },
  occlusion: { needs: [], make: "new (await import('@whitebox/occlusion')).Occlusion(model)" },
  // SmoothGrad alone wraps any Attribution: here a plain gradient written inline.
  smoothgrad: {
    needs: [],
    make: "new (await import('@whitebox/smoothgrad')).SmoothGrad({ name: 'grad', model, attribute: async (x, t) => (await model.gradients(x, t)).inputGradient }, { samples: 3, sigma: 0.1 })",
  },
};

// Async child processes: a synchronous one would block vitest's worker RPC for minutes.
const run = promisify(execFile);

async function registryReachable(): Promise<string | undefined> {
  try {
    await run('npm', ['ping', '--fetch-timeout=10000', '--fetch-retries=0'], { timeout: 30_000 });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return `npm registry unreachable (npm ping: ${(e.stderr || e.message).trim().split('\n').pop()})`;
  }
}

async function npm(app: string, args: string[]): Promise<void> {
  try {
    await run('npm', [...args, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app, timeout: 240_000, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
  } catch (err) {
    throw new Error(`npm ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? err}`);
  }
}

/** Unpacks a package tarball into node_modules/@whitebox/<name>. */
async function unpack(app: string, name: string, tarball: string): Promise<void> {
  const dir = join(app, 'node_modules', '@whitebox', name);
  mkdirSync(dir, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1']);
}

describe('packed packages install and run in a scratch project', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'wb-pack-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('core + onnx + backend-node + each method alone explain an input', async (ctx) => {
    const unreachable = await registryReachable();
    if (unreachable) {
      console.warn(`pack test skipped: ${unreachable}`);
      ctx.skip();
    }
    const all = [...new Set([...BASE, ...Object.keys(METHODS), ...Object.values(METHODS).flatMap((m) => m.needs)])];
    // Build (turbo: cached when `pnpm test` already built) and pack each package.
    await run('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only', ...all.map((p) => `--filter=@whitebox/${p}`)], { cwd: root });
    const tgz: Record<string, string> = {};
    for (const p of all) {
      const before = new Set(readdirSync(scratch));
      await run('pnpm', ['pack', '--pack-destination', scratch], { cwd: join(root, 'packages', p) });
      const made = readdirSync(scratch).filter((f) => f.endsWith('.tgz') && !before.has(f));
      expect(made, `pnpm pack of ${p}`).toHaveLength(1);
      tgz[p] = join(scratch, made[0]!);
    }
    const app = join(scratch, 'app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
    await npm(app, ['install', '--prefer-offline', ...[...BASE, 'guided-backprop'].map((p) => tgz[p]!)]);
    rmSync(join(app, 'node_modules', '@whitebox', 'guided-backprop'), { recursive: true });
    for (const [method, spec] of Object.entries(METHODS)) {
      const pkgs = [method, ...spec.needs];
      for (const p of pkgs) await unpack(app, p, tgz[p]!);
      const installed = readdirSync(join(app, 'node_modules', '@whitebox')).sort();
      expect(installed, method).toEqual([...BASE, ...pkgs].sort());
      // The published manifest depends on released versions, never on workspace:* ranges.
      const manifest = JSON.parse(readFileSync(join(app, 'node_modules', '@whitebox', method, 'package.json'), 'utf8'));
      expect(Object.keys(manifest.dependencies).sort(), method).toEqual(['@whitebox/core', ...spec.needs.map((p) => `@whitebox/${p}`)].sort());
      expect(JSON.stringify(manifest.dependencies)).not.toContain('workspace:');
      writeFileSync(join(app, 'explain.mjs'), `
        import '@whitebox/backend-node';
        import { buildSimpleCnn, loadModel, randomImages } from '@whitebox/onnx';
        const model = await loadModel(buildSimpleCnn({ channels: 1, height: 28, width: 28, widths: [4, 8, 8], hidden: 16, seed: 1 }), { backend: 'node', threads: 1 });
        const method = ${spec.make};
        const x = randomImages(2, 1, 28, 28, 3);
        const maps = await method.attribute(x, [0, 1], ${spec.opts ?? '{}'});
        let nonzero = 0, finite = true;
        for (let i = 0; i < maps.size; i++) { if (maps.data[i] !== 0) nonzero++; if (!Number.isFinite(maps.data[i])) finite = false; }
        let err = '';
        try { await method.attribute(x, 10); } catch (e) { err = e.code; }
        console.log(JSON.stringify({ dims: maps.dims, nonzero, finite, err }));
        await model.dispose();
      `);
      let stdout: string;
      try {
        ({ stdout } = await run('node', ['explain.mjs'], { cwd: app, timeout: 120_000 }));
      } catch (err) {
        throw new Error(`${method}: scratch script failed: ${(err as { stderr?: string }).stderr ?? err}`);
      }
      const out = JSON.parse(stdout.trim().split('\n').pop()!);
      expect(out.dims, method).toEqual([2, 1, 28, 28]);
      expect(out.finite, method).toBe(true);
      expect(out.nonzero, method).toBeGreaterThan(20);
      expect(out.err, method).toBe('TARGET_OUT_OF_RANGE');
      for (const p of pkgs) rmSync(join(app, 'node_modules', '@whitebox', p), { recursive: true });
    }
  }, 420_000);
});
