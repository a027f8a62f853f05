/**
 * examples/ from the packed tarballs (#16): every published package is packed (`pnpm pack`), and each example is
 * copied to a scratch folder and installed with npm from those tarballs (its @whitebox dependencies and theirs as
 * `file:` tarballs, third-party packages from the registry; never workspace links), then run:
 *   1. node-grad-cam: Grad-CAM of a PNG on onnxruntime-node, an overlay PNG written;
 *   2. browser-integrated-gradients: built by Vite and opened in Debian's chromium; the JavaScript bundle (ONNX
 *      Runtime's .wasm excluded) must stay under BUNDLE_BUDGET and hold no tfjs, pngjs, Node built-in or other
 *      method package;
 *   3. bring-your-own-model: the CLI installed globally from its tarball into a temporary prefix explains a
 *      torchvision MobileNetV3-Small export.
 * Skipped when the npm registry does not answer (third-party dependencies come from it).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain .mjs script without types
import { publishedPackages } from '../../scripts/package-metadata.mjs';
import { registryReachable } from './registry.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const examples = join(root, 'examples');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** pnpm filters selecting exactly the published packages. */
const FILTERS = (publishedPackages() as string[]).map((d) => `--filter=@whitebox/${d}`);

/** The browser example's JavaScript (gzip) budget in bytes; BENCHMARKS.md ("browser bundle") records the measurement. */
export const BUNDLE_BUDGET = { bytes: 800_000, gzip: 215_000 };
/**
 * Modules allowed to reference a Node built-in in the browser bundle (Vite turns it into an empty stub), and why.
 * Not WhiteBox code: @whitebox/onnx imports protobufjs's full build (`import protobuf from 'protobufjs'`), which
 * bundles @protobufjs/fetch, whose fs helper tries `require("fs")` inside a try/catch. Importing only
 * 'protobufjs/minimal' in @whitebox/onnx, if that suffices, would drop it.
 */
const BUILTIN_ALLOWED: Record<string, string> = {
  '@protobufjs/fetch/util/fs.js': 'guarded require("fs") in try/catch; null in browsers',
};
/** The WhiteBox packages the browser bundle may contain. */
const BROWSER_ALLOWED = ['core', 'onnx', 'backend-web', 'integrated-gradients'];
const METHOD_PACKAGES = ['vanilla-gradient', 'input-x-gradient', 'deconvnet', 'guided-backprop', 'integrated-gradients', 'grad-cam', 'guided-grad-cam', 'smoothgrad',
  'grad-cam-plus-plus', 'xgrad-cam', 'hires-cam', 'layer-cam', 'score-cam', 'ablation-cam', 'eigen-cam', 'occlusion', 'cam-utils'];

async function sh(cmd: string, args: string[], cwd: string, timeout = 300_000, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, timeout, maxBuffer: 64 << 20, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', ...env } });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`.slice(0, 8000));
  }
}
const NPM = ['--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'];

/** Every @whitebox package `names` needs, themselves included (from the packed manifests). */
function closure(names: string[], manifests: Map<string, { dependencies?: Record<string, string> }>): string[] {
  const out = new Set<string>();
  const visit = (n: string) => {
    if (out.has(n)) return;
    out.add(n);
    for (const d of Object.keys(manifests.get(n)?.dependencies ?? {})) if (d.startsWith('@whitebox/')) visit(d);
  };
  names.forEach(visit);
  return [...out].sort();
}

