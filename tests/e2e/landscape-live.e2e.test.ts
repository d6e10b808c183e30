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

/**
 * Opening Run live readies a worker per core before the reader clicks (the
 * warm-up, LiveRun.svelte); a click while that is still going starts one run
 * on the same workers, and Cancel stops it. A reader who only scrolls past
 * starts no worker at all.
 */
const liveQuery =
  '?landscape.model=resnet20&landscape.view=contour&landscape.grid=5&landscape.subset=16&landscape.backend=wasm#landscape';

test('scrolling past the figure starts no worker', { timeout: 120_000 }, async () => {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const { page } = watched;
    await page.goto(new URL(`/articles/loss-landscapes/${liveQuery}`, baseUrl).href, {
      waitUntil: 'load',
    });
    const figure = page.locator('#landscape');
    await figure.locator('.landscape-live summary').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(2_000);
    expect(page.workers()).toEqual([]);
    expect(watched.record.pageErrors).toEqual([]);
  } finally {
    await watched.close();
  }
});

test(
  'opening Run live warms a worker per core; a click during the warm-up runs, Cancel stops it',
  { timeout: 240_000 },
  async () => {
    const watched = await openWatchedPage(browser, { baseUrl });
    try {
      const { page } = watched;
      await page.goto(new URL(`/articles/loss-landscapes/${liveQuery}`, baseUrl).href, {
        waitUntil: 'load',
      });
      const figure = page.locator('#landscape');
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      const lanes = Math.max(1, Math.min(4, cores > 2 ? cores - 1 : cores));
      await figure.locator('.landscape-live summary').click();
      const runButton = figure.getByRole('button', { name: 'Run live' });
      await runButton.waitFor({ timeout: 30_000 });
      // Clicked at once, as an eager reader would: the workers are still loading tfjs.
      const warmAtClick = await page.evaluate(() => {
        const state = (document.querySelector('#landscape .live-run') as HTMLElement).dataset[
          'warmUp'
        ];
        const button = [...document.querySelectorAll('#landscape .live-run button')].find(
          (b) => b.textContent?.trim() === 'Run live',
        ) as HTMLButtonElement;
        button.click();
        return state;
      });
      expect(warmAtClick).toBe('running');
      const status = () => figure.locator('.live-status').textContent();
      await expect.poll(status, { timeout: 120_000 }).toMatch(/with skips: [1-9]\d* of 25 points/);
      await figure.getByRole('button', { name: 'Cancel' }).click();
      // On 25 small points the first panel may be done by then: the run stops in whichever it is.
      await expect
        .poll(status, { timeout: 30_000 })
        .toMatch(/Cancelled: .* keeps the \d+ points it computed/);
      const cancelled = await status();
      await page.waitForTimeout(2_000);
      expect(await status()).toBe(cancelled);
      // The warm-up ended on its own, on the same workers: one per lane, none started twice.
      await expect
        .poll(() => figure.locator('.live-run').getAttribute('data-warm-up'), { timeout: 30_000 })
        .toBe('done');
      expect(page.workers()).toHaveLength(lanes);
      // The cancelled run lost nothing the next one needs: it runs to the end.
      await runButton.click();
      await expect
        .poll(status, { timeout: 150_000 })
        .toMatch(/without skips: all 25 points in [\d.]+ s on wasm/);
      expect(page.workers()).toHaveLength(lanes);
      expect(watched.record.pageErrors).toEqual([]);
      expect(watched.record.consoleErrors).toEqual([]);
    } finally {
      await watched.close();
    }
  },
);
