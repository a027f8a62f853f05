import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import '@whitebox/backend-node';
import { loadMnist, toTensor } from '@whitebox/datasets';
import { buildSimpleCnn, loadModel } from '@whitebox/onnx';
import { decodePng, encodePng, imageToRgba, scaleNearest } from '@whitebox/visualize';
import { explain, parseIndices, register } from '../src/commands/explain.js';
import { CAM_METHOD_IDS, GRADIENT_METHOD_IDS, METHODS, METHOD_IDS, parseSmoothGrad, resolveMethods } from '../src/methods.js';

describe('method registry', () => {
  it("covers the fifteen methods; 'all' is the seven gradient methods, 'cam' the CAM family and occlusion; lists, ensembles and SmoothGrad wrapping", () => {
    expect(GRADIENT_METHOD_IDS).toEqual(['vanilla-gradient', 'input-x-gradient', 'deconvnet', 'guided-backprop', 'integrated-gradients', 'grad-cam', 'guided-grad-cam']);
    expect(CAM_METHOD_IDS).toEqual(['grad-cam-plus-plus', 'xgrad-cam', 'hires-cam', 'layer-cam', 'score-cam', 'ablation-cam', 'eigen-cam', 'occlusion']);
    expect(METHOD_IDS).toEqual([...GRADIENT_METHOD_IDS, ...CAM_METHOD_IDS]);
    for (const id of METHOD_IDS) expect(typeof METHODS[id]!.factory).toBe('function');
    expect(resolveMethods('all').map((m) => m.id)).toEqual(GRADIENT_METHOD_IDS);
    expect(resolveMethods('cam').map((m) => m.id)).toEqual(CAM_METHOD_IDS);
    expect(resolveMethods('all,cam,score-cam').map((m) => m.id)).toEqual(METHOD_IDS);
    expect(resolveMethods('grad-cam, vargrad,smoothgrad-squared/guided-backprop,grad-cam').map((m) => m.id)).toEqual(['grad-cam', 'vargrad/vanilla-gradient', 'smoothgrad-squared/guided-backprop']);
    expect(resolveMethods('deconvnet', { smoothgrad: { samples: 4, sigma: 0.1 } }).map((m) => m.id)).toEqual(['smoothgrad/deconvnet']);
    expect(parseSmoothGrad('50,0.2')).toEqual({ samples: 50, sigma: 0.2 });
    expect(parseSmoothGrad('8')).toEqual({ samples: 8, sigma: 0.15 });
  });

  it('rejects unknown names listing the known ones, and bad SmoothGrad settings', () => {
    expect(() => resolveMethods('guided-backprop,lime')).toThrow(/unknown method 'lime'; known methods: vanilla-gradient, input-x-gradient, deconvnet, guided-backprop, integrated-gradients, grad-cam, guided-grad-cam/);
    expect(() => resolveMethods('vargrad/lime')).toThrow(/unknown method 'lime' in 'vargrad\/lime'/);
    expect(() => resolveMethods('')).toThrow(/no methods given/);
    expect(() => parseSmoothGrad('0,0.1')).toThrow(/n an integer ≥ 1/);
    expect(() => parseSmoothGrad('10,-0.1')).toThrow(/sigma must be a number ≥ 0/);
  });

  it('parses index specs', () => {
    expect(parseIndices('0..3,7', 10)).toEqual([0, 1, 2, 3, 7]);
    expect(() => parseIndices('5..2', 10)).toThrow(/empty/);
    expect(() => parseIndices('12', 10)).toThrow(/outside the test set \(10 images\)/);
    expect(() => parseIndices('a', 10)).toThrow(/--index expects/);
  });
});

