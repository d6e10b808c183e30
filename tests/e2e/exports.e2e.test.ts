import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openWatchedPage } from './support/browser';

/**
 * The SVG, PNG and CSV buttons the figures share (figure/ExportButtons):
 * each downloads a file a reader can open: well-formed SVG, a PNG, a CSV
 * with a header and rows. Every figure that uses them, from its shipped result.
 */

const baseUrl = inject('baseUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const FIGURES = [
  { article: 'paths', figure: 'paths', name: /^skipscape-resnet56-paths/ },
  { article: 'paths', figure: 'lesion', name: /^skipscape-resnet56-lesion/ },
  { article: 'why-gradients-vanish', figure: 'signals', name: /^skipscape-signals/ },
  { article: 'why-gradients-vanish', figure: 'chain', name: /^skipscape-chain/ },
  { article: 'residual-scaling', figure: 'residual', name: /^skipscape-residual/ },
  { article: 'effective-depth', figure: 'gsc', name: /^skipscape-gsc-/ },
  { article: 'effective-depth', figure: 'taylor', name: /^skipscape-effective-depth-/ },
  { article: 'not-vanishing-gradients', figure: 'responses', name: /^skipscape-resnet56-/ },
  { article: 'skip-connections-in-action', figure: 'training', name: /^skipscape-/ },
];

/** The fields of one CSV line (RFC 4180 quoting: "a, b" and "" inside quotes). */
function csvFields(line: string): string[] {
  return [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map((m) => m[1]!);
}

async function download(page: Page, figure: string, button: string) {
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.locator(`#${figure}`).getByRole('button', { name: button, exact: true }).click(),
  ]);
  return { name: file.suggestedFilename(), bytes: await readFile((await file.path())!) };
}

for (const { article, figure, name } of FIGURES) {
  test(`${article}#${figure}: SVG, PNG and CSV downloads open`, async () => {
    const watched = await openWatchedPage(browser, { baseUrl });
    try {
      const { page } = watched;
      await page.goto(new URL(`/articles/${article}/`, baseUrl).href, { waitUntil: 'load' });
      await page.locator(`#${figure}`).scrollIntoViewIfNeeded();
      await page.waitForFunction(
        (id) => document.querySelector(`#${id} astro-island[ssr]`) === null,
        figure,
        { timeout: 60_000 },
      );

      const svg = await download(page, figure, 'SVG');
      expect(svg.name).toMatch(name);
      expect(svg.name).toMatch(/\.svg$/);
      const parsed = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
        const root = doc.documentElement;
        return {
          error: doc.querySelector('parsererror')?.textContent ?? null,
          root: root.nodeName,
          width: Number(root.getAttribute('width')),
          height: Number(root.getAttribute('height')),
        };
      }, svg.bytes.toString('utf8'));
      expect(parsed.error).toBeNull();
      expect(parsed.root).toBe('svg');
      expect(parsed.width).toBeGreaterThan(100);
      expect(parsed.height).toBeGreaterThan(100);

      const png = await download(page, figure, 'PNG');
      expect(png.name).toMatch(/@2x\.png$/);
      expect([...png.bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
      // The PNG is the SVG at twice its size.
      expect(png.bytes.readUInt32BE(16)).toBe(2 * parsed.width);
      expect(png.bytes.readUInt32BE(20)).toBe(2 * parsed.height);

      const csv = await download(page, figure, 'CSV');
      expect(csv.name).toMatch(/\.csv$/);
      const rows = csv.bytes
        .toString('utf8')
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'));
      expect(rows.length).toBeGreaterThan(2);
      const columns = csvFields(rows[0]!).length;
      expect(columns).toBeGreaterThan(1);
      for (const row of rows) expect(csvFields(row).length).toBe(columns);

      expect(watched.record.pageErrors).toEqual([]);
      expect(watched.record.consoleErrors).toEqual([]);
    } finally {
      await watched.close();
    }
  });
}
