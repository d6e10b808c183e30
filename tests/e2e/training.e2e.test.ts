import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  launchChromium,
  openWatchedPage,
  seriousAxeViolations,
  type WatchedPage,
} from './support/browser';

/**
 * The training comparison of "Skip connections in action": the shipped
 * curves (or, before any are shipped, the notice saying so) appear as soon
 * as the figure does; Run live trains on SwiftShader's WebGPU adapter and
 * shows a logged step with a progress bar; Cancel stops it. The live run is
 * the smallest the figure allows, set through its URL.
 */

const baseUrl = inject('baseUrl');
const distDir = inject('distDir');
const articleUrl = new URL('/articles/skip-connections-in-action/', baseUrl).href;
const TINY_LIVE_RUN =
  '?training.model=resnet20&training.images=16&training.test=8&training.batch=8' +
  '&training.epochs=2&training.backend=webgpu';

/** Whether the build shipped histories of the figure's default network (BMEnet-32). */
function shipsDefaultHistories(): boolean {
  const manifest = join(distDir, 'artifacts', 'manifest.json');
  if (!existsSync(manifest)) return false;
  const { artifacts } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    artifacts: { kind: string; model: string }[];
  };
  return artifacts.some((a) => a.kind === 'history' && a.model === 'bmenet32');
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function open(query: string, run: (watched: WatchedPage) => Promise<void>) {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const response = await watched.page.goto(`${articleUrl}${query}#training`, {
      waitUntil: 'load',
    });
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

const figure = (page: Page) => page.locator('#training');

test('the shipped curves, or the notice that none are shipped yet, show at once', async () => {
  await open('', async ({ page }) => {
    const chart = figure(page).locator('.chart[data-metric="loss"] svg');
    await chart.waitFor({ timeout: 15_000 });
    if (shipsDefaultHistories()) {
      await expect
        .poll(() => chart.locator('path').count(), { timeout: 15_000 })
        .toBeGreaterThanOrEqual(4);
      await expect(figure(page).getByTestId('shipped-skip').textContent()).resolves.toMatch(
        /sha256 checked/,
      );
    } else {
      await expect
        .poll(() => figure(page).getByTestId('no-shipped').textContent(), { timeout: 15_000 })
        .toMatch(/No shipped run yet for BMEnet-32/);
      expect(await chart.locator('path').count()).toBe(0);
    }
    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});

test(
  'Run live on WebGPU logs a step with a progress bar; Cancel stops it',
  { timeout: 420_000 },
  async () => {
    await open(TINY_LIVE_RUN, async ({ page }) => {
      const root = figure(page).locator('.training');
      await page.getByRole('button', { name: 'Run live', exact: true }).click();
      await expect
        .poll(() => root.getAttribute('data-phase'), { timeout: 60_000 })
        .toMatch(/running/);
      expect(await figure(page).locator('.backend-badge').textContent()).toMatch(/webgpu/);

      // SwiftShader compiles every shader on the CPU: the first step takes a while.
      const skip = figure(page).getByTestId('live-skip');
      await expect
        .poll(() => skip.textContent(), { timeout: 360_000, interval: 1000 })
        .toMatch(/step [12] of 4/);
      const progress = figure(page).locator('.live-run[data-run="skip"] progress');
      expect(Number(await progress.getAttribute('value'))).toBeGreaterThanOrEqual(1);
      expect(Number(await progress.getAttribute('max'))).toBe(4);
      // The step is drawn: a live curve (a line or, for a lone point, a dot) in full colour.
      expect(
        await figure(page)
          .locator(
            '.chart[data-metric="loss"] svg circle[fill-opacity="1"], .chart[data-metric="loss"] svg path[stroke-opacity="1"]',
          )
          .count(),
      ).toBeGreaterThan(0);

      await page.getByRole('button', { name: 'Cancel', exact: true }).click();
      await expect
        .poll(() => root.getAttribute('data-phase'), { timeout: 120_000, interval: 500 })
        .toBe('cancelled');
      const stepsAt = async () =>
        figure(page)
          .locator('.live-run progress')
          .evaluateAll((bars) => bars.map((bar) => (bar as HTMLProgressElement).value));
      const atCancel = await stepsAt();
      expect(Math.min(...atCancel), 'stopped before the end').toBeLessThan(4);
      await page.waitForTimeout(3000);
      expect(await stepsAt(), 'no step after Cancel').toEqual(atCancel);
      expect(await figure(page).locator('.live-status').textContent()).toMatch(/Cancelled/);
      expect(await seriousAxeViolations(page)).toEqual([]);
    });
  },
);
