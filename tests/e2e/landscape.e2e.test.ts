import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { inflateSync } from 'node:zlib';
import { join } from 'node:path';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { parseSurface, surfaceToJson } from '../../src/compute/landscape/exports';
import { parseHdf5Surface } from '../../src/compute/landscape/hdf5';
import { stlTriangleCount } from '../../src/compute/landscape/stl';
import type { Surface } from '../../src/compute/landscape/surface';
import {
  launchChromium,
  openWatchedPage,
  seriousAxeViolations,
  type WatchedPage,
} from './support/browser';

/**
 * The loss-landscape explorer in Chromium, as a reader and a researcher use
 * it. Surfaces come from files the test writes (analytic functions, opened
 * through the explorer's own "Open a surface file"), so the figure is tested
 * whether or not shipped results exist; when public/artifacts lists shipped
 * surfaces and checkpoints, the shipped figure and Run live are tested too.
 */

const baseUrl = inject('baseUrl');
const distDir = inject('distDir');
const ARTICLE = '/articles/loss-landscapes/';
/** How long a poll waits: the machine running these tests may be busy. */
const WAIT = { timeout: 15_000 };

interface ManifestEntry {
  kind: string;
  model: string;
  skip: boolean;
  path: string;
  /** Surfaces and curves: points per axis. */
  grid?: number[];
}

let browser: Browser;
let files: { skip: string; noskip: string };

/** The build's artifact manifest (read now: it decides which tests run). */
const manifest: ManifestEntry[] = (() => {
  try {
    const text = readFileSync(join(distDir, 'artifacts', 'manifest.json'), 'utf8');
    return (JSON.parse(text) as { artifacts: ManifestEntry[] }).artifacts;
  } catch {
    return [];
  }
})();

/** f on a 21 × 21 grid over [-1, 1]², with one diverged and one uncomputed point. */
function analytic(skip: boolean, f: (a: number, b: number) => number): Surface {
  const n = 21;
  const xs = Array.from({ length: n }, (_, k) => Number((-1 + (2 * k) / (n - 1)).toPrecision(12)));
  const loss: (number | null)[] = [];
  const accuracy: (number | null)[] = [];
  const mask: (0 | 1)[] = [];
  for (const b of xs) {
    for (const a of xs) {
      const k = loss.length;
      const missing = k === n * n - 1;
      const diverged = k === n * 3 + 4;
      loss.push(missing || diverged ? null : f(a, b));
      accuracy.push(missing || diverged ? null : Math.exp(-f(a, b)));
      mask.push(missing ? 0 : 1);
    }
  }
  return {
    xs,
    ys: xs,
    loss,
    accuracy,
    mask,
    meta: {
      model: 'resnet20',
      skip,
      checkpointSha256: (skip ? 'a' : 'b').repeat(64),
      checkpoint2Sha256: null,
      dataset: 'fashion-mnist',
      split: 'train',
      subset: 256,
      seed: 4,
      normalization: 'filter',
      includeBiasBn: false,
      kind: 'direction',
      backend: 'wasm',
      seconds: 1,
      version: 'e2e',
      written: '2026-01-01T00:00:00.000Z',
    },
  };
}

beforeAll(async () => {
  browser = await launchChromium();
  const dir = await mkdtemp(join(tmpdir(), 'skipscape-landscape-'));
  files = { skip: join(dir, 'skip.json'), noskip: join(dir, 'noskip.json') };
  await writeFile(files.skip, surfaceToJson(analytic(true, (a, b) => 0.1 + a * a + 2 * b * b)));
  await writeFile(
    files.noskip,
    surfaceToJson(
      analytic(false, (a, b) => 0.3 + 4 * (a * a + b * b) + Math.abs(Math.sin(9 * a * b))),
    ),
  );
});

afterAll(async () => {
  await browser?.close();
});

