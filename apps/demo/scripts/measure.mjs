#!/usr/bin/env node
// Measures the demo in headless chromium: model load time and per-method time of each map (median over
// bundled samples), as the page itself reports them. Usage (after a build):
//   node scripts/measure.mjs [--samples 5] [--ig-steps 32] [--webgpu]   (--webgpu: SwiftShader WebGPU, slow)
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const samples = Number(opt('--samples', '5'));
const webgpu = args.includes('--webgpu');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

const { server, url } = await startServer({ port: 0 });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
    ...(webgpu ? ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'] : ['--disable-gpu'])],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(url);
  const ready = () => page.waitForSelector('[data-testid="status"][data-status="ready"]', { timeout: 600_000 });
  await ready();
  console.log(`threads: crossOriginIsolated=${await page.evaluate(() => self.crossOriginIsolated)}, hardwareConcurrency=${await page.evaluate(() => navigator.hardwareConcurrency)}`);
  const igSteps = opt('--ig-steps', undefined);
  if (igSteps) await page.getByTestId('ig-steps').fill(igSteps);
  for (const model of ['mnist', 'cifar10']) {
    await page.getByTestId(`model-${model}`).check();
    if (webgpu) await page.getByTestId('device-webgpu').check();
    await page.waitForSelector(`[data-testid="model-note"]:has-text("${model === 'mnist' ? 'MNIST' : 'CIFAR-10'}")`, { timeout: 600_000 });
    await ready();
    const info = await page.evaluate(() => window.__whitebox.info);
    const times = {};
    let predict = [];
    const seven = ['vanilla-gradient', 'input-x-gradient', 'deconvnet', 'guided-backprop', 'integrated-gradients', 'grad-cam', 'guided-grad-cam'];
    const latency = { seven: [], ten: [], all: [] };
    await page.evaluate(() => document.addEventListener('click', (e) => { window.__clickAt = e.timeStamp; }, true));
    for (let i = 0; i < samples; i++) {
      await page.getByTestId(`sample-${(i * 7) % 30}`).click();
      await page.waitForTimeout(50);
      await ready();
      // The page stamps each map when it arrives (cells[k].receivedAt, performance.now()); the click's own timestamp
      // is on the same clock. Click → the seven gradient maps on screen, and click → every map.
      const l = await page.evaluate((seven) => {
        const w = window.__whitebox;
        const at = (keys) => Math.max(...keys.map((k) => w.cells[k]?.receivedAt ?? NaN)) - window.__clickAt;
        const arrivals = Object.values(w.cells).map((c) => c.receivedAt ?? NaN).sort((a, b) => a - b);
        return { seven: at(seven.map((m) => `none:${m}`)), ten: arrivals[9] - window.__clickAt, all: at(Object.keys(w.cells)) };
      }, seven);
      for (const k of ['seven', 'ten', 'all']) latency[k].push(l[k]);
      const st = await page.evaluate(() => {
        const w = window.__whitebox;
        return { predict: w.prediction.ms, maps: Object.fromEntries(Object.entries(w.cells).map(([k, c]) => [k, c.map ? c.map.ms : NaN])) };
      });
      predict.push(st.predict);
      for (const [k, ms] of Object.entries(st.maps)) (times[k] ??= []).push(ms);
    }
    console.log(`\n${info.title} on ${info.executionProvider}${info.shipped ? '' : ' (random-weight stand-in)'}: load + first gradient graph ${info.loadMs.toFixed(0)} ms, forward median ${median(predict).toFixed(1)} ms`);
    console.log('| map | median ms | min ms | max ms |\n| --- | --- | --- | --- |');
    for (const [k, xs] of Object.entries(times)) console.log(`| ${k.replace('none:', '')} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`);
    // The seven gradient maps' own compute times summed, per sample; and the page's latency from the click.
    const sums = Array.from({ length: samples }, (_, i) => seven.reduce((a, k) => a + (times[`none:${k}`]?.[i] ?? NaN), 0));
    console.log(`seven gradient maps: compute summed median ${median(sums).toFixed(0)} ms; click → all seven on screen median ${median(latency.seven).toFixed(0)} ms (min ${Math.min(...latency.seven).toFixed(0)}); click → first ten maps on screen (the seven, Grad-CAM++, XGrad-CAM, HiResCAM) median ${median(latency.ten).toFixed(0)} ms (min ${Math.min(...latency.ten).toFixed(0)}); click → all ${Object.keys(times).length} maps median ${median(latency.all).toFixed(0)} ms (min ${Math.min(...latency.all).toFixed(0)})`);
  }
} finally {
  await browser.close();
  server.close();
}
