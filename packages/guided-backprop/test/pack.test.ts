/**
 * Packaging: `pnpm pack` core, onnx, backend-node and this method, install the tarballs (plus their
 * third-party dependencies from the npm registry) into a scratch project, and explain an input
 * there. Proves the published packages are self-contained: a user installs only what they use.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PACKAGES = ['core', 'onnx', 'backend-node', 'guided-backprop'];

function registryReachable(): string | undefined {
  const r = spawnSync('npm', ['ping', '--fetch-timeout=10000', '--fetch-retries=0'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? undefined : `npm registry unreachable (npm ping: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()})`;
}

describe('packed packages install and run in a scratch project', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'wb-pack-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('core + onnx + backend-node + guided-backprop explain an input', async (ctx) => {
    const unreachable = registryReachable();
    if (unreachable) {
      console.warn(`pack test skipped: ${unreachable}`);
      ctx.skip();
    }
    // Build (turbo: cached when `pnpm test` already built) and pack each package.
    execFileSync('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only', ...PACKAGES.map((p) => `--filter=@whitebox/${p}`)], { cwd: root, stdio: 'pipe' });
    const tarballs: string[] = [];
    for (const p of PACKAGES) {
      const before = new Set(readdirSync(scratch));
      execFileSync('pnpm', ['pack', '--pack-destination', scratch], { cwd: join(root, 'packages', p), stdio: 'pipe' });
      const made = readdirSync(scratch).filter((f) => f.endsWith('.tgz') && !before.has(f));
      expect(made, `pnpm pack of ${p}`).toHaveLength(1);
      tarballs.push(join(scratch, made[0]!));
    }
    const app = join(scratch, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
    const install = spawnSync('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], {
      cwd: app, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
    expect(install.status, `npm install failed: ${install.stderr}`).toBe(0);
    const installed = readdirSync(join(app, 'node_modules', '@whitebox')).sort();
    expect(installed).toEqual(['backend-node', 'core', 'guided-backprop', 'onnx']);
    writeFileSync(join(app, 'explain.mjs'), `
      import '@whitebox/backend-node';
      import { buildSimpleCnn, loadModel, randomImages } from '@whitebox/onnx';
      import { GuidedBackprop, guidedBackprop } from '@whitebox/guided-backprop';
      const model = await loadModel(buildSimpleCnn({ channels: 1, height: 28, width: 28, widths: [4, 8, 8], hidden: 16, seed: 1 }), { backend: 'node', threads: 1 });
      const x = randomImages(2, 1, 28, 28, 3);
      const maps = await new GuidedBackprop(model).attribute(x, [0, 1]);
      const again = await guidedBackprop(model).attribute(x, [0, 1]);
      let nonzero = 0, finite = true, same = true;
      for (let i = 0; i < maps.size; i++) { if (maps.data[i] !== 0) nonzero++; if (!Number.isFinite(maps.data[i])) finite = false; if (maps.data[i] !== again.data[i]) same = false; }
      let err = '';
      try { await new GuidedBackprop(model).attribute(x, 10); } catch (e) { err = e.code; }
      console.log(JSON.stringify({ dims: maps.dims, nonzero, finite, same, err }));
      await model.dispose();
    `);
    const run = spawnSync('node', ['explain.mjs'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, `scratch script failed: ${run.stderr}`).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(out.dims).toEqual([2, 1, 28, 28]);
    expect(out.finite).toBe(true);
    expect(out.same).toBe(true);
    expect(out.nonzero).toBeGreaterThan(50);
    expect(out.err).toBe('TARGET_OUT_OF_RANGE');
    expect(existsSync(join(app, 'node_modules', 'onnxruntime-node'))).toBe(true);
  }, 420_000);
});
