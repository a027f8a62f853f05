import { describe, expect, it } from 'vitest';
import { Tensor, WhiteBoxError } from '@whitebox/core';
import { GraphBuilder, readModel, writeModel, tensorFromProto, modelOpset, toNum, i64, attrFromProto } from '@whitebox/onnx';

function small(): Uint8Array {
  const b = new GraphBuilder('t');
  b.input('x', ['N', 3]);
  b.initializer('w', new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]));
  b.initializer('shape', i64([-1, 2]));
  const [y] = b.node('MatMul', ['x', 'w'], 1);
  const [z] = b.node('LeakyRelu', [y!], ['z'], { alpha: 0.25 });
  b.node('Reshape', [z!, 'shape'], ['out'], {}, 'reshape1');
  b.output('out', ['N', 2]);
  return b.toModelBytes({ opset: 17, producer: 'test' });
}

describe('GraphBuilder + readModel/writeModel', () => {
  it('round-trips nodes, attributes, initializers, symbolic dims and int64', () => {
    const m = readModel(small());
    expect(modelOpset(m)).toBe(17);
    expect(m.producerName).toBe('test');
    const g = m.graph!;
    expect(g.node!.map((n) => n.opType)).toEqual(['MatMul', 'LeakyRelu', 'Reshape']);
    expect(g.node![2]!.name).toBe('reshape1');
    const alpha = attrFromProto(g.node![1]!.attribute![0]!, 'n');
    expect(alpha).toEqual({ type: 'float', value: 0.25 });
    const w = tensorFromProto(g.initializer![0]!, 'w');
    expect(Array.from(w.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(w.dims).toEqual([3, 2]);
    const s = tensorFromProto(g.initializer![1]!, 'shape');
    expect(Array.from(s.data as BigInt64Array)).toEqual([-1n, 2n]);
    expect(g.input![0]!.type!.tensorType!.shape!.dim![0]!.dimParam).toBe('N');
    expect(toNum(g.input![0]!.type!.tensorType!.shape!.dim![1]!.dimValue as number)).toBe(3);
    const again = readModel(writeModel(m));
    expect(again.graph!.node!.length).toBe(3);
  });

  it('rejects random bytes, truncated files and graphless models with INVALID_MODEL naming the file', () => {
    const rnd = new Uint8Array(300);
    let s = 7;
    for (let i = 0; i < rnd.length; i++) rnd[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    for (const bad of [rnd, small().subarray(0, 60), new Uint8Array(0), writeModel({ irVersion: 8 })]) {
      let err: unknown;
      try { readModel(bad, 'bad.onnx'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(WhiteBoxError);
      expect((err as WhiteBoxError).code).toBe('INVALID_MODEL');
      expect((err as Error).message).toContain('bad.onnx');
    }
  });

  it('builder errors: unknown input, duplicate name', () => {
    const b = new GraphBuilder('t');
    b.input('x', [1]);
    expect(() => b.node('Relu', ['nope'], 1)).toThrow(/nope/);
    expect(() => b.input('x', [1])).toThrow(/already used/);
  });
});

describe('the README lists the registry', () => {
  it('packages/onnx/README.md holds the table supportedOpsTable() generates', async () => {
    const { readFileSync } = await import('node:fs');
    const { supportedOpsTable } = await import('@whitebox/onnx');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = readme.split('<!-- ops:start -->\n')[1]?.split('\n<!-- ops:end -->')[0];
    expect(block, 'regenerate it: pnpm build && node scripts/ops-table.mjs').toBe(supportedOpsTable());
  });
});