async function openArticle(query = '', viewport?: { width: number; height: number }) {
  const watched = await openWatchedPage(browser, { baseUrl, ...(viewport ? { viewport } : {}) });
  await watched.page.goto(new URL(`${ARTICLE}${query}`, baseUrl).href, { waitUntil: 'load' });
  await watched.page.locator('.landscape').scrollIntoViewIfNeeded();
  // The island hydrates when it scrolls into view; Astro drops the ssr attribute when it has.
  await watched.page.waitForFunction(
    () => document.querySelector('astro-island[ssr] .landscape') === null,
    undefined,
    WAIT,
  );
  return watched;
}

/** Open the two test surfaces through the explorer's file input. */
async function openFiles(page: Page) {
  await page.locator('.landscape-export summary').click();
  await page
    .locator('.landscape-export input[type=file]')
    .setInputFiles([files.skip, files.noskip]);
  // Both files shown (in place of shipped surfaces, if any): each panel names its source.
  await expect
    .poll(() => page.locator('.landscape-notices').textContent(), { timeout: 20_000 })
    .toMatch(/Showing your file skip\.json[\s\S]*Showing your file noskip\.json/);
  await expect.poll(() => page.locator('.provenance').count(), WAIT).toBe(2);
}

/**
 * RGBA pixels of a PNG as Playwright's screenshots write them (8-bit RGB or
 * RGBA, not interlaced): the chunks' IDAT data inflated, each row unfiltered
 * (PNG specification, section 9).
 */
function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const channels = png[25] === 6 ? 4 : 3;
  expect(png[24], 'bit depth').toBe(8);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride);
  const row = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] as number;
      const a = x >= channels ? (row[x - channels] as number) : 0;
      const b = prev[x] as number;
      const c = x >= channels ? (prev[x - channels] as number) : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      row[x] = (value + predictor) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 3; k++) out[4 * (y * width + x) + k] = row[x * channels + k] as number;
      out[4 * (y * width + x) + 3] = channels === 4 ? (row[x * channels + 3] as number) : 255;
    }
    prev.set(row);
  }
  return { width, height, rgba: out };
}

/** Distinct colours and a checksum of what a 3-D view shows on screen. */
async function canvasStats(page: Page, index: number) {
  const shot = await page.locator('canvas.surface-canvas').nth(index).screenshot();
  const { rgba } = decodePng(shot);
  const colours = new Set<number>();
  let sum = 0;
  for (let k = 0; k < rgba.length; k += 4) {
    const rgb =
      ((rgba[k] as number) << 16) | ((rgba[k + 1] as number) << 8) | (rgba[k + 2] as number);
    colours.add(rgb);
    sum = (sum + rgb * ((k % 9973) + 1)) % 2147483647;
  }
  return { colours: colours.size, sum };
}

/** Pixels in rows [top, bottom) as dark as the page's ink (#1b1d20): none of viridis, the frame or the page is. */
function darkPixelsOf(
  image: { width: number; rgba: Uint8Array },
  top: number,
  bottom: number,
): number {
  let n = 0;
  for (
    let k = top * image.width * 4;
    k < bottom * image.width * 4 && k < image.rgba.length;
    k += 4
  ) {
    if (Math.max(image.rgba[k]!, image.rgba[k + 1]!, image.rgba[k + 2]!) < 60) n += 1;
  }
  return n;
}

async function darkPixels(page: Page, index: number): Promise<number> {
  const image = decodePng(await page.locator('canvas.surface-canvas').nth(index).screenshot());
  return darkPixelsOf(image, 0, image.height);
}

/** Strongly coloured pixels (as viridis is, not the page's greys) from row `top` down. */
function vividPixels(image: { width: number; rgba: Uint8Array; top: number }): number {
  let n = 0;
  for (let k = image.top * image.width * 4; k < image.rgba.length; k += 4) {
    const c = [image.rgba[k]!, image.rgba[k + 1]!, image.rgba[k + 2]!];
    if (Math.max(...c) - Math.min(...c) > 80) n += 1;
  }
  return n;
}

