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
 * as the figure does, at full strength; Run live says how long it will take,
 * picks WebAssembly over a software WebGPU adapter, draws its own chart with
 * an ETA, and Cancel takes effect within seconds, even mid-step. Live runs
 * are shrunk through the URL so the test's machine gets through steps.
 */

const baseUrl = inject('baseUrl');
const distDir = inject('distDir');
const articleUrl = new URL('/articles/skip-connections-in-action/', baseUrl).href;

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

test('the shipped curves are drawn at full strength in the site-wide network colours', async () => {
  if (!shipsDefaultHistories()) return;
  await open('', async ({ page }) => {
    const chart = figure(page).locator('.chart[data-metric="loss"] svg');
    await expect
      .poll(() => chart.locator('path[data-source="shipped"]').count(), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(4);
    const looks = await chart.locator('path[data-source="shipped"]').evaluateAll((paths) =>
      paths.map((p) => ({
        stroke: p.getAttribute('stroke'),
        opacity: getComputedStyle(p).strokeOpacity,
      })),
    );
    for (const look of looks) expect(look.opacity).toBe('1');
    expect(new Set(looks.map((l) => l.stroke))).toEqual(new Set(['#e0452f', '#3a7bdb']));
  });
});

test(
  'the quick live run: estimate before, wasm on a software adapter, its own chart, an ETA, Cancel within a step',
  { timeout: 420_000 },
  async () => {
    // The quick run's network at a tenth of its size, so the test's machine gets through steps.
    await open('?training.images=160&training.batch=16&training.test=16', async ({ page }) => {
      const root = figure(page).locator('.training');
      // Before anything runs: how long it should take. The e2e Chromium's WebGPU adapter is
      // SwiftShader, a software renderer: automatic must choose WebAssembly, and say why.
      await expect
        .poll(() => figure(page).getByTestId('live-estimate').textContent(), { timeout: 30_000 })
        .toMatch(/about \d+ s on the CPU \(WebAssembly\)/);
      await expect
        .poll(() => figure(page).locator('.backend-badge').textContent())
        .toMatch(/wasm.*software, not a GPU/s);

      await page.getByRole('button', { name: 'Run live', exact: true }).click();
      await expect
        .poll(() => root.getAttribute('data-phase'), { timeout: 60_000 })
        .toMatch(/running/);
      const badge = await figure(page).locator('.backend-badge').textContent();
      expect(badge).toMatch(/wasm/);
      expect(badge, 'automatic was chosen, not wasm').not.toMatch(/asked for/);
      const skip = figure(page).getByTestId('live-skip');
      await expect
        .poll(() => skip.textContent(), { timeout: 300_000, interval: 500 })
        .toMatch(/step [2-9] of 10/);
      // The live curve: dashed, on a chart of its own whose x axis is the run's 10 steps.
      const liveChart = figure(page).locator('.live-chart svg');
      expect(await liveChart.locator('path[data-source="live"][stroke-dasharray]').count()).toBe(2);
      expect(await liveChart.locator('text').allTextContents()).toContain('step');
      expect(
        await figure(page).locator('.chart[data-metric="loss"] path[data-source="live"]').count(),
      ).toBe(0);
      await expect
        .poll(() => figure(page).locator('.live-status').textContent(), { timeout: 30_000 })
        .toMatch(/left\./);

      await page.getByRole('button', { name: 'Cancel', exact: true }).click();
      const clicked = Date.now();
      await expect
        .poll(() => root.getAttribute('data-phase'), { timeout: 10_000, interval: 100 })
        .toBe('cancelled');
      expect(Date.now() - clicked, 'Cancel took effect within a few seconds').toBeLessThan(5000);
      const stepsAt = async () =>
        figure(page)
          .locator('.live-run progress')
          .evaluateAll((bars) => bars.map((bar) => (bar as HTMLProgressElement).value));
      const atCancel = await stepsAt();
      expect(Math.min(...atCancel), 'stopped before the end').toBeLessThan(10);
      await page.waitForTimeout(3000);
      expect(await stepsAt(), 'no step after Cancel').toEqual(atCancel);
      expect(await figure(page).locator('.live-status').textContent()).toMatch(/Cancelled/);
      expect(await seriousAxeViolations(page)).toEqual([]);
    });
  },
);

test(
  'Cancel ends even a run stuck in a step on a software WebGPU adapter, within seconds',
  { timeout: 180_000 },
  async () => {
    const query =
      '?training.live=lecture&training.model=resnet20&training.images=16&training.test=8' +
      '&training.batch=8&training.epochs=2&training.backend=webgpu';
    await open(query, async ({ page }) => {
      const root = figure(page).locator('.training');
      await page.getByRole('button', { name: 'Run live', exact: true }).click();
      await expect
        .poll(() => root.getAttribute('data-phase'), { timeout: 60_000 })
        .toMatch(/running/);
      expect(await figure(page).locator('.backend-badge').textContent()).toMatch(/webgpu/);
      // SwiftShader compiles every shader on the CPU: the first step takes minutes.
      await page.getByRole('button', { name: 'Cancel', exact: true }).click();
      const clicked = Date.now();
      await expect
        .poll(() => root.getAttribute('data-phase'), { timeout: 10_000, interval: 100 })
        .toBe('cancelled');
      expect(Date.now() - clicked).toBeLessThan(5000);
      expect(await figure(page).locator('.live-status').textContent()).toMatch(/Cancelled/);
    });
  },
);