describe('whitebox explain', () => {
  let dir: string;
  let modelPath: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wb-explain-'));
    modelPath = join(dir, 'mnist-random.onnx');
    writeFileSync(modelPath, buildSimpleCnn({ channels: 1, height: 28, width: 28, seed: 2, widths: [8, 16, 32], hidden: 64 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a PNG per image and method, a grid and predictions.json (dataset input, all methods)', async () => {
    const out = join(dir, 'maps');
    const program = new Command().exitOverride();
    register(program);
    await program.parseAsync(['node', 'whitebox', 'explain', '--model', modelPath, '--dataset', 'mnist', '--index', '0..2', '--methods', 'all', '--steps', '8', '--threads', '1', '--out', out]);
    const json = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8'));
    expect(json.items.map((i: { source: string }) => i.source)).toEqual(['mnist-test#0', 'mnist-test#1', 'mnist-test#2']);
    expect(json.methods.map((m: { id: string }) => m.id)).toEqual(GRADIENT_METHOD_IDS);
    // Predictions agree with the model run directly.
    const ds = loadMnist({ trainLimit: 0, testLimit: 3 }).test;
    expect(json.items.map((i: { label: number }) => i.label)).toEqual(Array.from(ds.labels));
    const model = await loadModel(modelPath, { threads: 1 });
    const fwd = await model.forward(toTensor(ds));
    await model.dispose();
    expect(json.items.map((i: { prediction: number }) => i.prediction)).toEqual(Array.from(fwd.predictions));
    expect(json.items.map((i: { target: number }) => i.target)).toEqual(Array.from(fwd.predictions));
    for (const m of json.methods) {
      expect(m.file).toHaveLength(3);
      const img = await decodePng(readFileSync(join(out, m.file[0])));
      expect([img.width, img.height]).toEqual([112, 112]);
    }
    const grid = await decodePng(readFileSync(join(out, 'grid.png')));
    // 3 rows × (input + 7 methods) of 28·4 = 112 px cells with 2 px margins.
    expect(grid.width).toBe(8 * 112 + 9 * 2);
    // plus a header band of (wrapped) method names
    expect(grid.height).toBeGreaterThan(3 * 112 + 4 * 2);
    expect(grid.height).toBeLessThan(3 * 112 + 4 * 2 + 40);
  });

  it("--methods cam: the CAM family and occlusion, with --layer, --window and --stride", async () => {
    const out = join(dir, 'cam-maps');
    const r = await explain({ model: modelPath, dataset: 'mnist', index: '0..1', methods: 'cam', layer: 'relu2', window: 7, stride: 7, threads: 1, out, quiet: true });
    expect(r.predictions.methods.map((m) => m.id)).toEqual(CAM_METHOD_IDS);
    for (const m of r.predictions.methods) expect(m.file).toHaveLength(2);
    await expect(explain({ model: modelPath, dataset: 'mnist', index: '0', methods: 'score-cam', layer: 'fc1', threads: 1, out, quiet: true })).rejects.toThrow(/score-cam: layer 'fc1' \(Gemm\) has shape \[N, 64\], not spatial/);
    await expect(explain({ model: modelPath, dataset: 'mnist', index: '0', methods: 'occlusion', window: 29, threads: 1, out, quiet: true })).rejects.toThrow(/occlusion: window 29×29 is larger than the image 28×28/);
  });

  it('explains a PNG file with a fixed target and SmoothGrad ensembles', async () => {
    const ds = loadMnist({ trainLimit: 0, testLimit: 1 }).test;
    const png = join(dir, 'digit.png');
    writeFileSync(png, await encodePng(scaleNearest(imageToRgba(toTensor(ds, 0, 1)), 2)));
    const out = join(dir, 'png-maps');
    const r = await explain({ model: modelPath, input: [png], methods: 'vargrad,smoothgrad/grad-cam', target: '3', smoothgrad: '4,0.1', out, quiet: true });
    expect(r.predictions.items).toHaveLength(1);
    expect(r.predictions.items[0]!.target).toBe(3);
    expect(r.predictions.methods.map((m) => m.id)).toEqual(['vargrad/vanilla-gradient', 'smoothgrad/grad-cam']);
    expect(existsSync(join(out, 'grid.png'))).toBe(true);
  });

  it('fails with clear errors on bad arguments', async () => {
    const out = join(dir, 'bad');
    await expect(explain({ model: modelPath, dataset: 'mnist', index: '0', methods: 'saliency', out, quiet: true })).rejects.toThrow(/unknown method 'saliency'; known methods: vanilla-gradient/);
    await expect(explain({ model: modelPath, dataset: 'mnist', index: '0', target: '10', out, quiet: true })).rejects.toThrow(/--target 10 is out of range: the model has 10 classes/);
    await expect(explain({ model: join(dir, 'missing.onnx'), dataset: 'mnist', out, quiet: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(explain({ model: modelPath, input: [join(dir, 'nope.png')], out, quiet: true })).rejects.toThrow(/cannot read input image .*nope\.png: no such file/);
    await expect(explain({ model: modelPath, dataset: 'mnist', index: '0', smoothgrad: '5,-1', out, quiet: true })).rejects.toThrow(/sigma must be a number ≥ 0/);
    await expect(explain({ model: modelPath, out, quiet: true })).rejects.toThrow(/nothing to explain/);
  });
});
