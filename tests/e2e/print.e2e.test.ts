import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, openWatchedPage } from './support/browser';

/**
 * Printing: the loss-landscape article printed to PDF carries both 3-D
 * surfaces as pictures that are not blank (a WebGL canvas prints empty; the
 * figure prints a snapshot of its view instead), and leaves out the figure's
 * controls, Run live and export buttons.
 */

const baseUrl = inject('baseUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

interface PdfImage {
  width: number;
  height: number;
  /** Distinct byte values in its decoded samples (1 for a blank picture). */
  distinct: number;
}

/** The raster images of a PDF, as Chromium writes them (Flate-compressed, or JPEG). */
function pdfImages(pdf: Buffer): PdfImage[] {
  const text = pdf.toString('latin1');
  const images: PdfImage[] = [];
  const header = /<<((?:(?!>>\s*stream)[\s\S])*?\/Subtype\s*\/Image[\s\S]*?)>>\s*stream\r?\n/g;
  for (let m = header.exec(text); m; m = header.exec(text)) {
    const dict = m[1]!;
    const width = Number(/\/Width\s+(\d+)/.exec(dict)?.[1] ?? 0);
    const height = Number(/\/Height\s+(\d+)/.exec(dict)?.[1] ?? 0);
    const length = Number(/\/Length\s+(\d+)/.exec(dict)?.[1] ?? 0);
    const start = m.index + m[0].length;
    const data = pdf.subarray(start, start + length);
    let distinct = 0;
    if (/\/FlateDecode/.test(dict)) {
      try {
        distinct = new Set(inflateSync(data)).size;
      } catch {
        distinct = 0;
      }
    } else if (/\/DCTDecode/.test(dict)) {
      // A JPEG of one flat colour compresses to almost nothing; a drawn surface does not.
      distinct = data.length > 4000 ? 256 : 1;
    }
    images.push({ width, height, distinct });
  }
  return images;
}

test(
  'the loss-landscape article prints both 3-D surfaces, not blank, without controls',
  { timeout: 180_000 },
  async () => {
    const watched = await openWatchedPage(browser, { baseUrl });
    try {
      const { page } = watched;
      await page.goto(new URL('/articles/loss-landscapes/', baseUrl).href, { waitUntil: 'load' });
      const figure = page.locator('#landscape');
      await figure.scrollIntoViewIfNeeded();
      await expect
        .poll(() => figure.locator('canvas.surface-canvas').count(), { timeout: 60_000 })
        .toBe(2);
      // The view's snapshot for print follows the view a moment after it settles.
      await expect
        .poll(() => figure.locator('img.print-image').count(), { timeout: 30_000 })
        .toBe(2);

      await page.emulateMedia({ media: 'print' });
      const hidden = await page.evaluate(() =>
        [
          '.landscape-controls',
          '.landscape-live',
          '.landscape-export',
          'canvas.surface-canvas',
        ].map((s) =>
          [...document.querySelectorAll(s)].every((el) => getComputedStyle(el).display === 'none'),
        ),
      );
      expect(hidden).toEqual([true, true, true, true]);

      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      const pictures = pdfImages(pdf).filter((i) => i.width >= 300 && i.height >= 200);
      const drawn = pictures.filter((i) => i.distinct > 16);
      expect(drawn.length, JSON.stringify(pictures)).toBeGreaterThanOrEqual(2);
    } finally {
      await watched.close();
    }
  },
);

test('"Skip connections in action" prints its table header once and no live-run inputs', async () => {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const { page } = watched;
    await page.goto(new URL('/articles/skip-connections-in-action/', baseUrl).href, {
      waitUntil: 'load',
    });
    await page.locator('#training').scrollIntoViewIfNeeded();
    await page.locator('#training .live-settings').waitFor();
    await page.emulateMedia({ media: 'print' });
    const looks = await page.evaluate(() => ({
      header: [...document.querySelectorAll('thead th')].map((th) => getComputedStyle(th).position),
      hidden: [
        '#training .live-settings',
        '#training .training-export',
        '#training .training-controls',
      ].map((s) =>
        [...document.querySelectorAll(s)].every((el) => getComputedStyle(el).display === 'none'),
      ),
    }));
    expect(looks.header.length).toBeGreaterThan(0);
    expect(new Set(looks.header)).toEqual(new Set(['static']));
    expect(looks.hidden).toEqual([true, true, true]);
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.length).toBeGreaterThan(10_000);
  } finally {
    await watched.close();
  }
});
