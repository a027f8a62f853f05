// ONNX external data: models whose weights live in files beside the .onnx file (ViT-H/14, RegNetY-128GF and every
// other model over protobuf's 2 GiB), read safely, and sessions of graphs whose weights exceed the inline budget.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { WhiteBoxError, resolveBackend } from '@whitebox/core';
import '@whitebox/backend-node';
import '@whitebox/backend-web';
import {
  buildSimpleCnn, exportGradientGraphs, externalizeInitializers, forwardSessionModel, gradientSessionModel, loadModel, onnx, prepareModel, randomImages,
  readModel, writeModel,
} from '@whitebox/onnx';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'wb-ext-'));
  dirs.push(d);
  return d;
}

const inline = buildSimpleCnn({ channels: 3, height: 16, width: 16, seed: 5, widths: [8, 16, 16], hidden: 64 });
const x = randomImages(5, 3, 16, 16, 3);

/** `inline` saved as ONNX external data: its large initializers in `<prefix>-k.bin` files (as `onnx.save_model(..., save_as_external_data=True)`). */
function saveExternal(dir: string, edit?: (m: ReturnType<typeof readModel>) => void): { file: string; files: { path: string; data: Uint8Array }[] } {
  const m = readModel(inline);
  const { initializer, files } = externalizeInitializers(m.graph!.initializer!, 0, 'cnn.onnx.data');
  m.graph!.initializer = initializer as typeof m.graph.initializer;
  edit?.(m);
  const file = join(dir, 'cnn.onnx');
  writeFileSync(file, writeModel(m));
  const out = files!.map((f) => ({ path: f.path, data: Uint8Array.from(Buffer.concat(f.parts)) }));
  for (const f of out) writeFileSync(join(dir, f.path), f.data);
  return { file, files: out };
}

async function expectError(p: Promise<unknown>, code: string, fragment: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected an error').toBeInstanceOf(WhiteBoxError);
  expect((err as WhiteBoxError).code).toBe(code);
  expect((err as Error).message).toMatch(fragment);
}

async function results(m: Awaited<ReturnType<typeof loadModel>>) {
  const f = await m.forward(x);
  const g = await m.gradients(x, 1, { layers: ['relu2'] });
  const cut = await m.forwardFrom!('relu2', g.layers.relu2!.activation);
  return [f.logits.data, g.inputGradient!.data, g.layers.relu2!.gradient.data, cut.data];
}

