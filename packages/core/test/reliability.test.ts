// Bad input to core's contracts: named WhiteBoxErrors instead of TypeErrors, NaN results or hangs.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LIMITS, Tensor, WhiteBoxError, batchRanges, checkPositiveInt, describeValue, checkFiniteResult, checkLimit, checkSessionOptions, makeDirs, readFileCapped, resolveBackend, runtimeMessage,
  targetsToCotangent, type Targets,
} from '@whitebox/core';

describe('targets', () => {
  it('undefined, null and other non-targets are INVALID_ARGUMENT, not a TypeError', () => {
    for (const t of [undefined, null, 'a', {}, 1n, new Float64Array(2)] as unknown as Targets[]) {
      let err: unknown;
      try {
        targetsToCotangent(t, 2, 10);
      } catch (e) {
        err = e;
      }
      expect(err, String(t)).toBeInstanceOf(WhiteBoxError);
      expect((err as WhiteBoxError).code).toBe('INVALID_ARGUMENT');
      expect((err as Error).message).toMatch(/targets must be a class index, an array of class indices/);
    }
    expect(() => targetsToCotangent(['a', 'b'] as unknown as number[], 2, 10)).toThrow(/target a for sample 0 is out of range/);
  });

  it('a NaN or infinite cotangent is refused, naming the sample and class', () => {
    const cot = Tensor.zeros([2, 3]);
    cot.data[4] = NaN;
    expect(() => targetsToCotangent(cot, 2, 3)).toThrow(/non-finite value \(NaN\) at sample 1, class 1/);
    cot.data[4] = Infinity;
    expect(() => targetsToCotangent(cot, 2, 3)).toThrow(/non-finite value \(Infinity\)/);
    cot.data[4] = 0.5;
    expect(targetsToCotangent(cot, 2, 3)).toBe(cot);
  });
});

