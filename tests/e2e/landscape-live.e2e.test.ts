import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, openWatchedPage } from './support/browser';

/**
 * The live landscape before it runs: a grid and subset from the URL that
 * the menus do not list (but are in range) show as chosen, and the figure
 * says how long the run should take on this machine's CPU.
 */

const baseUrl = inject('baseUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

test('grid=3&subset=17 show in the menus, with a time estimate', { timeout: 120_000 }, async () => {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const { page } = watched;
    await page.goto(
      new URL('/articles/loss-landscapes/?landscape.grid=3&landscape.subset=17#landscape', baseUrl)
        .href,
      { waitUntil: 'load' },
    );
    const figure = page.locator('#landscape');
    await figure.locator('.landscape-live summary').click();
    const grid = figure.locator('.live-run label', { hasText: 'Grid' }).locator('select');
    const subset = figure
      .locator('.live-run label', { hasText: 'Training images per point' })
      .locator('select');
    await grid.waitFor({ timeout: 30_000 });
    expect(await grid.inputValue()).toBe('3');
    expect(await subset.inputValue()).toBe('17');
    // The test's Chromium has only SwiftShader, a software adapter: the run goes to the CPU.
    await expect
      .poll(() => figure.getByTestId('landscape-estimate').textContent(), { timeout: 20_000 })
      .toMatch(/Estimated time: about \d+ s for both panels on the CPU/);
    expect(watched.record.pageErrors).toEqual([]);
  } finally {
    await watched.close();
  }
});
