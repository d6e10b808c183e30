import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import {
  launchChromium,
  openWatchedPage,
  seriousAxeViolations,
  type WatchedPage,
} from './support/browser';

/**
 * The two depth articles in Chromium: "It is not vanishing gradients" draws
 * ResNet-56's shipped per-block statistics; "Deep networks are shallow"
 * draws the shipped GSC lab and effective-depth curves, a control changes a
 * curve, Run live recomputes a network in the worker, and the CSV export
 * carries the curves.
 */

const baseUrl = inject('baseUrl');
const WAIT = { timeout: 20_000 };

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function open(path: string, run: (watched: WatchedPage) => Promise<void>) {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const response = await watched.page.goto(new URL(path, baseUrl).href, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    await run(watched);
    expect(watched.record.pageErrors, 'uncaught page errors').toEqual([]);
    expect(watched.record.consoleErrors, 'console errors').toEqual([]);
    expect(watched.record.foreignRequests, 'requests to another origin').toEqual([]);
    expect(watched.record.failedResponses, 'failed same-origin responses').toEqual([]);
  } finally {
    await watched.close();
  }
}

const lines = (page: Page, figure: string, chart: string) =>
  page.locator(`#${figure} .chart[data-chart="${chart}"] svg path`);

test('ResNet-56 per-block statistics draw at once, and the state selector redraws them', async () => {
  await open('/articles/not-vanishing-gradients/#responses', async ({ page }) => {
    for (const chart of ['output', 'gradient', 'response']) {
      await expect.poll(() => lines(page, 'responses', chart).count(), WAIT).toBe(4);
    }
    await expect.poll(() => lines(page, 'responses', 'training').count(), WAIT).toBe(2);
    await expect(page.getByTestId('responses-numbers').textContent()).resolves.toMatch(
      /gradient norm \d+ times/,
    );
    await page.locator('#responses select').selectOption('initial');
    await expect.poll(() => lines(page, 'responses', 'gradient').count(), WAIT).toBe(2);
    await expect.poll(() => page.url(), WAIT).toContain('responses.show=initial');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});

test('the GSC lab draws the shipped curves, a control changes them, Run live adds one', async () => {
  await open(
    '/articles/effective-depth/?gsc.form=plain&gsc.inputs=16&gsc.projections=1&gsc.draws=1&gsc.backend=cpu#gsc',
    async ({ page }) => {
      const gsc = lines(page, 'gsc', 'gsc');
      await expect.poll(() => gsc.count(), WAIT).toBe(1);
      const relu = await gsc.first().getAttribute('d');
      await page.locator('#gsc select').first().selectOption('tanh');
      await expect.poll(() => gsc.first().getAttribute('d'), WAIT).not.toBe(relu);
      await expect.poll(() => page.url(), WAIT).toContain('gsc.activation=tanh');
      await expect(page.getByTestId('gsc-summary').first().textContent()).resolves.toMatch(
        /plain tanh: GSC\(0, L\) = \d/,
      );

      // Run live: the plain tanh network, 16 inputs, one projection, on the CPU backend.
      await page.locator('#gsc').getByRole('button', { name: 'Run live' }).click();
      await expect
        .poll(() => page.locator('#gsc [data-figure]').getAttribute('data-phase'), {
          timeout: 120_000,
        })
        .toBe('done');
      await expect.poll(() => gsc.count(), WAIT).toBe(2);
      await expect(page.getByTestId('gsc-summary').first().textContent()).resolves.toMatch(
        /\(live\)/,
      );

      // The CSV export holds both lines.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#gsc').getByRole('button', { name: 'CSV' }).click(),
      ]);
      const csv = await readFile((await download.path())!, 'utf8');
      expect(csv).toMatch(/^chart,line,x,value$/m);
      expect(csv).toMatch(/plain tanh, live \(seed 0\)/);
      expect(csv).toMatch(/plain tanh, shipped/);
      expect(await seriousAxeViolations(page)).toEqual([]);
    },
  );
});

test('the effective-depth curves draw for both depths', async () => {
  await open('/articles/effective-depth/#taylor', async ({ page }) => {
    const taylor = lines(page, 'taylor', 'taylor');
    await expect.poll(() => taylor.count(), WAIT).toBe(2);
    const at20 = await taylor.first().getAttribute('d');
    await page.locator('#taylor select').selectOption('50');
    await expect.poll(() => taylor.first().getAttribute('d'), WAIT).not.toBe(at20);
    await expect(page.getByTestId('ed-provenance').first().textContent()).resolves.toMatch(
      /50 layers/,
    );
  });
});

test('the depth figures embed on their own', async () => {
  await open('/embed/gradient-scale/?gsc.activation=selu', async ({ page }) => {
    await expect.poll(() => lines(page, 'gsc', 'sign').count(), WAIT).toBe(2);
    expect(await page.locator('#gsc select').first().inputValue()).toBe('selu');
  });
});
