import { describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { buildSimpleCnn, loadModel, randomImages } from '@whitebox/onnx';
import { vanillaGradient } from '@whitebox/vanilla-gradient';
import { fromAttribution, modelParameterRandomization, onnxCascade, onnxIndependent, sanityCheck, selectivity, sobelExplainer, weightLayers, type Explainer } from '@whitebox/metrics';
import { readModel } from '@whitebox/onnx';

describe('on a real ONNX SimpleCNN (random weights)', () => {
  const bytes = buildSimpleCnn({ channels: 1, height: 16, width: 16, seed: 3, widths: [4, 8, 8], hidden: 16 });
  it('finds the weight layers and randomizes them in cascade from the top; gradients decorrelate, a model-blind map does not', async () => {
    expect(weightLayers(bytes).map((l) => l.name)).toEqual(['conv1', 'conv2', 'conv3', 'fc1', 'fc2']);
    const load = (b: Uint8Array) => loadModel(b, { backend: 'node' });
    const model = await load(bytes);
    const cascade = onnxCascade(bytes, load, 7);
    expect(cascade.map((c) => c.layer)).toEqual(['fc2', 'fc1', 'conv3', 'conv2', 'conv1']);
    const x = randomImages(6, 1, 16, 16, 5);
    const labels = Array.from((await model.forward(x)).predictions);
    const blind: Explainer = { name: 'input', async relevance(t) { return t.data.slice(); } };
    const res = await sanityCheck(model, [{ name: 'vanilla-gradient', make: (m) => fromAttribution(vanillaGradient(m)) }, { name: 'input', make: () => blind }], cascade, x, labels);
    const rho = (m: string, layer: string): number => res.rows.find((r) => r.method === m && r.layer === layer)!.spearman;
    expect(rho('input', 'conv1')).toBeCloseTo(1, 12);
    expect(rho('vanilla-gradient', 'conv1')).toBeLessThan(0.5);
    // Randomizing changes the model's outputs (the randomized bytes really are used).
    const randomized = await cascade[4]!.model();
    const a = (await model.forward(x)).logits.data;
    const b = (await randomized.forward(x)).logits.data;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1e-3);
    await randomized.dispose();
    // Selectivity's step-0 score is the model's own probability of the label.
    const sel = await selectivity(model, [fromAttribution(vanillaGradient(model))], x, labels, { steps: 3 });
    const probs = (await model.forward(x)).probabilities.data;
    const mean0 = labels.reduce((s, l, i) => s + probs[i * 10 + l]!, 0) / labels.length;
    expect(sel.curves[0]!.probability[0]).toBeCloseTo(mean0, 6);
    expect(sel.curves[0]!.accuracy[0]).toBe(1);
    await model.dispose();
  });
  it('independent randomization changes exactly one weight layer per step; the edge detector stays at 1, the gradient does not', async () => {
    const load = (b: Uint8Array) => loadModel(b, { backend: 'node' });
    const model = await load(bytes);
    const steps = onnxIndependent(bytes, load, 3);
    expect(steps.map((c) => c.layer)).toEqual(['fc2', 'fc1', 'conv3', 'conv2', 'conv1']);
    const inits = (b: Uint8Array) => new Map((readModel(b).graph!.initializer ?? []).map((t) => [t.name!, Buffer.from(t.rawData ?? new Uint8Array()).toString('hex') + JSON.stringify(t.floatData ?? [])]));
    const orig = inits(bytes);
    const layers = weightLayers(bytes);
    for (const [k, step] of steps.entries()) {
      const m = await step.model();
      const changed = [...inits(m.modelBytes)].filter(([name, v]) => orig.get(name) !== v).map(([name]) => name).sort();
      expect(changed).toEqual([...layers.find((l) => l.name === step.layer)!.initializers].sort());
      await m.dispose();
      if (k > 1) break;
    }
    const x = randomImages(4, 1, 16, 16, 6);
    const labels = Array.from((await model.forward(x)).predictions);
    const r = await modelParameterRandomization(model, [{ name: 'sobel', make: () => sobelExplainer() }, { name: 'vanilla-gradient', make: (m) => fromAttribution(vanillaGradient(m), { reduction: 'sum' }) }], { independent: steps.slice(0, 2) }, x, labels, { similarities: ['spearman', 'ssim'] });
    for (const o of r.outputs.filter((q) => q.method === 'sobel')) expect(o.mean).toBe(1);
    expect(r.outputs.find((q) => q.method === 'vanilla-gradient' && q.metric === 'mprt-independent-spearman')!.mean).toBeLessThan(0.9);
    await model.dispose();
  });
});