function readPngSize(file: string): { width: number; height: number } {
  const b = readFileSync(file);
  expect(b.subarray(1, 4).toString('latin1'), file).toBe('PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

describe.sequential('examples from the packed tarballs', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'wb-examples-'));
  const tgz = new Map<string, string>();
  const manifests = new Map<string, { dependencies?: Record<string, string> }>();
  let skip = '';
  // WHITEBOX_KEEP_EXAMPLES=1 keeps the scratch folder (installed examples, tarballs, builds) for a look.
  afterAll(() => (process.env.WHITEBOX_KEEP_EXAMPLES ? console.log(`examples kept in ${scratch}`) : rmSync(scratch, { recursive: true, force: true })));

  beforeAll(async () => {
    if (!(await registryReachable())) {
      skip = 'npm registry unreachable';
      return;
    }
    await sh('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only', ...FILTERS], root, 600_000);
    const dest = join(scratch, 'tarballs');
    mkdirSync(dest);
    const packs = JSON.parse(await sh('pnpm', ['-r', ...FILTERS, 'pack', '--json', '--pack-destination', dest], root)) as { name: string; filename: string }[];
    for (const p of packs) {
      tgz.set(p.name, p.filename);
      manifests.set(p.name, JSON.parse(readFileSync(join(root, 'packages', p.name.replace('@whitebox/', ''), 'package.json'), 'utf8')));
    }
  }, 600_000);

  /** Copies examples/<name> to the scratch folder with its @whitebox dependencies (and theirs) pointing at the tarballs, and npm-installs it. */
  async function installExample(name: string): Promise<string> {
    const dir = join(scratch, name);
    cpSync(join(examples, name), dir, { recursive: true, filter: (s) => !/[\\/](node_modules|dist)$/.test(s) });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const direct = Object.keys(pkg.dependencies).filter((d) => d.startsWith('@whitebox/'));
    const needed = closure(direct, manifests);
    for (const d of direct) pkg.dependencies[d] = `file:${tgz.get(d)}`;
    // The transitive @whitebox packages from their tarballs too (they are not on the registry yet).
    pkg.overrides = Object.fromEntries(needed.filter((d) => !direct.includes(d)).map((d) => [d, `file:${tgz.get(d)}`]));
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    await sh('npm', ['install', ...NPM], dir, 600_000);
    // Installed, not linked, and only what the example needs.
    const installed = readdirSync(join(dir, 'node_modules', '@whitebox')).map((d) => `@whitebox/${d}`).sort();
    expect(installed, `${name}: @whitebox packages installed`).toEqual(needed);
    for (const d of installed) expect(statSync(join(dir, 'node_modules', d)).isDirectory() && !existsSync(join(dir, 'node_modules', d, 'src')), d).toBe(true);
    return dir;
  }

  it('1. node-grad-cam: Grad-CAM of a PNG with @whitebox/grad-cam + @whitebox/backend-node, overlay PNG written', async (ctx) => {
    if (skip) ctx.skip();
    const dir = await installExample('node-grad-cam');
    const installed = readdirSync(join(dir, 'node_modules', '@whitebox')).sort();
    expect(installed).toEqual(['backend-node', 'cam-utils', 'core', 'grad-cam', 'onnx']);
    const out = join(dir, 'overlay.png');
    const stdout = await sh('node', ['explain.mjs', join(root, 'models', 'mnist-simplecnn.onnx'), 'digit-7.png', out], dir, 120_000);
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(r.class).toBe(7);
    expect(r.probability).toBeGreaterThan(0.5);
    expect(r.mapDims).toEqual([1, 1, 28, 28]);
    expect(r.mapMax).toBeGreaterThan(0);
    expect(r.mapMax).toBeLessThanOrEqual(1);
    expect(readPngSize(out)).toEqual(readPngSize(join(dir, 'digit-7.png')));
    expect(readFileSync(out).equals(readFileSync(join(dir, 'digit-7.png')))).toBe(false);
  }, 600_000);

  it('2. browser-integrated-gradients: Vite bundle within budget, no tfjs/pngjs/Node built-ins/other methods, runs in chromium', async (ctx) => {
    if (skip) ctx.skip();
    if (!existsSync(CHROMIUM) && !process.env.CI) ctx.skip();
    const dir = await installExample('browser-integrated-gradients');
    mkdirSync(join(dir, 'public'), { recursive: true });
    cpSync(join(root, 'models', 'mnist-simplecnn.onnx'), join(dir, 'public', 'model.onnx'));
    await sh('npm', ['run', 'build'], dir, 300_000);

    const report = JSON.parse(readFileSync(join(dir, 'dist', 'bundle-modules.json'), 'utf8')) as { chunks: { file: string; modules: string[] }[]; nodeBuiltins: Record<string, string[]> };
    const modules = report.chunks.flatMap((c) => c.modules);
    const pkgOf = (id: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(id.replace(/\\/g, '/'))?.[1];
    const packages = [...new Set(modules.map(pkgOf).filter(Boolean))].sort() as string[];
    expect(packages.filter((p) => p.startsWith('@whitebox/')).sort()).toEqual(BROWSER_ALLOWED.map((p) => `@whitebox/${p}`).sort());
    expect(packages.filter((p) => /^@tensorflow\/|^pngjs$|^vega/.test(p)), 'tfjs, pngjs, vega').toEqual([]);
    expect(packages.filter((p) => METHOD_PACKAGES.includes(p.replace('@whitebox/', '')) && p !== '@whitebox/integrated-gradients'), 'other method packages').toEqual([]);
    // Node built-ins: Vite replaces each with an empty stub; who imports one (through other stubs)?
    const importersOf = (id: string, seen = new Set<string>()): string[] => (report.nodeBuiltins[id] ?? []).flatMap((i) => {
      if (seen.has(i)) return [];
      seen.add(i);
      return i.includes('__vite-browser-external') ? importersOf(i, seen) : [i];
    });
    const builtinImporters = [...new Set(Object.keys(report.nodeBuiltins).flatMap((id) => importersOf(id)))]
      .map((i) => i.replace(/\\/g, '/').replace(/^.*\/node_modules\//, '')).sort();
    expect(builtinImporters.filter((i) => !(i in BUILTIN_ALLOWED)), 'Node built-ins in the browser bundle').toEqual([]);
    expect(modules.filter((m) => m.startsWith('node:')), 'node: modules').toEqual([]);

    // JavaScript sizes: every emitted .js/.mjs except ONNX Runtime's wasm glue (the .wasm files are not counted).
    const files: string[] = [];
    const walk = (d: string) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else files.push(p); } };
    walk(join(dir, 'dist'));
    const js = files.filter((f) => /\.m?js$/.test(f) && !/ort-wasm[^/]*\.m?js$/.test(f));
    const bytes = js.reduce((s, f) => s + statSync(f).size, 0);
    const gzip = js.reduce((s, f) => s + gzipSync(readFileSync(f), { level: 9 }).length, 0);
    const wasm = files.filter((f) => f.endsWith('.wasm')).map((f) => `${relative(dir, f)} ${statSync(f).size}`);
    console.log(`browser bundle: ${bytes} bytes, ${gzip} gzip bytes (budget ${BUNDLE_BUDGET.bytes} / ${BUNDLE_BUDGET.gzip}); JS files ${js.map((f) => relative(dir, f)).join(', ')}; not counted: ${wasm.join(', ')}`);
    expect(bytes).toBeLessThanOrEqual(BUNDLE_BUDGET.bytes);
    expect(gzip).toBeLessThanOrEqual(BUNDLE_BUDGET.gzip);
    const bench = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8');
    expect(bench, 'BENCHMARKS.md records the budget').toContain(`budget ${BUNDLE_BUDGET.bytes.toLocaleString('en-US')} bytes, ${BUNDLE_BUDGET.gzip.toLocaleString('en-US')} gzip bytes`);

    const stdout = await sh('node', ['check.mjs'], dir, 180_000, { CHROMIUM_PATH: CHROMIUM });
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(r.ok, r.error).toBe(true);
    expect(r.pageErrors).toEqual([]);
    expect(r.backend).toBe('web');
    expect(r.target, 'the drawn 7').toBe(7);
    expect(r.dims).toEqual([1, 1, 28, 28]);
    expect(Number.isFinite(r.delta) && Number.isFinite(r.sum)).toBe(true);
    expect(r.nonzero).toBeGreaterThan(20);
  }, 900_000);

  it('3. bring-your-own-model: the CLI from its tarball (npm i -g into a temporary prefix) explains a torchvision export', async (ctx) => {
    if (skip) ctx.skip();
    const prefix = join(scratch, 'prefix');
    const needed = closure(['@whitebox/cli'], manifests);
    // All the @whitebox tarballs in one install: npm takes them from the command line, nothing from the registry.
    await sh('npm', ['install', '-g', '--prefix', prefix, ...NPM, ...needed.map((n) => tgz.get(n)!)], scratch, 600_000);
    const bin = join(prefix, 'bin', 'whitebox');
    expect(existsSync(bin)).toBe(true);
    const byo = join(examples, 'bring-your-own-model');
    const out = join(scratch, 'byo-maps');
    await sh(bin, ['explain', '--model', join(byo, 'mobilenet_v3_small_w025.onnx'), '--input', join(byo, 'shapes.png'), '--methods', 'grad-cam,integrated-gradients', '--steps', '8', '--threads', '1', '--out', out], scratch, 300_000);
    const written = readdirSync(out);
    const predictions = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8'));
    expect(JSON.stringify(predictions)).toMatch(/"predicted"|"prediction"|"class"/);
    for (const m of ['grad-cam', 'integrated-gradients']) expect(written.some((f) => f.includes(m) && f.endsWith('.png')), `${m} PNG in ${written.join(', ')}`).toBe(true);
  }, 900_000);
});