describe('Tensor data', () => {
  it('a Float64Array (or plain array) is named as such, not reported as int64', () => {
    expect(() => new Tensor(new Float64Array(4) as unknown as Float32Array, [4])).toThrow(/must be a Float32Array, Int32Array, Uint8Array or BigInt64Array, got Float64Array \(convert pixels with Float32Array.from/);
    expect(() => new Tensor([1, 2] as unknown as Float32Array, [2])).toThrow(/got Array/);
    expect(() => new Tensor(undefined as unknown as Float32Array, [2])).toThrow(/got undefined/);
    expect(() => new Tensor(new Float32Array(2), 2 as unknown as number[])).toThrow(/dims must be an array/);
    expect(new Tensor(new BigInt64Array(2), [2]).dtype).toBe('int64');
  });
});

describe('session options', () => {
  it('unknown devices and optimization levels are named; thread counts have a documented maximum', () => {
    expect(() => resolveBackend({ device: 'gpu' as never })).toThrow(/unknown device 'gpu' \(known: cpu, cuda, wasm, webgpu/);
    expect(() => checkSessionOptions({ graphOptimizationLevel: 'bogus' as never })).toThrow(/unknown graphOptimizationLevel 'bogus' \(known: disabled, basic, extended, all\)/);
    for (const threads of [5000, 100000]) {
      let err: WhiteBoxError | undefined;
      try {
        checkSessionOptions({ threads });
      } catch (e) {
        err = e as WhiteBoxError;
      }
      expect(err?.code).toBe('LIMIT_EXCEEDED');
      expect(err?.message).toContain(`above the maximum of ${LIMITS.threads}`);
    }
    expect(() => checkSessionOptions({ threads: 0 })).toThrow(/threads must be an integer ≥ 1, got 0/);
    expect(() => checkSessionOptions({ threads: 1.5 })).toThrow(/threads must be an integer/);
    expect(() => checkSessionOptions({ spinning: 'yes' as never })).toThrow(/spinning must be true or false/);
    expect(() => checkSessionOptions({ profileFilePrefix: '' })).toThrow(/profileFilePrefix must be a non-empty string/);
    expect(() => checkSessionOptions({ device: 'cpu', threads: LIMITS.threads, graphOptimizationLevel: 'basic', spinning: false })).not.toThrow();
  });

  it('runtime errors become one line without C++ source locations', () => {
    const raw = new Error('[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Non-zero status code returned while running Conv node. Name:\'conv1\' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/nn/conv_attributes.h:101 onnxruntime::common::Status onnxruntime::ConvAttributes::ComputeKernelShape(const onnxruntime::TensorShape&, onnxruntime::TensorShapeVector&, bool) const weight_shape.NumDimensions() == 4 was false.\n\n');
    const one = runtimeMessage(raw);
    expect(one).toBe("INVALID_ARGUMENT: Non-zero status code returned while running Conv node. Name:'conv1' Status Message: weight_shape.NumDimensions() == 4 was false.");
    expect(runtimeMessage(new Error('Got invalid dimensions for input: input for the following indices\n index: 3 Got: 27 Expected: 28\n Please fix either the inputs/outputs or the model.'))).toBe('Got invalid dimensions for input: input for the following indices index: 3 Got: 27 Expected: 28 Please fix either the inputs/outputs or the model.');
  });
});

describe('limits and finiteness', () => {
  it('checkLimit names the setting and how to raise it; checkFiniteResult names the index and sample', () => {
    expect(() => checkLimit(20_001, 10_000, 'integrated-gradients: steps', 'pass maxSteps')).toThrow(/integrated-gradients: steps is 20,001, above the limit of 10,000 \(pass maxSteps\)/);
    expect(() => checkLimit(10_000, 10_000, 'x')).not.toThrow();
    const t = Tensor.zeros([3, 2, 2]);
    checkFiniteResult(t, 'map');
    t.data[9] = NaN;
    let err: WhiteBoxError | undefined;
    try {
      checkFiniteResult(t, 'vanilla-gradient map');
    } catch (e) {
      err = e as WhiteBoxError;
    }
    expect(err?.code).toBe('NON_FINITE');
    expect(err?.message).toMatch(/vanilla-gradient map has a non-finite value \(NaN\) at index 9 of \[3, 2, 2\] \(sample 2\)/);
    expect(() => checkFiniteResult(new Float64Array([1, -Infinity]), 'scores')).toThrow(/scores has a non-finite value \(-Infinity\) at index 1/);
  });
});

describe('readFileCapped', () => {
  it('reads regular files; refuses FIFOs, devices and directories without blocking, and files over the cap', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-read-'));
    try {
      const file = join(dir, 'a.bin');
      writeFileSync(file, new Uint8Array([1, 2, 3, 4, 5]));
      expect(Array.from(readFileCapped(fs, file, { maxBytes: 5, what: 'data file' }))).toEqual([1, 2, 3, 4, 5]);
      expect(() => readFileCapped(fs, file, { maxBytes: 4, what: 'data file', raise: 'pass maxBytes' })).toThrow(/data file .*a\.bin is 5 bytes, above the limit of 4 bytes \(pass maxBytes\)/);
      const fifo = join(dir, 'pipe');
      execFileSync('mkfifo', [fifo]);
      // With no writer, a blocking open would hang here forever.
      expect(() => readFileCapped(fs, fifo, { maxBytes: 100, what: 'ONNX model' })).toThrow(/it is a FIFO \(named pipe\), not a regular file/);
      expect(() => readFileCapped(fs, '/dev/zero', { maxBytes: 100, what: 'ONNX model' })).toThrow(/cannot read ONNX model \/dev\/zero: it is a character device/);
      expect(() => readFileCapped(fs, '/dev/urandom', { maxBytes: 100, what: 'ONNX model' })).toThrow(/character device/);
      expect(() => readFileCapped(fs, dir, { maxBytes: 100, what: 'ONNX model' })).toThrow(/it is a directory/);
      expect(() => readFileCapped(fs, join(dir, 'none'), { maxBytes: 100, what: 'ONNX model' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
      expect(() => readFileCapped(fs, '', { maxBytes: 100, what: 'ONNX model' })).toThrow(/path must be a non-empty string/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('makeDirs', () => {
  it('creates missing parents, and names the directory instead of looping forever under /proc (fuzz: explain --out /proc/x hung)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-mkdirs-'));
    try {
      makeDirs(fs, join(dir, 'a', 'b', 'c'), '--out');
      expect(fs.statSync(join(dir, 'a', 'b', 'c')).isDirectory()).toBe(true);
      makeDirs(fs, join(dir, 'a', 'b'), '--out'); // exists: nothing to do
      writeFileSync(join(dir, 'file'), 'x');
      expect(() => makeDirs(fs, join(dir, 'file', 'sub'), '--out')).toThrow(/--out '.*file\/sub': '.*file' exists and is not a directory/);
      const t0 = performance.now();
      let err: unknown;
      try { makeDirs(fs, '/proc/whitebox-x/y', '--out'); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(WhiteBoxError);
      expect((err as Error).message).toMatch(/--out '\/proc\/whitebox-x\/y': cannot create directory \/proc\/whitebox-x \(ENOENT\)/);
      expect(performance.now() - t0).toBeLessThan(1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('error messages', () => {
  it('show bad option values as values, never "[object Object]" (fuzz case api.call#159: integrated-gradients maxSteps = {})', () => {
    expect(describeValue({})).toBe('{}');
    expect(describeValue({ a: 1 })).toBe('{"a":1}');
    expect(describeValue([1, 2])).toBe('[1,2]');
    expect(describeValue('3')).toBe('"3"');
    expect(describeValue(NaN)).toBe('NaN');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(new Float64Array(2))).toBe('a Float64Array');
    expect(() => checkPositiveInt({} as never, 'steps', 'integrated-gradients')).toThrow(/integrated-gradients: steps must be an integer ≥ 1, got \{\}$/);
    expect(() => batchRanges(10, { n: 1 } as never)).toThrow(/got \{"n":1\}/);
  });

  it('are one line: newlines from a corrupt file or runtime text become spaces, control bytes \\xNN escapes (fuzz case model.bitflip#17)', () => {
    const err = new WhiteBoxError('INVALID_MODEL', `has a node without an op type (bn3"\u0012CatchNormalization*\n  epsilon\u0007\r\n\nrelu3); the file is probably corrupt`);
    expect(err.message).not.toMatch(/[\u0000-\u001f]/);
    expect(err.message).toBe('has a node without an op type (bn3"\\x12CatchNormalization* epsilon\\x07 relu3); the file is probably corrupt');
    expect(new WhiteBoxError('RUNTIME_ERROR', 'plain message').message).toBe('plain message');
  });

  it('keep the start and end of a message made huge by a 10,000-character name (fuzz case model.mutant-multi#65)', () => {
    const name = 'x'.repeat(10_000);
    const m = new WhiteBoxError('INVALID_MODEL', `node '${name}' (Relu): output 'r' is also produced by node '${name}'; a corrupt file?`).message;
    expect(m.length).toBeLessThanOrEqual(2100);
    expect(m).toMatch(/^node 'xxx/);
    expect(m).toMatch(/characters cut\) … x+'; a corrupt file\?$/);
  });
});
