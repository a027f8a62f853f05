import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { Rng } from '@whitebox/core';
import { coherence, fromAttribution, imagesToTensor, randomExplainer, randomRelevance, road, roarKar, sanityCheck, selectivity, writeReport, type EvaluationResults } from '@whitebox/metrics';
import { lineChartSvg } from '@whitebox/visualize';
import { Gradient, HW, REGION, RegionModel, antiOracle, fixedRelevance, nearestCentroid, oracle, regionDataset } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

async function smallResults(): Promise<EvaluationResults> {
  const model = new RegionModel();
  const ds = regionDataset(12, 1, 'region-test');
  const x = imagesToTensor(ds);
  const explainers = [oracle(), antiOracle(), randomExplainer(1), fromAttribution(new Gradient(model))];
  const train = regionDataset(60, 2, 'train');
  const rng = new Rng(9);
  return {
    meta: { dataset: 'region', scale: 'test', model: 'region-model', modelHash: 'ab'.repeat(32), methods: explainers.map((e) => e.name), createdAt: new Date(0).toISOString(), command: 'vitest', timings: { coherence: 0.1, selectivity: 0.2 }, settings: { steps: 6, samples: 12 } },
    coherence: await coherence(ds, explainers),
    selectivity: await selectivity(model, explainers, x, ds.labels, { steps: 6, removalValue: 0.5 }),
    road: await road(model, explainers, x, ds.labels, { fractions: [0.2, 0.5] }),
    roarKar: await roarKar(train, ds, [
      { method: 'oracle', train: fixedRelevance(60, (p) => (REGION.includes(p) ? 1 : 0)), test: fixedRelevance(12, (p) => (REGION.includes(p) ? 1 : 0)) },
      { method: 'random', train: randomRelevance(60, HW, 1), test: randomRelevance(12, HW, 2) },
    ], nearestCentroid, { fractions: [0.3, 0.7], seeds: [0, 1] }),
    sanity: await sanityCheck(model, [{ name: 'gradient', make: (m) => fromAttribution(new Gradient(m)) }], [
      { layer: 'dense', model: async () => new RegionModel(Float32Array.from({ length: HW }, () => rng.normal())) },
    ], x, ds.labels),
  };
}

describe('charts', () => {
  it('draws one SVG path per series with finite coordinates, and rejects NaN points', async () => {
    const svg = await lineChartSvg([{ name: 'a', points: [[0, 1], [1, 0.5]] }, { name: 'b', points: [[0, 0.2], [1, 0.4]], error: [0.1, 0.1] }], { xLabel: 'x', yLabel: 'y' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).not.toMatch(/NaN/);
    // Two line marks (one per series) with non-empty path data, plus legend entries for both names.
    const lineGroups = svg.split('mark-line').slice(1).map((g) => g.slice(0, g.indexOf('</g>')));
    const linePaths = lineGroups.flatMap((g) => [...g.matchAll(/ d="(M[^"]+)"/g)].map((m) => m[1]!));
    expect(linePaths.length).toBe(2);
    expect(svg).toContain('>a</text>');
    expect(svg).toContain('>b</text>');
    await expect(lineChartSvg([{ name: 'bad', points: [[0, NaN]] }], { xLabel: 'x', yLabel: 'y' })).rejects.toThrow(/y of point 0 of series 'bad'/);
    await expect(lineChartSvg([], { xLabel: 'x', yLabel: 'y', title: 'empty' })).rejects.toThrow(/'empty': no series/);
  });
});

describe('report', () => {
  it.skipIf(!existsSync(CHROMIUM))('opens in headless Chromium with its sections, images and charts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wb-report-'));
    const files = await writeReport(await smallResults(), dir);
    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    expect(json.selectivity.curves).toHaveLength(4);
    expect(readFileSync(join(dir, 'roar_kar.csv'), 'utf8').split('\n')[0]).toBe('method,mode,fraction_replaced,fraction_kept,seed,accuracy');
    const html = readFileSync(files.html, 'utf8');
    expect(html).not.toMatch(/src="(?!data:)/); // self-contained
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(r.url()));
      await page.goto(pathToFileURL(files.html).href);
      const ids = await page.$$eval('section', (s) => s.map((e) => e.id));
      expect(ids).toEqual(['coherence', 'selectivity', 'roar', 'kar', 'road', 'sanity', 'timings']);
      const imgs = await page.$$eval('img', (els) => els.map((e) => ({ w: (e as HTMLImageElement).naturalWidth, h: (e as HTMLImageElement).naturalHeight, done: (e as HTMLImageElement).complete })));
      expect(imgs.length).toBe(1 + 4); // coherence + one checkpoint grid per method
      for (const im of imgs) {
        expect(im.done).toBe(true);
        expect(im.w).toBeGreaterThan(0);
        expect(im.h).toBeGreaterThan(0);
      }
      // Coherence: 2 classes × (input + 4 maps) cells of 8×8 drawn ×3 with 2-px gaps.
      expect(imgs[0]).toMatchObject({ w: 5 * 24 + 6 * 2, h: 2 * 24 + 3 * 2 });
      const charts = await page.$$eval('section svg', (svgs) => svgs.map((s) => ({ section: s.closest('section')!.id, lines: [...s.querySelectorAll('.mark-line path')].map((p) => p.getAttribute('d') ?? '') })));
      const bySection = (id: string) => charts.filter((c) => c.section === id);
      expect(bySection('selectivity')).toHaveLength(3);
      for (const id of ['selectivity', 'roar', 'kar', 'road', 'sanity']) {
        for (const c of bySection(id)) {
          expect(c.lines.length).toBeGreaterThan(0);
          for (const d of c.lines) {
            expect(d).toMatch(/^M[\d.\-]+,[\d.\-]+L/);
            expect(d).not.toMatch(/NaN/);
          }
        }
      }
      expect(bySection('selectivity')[0]!.lines).toHaveLength(4);
      const rows = await page.$$eval('#selectivity table tbody tr', (trs) => trs.map((t) => t.textContent ?? ''));
      expect(rows[0]).toMatch(/^oracle/); // sorted by AUC, the oracle first
      expect(failed).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
