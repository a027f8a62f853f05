/**
 * npm readiness of every published package (#16): the root LICENSE copied unchanged into each package and listed in
 * `files`; description, keywords, repository with directory, homepage, bugs, engines, publishConfig.access;
 * `exports` with `types` first; and `sideEffects` matching the compiled modules (a module with top-level statements
 * other than declarations — a registration call, a bare import — must be listed; `false` only when there is none).
 * scripts/package-metadata.mjs writes these fields; this test says which package drifted.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs script without types
import { PACKAGES, expected, publishedPackages } from '../../scripts/package-metadata.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const LICENSE = readFileSync(join(root, 'LICENSE'), 'utf8');
const published: string[] = publishedPackages();

/**
 * Top-level statements that only fill module-private state (dropping the module when none of its exports is used
 * loses nothing). Keyed by package and dist module; the value says why it is pure.
 */
const PURE: Record<string, string> = {
  'smoothgrad ./dist/index.js': 'a block filling the module\'s own Ziggurat tables (KN, WN, FN) for the normal sampler',
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** Source modules (as their ./dist/….js paths) with import-time side effects, each with the first such statement. */
export function sideEffectModules(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of tsFiles(join(dir, 'src'))) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    for (const s of sf.statements) {
      const bare = ts.isImportDeclaration(s) && !s.importClause;
      const statement = !(ts.isImportDeclaration(s) || ts.isExportDeclaration(s) || ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)
        || ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s) || ts.isEnumDeclaration(s) || ts.isModuleDeclaration(s)
        || ts.isVariableStatement(s) || ts.isExportAssignment(s) || ts.isEmptyStatement(s));
      if ((bare || statement) && !(ts.isBlock(s) && PURE[`${dir.split('/').pop()} ./dist/${relative(join(dir, 'src'), file).replace(/\.ts$/, '.js')}`])) {
        out.set('./dist/' + relative(join(dir, 'src'), file).replace(/\.ts$/, '.js'), s.getText().slice(0, 60));
        break;
      }
    }
  }
  return out;
}

function matches(pattern: string, path: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '.*') + '$');
  return re.test(path);
}

describe('package metadata', () => {
  it('the root LICENSE is MIT, WhiteBox contributors 2026', () => {
    expect(LICENSE).toMatch(/^MIT License\n\nCopyright \(c\) 2026 WhiteBox contributors\n/);
    expect(LICENSE).toContain('THE SOFTWARE IS PROVIDED "AS IS"');
  });

  it('describes every published package; bench, fuzz and the demo stay private', () => {
    expect(published).toContain('core');
    expect(published).not.toContain('bench');
    expect(published).not.toContain('fuzz');
    expect(Object.keys(PACKAGES).sort()).toEqual(published);
    expect(JSON.parse(readFileSync(join(root, 'apps/demo/package.json'), 'utf8')).private).toBe(true);
  });

  describe.each(published)('%s', (dir) => {
    const pdir = join(root, 'packages', dir);
    const pkg = JSON.parse(readFileSync(join(pdir, 'package.json'), 'utf8'));

    it('carries the root LICENSE and lists it, dist and README in files', () => {
      expect(readFileSync(join(pdir, 'LICENSE'), 'utf8'), `packages/${dir}/LICENSE (run node scripts/package-metadata.mjs)`).toBe(LICENSE);
      expect(pkg.license).toBe('MIT');
      expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'README.md', 'LICENSE']));
      expect(pkg.files.filter((f: string) => /^(src|test)\b/.test(f))).toEqual([]);
      expect(existsSync(join(pdir, 'README.md'))).toBe(true);
    });

    it('has the npm metadata scripts/package-metadata.mjs writes', () => {
      expect(pkg.name).toBe(`@whitebox/${dir}`);
      expect(pkg.description.length, 'a description that says what it does').toBeGreaterThan(40);
      expect(pkg.description).not.toMatch(/^WhiteBox attribution method: /);
      expect(pkg.keywords.length).toBeGreaterThanOrEqual(5);
      expect(pkg.repository).toEqual({ type: 'git', url: expect.stringMatching(/^git\+https:\/\/.+\.git$/), directory: `packages/${dir}` });
      expect(pkg.homepage).toMatch(/^https:\/\//);
      expect(pkg.bugs.url).toMatch(/^https:\/\/.+\/issues$/);
      expect(pkg.engines).toEqual(rootPkg.engines);
      expect(pkg.publishConfig).toEqual({ access: 'public' });
      expect(pkg, 'run node scripts/package-metadata.mjs').toEqual(expected(dir, pkg));
    });

    it('exports each entry with types first, pointing at files the build writes', () => {
      expect(pkg.exports['.']).toBeDefined();
      for (const [sub, target] of Object.entries(pkg.exports as Record<string, string | Record<string, string>>)) {
        if (typeof target === 'string') { expect(sub).toBe('./package.json'); continue; }
        expect(Object.keys(target)[0], `exports["${sub}"]`).toBe('types');
        expect(target.types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
        for (const f of Object.values(target)) expect(existsSync(join(pdir, 'src', f.replace(/^\.\/dist\//, '').replace(/\.d\.ts$|\.js$/, '.ts'))), f).toBe(true);
      }
      expect(pkg.types).toBe(pkg.exports['.'].types);
      if (pkg.bin) for (const b of Object.values(pkg.bin as Record<string, string>)) expect(readFileSync(join(pdir, 'src', b.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    });

    it('sideEffects lists exactly the modules with import-time side effects', () => {
      const effects = sideEffectModules(pdir);
      const patterns: string[] = pkg.sideEffects === false ? [] : pkg.sideEffects;
      expect(Array.isArray(patterns), 'sideEffects: false or a list of files').toBe(true);
      for (const [mod, what] of effects) {
        expect(patterns.some((p) => matches(p, mod)), `${mod} runs \`${what}\` at import but is not in sideEffects`).toBe(true);
      }
      for (const p of patterns) expect([...effects.keys()].some((m) => matches(p, m)), `sideEffects entry ${p} matches no module with side effects`).toBe(true);
    });
  });
});
