import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSimpleCnn, readModel } from '@whitebox/onnx';
import { exportGradients, parseRules, register } from '../../cli/src/commands/export-gradients.js';

// commander is the CLI package's dependency.
const { Command } = createRequire(new URL('../../cli/package.json', import.meta.url))('commander') as typeof import('commander');

describe('whitebox export-gradients', () => {
  it('writes one gradient graph per rule with the requested layers, via the commander program', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-cli-export-'));
    const model = join(dir, 'mnist.onnx');
    writeFileSync(model, buildSimpleCnn({ channels: 1, height: 12, width: 12, seed: 1, widths: [4, 4, 4], hidden: 8 }));
    const program = new Command().exitOverride();
    register(program);
    const writes: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => { writes.push(s); return true; }) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'whitebox', 'export-gradients', model, '--rules', 'guided,deconvnet', '--layers', 'relu3', '--out', join(dir, 'g')]);
    } finally {
      process.stdout.write = orig;
    }
    const files = [join(dir, 'g', 'mnist.grad.guided.onnx'), join(dir, 'g', 'mnist.grad.deconvnet.onnx')];
    expect(writes.join('').trim().split('\n')).toEqual(files);
    for (const f of files) expect(existsSync(f)).toBe(true);
    const outputs = readModel(new Uint8Array(readFileSync(files[0]!))).graph!.output!.map((o) => o.name);
    expect(outputs).toEqual(['logits', 'input_grad', 'relu3:activation', 'relu3:grad']);
    // Default: all three rules next to the model.
    const all = await exportGradients(model);
    expect(all.map((f) => f.split('/').pop())).toEqual(['mnist.grad.gradient.onnx', 'mnist.grad.deconvnet.onnx', 'mnist.grad.guided.onnx']);
  });

  it('rejects unknown rules and missing files', async () => {
    expect(() => parseRules('gradient,lrp')).toThrow(/unknown rule 'lrp'/);
    await expect(exportGradients('/nonexistent/model.onnx')).rejects.toThrow(/model\.onnx/);
  });
});