async function drawnCanvases(page: Page) {
  await expect
    .poll(() => page.locator('canvas.surface-canvas').count(), { timeout: 60_000 })
    .toBe(2);
  for (const i of [0, 1]) {
    await expect
      .poll(async () => (await canvasStats(page, i))?.colours ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(200);
  }
}

function expectClean(watched: WatchedPage) {
  expect(watched.record.foreignRequests, 'requests to another origin').toEqual([]);
  expect(watched.record.pageErrors, 'uncaught page errors').toEqual([]);
  expect(watched.record.consoleErrors, 'console errors').toEqual([]);
  expect(watched.record.failedResponses, 'failed same-origin responses').toEqual([]);
}

async function downloaded(
  page: Page,
  click: () => Promise<void>,
): Promise<{ name: string; bytes: Buffer }> {
  const [download] = (await Promise.all([page.waitForEvent('download'), click()])) as [
    Download,
    void,
  ];
  const path = await download.path();
  return { name: download.suggestedFilename(), bytes: await readFile(path) };
}

describe('loss-landscape explorer', () => {
  test('3-D: both surfaces drawn, pointer readout, cameras linked, Shift + arrows turn the view', async () => {
    const watched = await openArticle();
    const { page } = watched;
    try {
      await openFiles(page);
      await drawnCanvases(page);
      const canvas = page.locator('canvas.surface-canvas').first();
      const box = await canvas.boundingBox();
      if (!box) throw new Error('no canvas box');
      await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.55);
      await expect
        .poll(() => page.locator('.readout').first().textContent(), WAIT)
        .toMatch(/^α -?\d\.\d\d, β -?\d\.\d\d: loss \d/);

      // Dragging the first view turns the second: its pixels change, the URL records the camera.
      const before = await canvasStats(page, 1);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.55, { steps: 6 });
      await page.mouse.up();
      await expect.poll(async () => (await canvasStats(page, 1))?.sum, WAIT).not.toBe(before?.sum);
      await expect
        .poll(() => new URL(page.url()).searchParams.get('landscape.az'), WAIT)
        .not.toBeNull();

      const az = new URL(page.url()).searchParams.get('landscape.az');
      await canvas.focus();
      await page.keyboard.press('Shift+ArrowLeft');
      await page.keyboard.press('Shift+ArrowLeft');
      await expect
        .poll(() => new URL(page.url()).searchParams.get('landscape.az'), WAIT)
        .not.toBe(az);

      expect(await seriousAxeViolations(page)).toEqual([]);
      expectClean(watched);
    } finally {
      await watched.close();
    }
  });

  test('3-D: α, β and loss axes with ticks, readout in both panels by pointer and keyboard, PNG with the colour bar', async () => {
    const watched = await openArticle();
    const { page } = watched;
    try {
      await openFiles(page);
      await drawnCanvases(page);

      // The axes in words (the labels themselves are pixels of the WebGL picture).
      const axes = page.locator('.surface-axes-text');
      expect(await axes.count()).toBe(2);
      const described = await axes.first().textContent();
      expect(described).toMatch(/α \(ticks -1, -0\.5, 0, 0\.5, 1\)/);
      expect(described).toMatch(/β \(ticks -1, -0\.5, 0, 0\.5, 1\)/);
      expect(described).toMatch(/loss upwards on a log scale \(ticks \d[\d.]*(, \d[\d.]*)+\)/);
      const canvas = page.locator('canvas.surface-canvas').first();
      expect(
        await canvas.evaluate(
          (c) => document.getElementById(c.getAttribute('aria-describedby') ?? '')?.textContent,
        ),
      ).toBe(described);
      // The labels are drawn: text in the page's dark ink, a colour nothing else in the view has
      // (the darkest viridis is #440154, the frame #888).
      for (const i of [0, 1]) expect(await darkPixels(page, i)).toBeGreaterThan(150);

      // Pointer over the first view: both panels read out the same α, β.
      const box = await canvas.boundingBox();
      if (!box) throw new Error('no canvas box');
      await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.55);
      const readouts = page.locator('.readout');
      await expect
        .poll(() => readouts.nth(1).textContent(), WAIT)
        .toMatch(/α -?\d\.\d\d, β -?\d\.\d\d: loss \d/);
      const point = (text: string | null) =>
        /^\s*(α -?\d\.\d\d, β -?\d\.\d\d)/.exec(text ?? '')?.[1];
      expect(point(await readouts.nth(0).textContent())).toBeDefined();
      expect(point(await readouts.nth(1).textContent())).toBe(
        point(await readouts.nth(0).textContent()),
      );
      await page.mouse.move(0, 0);
      await expect
        .poll(() => readouts.nth(1).textContent(), WAIT)
        .toMatch(/^\s*Point at the surface/);

      // Keyboard: arrows move the cursor from θ* over the grid, in both panels, announced politely.
      expect(await readouts.first().getAttribute('aria-live')).toBe('polite');
      await canvas.focus();
      await page.keyboard.press('ArrowRight');
      await expect
        .poll(() => readouts.nth(0).textContent(), WAIT)
        .toMatch(/^\s*α 0\.10, β 0\.00: loss 0\.11\b/);
      // 0.3 + 4 (0.1² + 0²) + |sin 0| = 0.34 in the other panel, at the same point.
      expect(await readouts.nth(1).textContent()).toMatch(/^\s*α 0\.10, β 0\.00: loss 0\.34\b/);
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('ArrowUp');
      // 0.1 + 0.1² + 2 × 0.2² = 0.19
      await expect
        .poll(() => readouts.nth(0).textContent(), WAIT)
        .toMatch(/^\s*α 0\.10, β 0\.20: loss 0\.19\b/);
      expect(await readouts.nth(1).textContent()).toMatch(/^\s*α 0\.10, β 0\.20: loss/);

      // The exported PNG: both views, their axes and, under them, the colour bar.
      const cssWidth = box.width;
      const png = await downloaded(page, () =>
        page.locator('.export-row').first().getByRole('button', { name: 'PNG 1×' }).click(),
      ).catch(async (e: unknown) => {
        // Say why no file came: the export's own message, if it failed.
        const notices = await page.locator('.landscape-notices').textContent();
        throw new Error(`${(e as Error).message}; notices: ${notices}`);
      });
      const image = decodePng(png.bytes);
      const viewHeight = Math.round(Math.round(cssWidth) * 0.8);
      expect(image.width).toBeGreaterThan(2 * Math.round(cssWidth));
      // Below the titles (24 px) and the views: the bar's name and the bar itself.
      expect(image.height).toBeGreaterThan(24 + viewHeight + 40);
      const below = { ...image, top: 24 + viewHeight };
      expect(vividPixels(below)).toBeGreaterThan(1000);
      expect(darkPixelsOf(image, 24, 24 + viewHeight)).toBeGreaterThan(300);

      // The print snapshot of each view carries the axes too.
      await expect.poll(() => page.locator('img.print-image').count(), { timeout: 30_000 }).toBe(2);
      const snapshot = await page.locator('img.print-image').first().getAttribute('src');
      const printed = decodePng(Buffer.from((snapshot ?? '').split(',')[1] ?? '', 'base64'));
      expect(darkPixelsOf(printed, 0, printed.height)).toBeGreaterThan(300);

      expect(await seriousAxeViolations(page)).toEqual([]);
      expectClean(watched);
    } finally {
      await watched.close();
    }
  });

  test('3-D in dark mode: axis labels in the light ink', async () => {
    const watched = await openWatchedPage(browser, { baseUrl, colorScheme: 'dark' });
    const { page } = watched;
    try {
      await page.goto(new URL(ARTICLE, baseUrl).href, { waitUntil: 'load' });
      await page.locator('.landscape').scrollIntoViewIfNeeded();
      await page.waitForFunction(
        () => document.querySelector('astro-island[ssr] .landscape') === null,
        undefined,
        WAIT,
      );
      await openFiles(page);
      await drawnCanvases(page);
      // Near-white text on the dark page: brighter than any viridis colour blended with the
      // white contour lines at 55 % or the #888 frame.
      const shot = decodePng(await page.locator('canvas.surface-canvas').first().screenshot());
      let light = 0;
      for (let k = 0; k < shot.rgba.length; k += 4) {
        if (Math.min(shot.rgba[k]!, shot.rgba[k + 1]!, shot.rgba[k + 2]!) > 200) light += 1;
      }
      expect(light).toBeGreaterThan(150);
      expectClean(watched);
    } finally {
      await watched.close();
    }
  });

  test('contour view: the exported SVG drawn inline, readout by keyboard; 1-D view: both curves', async () => {
    const watched = await openArticle('?landscape.view=contour');
    const { page } = watched;
    try {
      await openFiles(page);
      const svg = page.locator('.contour-host svg[role=img]');
      await expect.poll(() => svg.count(), WAIT).toBe(2);
      // One heatmap cell per finite point: 21 × 21 minus the diverged and the uncomputed one.
      expect(await svg.first().locator('g[shape-rendering=crispEdges] rect').count()).toBe(439);
      expect(await svg.first().locator('path').count()).toBeGreaterThan(5);
      await page.locator('.contour-host').first().focus();
      await page.keyboard.press('ArrowRight');
      await expect
        .poll(() => page.locator('.readout').first().textContent(), WAIT)
        .toMatch(/^α 0\.10, β 0\.00: loss 0\.11/);
      expect(await canvasCount(page)).toBe(0);

      await page.locator('input[value="1d"]').check();
      const chart = page.locator('.curve-host svg');
      await expect.poll(() => chart.count(), { timeout: 30_000 }).toBeGreaterThan(0);
      const chartText = await page.locator('.curve-host').textContent();
      expect(chartText).toContain('with skips');
      expect(chartText).toContain('without skips');
      // The reader's own files are drawn, not the shipped curves: each one's β = 0 row.
      expect(await page.locator('.landscape-curve .caption-note').textContent()).toMatch(
        /with skips: the row of the 2-D surface at β = 0 .*without skips: the row of the 2-D surface at β = 0/,
      );
      expect(await seriousAxeViolations(page)).toEqual([]);
      expectClean(watched);
    } finally {
      await watched.close();
    }
  });

  test('URL state: out-of-range values are clamped with a visible notice; changes are written back', async () => {
    const watched = await openArticle(
      '?landscape.view=contour&landscape.levels=99&landscape.view2=x&landscape.log=maybe',
    );
    const { page } = watched;
    try {
      const notices = page.locator('.landscape-notices');
      await expect
        .poll(() => notices.textContent(), WAIT)
        .toContain('landscape.levels=99 is outside 0–40; using 40.');
      expect(await notices.textContent()).toContain(
        'landscape.log=maybe is not on or off; showing on.',
      );
      expect(await page.locator('input[value=contour]').isChecked()).toBe(true);
      await page.locator('.landscape-controls input[type=checkbox]').uncheck();
      await expect
        .poll(() => new URL(page.url()).searchParams.get('landscape.log'), WAIT)
        .toBe('0');
      // The unknown key is left alone for whoever owns it.
      expect(new URL(page.url()).searchParams.get('landscape.view2')).toBe('x');
      expectClean(watched);
    } finally {
      await watched.close();
    }
  });

  test('exports read back: CSV, JSON, glTF, VTS, SVG and a 2× PNG without UI', async () => {
    const watched = await openArticle('?landscape.view=contour');
    const { page } = watched;
    try {
      await openFiles(page);
      const row = page.locator('.export-row').filter({ hasText: 'with skips:' }).first();

      const csv = await downloaded(page, () => row.getByRole('button', { name: 'CSV' }).click());
      expect(csv.name).toBe('resnet20-skip-filter-21x21.csv');
      const lines = csv.bytes.toString('utf8').trimEnd().split('\n');
      expect(lines).toContain('# seed: 4');
      expect(lines.some((l) => l.startsWith('# command: skipscape landscape '))).toBe(true);
      const rows = lines.filter((l) => !l.startsWith('#'));
      expect(rows[0]).toBe('alpha,beta,loss,accuracy,computed');
      expect(rows).toHaveLength(1 + 21 * 21);
      expect(rows[1]).toBe(`-1,-1,${0.1 + 1 + 2},${Math.exp(-(0.1 + 1 + 2))},1`);

      const json = await downloaded(page, () => row.getByRole('button', { name: 'JSON' }).click());
      expect(parseSurface(json.bytes.toString('utf8'))).toEqual(
        parseSurface(await readFile(files.skip, 'utf8')),
      );

      const gltf = await downloaded(page, () => row.getByRole('button', { name: 'glTF' }).click());
      const doc = JSON.parse(gltf.bytes.toString('utf8')) as {
        buffers: { byteLength: number; uri: string }[];
        accessors: { count: number }[];
      };
      const buffer = Buffer.from(doc.buffers[0]?.uri.split(',')[1] ?? '', 'base64');
      expect(buffer.length).toBe(doc.buffers[0]?.byteLength);
      expect(doc.accessors[0]?.count).toBe(439);

      const vts = await downloaded(page, () =>
        row.getByRole('button', { name: 'VTK (.vts)' }).click(),
      );
      expect(vts.bytes.toString('utf8')).toContain('<StructuredGrid WholeExtent="0 20 0 20 0 0">');

      const figureRow = page.locator('.export-row').first();
      const svg = await downloaded(page, () =>
        figureRow.getByRole('button', { name: 'SVG contour map' }).click(),
      );
      const svgText = svg.bytes.toString('utf8');
      expect(svgText.startsWith('<?xml')).toBe(true);
      expect(svgText).toContain('<metadata>');
      expect(svgText.match(/<g class="panel">/g)).toHaveLength(2);

      const png = await downloaded(page, () =>
        figureRow.getByRole('button', { name: 'PNG 2×' }).click(),
      );
      expect(png.bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
      // IHDR: width and height at 2× the SVG's size, big-endian at bytes 16–23.
      const width = png.bytes.readUInt32BE(16);
      const svgWidth = Number(/viewBox="0 0 (\d+)/.exec(svgText)?.[1]);
      expect(width).toBe(2 * svgWidth);
      expectClean(watched);
    } finally {
      await watched.close();
    }
  });

  test("an HDF5 file of Li et al.'s plot_surface.py opens as the without-skips panel, x and y the right way round", async () => {
    const watched = await openArticle('?landscape.view=contour');
    const { page } = watched;
    try {
      await page.locator('.landscape-export summary').click();
      // Written by h5py as their code writes one (scripts/make-li-h5-fixtures.py): 5 × 4, a
      // ResNet-56 without shortcuts, one diverged point.
      await page
        .locator('.landscape-export input[type=file]')
        .setInputFiles(join(import.meta.dirname, '..', 'unit', 'fixtures', 'li-2d-5x4.h5'));
      await expect
        .poll(() => page.locator('.landscape-notices').textContent(), { timeout: 30_000 })
        .toMatch(/Showing your file li-2d-5x4\.h5 \(resnet56\) as the without-skips panel/);
      const panel = page
        .locator('section.landscape-panel')
        .filter({ hasText: "Li et al.'s plot_surface.py" });
      await expect
        .poll(() => panel.locator('.provenance').textContent(), WAIT)
        .toMatch(/5×4 grid on \[-1, 1\] × \[-0\.5, 1\], train split, filter normalisation/);
      const cells = panel.locator('.contour-host svg[role=img] g[shape-rendering=crispEdges] rect');
      // One heatmap cell per finite point: 20 minus the diverged one, in 5 columns and 4 rows.
      await expect.poll(() => cells.count(), WAIT).toBe(19);
      const at = await cells.evaluateAll((rects) =>
        rects.map((r) => [r.getAttribute('x'), r.getAttribute('y')]),
      );
      expect(new Set(at.map(([x]) => x)).size).toBe(5);
      expect(new Set(at.map(([, y]) => y)).size).toBe(4);

      // Its export row writes it back as HDF5 (the same surface) and as a printable STL.
      const row = page.locator('.export-row').filter({ hasText: 'without skips:' }).first();
      const h5 = await downloaded(page, () =>
        row.getByRole('button', { name: 'HDF5 (Li et al.)' }).click(),
      );
      expect(h5.name).toBe('resnet56-noskip-filter-5x4.h5');
      const fixture = await readFile(
        join(import.meta.dirname, '..', 'unit', 'fixtures', 'li-2d-5x4.h5'),
      );
      const original = await parseHdf5Surface(new Uint8Array(fixture), 'fixture');
      const back = await parseHdf5Surface(new Uint8Array(h5.bytes), 'download');
      expect({ ...back, meta: { ...back.meta, written: '' } }).toEqual({
        ...original,
        meta: { ...original.meta, written: '' },
      });
      const stl = await downloaded(page, () =>
        row.getByRole('button', { name: 'STL (3-D print)' }).click(),
      );
      expect(stl.bytes.readUInt32LE(80)).toBe(stlTriangleCount(5, 4));
      expect(stl.bytes.length).toBe(84 + 50 * stlTriangleCount(5, 4));
      expectClean(watched);
    } finally {
      await watched.close();
    }
  });

  test('phone: panels stack, nothing wider than the screen', async () => {
    const watched = await openArticle('', { width: 390, height: 844 });
    const { page } = watched;
    try {
      await openFiles(page);
      await drawnCanvases(page);
      const boxes = await page
        .locator('.landscape-panel')
        .evaluateAll((nodes) => nodes.map((n) => n.getBoundingClientRect().toJSON() as DOMRect));
      expect(boxes).toHaveLength(2);
      expect((boxes[1] as DOMRect).top).toBeGreaterThanOrEqual((boxes[0] as DOMRect).bottom);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        390,
      );
      expectClean(watched);
    } finally {
      await watched.close();
    }
  });
});

