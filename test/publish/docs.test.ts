/**
 * API reference (#16): TypeDoc (typedoc.config.mjs, what `pnpm docs` runs) builds one module page per published
 * package with every exported symbol documented — `validation.notDocumented` with `treatWarningsAsErrors`, so an
 * undocumented export fails. Proven on a fixture package with a deliberately undocumented export.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs script without types
import { publishedPackages } from '../../scripts/package-metadata.mjs';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

async function typedocRun(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('node', [typedoc, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 600_000, maxBuffer: 64 << 20 });
    return { code: 0, output: strip(stdout + stderr) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: strip((e.stdout ?? '') + (e.stderr ?? '') || e.message) };
  }
}

describe('API reference', () => {
  const out = mkdtempSync(join(tmpdir(), 'wb-docs-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('builds with no warnings: every export of every published package documented, one page per package', async () => {
    const { code, output } = await typedocRun(['--out', out]);
    expect(output.split('\n').filter((l) => /warning|error/i.test(l) && !/Found 0 errors and 0 warnings/.test(l)), output.slice(-4000)).toEqual([]);
    expect(code).toBe(0);
    for (const d of publishedPackages() as string[]) {
      const page = join(out, 'modules', `_whitebox_${d}.html`);
      expect(existsSync(page), `docs page of @whitebox/${d}`).toBe(true);
      expect(readFileSync(page, 'utf8')).toContain(`@whitebox/${d}`);
    }
  }, 600_000);

  it('fails on a deliberately undocumented export (fixture package)', async () => {
    const { code, output } = await typedocRun(
      ['--emit', 'none', '--tsconfig', 'test/publish/fixtures/undocumented/tsconfig.json'],
      { WHITEBOX_DOCS_PACKAGES: 'test/publish/fixtures/undocumented' },
    );
    expect(code, output).not.toBe(0);
    expect(output).toMatch(/undocumentedExport \(CallSignature\), defined in .* does not have any documentation/);
    expect(output).not.toMatch(/(^|[^a-zA-Z])documentedExport \(/m);
  }, 300_000);
});
