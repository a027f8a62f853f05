import fs, { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { Tensor, resolveBackend, WhiteBoxError } from '@whitebox/core';
import '@whitebox/backend-node';
import '@whitebox/backend-web';
import { cudaAvailable } from '@whitebox/backend-node';

const { onnx } = onnxProto;

/** y = Relu(x · W + b), W 3×2, built straight from the ONNX schema. */
function tinyModel(): Uint8Array {
  const f32 = (name: string, dims: number[], vals: number[]) => onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: vals });
  const vi = (name: string, dims: (number | string)[]) => onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const graph = onnx.GraphProto.create({
    name: 'tiny',
    node: [
      onnx.NodeProto.create({ opType: 'MatMul', input: ['x', 'W'], output: ['xw'], name: 'mm' }),
      onnx.NodeProto.create({ opType: 'Add', input: ['xw', 'b'], output: ['z'], name: 'add' }),
      onnx.NodeProto.create({ opType: 'Relu', input: ['z'], output: ['y'], name: 'relu' }),
    ],
    initializer: [f32('W', [3, 2], [1, -1, 2, 0.5, -3, 1]), f32('b', [2], [0.25, -0.5])],
    input: [vi('x', ['N', 3])],
    output: [vi('y', ['N', 2])],
  });
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph, producerName: 'test' });
  return onnx.ModelProto.encode(model).finish();
}

function reference(x: number[]): number[] {
  const W = [[1, -1], [2, 0.5], [-3, 1]];
  const b = [0.25, -0.5];
  return [0, 1].map((j) => Math.max(0, x[0]! * W[0]![j]! + x[1]! * W[1]![j]! + x[2]! * W[2]![j]! + b[j]!));
}

describe.each([
  ['node', 'cpu'],
  ['web', 'wasm'],
] as const)('backend %s (%s)', (backend, device) => {
  it('runs a model and matches a hand computation within 1e-5', async () => {
    const session = await resolveBackend({ backend, device }).createSession(tinyModel(), { device, threads: 1 });
    expect(session.executionProvider).toBe(device);
    expect(session.inputNames).toEqual(['x']);
    const x = [0.5, -1, 2, 1, 1, 1];
    const out = await session.run({ x: Tensor.from(x, [2, 3]) });
    const y = out.y!;
    expect(y.dims).toEqual([2, 2]);
    const expected = [...reference(x.slice(0, 3)), ...reference(x.slice(3))];
    y.data.forEach((v, i) => expect(Math.abs(Number(v) - expected[i]!)).toBeLessThan(1e-5));
    await session.release();
  });

  it('reports malformed bytes and wrong shapes clearly', async () => {
    const b = resolveBackend({ backend, device });
    await expect(b.createSession(new Uint8Array([1, 2, 3, 4, 5]), { device })).rejects.toThrow(/could not load the model/);
    const session = await b.createSession(tinyModel(), { device });
    await expect(session.run({ x: Tensor.from([1, 2, 3, 4], [1, 4]) })).rejects.toThrow(/inputs \{x: \[1, 4\]\}/);
  });
});

describe('intra-op thread pool', () => {
  it.each([true, false])('runs with 2 threads and spinning %s, same answer', async (spinning) => {
    const session = await resolveBackend({ backend: 'node' }).createSession(tinyModel(), { threads: 2, spinning });
    const x = [0.5, -1, 2];
    const y = (await session.run({ x: Tensor.from(x, [1, 3]) })).y!;
    reference(x).forEach((v, i) => expect(Math.abs(Number(y.data[i]) - v)).toBeLessThan(1e-6));
    await session.release();
  });
});

describe('device selection', () => {
  it('fails clearly when CUDA is not installed, and for devices a backend lacks', async () => {
    if (!cudaAvailable()) {
      await expect(resolveBackend({ device: 'cuda' }).createSession(tinyModel(), { device: 'cuda' })).rejects.toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    }
    await expect(resolveBackend({ backend: 'web' }).createSession(tinyModel(), { device: 'webgpu' })).rejects.toThrow(WhiteBoxError);
    expect(() => resolveBackend({ backend: 'node', device: 'wasm' })).toThrow(/does not support device 'wasm'/);
  });
});

describe('profiling', () => {
  /** A profile file prefix in a new temp folder. */
  const tempPrefix = (name: string) => join(mkdtempSync(join(tmpdir(), name)), 'p');

  it('writes an ONNX Runtime profile when asked', async () => {
    const prefix = tempPrefix('wb-prof-');
    const session = await resolveBackend({ backend: 'node' }).createSession(tinyModel(), { enableProfiling: true, profileFilePrefix: prefix });
    await session.run({ x: Tensor.from([1, 2, 3], [1, 3]) });
    const file = session.endProfiling!();
    expect(file && existsSync(file)).toBe(true);
    const events = JSON.parse(readFileSync(file!, 'utf8')) as { name: string; cat: string }[];
    expect(events.some((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'))).toBe(true);
    await session.release();
  });

  it('writes the WebAssembly profile of the web backend to a file too (onnxruntime-web prints it), and prints none of it', async () => {
    const prefix = tempPrefix('wb-prof-web-');
    const session = await resolveBackend({ backend: 'web' }).createSession(tinyModel(), { enableProfiling: true, profileFilePrefix: prefix });
    await session.run({ x: Tensor.from([1, 2, 3], [1, 3]) });
    await session.run({ x: Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]) });
    const write = fs.writeSync;
    const leaked: unknown[] = [];
    const spy = ((fd: number, ...rest: unknown[]) => { if (fd === 1) leaked.push(rest[0]); return (write as (...a: unknown[]) => number)(fd, ...rest); }) as typeof fs.writeSync;
    fs.writeSync = spy;
    let file: string | undefined;
    try {
      file = session.endProfiling!();
      expect(fs.writeSync).toBe(spy); // restored
    } finally { fs.writeSync = write; }
    expect(leaked).toEqual([]); // nothing reached standard output
    expect(file && file.startsWith(prefix) && existsSync(file)).toBe(true);
    const events = JSON.parse(readFileSync(file!, 'utf8')) as { name: string; cat: string; args?: { op_name?: string } }[];
    expect(events.filter((e) => e.name === 'model_run')).toHaveLength(2);
    // One kernel event per node per run (at 'all' MatMul + Add + Relu are one FusedGemm), each naming its op.
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
    expect(kernels.length).toBeGreaterThanOrEqual(2);
    expect(kernels.every((e) => typeof e.args?.op_name === 'string')).toBe(true);
    await session.release();
  });
});
