import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSimpleCnn } from '@whitebox/onnx';
import { formatLayers, listLayers } from '../src/commands/layers.js';

describe('whitebox layers', () => {
  it('lists every layer with op and shape, marks CAM candidates and the default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-layers-'));
    const file = join(dir, 'net.onnx');
    writeFileSync(file, buildSimpleCnn({ channels: 1, height: 12, width: 12, widths: [4, 6, 8], hidden: 16 }));
    const l = await listLayers(file);
    expect(l.defaultCamLayer).toBe('relu3');
    expect(l.layers.find((x) => x.name === 'relu3')).toMatchObject({ op: 'Relu', shape: [null, 8, 3, 3], camCandidate: true, default: true });
    expect(l.layers.find((x) => x.name === 'fc1')).toMatchObject({ op: 'Gemm', camCandidate: false, default: false });
    const text = formatLayers(l);
    expect(text).toMatch(/default CAM layer: relu3/);
    expect(text).toMatch(/^\*c relu3 +Relu +\[N, 8, 3, 3\]$/m);
    expect(text).not.toMatch(/ fc1 /);
    expect(formatLayers(l, true)).toMatch(/^ {3}fc1 +Gemm +\[N, 16\]$/m);
  });
});
