/**
 * Release dry run (#16): on a throwaway copy of the workspace (package folders without node_modules, the root
 * manifests and .changeset/, never the real tree), `changeset version` with a patch changeset for every published
 * package, then `pnpm -r pack` and — when the npm registry answers — `pnpm publish -r --dry-run`. Every tarball must
 * hold its dist (JavaScript and types, every `exports`/`bin` target), README.md, LICENSE and package.json with the
 * bumped version and no workspace: ranges, and nothing from src/ or test/.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs script without types
import { publishedPackages } from '../../scripts/package-metadata.mjs';
import { registryReachable } from './registry.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const published: string[] = publishedPackages();
/** pnpm filters selecting exactly the published packages (private ones, like bench, stay out). */
const FILTERS = published.map((d) => `--filter=@whitebox/${d}`);

/** A copy of the workspace a release touches; node_modules only as links to the workspace packages. */
function copyWorkspace(dest: string): void {
  for (const f of ['package.json', 'pnpm-workspace.yaml', 'LICENSE']) cpSync(join(root, f), join(dest, f));
  cpSync(join(root, '.changeset'), join(dest, '.changeset'), { recursive: true });
  // changeset's changelog generator resolves from the copy: the workspace's installed tools, read-only.
  symlinkSync(join(root, 'node_modules'), join(dest, 'node_modules'));
  for (const group of ['packages', 'apps']) {
    for (const d of readdirSync(join(root, group))) {
      if (!existsSync(join(root, group, d, 'package.json'))) continue;
      cpSync(join(root, group, d), join(dest, group, d), {
        recursive: true,
        filter: (src) => !/[\\/](node_modules|\.turbo|test-results)$/.test(src),
      });
    }
  }
  // pnpm resolves workspace:* from each package's node_modules: link the copy's own packages there.
  for (const d of readdirSync(join(dest, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(dest, 'packages', d, 'package.json'), 'utf8'));
    for (const [dep, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies } as Record<string, string>)) {
      if (!range.startsWith('workspace:')) continue;
      mkdirSync(join(dest, 'packages', d, 'node_modules', '@whitebox'), { recursive: true });
      symlinkSync(join('..', '..', '..', dep.replace('@whitebox/', '')), join(dest, 'packages', d, 'node_modules', dep));
    }
  }
}

describe('release dry run on a throwaway copy', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'wb-release-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('changeset version, pack and publish --dry-run: every tarball complete, nothing from src/ or test/', async () => {
    const status = async () => (await run('git', ['status', '--porcelain', '--', 'packages', 'apps', '.changeset', 'package.json'], { cwd: root })).stdout;
    const before = await status();
    await run('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only', ...FILTERS], { cwd: root, timeout: 600_000 });
    const ws = join(scratch, 'ws');
    mkdirSync(ws);
    copyWorkspace(ws);
    const old: Record<string, string> = {};
    for (const d of published) old[d] = JSON.parse(readFileSync(join(ws, 'packages', d, 'package.json'), 'utf8')).version;

    writeFileSync(join(ws, '.changeset', 'release-dry-run.md'), `---\n${published.map((d) => `"@whitebox/${d}": patch`).join('\n')}\n---\n\nRelease dry run.\n`);
    await run('node', [join(root, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], { cwd: ws, timeout: 120_000 });
    const version: Record<string, string> = {};
    for (const d of published) {
      version[d] = JSON.parse(readFileSync(join(ws, 'packages', d, 'package.json'), 'utf8')).version;
      expect(version[d], `${d} bumped`).not.toBe(old[d]);
      expect(readFileSync(join(ws, 'packages', d, 'CHANGELOG.md'), 'utf8'), d).toContain(version[d]);
    }
    // linked: one version for every @whitebox package.
    expect(new Set(Object.values(version)).size).toBe(1);
    expect(existsSync(join(ws, '.changeset', 'release-dry-run.md'))).toBe(false);

    const out = join(scratch, 'tarballs');
    mkdirSync(out);
    const { stdout } = await run('pnpm', ['-r', ...FILTERS, 'pack', '--json', '--pack-destination', out], { cwd: ws, timeout: 300_000, maxBuffer: 64 << 20 });
    const packs = JSON.parse(stdout) as { name: string; version: string; filename: string; files: { path: string }[] }[];
    expect(packs.map((p) => p.name).sort()).toEqual(published.map((d) => `@whitebox/${d}`).sort());
    for (const p of packs) {
      const dir = p.name.replace('@whitebox/', '');
      expect(p.version, p.name).toBe(version[dir]);
      const listing = (await run('tar', ['-tzf', p.filename])).stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
      for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) expect(listing, `${p.name} has ${f}`).toContain(f);
      expect(listing.filter((f) => /^(src|test|tests|fixtures)\//.test(f) || /(^|\/)(tsconfig\.json|.*\.tsbuildinfo|.*\.test\.[jt]s)$/.test(f)), `${p.name}: src/test files`).toEqual([]);
      expect(listing.filter((f) => !/^(dist\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/.test(f)), `${p.name}: unexpected files`).toEqual([]);
      expect(listing.some((f) => /^dist\/.*\.d\.ts$/.test(f)) && listing.some((f) => /^dist\/.*\.js$/.test(f))).toBe(true);
      const manifest = JSON.parse((await run('tar', ['-xOzf', p.filename, 'package/package.json'])).stdout);
      expect(JSON.stringify(manifest), `${p.name} manifest`).not.toContain('workspace:');
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) if (dep.startsWith('@whitebox/')) expect(range, `${p.name} → ${dep}`).toBe(version[dep.replace('@whitebox/', '')]);
      for (const target of [...Object.values(manifest.exports as Record<string, string | Record<string, string>>).flatMap((t) => typeof t === 'string' ? [t] : Object.values(t)), ...Object.values(manifest.bin ?? {}) as string[]]) {
        expect(listing, `${p.name}: ${target}`).toContain(target.replace(/^\.\//, ''));
      }
      expect((await run('tar', ['-xOzf', p.filename, 'package/LICENSE'])).stdout).toBe(readFileSync(join(root, 'LICENSE'), 'utf8'));
    }

    if (await registryReachable()) {
      // Reads each package's published versions from the registry (none is published yet) and runs npm publish --dry-run.
      const pub = await run('pnpm', ['publish', '-r', '--dry-run', '--no-git-checks', ...FILTERS], { cwd: ws, timeout: 600_000, maxBuffer: 64 << 20 });
      const text = pub.stdout + pub.stderr;
      const done = [...text.matchAll(/^\+ (@whitebox\/[a-z0-9-]+)@(\S+)$/gm)].map((m) => `${m[1]}@${m[2]}`).sort();
      expect(done).toEqual(published.map((d) => `@whitebox/${d}@${version[d]}`).sort());
      expect(text).toContain('(dry-run)');
    } else {
      console.warn('release dry run: npm registry unreachable, pnpm publish --dry-run skipped (pack checks ran)');
    }
    // The real tree is untouched.
    expect(await status()).toBe(before);
  }, 900_000);
});