describe('ONNX external data', () => {
  it('a model saved with external data loads from its path and gives bit-identical results; its hash covers the weights', async () => {
    const dir = tempDir();
    const { file, files } = saveExternal(dir);
    expect(files.length).toBe(1);
    expect(readFileSync(file).length).toBeLessThan(inline.length / 4);
    const ref = await loadModel(inline, { backend: 'node', threads: 1 });
    const ext = await loadModel(file, { backend: 'node', threads: 1 });
    const [a, b] = [await results(ref), await results(ext)];
    for (let i = 0; i < a.length; i++) expect(Array.from(b[i]!)).toEqual(Array.from(a[i]!));
    // Other weights beside the same .onnx file: another hash.
    const data = readFileSync(join(dir, files[0]!.path));
    data[data.length - 1] ^= 1;
    writeFileSync(join(dir, files[0]!.path), data);
    const changed = await loadModel(file, { backend: 'node', threads: 1 });
    expect(changed.modelHash).not.toBe(ext.modelHash);
    expect(ext.modelHash).toMatch(/^[0-9a-f]{64}$/);
    await Promise.all([ref.dispose(), ext.dispose(), changed.dispose()]);
  });

  it('bytes with the externalData option (the browser form) on the node and web backends', async () => {
    const { file, files } = saveExternal(tempDir());
    const bytes = readFileSync(file);
    const ref = await results(await loadModel(inline, { backend: 'node', threads: 1 }));
    const node = await loadModel(new Uint8Array(bytes), { backend: 'node', threads: 1, externalData: files });
    const got = await results(node);
    for (let i = 0; i < ref.length; i++) expect(Array.from(got[i]!)).toEqual(Array.from(ref[i]!));
    const web = await loadModel(new Uint8Array(bytes), { backend: 'web', externalData: files });
    const w = await web.gradients(x, 1);
    const nodeGrad = (await node.gradients(x, 1)).inputGradient!.data;
    for (let i = 0; i < nodeGrad.length; i++) expect(Math.abs(w.inputGradient!.data[i]! - nodeGrad[i]!)).toBeLessThan(1e-5);
    await Promise.all([node.dispose(), web.dispose()]);
  });

  it('sessions above the inline weight budget get their weights as external data, bit-identically (node, and web from memory)', async () => {
    const p = prepareModel(inline);
    const fw = forwardSessionModel(p.graph, 10, 0);
    const gr = gradientSessionModel(p, { rule: 'guided', maxInlineBytes: 0 });
    expect(fw instanceof Uint8Array).toBe(false);
    expect(gr instanceof Uint8Array).toBe(false);
    // Under the budget (the default 1.5 GiB): plain bytes.
    expect(forwardSessionModel(p.graph, 10)).toBeInstanceOf(Uint8Array);
    const ref = await loadModel(inline, { backend: 'node', threads: 1 });
    const ext = await loadModel(inline, { backend: 'node', threads: 1, maxInlineWeightBytes: 0 });
    // The node backend writes the models into a private directory under the temporary directory: this test's own.
    const tmp = tempDir();
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    let b;
    try {
      b = await results(ext);
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = savedTmp;
    }
    const a = await results(ref);
    for (let i = 0; i < a.length; i++) expect(Array.from(b[i]!)).toEqual(Array.from(a[i]!));
    const web = await resolveBackend({ backend: 'web' }).createSession(fw as Exclude<typeof fw, Uint8Array>);
    const out = await web.run({ input: x });
    for (let i = 0; i < a[0]!.length; i++) expect(Math.abs(out.logits!.data[i]! - a[0]![i]!)).toBeLessThan(1e-5);
    await Promise.all([ref.dispose(), ext.dispose(), web.release()]);
    // The temporary model directories are gone once the sessions exist.
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('exportGradientGraphs writes data files beside graphs above the budget, and ONNX Runtime opens them from the path', async () => {
    const dir = tempDir();
    const { file } = saveExternal(dir);
    const out = join(dir, 'out');
    const [path] = await exportGradientGraphs(file, out, ['gradient'], { maxInlineWeightBytes: 0 });
    expect(readdirSync(out).sort()).toEqual(['cnn.grad.gradient.onnx', 'cnn.grad.gradient.weights-0.bin']);
    const s = await resolveBackend({ backend: 'node' }).createSession(path!);
    expect(s.outputNames).toContain('input_grad');
    await s.release();
  });

  it('refuses locations outside the model directory, symlinks out of it, devices, FIFOs, short files and missing files, naming the tensor', async () => {
    const setLocation = (location: string, extra: Record<string, string> = {}) => (m: ReturnType<typeof readModel>) => {
      const t = m.graph!.initializer!.find((i) => (i.externalData?.length ?? 0) > 0)!;
      t.externalData = [{ key: 'location', value: location }, ...Object.entries(extra).map(([key, value]) => ({ key, value }))];
    };
    const first = readModel(inline).graph!.initializer!.find((t) => (t.rawData?.length ?? 0) >= 1024)!.name!;
    const cases: Array<[string, (m: ReturnType<typeof readModel>) => void, string, RegExp]> = [
      ['dotdot', setLocation('../secret.bin'), 'INVALID_MODEL', new RegExp(`initializer '${first}'.*leads out of the model file's directory`)],
      ['absolute', setLocation('/etc/passwd'), 'INVALID_MODEL', /is absolute/],
      ['device', setLocation('/dev/zero'), 'INVALID_MODEL', /is absolute/],
      ['missing', setLocation('nope.bin'), 'NOT_FOUND', /external data file 'nope\.bin'.*cannot be read \(ENOENT\)/],
      ['range', setLocation('cnn.onnx.data-0.bin', { offset: '0', length: '99999999' }), 'INVALID_MODEL', /range \[0, 99,999,999\) is outside/],
      ['offset', setLocation('cnn.onnx.data-0.bin', { offset: '-5' }), 'INVALID_MODEL', /'offset' must be a non-negative integer/],
      ['nolocation', (m) => { m.graph!.initializer!.find((i) => (i.externalData?.length ?? 0) > 0)!.externalData = [{ key: 'length', value: '4' }]; }, 'INVALID_MODEL', /names no 'location'/],
      ['link', setLocation('link.bin'), 'INVALID_MODEL', /resolves to .*outside the model's directory/],
      ['fifo', setLocation('pipe'), 'INVALID_MODEL', /is not a regular file/],
      ['dir', setLocation('sub'), 'INVALID_MODEL', /is not a regular file/],
    ];
    for (const [name, edit, code, re] of cases) {
      const dir = tempDir();
      const outside = tempDir();
      writeFileSync(join(outside, 'secret.bin'), new Uint8Array(1 << 16));
      symlinkSync(join(outside, 'secret.bin'), join(dir, 'link.bin'));
      execFileSync('mkfifo', [join(dir, 'pipe')]);
      mkdirSync(join(dir, 'sub'));
      const { file } = saveExternal(dir, edit);
      await expectError(loadModel(file, { backend: 'node' }), code, re).catch((e) => { throw new Error(`${name}: ${(e as Error).message}`); });
    }
  });

  it('bytes without their data files say how to load them; the size limit counts the external data', async () => {
    const dir = tempDir();
    const { file } = saveExternal(dir);
    await expectError(loadModel(new Uint8Array(readFileSync(file)), { backend: 'node' }), 'INVALID_MODEL', /stores \d+ tensors? in external data files \(initializer '.*'.*load it from its file path/);
    await expectError(loadModel(new Uint8Array(readFileSync(file)), { backend: 'node', externalData: [{ path: 'other.bin', data: new Uint8Array(4) }] }), 'NOT_FOUND', /'cnn\.onnx\.data-0\.bin' is not in the externalData option \(it has other\.bin\)/);
    const small = readFileSync(file).length + 100;
    await expectError(loadModel(file, { backend: 'node', maxModelBytes: small }), 'LIMIT_EXCEEDED', /external data exceeds the limit of .* bytes at initializer .*pass maxModelBytes/);
    await expectError(loadModel(inline, { backend: 'node', maxInlineWeightBytes: -1 }), 'INVALID_ARGUMENT', /maxInlineWeightBytes must be an integer ≥ 0/);
    // The data type enum ONNX uses for external storage is what the writer sets.
    expect(readModel(readFileSync(file)).graph!.initializer!.some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)).toBe(true);
  });
});
