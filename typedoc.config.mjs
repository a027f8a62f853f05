// TypeDoc configuration for `pnpm docs` (the API reference in docs/api/, one module page per package) and the
// documentation check (test/publish/docs.test.ts): every exported symbol of every published package has a TSDoc
// comment, warnings are errors. WHITEBOX_DOCS_PACKAGES (comma-separated folders, relative to the root) replaces the
// package list — the test points it at its undocumented fixture.
import { publishedPackages } from './scripts/package-metadata.mjs';
import { readFileSync } from 'node:fs';

const dirs = process.env.WHITEBOX_DOCS_PACKAGES
  ? process.env.WHITEBOX_DOCS_PACKAGES.split(',')
  : publishedPackages().map((d) => `packages/${d}`);

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'WhiteBox API',
  tsconfig: 'tsconfig.docs.json',
  entryPointStrategy: 'resolve',
  entryPoints: dirs.map((d) => `${d}/src/index.ts`),
  packagesRequiringDocumentation: dirs.map((d) => JSON.parse(readFileSync(`${d}/package.json`, 'utf8')).name),
  out: 'docs/api',
  readme: 'none',
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  excludeExternals: true,
  disableSources: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  requiredToBeDocumented: ['Enum', 'Variable', 'Function', 'Class', 'Interface', 'TypeAlias', 'Namespace', 'Method', 'Accessor'],
  treatWarningsAsErrors: true,
};
