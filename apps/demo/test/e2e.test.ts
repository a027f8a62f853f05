// End-to-end: the built demo in Debian's headless chromium (playwright-core), served by scripts/serve.mjs.
// Builds apps/demo/dist first when it is missing. Screenshots go to apps/demo/test-results/ (a CI artifact).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@whitebox/backend-node';
import { Tensor } from '@whitebox/core';
import { AblationCam } from '@whitebox/ablation-cam';
import { GradCam } from '@whitebox/grad-cam';
import { Occlusion } from '@whitebox/occlusion';
import { ScoreCam } from '@whitebox/score-cam';
import { GuidedBackprop } from '@whitebox/guided-backprop';
import { SmoothGrad } from '@whitebox/smoothgrad';
import { IntegratedGradients } from '@whitebox/integrated-gradients';
import { GraphBuilder, buildSimpleCnn, f32, i64, loadModel } from '@whitebox/onnx';
import { VanillaGradient } from '@whitebox/vanilla-gradient';
// @ts-expect-error plain ESM script without types
import { startServer } from '../scripts/serve.mjs';

const demo = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(demo, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without chromium the suite is skipped locally, but fails in CI (where .ci/run installs it).
const haveChromium = existsSync(CHROMIUM) || !!process.env.CI;
const METHODS = ['vanilla-gradient', 'input-x-gradient', 'deconvnet', 'guided-backprop', 'integrated-gradients', 'grad-cam', 'guided-grad-cam'];
/** The CAM family and Occlusion: plain only (their own table). */
const CAM_METHODS = ['grad-cam-plus-plus', 'xgrad-cam', 'hires-cam', 'layer-cam', 'score-cam', 'ablation-cam', 'eigen-cam', 'occlusion'];
const methodsOf = (ensemble: string) => (ensemble === 'none' ? [...METHODS, ...CAM_METHODS] : METHODS);

/** A minimal valid PNG (8-bit grayscale) of any size: tiny on disk, huge when decoded. `pixel(x, y)` in 0..255 (default black). */
function grayPng(width: number, height: number, pixel: (x: number, y: number) => number = () => 0): Buffer {
  const table = new Int32Array(256).map((_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c;
  });
  const crc = (buf: Buffer) => {
    let c = -1;
    for (const b of buf) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ -1) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const raw = Buffer.alloc((width + 1) * height); // per row: filter byte 0, then the pixels
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = pixel(x, y);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Per-canvas pixel statistics: distinct RGB colors and the luminance range. */
async function canvasStats(page: Page, testId: string): Promise<{ distinct: number; min: number; max: number }> {
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`) as HTMLCanvasElement | null;
    if (!c) throw new Error(`no canvas ${id}`);
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colors = new Set<number>();
    let min = 255, max = 0;
    for (let i = 0; i < d.length; i += 4) {
      colors.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
      const l = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
      min = Math.min(min, l);
      max = Math.max(max, l);
    }
    return { distinct: colors.size, min, max };
  }, testId);
}

async function waitForMaps(page: Page, ensemble = 'none'): Promise<void> {
  await page.waitForSelector('[data-testid="status"][data-status="ready"]', { timeout: 90_000 });
  for (const m of methodsOf(ensemble)) {
    await page.waitForSelector(`[data-testid="map-${ensemble}-${m}"][data-ready="true"], [data-testid="map-${ensemble}-${m}-error"]`, { timeout: 60_000 });
  }
}

async function expectMapsNonUniform(page: Page, ensemble = 'none'): Promise<void> {
  for (const m of methodsOf(ensemble)) {
    const err = page.getByTestId(`map-${ensemble}-${m}-error`);
    if (await err.count()) throw new Error(`${ensemble}/${m} failed in the browser: ${await err.textContent()}`);
    const s = await canvasStats(page, `map-${ensemble}-${m}`);
    expect(s.distinct, `${ensemble}/${m}: distinct colors`).toBeGreaterThan(8);
    expect(s.max - s.min, `${ensemble}/${m}: luminance range`).toBeGreaterThan(60);
  }
}

/** Largest |a - b| relative to max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / (m || 1);
}

/**
 * The browser's numbers (WebAssembly, in the worker) against an independent run of the same model in Node
 * (onnxruntime-node CPU): probabilities, vanilla gradient, integrated gradients and Grad-CAM for the shown input.
 */
async function expectSameAsNode(page: Page, customBytes?: Uint8Array): Promise<void> {
  type Cell = { map?: { data: Record<string, number>; channels: number; height: number; width: number } };
  const st = await page.evaluate(() => {
    const w = (window as unknown as { __whitebox: any }).__whitebox;
    const arr = (x: ArrayLike<number>) => Array.from(x);
    const cells: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(w.cells as Record<string, { map?: { data: Float32Array } }>)) cells[k] = v.map ? { map: { ...v.map, data: arr(v.map.data) } } : {};
    return { info: w.info, pixels: arr(w.input.pixels), probabilities: w.prediction.probabilities as number[], target: w.target as number, options: w.options, cells };
  });
  const { channels: c, height: h, width: wd } = st.info;
  const bytes = customBytes ?? (st.info.shipped ? new Uint8Array(readFileSync(join(demo, '..', '..', 'models', `${st.info.key}-simplecnn.onnx`))) : buildSimpleCnn({ channels: c, height: h, width: wd, seed: 1 }));
  const model = await loadModel(bytes, { backend: 'node', device: 'cpu' });
  try {
    const x = new Tensor(Float32Array.from(st.pixels), [1, c, h, wd]);
    const fwd = await model.forward(x);
    expect(relErr(st.probabilities, fwd.probabilities.data)).toBeLessThan(1e-4);
    const cells = st.cells as Record<string, Cell>;
    const vg = await new VanillaGradient(model).attribute(x, st.target);
    expect(relErr(cells['none:vanilla-gradient']!.map!.data as unknown as number[], vg.data)).toBeLessThan(1e-3);
    const baseline = ({ black: 0, white: 1, gray: 0.5 } as Record<string, number>)[st.options.igBaseline];
    if (baseline === undefined) throw new Error(`no Node reference for IG baseline '${st.options.igBaseline}'`);
    const ig = await new IntegratedGradients(model).attribute(x, st.target, { steps: st.options.igSteps, baseline });
    expect(relErr(cells['none:integrated-gradients']!.map!.data as unknown as number[], ig.data)).toBeLessThan(1e-3);
    const cam = await new GradCam(model).attribute(x, st.target, { layer: st.options.camLayer });
    expect(relErr(cells['none:grad-cam']!.map!.data as unknown as number[], cam.data)).toBeLessThan(1e-3);
    // The CAM family: Score-CAM (batched masked forward passes), Ablation-CAM (the graph cut at the layer, built in
    // the browser), Occlusion (the worker's window: about 7 across, half-overlapping).
    const score = await new ScoreCam(model).attribute(x, st.target, { layer: st.options.camLayer });
    expect(relErr(cells['none:score-cam']!.map!.data as unknown as number[], score.data)).toBeLessThan(1e-3);
    const ablation = await new AblationCam(model).attribute(x, st.target, { layer: st.options.camLayer });
    expect(relErr(cells['none:ablation-cam']!.map!.data as unknown as number[], ablation.data)).toBeLessThan(1e-3);
    const window = Math.max(2, Math.round(Math.min(h, wd) / 7));
    const occ = await new Occlusion(model).attribute(x, st.target, { window, stride: Math.max(1, Math.floor(window / 2)) });
    expect(relErr(cells['none:occlusion']!.map!.data as unknown as number[], occ.data)).toBeLessThan(1e-3);
  } finally {
    await model.dispose();
  }
}

describe.skipIf(!haveChromium)('demo app in headless chromium', () => {
  let server: Server;
  let url: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let mnistNote = '';

  beforeAll(async () => {
    if (!existsSync(join(demo, 'dist', 'index.html'))) {
      execFileSync('pnpm', ['exec', 'vite', 'build'], { cwd: demo, stdio: 'inherit', timeout: 240_000 });
    }
    mkdirSync(results, { recursive: true });
    ({ server, url } = await startServer({ port: 0 }));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  });

  it('bench.html measures maps/s in the browser, cross-origin isolated with threads', async () => {
    const bench = await browser.newPage();
    try {
      await bench.goto(`${url}bench.html?threads=2&batch=8&reps=1&models=mnist&methods=vanilla-gradient,grad-cam`);
      await bench.waitForFunction(() => (window as unknown as { __bench?: { done: boolean } }).__bench?.done, undefined, { timeout: 120_000 });
      const b = await bench.evaluate(() => (window as unknown as { __bench: { error?: string; crossOriginIsolated: boolean; rows: { method: string; mapsPerSecond: number }[] } }).__bench);
      expect(b.error).toBeUndefined();
      expect(b.crossOriginIsolated).toBe(true);
      expect(b.rows.map((r) => r.method)).toEqual(['vanilla-gradient', 'grad-cam']);
      for (const r of b.rows) expect(Number.isFinite(r.mapsPerSecond) && r.mapsPerSecond > 0).toBe(true);
    } finally {
      await bench.close();
    }
  });

  it('loads MNIST, predicts a bundled test digit and draws all fifteen maps', async () => {
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    await waitForMaps(page);
    await page.getByTestId('overlay').fill('1'); // maps alone, not blended with the digit
    await page.getByTestId('sample-21').click(); // the samples are sorted by class, 3 per class: #21 is a 7
    await waitForMaps(page);
    await expect.poll(() => page.getByTestId('prediction').textContent()).toMatch(/^Prediction: \S+ \(\d+\.\d%\)/);
    mnistNote = (await page.getByTestId('model-note').textContent()) ?? '';
    const shipped = !mnistNote.includes('random-weight');
    if (shipped) expect(await page.getByTestId('prediction').textContent()).toMatch(/^Prediction: 7 /);
    await expectMapsNonUniform(page);
    await expectSameAsNode(page);
    const times = await page.locator('.map figcaption').allTextContents();
    expect(times.filter((t) => /^\d+ ms$/.test(t))).toHaveLength(15);
    await page.screenshot({ path: join(results, 'mnist.png'), fullPage: true });
  });

  it('explains another class and runs the SmoothGrad ensembles', async () => {
    await page.getByTestId('target').selectOption('3');
    await page.getByTestId('sg-samples').fill('4');
    await page.getByTestId('ensemble-smoothgrad').check();
    await page.getByTestId('ensemble-vargrad').check();
    await waitForMaps(page, 'vargrad');
    expect(await page.getByTestId('explained-class').textContent()).toBe('3');
    await expectMapsNonUniform(page, 'smoothgrad');
    await expectMapsNonUniform(page, 'vargrad');
    // Seeded noise: the browser's ensembles equal @whitebox/smoothgrad run in Node on onnxruntime-node.
    const st = await page.evaluate(() => {
      const w = (window as unknown as { __whitebox: any }).__whitebox;
      const arr = (k: string) => Array.from(w.cells[k].map.data as Float32Array);
      return { info: w.info, pixels: Array.from(w.input.pixels as Float32Array), target: w.target, options: w.options, sg: arr('smoothgrad:vanilla-gradient'), vg: arr('vargrad:guided-backprop') };
    });
    expect(st.target).toBe(3);
    const { channels: c, height: h, width: wd } = st.info;
    const model = await loadModel(st.info.shipped ? new Uint8Array(readFileSync(join(demo, '..', '..', 'models', 'mnist-simplecnn.onnx'))) : buildSimpleCnn({ channels: c, height: h, width: wd, seed: 1 }), { backend: 'node', device: 'cpu' });
    try {
      const x = new Tensor(Float32Array.from(st.pixels), [1, c, h, wd]);
      const o = { samples: st.options.sgSamples, sigma: st.options.sgSigma, seed: 0 };
      const sg = await new SmoothGrad(new VanillaGradient(model), { ...o, variant: 'smoothgrad' }).attribute(x, 3);
      expect(relErr(st.sg, sg.data)).toBeLessThan(1e-3);
      const vg = await new SmoothGrad(new GuidedBackprop(model), { ...o, variant: 'vargrad' }).attribute(x, 3);
      expect(relErr(st.vg, vg.data)).toBeLessThan(1e-3);
    } finally {
      await model.dispose();
    }
    await page.screenshot({ path: join(results, 'mnist-smoothgrad.png'), fullPage: true });
    await page.getByTestId('ensemble-smoothgrad').uncheck();
    await page.getByTestId('ensemble-vargrad').uncheck();
    await page.getByTestId('target').selectOption('');
  });

  it('passes the IG, Grad-CAM and display controls through (checked against onnxruntime-node)', async () => {
    await page.getByTestId('ig-steps').fill('12');
    await page.getByTestId('ig-baseline').selectOption('white');
    const defaultLayer = await page.getByTestId('cam-layer').inputValue();
    const layers = await page.getByTestId('cam-layer').locator('option').evaluateAll((o) => o.map((e) => (e as HTMLOptionElement).value));
    expect(layers.length).toBeGreaterThan(1);
    expect(layers).toContain(defaultLayer); // the model's default Grad-CAM layer (last conv block)
    await page.getByTestId('cam-layer').selectOption(layers[1]!); // an earlier, finer layer than the default
    await page.waitForTimeout(300);
    await waitForMaps(page);
    const opts = await page.evaluate(() => (window as unknown as { __whitebox: any }).__whitebox.options);
    expect(opts).toMatchObject({ igSteps: 12, igBaseline: 'white', camLayer: layers[1] });
    await expectSameAsNode(page);
    // Display only: the colormap changes the pixels, not the maps; overlay 0 shows the input itself.
    const before = await canvasStats(page, 'map-none-vanilla-gradient');
    await page.getByTestId('colormap').selectOption('coolwarm');
    const after = await canvasStats(page, 'map-none-vanilla-gradient');
    expect(after).not.toEqual(before);
    await page.getByTestId('overlay').fill('0');
    const input = await canvasStats(page, 'input-canvas');
    expect(await canvasStats(page, 'map-none-grad-cam')).toEqual(input);
    await page.getByTestId('overlay').fill('1');
    await page.getByTestId('colormap').selectOption('inferno');
    await page.getByTestId('ig-steps').fill('32');
    await page.getByTestId('ig-baseline').selectOption('black');
    await page.getByTestId('cam-layer').selectOption(defaultLayer);
  });

  it('switches to CIFAR-10 and explains a colour image', async () => {
    await page.getByTestId('model-cifar10').check();
    await page.waitForSelector('[data-testid="model-note"]:has-text("CIFAR-10")', { timeout: 60_000 });
    await waitForMaps(page);
    await expect.poll(() => page.getByTestId('prediction').textContent()).toMatch(/^Prediction: \S+ \(\d+\.\d%\)/);
    await expectMapsNonUniform(page);
    await page.screenshot({ path: join(results, 'cifar10.png'), fullPage: true });
  });

  it('refuses a non-image, a huge image and an oversized file with clear messages', async () => {
    await page.getByTestId('model-mnist').check();
    await waitForMaps(page);
    // Back from CIFAR-10: the worker's cached model (same load time reported), not a reload.
    if (mnistNote) expect(await page.getByTestId('model-note').textContent()).toBe(mnistNote);
    const upload = page.getByTestId('image-upload');
    await upload.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('just some text, not pixels') });
    await expect.poll(() => page.getByTestId('input-error').textContent()).toContain('notes.txt is not an image');
    await upload.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: grayPng(8000, 6000) });
    await expect.poll(() => page.getByTestId('input-error').textContent(), { timeout: 20_000 }).toContain('huge.png is 8000×6000 pixels');
    await upload.setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: Buffer.alloc(21 * 2 ** 20) });
    await expect.poll(() => page.getByTestId('input-error').textContent()).toContain('big.png is 21.0 MB');
    await page.screenshot({ path: join(results, 'bad-image.png'), fullPage: true });
    // Still working: a real (tiny) image is accepted and explained.
    // Still working: a photo-like digit (a dark bar on white paper, 60×80) is inverted, framed and explained.
    await upload.setInputFiles({ name: 'one.png', mimeType: 'image/png', buffer: grayPng(60, 80, (x, y) => (x >= 26 && x < 34 && y >= 10 && y < 70 ? 20 : 235)) });
    await page.waitForSelector('.source:has-text("upload one.png")');
    expect(await page.locator('.source').textContent()).toContain('inverted to white ink on black');
    await waitForMaps(page);
    expect(await page.getByTestId('input-error').count()).toBe(0);
    const px = await page.evaluate(() => Array.from((window as unknown as { __whitebox: any }).__whitebox.input.pixels as Float32Array));
    // The bar is now bright on black, 20 px tall (MNIST framing), centred.
    const rows = Array.from({ length: 28 }, (_, y) => Math.max(...px.slice(y * 28, y * 28 + 28)));
    const inked = rows.map((v, y) => (v > 0.5 ? y : -1)).filter((y) => y >= 0);
    expect(inked.length).toBe(20);
    expect((inked[0]! + inked.at(-1)!) / 2).toBeCloseTo(13.5, 0);
    expect(px[0]).toBe(0);
    await expectMapsNonUniform(page);
  });

  it('explains a digit drawn on the pad, framed like MNIST', async () => {
    await waitForMaps(page);
    const pad = await page.getByTestId('drawing-pad').boundingBox();
    if (!pad) throw new Error('no drawing pad');
    // A vertical stroke (a "1") in the pad's top-left quarter: framing must centre it.
    await page.mouse.move(pad.x + pad.width * 0.25, pad.y + pad.height * 0.1);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(pad.x + pad.width * 0.27, pad.y + pad.height * (0.1 + 0.035 * i));
    await page.mouse.up();
    await page.waitForSelector('.source:has-text("your drawing")');
    await waitForMaps(page);
    const com = await page.evaluate(() => {
      const w = (window as unknown as { __whitebox: any }).__whitebox;
      const px = w.input.pixels as Float32Array;
      let m = 0, cx = 0, cy = 0;
      for (let i = 0; i < px.length; i++) { m += px[i]!; cx += px[i]! * (i % 28); cy += px[i]! * Math.floor(i / 28); }
      return { m, cx: cx / m, cy: cy / m };
    });
    expect(com.m).toBeGreaterThan(20); // ink survived the 196 -> 28 downscale
    expect(Math.abs(com.cx - 13.5)).toBeLessThan(1.5);
    expect(Math.abs(com.cy - 13.5)).toBeLessThan(1.5);
    await expectMapsNonUniform(page);
    await page.screenshot({ path: join(results, 'drawing.png'), fullPage: true });
  });

  it('reports a malformed ONNX file, an unsupported operator and a non-image model, and keeps working', async () => {
    await page.getByTestId('model-custom').check();
    const upload = page.getByTestId('onnx-upload');
    await upload.setInputFiles({ name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('definitely not a protobuf ModelProto \x00\xff\x13') });
    await expect.poll(() => page.getByTestId('model-error').textContent(), { timeout: 30_000 }).toMatch(/^broken\.onnx: .*ONNX/);
    await page.screenshot({ path: join(results, 'bad-onnx.png'), fullPage: true });

    // An image model with an operator the gradient builder does not know (Hardmax, after the logits' MatMul).
    const g = new GraphBuilder('unsupported');
    g.input('x', ['N', 1, 8, 8]);
    g.initializer('shape', i64([-1, 64]));
    g.initializer('w', f32(new Float32Array(64 * 3).fill(0.1), [64, 3]));
    const [flat] = g.node('Reshape', ['x', 'shape'], 1);
    const [z] = g.node('MatMul', [flat!, 'w'], 1);
    g.node('Hardmax', [z!], ['y'], { axis: 1 });
    g.output('y', ['N', 3]);
    await upload.setInputFiles({ name: 'hardmax.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(g.toModelBytes()) });
    await expect.poll(() => page.getByTestId('model-error').textContent(), { timeout: 30_000 }).toMatch(/hardmax\.onnx: .*Hardmax/);
    await page.screenshot({ path: join(results, 'unsupported-op-onnx.png'), fullPage: true });

    // A model whose input is not an image: [N, 10] -> [N, 3].
    const v = new GraphBuilder('vector');
    v.input('features', ['N', 10]);
    v.initializer('w', f32(new Float32Array(30).fill(0.1), [10, 3]));
    v.node('MatMul', ['features', 'w'], ['logits']);
    v.output('logits', ['N', 3]);
    await upload.setInputFiles({ name: 'vector.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(v.toModelBytes()) });
    await expect.poll(() => page.getByTestId('model-error').textContent(), { timeout: 30_000 }).toMatch(/^vector\.onnx: .*'features' has shape \[N, 10\], not an image/);
    await page.screenshot({ path: join(results, 'non-image-onnx.png'), fullPage: true });

    // An image model without a fixed size: [N, 3, H, W] -> global average pool -> 3 classes.
    const f = new GraphBuilder('free');
    f.input('img', ['N', 3, 'H', 'W']);
    f.initializer('w', f32(new Float32Array(9).fill(0.1), [3, 3]));
    const [gap] = f.node('GlobalAveragePool', ['img'], 1);
    const [flat2] = f.node('Flatten', [gap!], 1, { axis: 1 });
    f.node('MatMul', [flat2!, 'w'], ['logits']);
    f.output('logits', ['N', 3]);
    await upload.setInputFiles({ name: 'free.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(f.toModelBytes()) });
    await expect.poll(() => page.getByTestId('model-error').textContent(), { timeout: 30_000 }).toMatch(/^free\.onnx: .*('H'|free height\/width)/);

    // A valid classifier of another shape (RGB 20×20, 5 classes): gradient graphs built in the browser, maps drawn.
    const own = buildSimpleCnn({ channels: 3, height: 20, width: 20, numClasses: 5, seed: 3, widths: [8, 16, 16], hidden: 32 });
    await upload.setInputFiles({ name: 'mine.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(own) });
    await page.waitForSelector('[data-testid="model-note"]:has-text("mine.onnx")', { timeout: 60_000 });
    expect(await page.getByTestId('model-error').count()).toBe(0);
    expect(await page.getByTestId('model-note').textContent()).toContain('input 3×20×20, 5 classes');
    await page.getByTestId('sample-0').click(); // a CIFAR-10 test image, resized to 20×20
    await waitForMaps(page);
    await expect.poll(() => page.getByTestId('prediction').textContent()).toMatch(/^Prediction: class [0-4] \(\d+\.\d%\)/);
    await expectMapsNonUniform(page);
    await expectSameAsNode(page, own);
    await page.screenshot({ path: join(results, 'own-onnx.png'), fullPage: true });

    // The app keeps working: back to MNIST, maps again.
    await page.getByTestId('model-mnist').check();
    await waitForMaps(page);
    await expectMapsNonUniform(page);
    expect(pageErrors).toEqual([]);
  });

  it('shows the evaluation report, or says how to produce it', async () => {
    await page.getByTestId('tab-evaluation').click();
    const built = JSON.parse(readFileSync(join(demo, 'dist', 'report', 'index.json'), 'utf8')) as { files: string[] };
    if (built.files.length === 0) {
      await expect.poll(() => page.getByTestId('evaluation-missing').textContent()).toContain('run pnpm start to produce the evaluation'.replace('run ', 'Run '));
    } else {
      await page.waitForSelector('[data-testid="report-frame"], [data-testid="report-meta"]');
    }
    await page.screenshot({ path: join(results, 'evaluation.png'), fullPage: true });
    await page.getByTestId('tab-explain').click();
    expect(await page.getByTestId('status').getAttribute('data-status')).toBe('ready'); // the explain view kept its state
  });

  it('renders a report page and a bare results.json (served from a copy of dist with a fake report)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'whitebox-demo-'));
    const fake = await (async () => {
      // A copy, not symlinks: the server refuses symlinks that lead out of its folder.
      for (const f of readdirSync(join(demo, 'dist'))) if (f !== 'report') cpSync(join(demo, 'dist', f), join(dir, f), { recursive: true });
      mkdirSync(join(dir, 'report', 'cifar10'), { recursive: true });
      writeFileSync(join(dir, 'report', 'index.json'), JSON.stringify({ files: ['index.html', 'results.json', 'cifar10/results.json'] }));
      writeFileSync(join(dir, 'report', 'index.html'), '<!doctype html><html><body><h1>Fake MNIST report</h1><table><tr><td>guided-backprop</td><td>0.123</td></tr></table></body></html>');
      writeFileSync(join(dir, 'report', 'results.json'), JSON.stringify({ meta: { dataset: 'mnist', scale: 'quick', model: 'models/mnist-simplecnn.onnx', methods: ['grad-cam', 'guided-backprop'], createdAt: 'today' } }));
      writeFileSync(join(dir, 'report', 'cifar10', 'results.json'), JSON.stringify({
        meta: { dataset: 'cifar10', scale: 'quick', model: 'm.onnx', methods: ['grad-cam'] },
        road: { curves: [{ method: 'grad-cam', order: 'morf', aucAccuracy: 0.42, fractions: [0, 0.1, 0.2, 0.3], accuracy: [0.9, 0.6, 0.4, 0.3] }] },
        metrics: {
          samples: 32, seed: 0, methods: ['grad-cam', 'random', 'sobel'],
          metrics: [
            { id: 'pixel-flipping', name: 'Pixel Flipping (MoRF)', family: 'faithfulness', direction: 'lower', paper: 'Samek et al. 2017', definition: 'd' },
            { id: 'pointing-game', name: 'Pointing Game', family: 'localization', direction: 'higher', paper: 'Zhang et al. 2018', definition: 'd' },
          ],
          rows: [
            { metric: 'pixel-flipping', method: 'grad-cam', mean: 0.31, std: 0.1, samples: 32, excluded: 0 },
            { metric: 'pixel-flipping', method: 'random', mean: 0.52, std: 0.1, samples: 32, excluded: 0 },
            { metric: 'pixel-flipping', method: 'sobel', mean: 0.44, std: 0.1, samples: 32, excluded: 0 },
            { metric: 'pointing-game', method: 'grad-cam', mean: 0.5, std: 0.5, samples: 32, excluded: 0 },
            { metric: 'pointing-game', method: 'random', mean: 0.2, std: 0.4, samples: 32, excluded: 0 },
            { metric: 'pointing-game', method: 'sobel', mean: 0.7, std: 0.4, samples: 32, excluded: 0 },
          ],
          curves: [],
        },
      }));
      return startServer({ port: 0, root: dir });
    })();
    const p = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    try {
      await p.goto(fake.url);
      await p.getByTestId('tab-evaluation').click();
      await expect.poll(() => p.getByTestId('report-meta').textContent()).toContain('Dataset mnist (quick scale), model models/mnist-simplecnn.onnx, methods: grad-cam, guided-backprop');
      await expect.poll(() => p.frameLocator('[data-testid="report-frame"]').locator('h1').textContent()).toBe('Fake MNIST report');
      await p.getByLabel('cifar10').check();
      await expect.poll(() => p.getByTestId('report-meta').textContent()).toContain('Dataset cifar10');
      // The bare results.json: the ROAD curve's table row and a line chart with one polyline of 4 points.
      await expect.poll(() => p.locator('.report-table td').allTextContents()).toEqual(expect.arrayContaining(['grad-cam', 'morf', '0.4200']));
      // The metrics summary: direction in every header, the best in bold, beating both baselines in green.
      await expect.poll(() => p.getByTestId('metrics-summary').locator('th').allTextContents()).toEqual(['method', 'Pixel Flipping (MoRF) ↓', 'method', 'Pointing Game ↑']);
      expect(await p.getByTestId('metrics-summary').locator('td.beats').allTextContents()).toEqual(['0.310']);
      expect(await p.getByTestId('metrics-summary').locator('td b').allTextContents()).toEqual(['0.310', '0.700']);
      const pts = await p.locator('.chart polyline').first().getAttribute('points');
      expect(pts?.trim().split(/\s+/)).toHaveLength(4);
      await p.screenshot({ path: join(results, 'evaluation-fake.png'), fullPage: true });
    } finally {
      await p.close();
      await new Promise((ok) => fake.server.close(ok));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// WebGPU through SwiftShader (Chromium's software Vulkan): slow, so only the first maps are awaited.
describe.skipIf(!haveChromium)('demo app on WebGPU (SwiftShader)', () => {
  it('runs the model and the first maps on WebGPU and agrees with onnxruntime-node', async () => {
    if (!existsSync(join(demo, 'dist', 'index.html'))) execFileSync('pnpm', ['exec', 'vite', 'build'], { cwd: demo, stdio: 'inherit', timeout: 240_000 });
    const { server, url } = await startServer({ port: 0 });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
        '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(url);
      await page.waitForSelector('[data-testid="status"][data-status="ready"]', { timeout: 90_000 });
      if (await page.getByTestId('device-webgpu').isDisabled()) {
        // No adapter even in software: the page must say why instead of offering a broken choice.
        expect(await page.getByTestId('webgpu-missing').textContent()).toMatch(/WebGPU/);
        return;
      }
      await page.getByTestId('device-webgpu').check();
      await page.waitForSelector('[data-testid="model-note"]:has-text("on webgpu")', { timeout: 90_000 });
      await page.waitForSelector('[data-testid="map-none-deconvnet"][data-ready="true"]', { timeout: 90_000 });
      // Each map says where it ran: on WebGPU, or on WebAssembly after WebGPU failed (ONNX Runtime's WebGPU
      // provider rejects some gradient graphs); never an empty cell.
      const captions = await page.locator('.map figcaption').allTextContents();
      expect(captions.slice(0, 3).every((t) => /^\d+ ms( \(wasm\))?$/.test(t))).toBe(true);
      console.log(`WebGPU (SwiftShader) map times: ${captions.slice(0, 3).join(', ')}`);
      await expect.poll(() => page.getByTestId('prediction').textContent()).toMatch(/^Prediction: \S+ \(\d+\.\d%\)/);
      const st = await page.evaluate(() => {
        const w = (window as unknown as { __whitebox: any }).__whitebox;
        return { device: w.device, info: w.info, pixels: Array.from(w.input.pixels as Float32Array), probabilities: w.prediction.probabilities as number[], target: w.target as number, vg: Array.from(w.cells['none:vanilla-gradient'].map.data as Float32Array) };
      });
      expect(st.device).toBe('webgpu');
      expect(st.info.executionProvider).toBe('webgpu');
      const { channels: c, height: h, width: wd } = st.info;
      const bytes = st.info.shipped ? new Uint8Array(readFileSync(join(demo, '..', '..', 'models', `${st.info.key}-simplecnn.onnx`))) : buildSimpleCnn({ channels: c, height: h, width: wd, seed: 1 });
      const model = await loadModel(bytes, { backend: 'node', device: 'cpu' });
      try {
        const x = new Tensor(Float32Array.from(st.pixels), [1, c, h, wd]);
        expect(relErr(st.probabilities, (await model.forward(x)).probabilities.data)).toBeLessThan(1e-3);
        expect(relErr(st.vg, (await new VanillaGradient(model).attribute(x, st.target)).data)).toBeLessThan(1e-2);
      } finally {
        await model.dispose();
      }
      await page.screenshot({ path: join(results, 'webgpu.png'), fullPage: true });
    } finally {
      await browser.close();
      await new Promise((ok) => server.close(ok));
    }
  });
});