function canvasCount(page: Page): Promise<number> {
  return page.locator('canvas.surface-canvas').count();
}

const shippedSurfaces = () => manifest.filter((e) => e.kind === 'surface');
const shippedCheckpoints = () => manifest.filter((e) => e.kind === 'checkpoint');
const shippedCurves = () => manifest.filter((e) => e.kind === 'curve');

describe('shipped results', () => {
  test.skipIf(!manifest.some((e) => e.kind === 'hessian' && e.path.endsWith('.point.json')))(
    'the Hessian figure says, from the files, which eigenvalues converged and after how many products',
    async () => {
      const watched = await openArticle();
      const { page } = watched;
      try {
        const optimum = (await page.locator('#hessian-map-optimum').textContent()) ?? '';
        // One statement per network, each naming its convergence and its products.
        expect(optimum.match(/(not )?converged, residual/g)?.length).toBe(2);
        expect(optimum.match(/after \d+ Hessian-vector products/g)?.length).toBe(2);
        const caption = (await page.locator('#hessian-map figcaption').textContent()) ?? '';
        expect(caption).toMatch(/residual/);
        expect(caption).not.toMatch(/within 0\s*%/);
        // Both maps count their converged eigenvalues, per network.
        expect(caption.match(/λmin at \d+ of \d+ points and λ\s*max at \d+/g)?.length).toBe(2);
        expectClean(watched);
      } finally {
        await watched.close();
      }
    },
  );

  test.skipIf(shippedSurfaces().length === 0)(
    'the article draws the shipped surfaces at once, each sha256-verified',
    async () => {
      const watched = await openArticle();
      const { page } = watched;
      try {
        await drawnCanvases(page);
        await expect
          .poll(() => page.locator('.provenance').first().textContent(), WAIT)
          .toContain('sha256 verified');
        expectClean(watched);
      } finally {
        await watched.close();
      }
    },
  );

  test.skipIf(shippedCurves().length === 0)(
    'the 1-D view draws the shipped 1-D curves',
    async () => {
      const model = shippedCurves()[0]!.model;
      const points = shippedCurves()[0]!.grid?.[0];
      const watched = await openArticle(`?landscape.model=${model}&landscape.view=1d`);
      const { page } = watched;
      try {
        await expect
          .poll(() => page.locator('.landscape-curve .caption-note').textContent(), WAIT)
          .toMatch(new RegExp(`shipped 1-D curve.* at β = 0.*\\b${points} points`));
        await expect.poll(() => page.locator('.curve-host svg').count(), WAIT).toBeGreaterThan(0);
        // Log scale (the default): every tick of the loss axis carries its value, so both ends
        // of the curve's range can be read off.
        const labels = await page
          .locator('.curve-host svg g[aria-label="y-axis tick label"] text')
          .allTextContents();
        expect(labels.length).toBeGreaterThanOrEqual(3);
        expect(labels.filter((t) => t.trim() === '')).toEqual([]);
        // Colour range and contour count do nothing in this view and are not offered.
        expect(await page.getByText('Colour range').count()).toBe(0);
        expectClean(watched);
      } finally {
        await watched.close();
      }
    },
  );

  test.skipIf(shippedCheckpoints().length === 0)(
    'Run live on WebAssembly splits each panel over one worker per core and merges the shards',
    async () => {
      const model = shippedCheckpoints().some((e) => e.model === 'resnet20')
        ? 'resnet20'
        : 'resnet56';
      const watched = await openArticle(
        `?landscape.model=${model}&landscape.view=contour&landscape.grid=5&landscape.subset=16&landscape.backend=wasm`,
      );
      const { page } = watched;
      try {
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        const workers = Math.max(1, Math.min(4, cores > 2 ? cores - 1 : cores));
        await page.locator('.landscape-live summary').click();
        await page.getByRole('button', { name: 'Run live' }).click({ timeout: 15_000 });
        const status = () => page.locator('.live-status').textContent();
        if (workers > 1) {
          await expect.poll(status, { timeout: 60_000 }).toContain(`in ${workers} workers`);
        }
        // Both panels finish: every one of the 25 points of the last, from all shards.
        await expect
          .poll(status, { timeout: 150_000 })
          .toMatch(/without skips: all 25 points in [\d.]+ s on wasm/);
        await expect
          .poll(() => page.locator('.provenance').first().textContent(), WAIT)
          .toMatch(/Computed live in this browser: 5×5 grid .* wasm/);
        expectClean(watched);
      } finally {
        await watched.close();
      }
    },
  );

  test.skipIf(shippedCheckpoints().length === 0)(
    'Run live on SwiftShader WebGPU computes a coarse grid; Cancel keeps its points',
    async () => {
      // The smallest shipped network keeps SwiftShader's emulated GPU within the test's time.
      const model = shippedCheckpoints().some((e) => e.model === 'resnet20')
        ? 'resnet20'
        : 'resnet56';
      const watched = await openArticle(
        `?landscape.model=${model}&landscape.view=contour&landscape.grid=3&landscape.subset=16&landscape.backend=webgpu`,
      );
      const { page } = watched;
      try {
        // Run live's code loads when the reader opens it.
        await page.locator('.landscape-live summary').click();
        await page.getByRole('button', { name: 'Run live' }).click({ timeout: 15_000 });
        const status = () => page.locator('.live-status').textContent();
        await expect.poll(status, { timeout: 60_000 }).toContain('on webgpu');
        await expect.poll(status, { timeout: 150_000 }).toMatch(/[1-9]\d* of 9 points/);
        await page.getByRole('button', { name: 'Cancel' }).click();
        await expect
          .poll(status, WAIT)
          .toMatch(/Cancelled: .* keeps the [1-9]\d* points it computed/);
        await expect
          .poll(() => page.locator('.provenance').first().textContent(), WAIT)
          .toMatch(/Computed live in this browser: 3×3 grid .* webgpu/);
        expectClean(watched);
      } finally {
        await watched.close();
      }
    },
  );
});
