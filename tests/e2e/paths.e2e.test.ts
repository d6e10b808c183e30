import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  launchChromium,
  openWatchedPage,
  seriousAxeViolations,
  type WatchedPage,
} from './support/browser';

/**
 * "Residual networks as ensembles of short paths": the shipped charts are in
 * the page at once (drawn at build time); Run live completes the lesion study
 * of a small subset in the browser; Cancel keeps the lesions finished; the
 * gradient sampler completes a tiny run. Live runs use WebAssembly, set
 * through the figures' URLs.
 */

const baseUrl = inject('baseUrl');
const articleUrl = new URL('/articles/paths/', baseUrl).href;

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
    const response = await watched.page.goto(`${articleUrl}${query}`, { waitUntil: 'load' });
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

/** Scroll an island into view and wait until it has hydrated (Astro drops its ssr attribute). */
async function hydrated(page: Page, selector: string): Promise<void> {
  await page.locator(selector).first().scrollIntoViewIfNeeded();
  await page.waitForFunction(
    (s) => document.querySelector(`astro-island[ssr] ${s}`) === null,
    selector,
    { timeout: 60_000 },
  );
}

const lesion = (page: Page) => page.locator('#lesion');
const paths = (page: Page) => page.locator('#paths');

test('the shipped charts are drawn at once, and the page passes axe', async () => {
  await open('', async ({ page }) => {
    // Drawn at build time: present before any script runs.
    for (const kind of ['histogram', 'magnitude', 'contribution']) {
      const svg = paths(page).locator(`.chart[data-chart="${kind}"] svg`);
      await svg.waitFor({ timeout: 15_000 });
    }
    expect(
      await paths(page).locator('.chart[data-chart="histogram"] svg rect').count(),
    ).toBeGreaterThan(20);
    expect(
      await paths(page).locator('.chart[data-chart="magnitude"] svg circle').count(),
    ).toBeGreaterThan(20);
    expect(await paths(page).locator('.chart[data-chart="contribution"] .plot-band').count()).toBe(
      1,
    );
    for (const key of ['skip', 'noskip']) {
      const bars = lesion(page).locator(`.chart[data-chart="delete-one-${key}"] svg rect`);
      expect(await bars.count()).toBeGreaterThan(10);
    }
    await lesion(page).locator('.chart[data-chart="delete-k"] svg').waitFor();
    // The binomial derivation is typeset at build time, without a KaTeX error.
    expect(await page.locator('.katex-display').count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator('.katex-error').count()).toBe(0);
    // The unravelled view grows: 3 blocks, 8 paths; one more, 16.
    await expect(page.locator('.unravel').textContent()).resolves.toMatch(
      /n = 3 blocks: 23 = 8 paths/,
    );
    await hydrated(page, '.unravel');
    await page.getByRole('button', { name: 'One block more' }).click();
    await expect
      .poll(() => page.locator('.unravel').textContent())
      .toMatch(/n = 4 blocks: 24 = 16 paths/);
    // Pointing at a length reads it out in all three charts.
    await hydrated(page, '.paths');
    await paths(page)
      .locator('.chart[data-chart="histogram"]')
      .hover({ position: { x: 200, y: 100 } });
    await expect.poll(() => paths(page).locator('.readout').textContent()).toMatch(/Length \d+:/);
    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});

test('the live lesion study: fewer test images on the CPU, an estimate before it starts, the number in the URL', async () => {
  await open('?lesion.backend=wasm#lesion', async ({ page }) => {
    await hydrated(page, '.lesion');
    const images = lesion(page).getByTestId('lesion-images');
    // On WebAssembly the default is 150 images (the shipped study keeps its 500), with an estimate.
    await expect.poll(() => images.inputValue()).toBe('150');
    const estimate = lesion(page).getByTestId('lesion-estimate');
    await expect
      .poll(() => estimate.textContent())
      .toMatch(
        /150 test images \(fewer than the shipped 500, on the CPU\)\.\s+Estimated time: about \d+:\d\d for both networks/,
      );
    expect(await lesion(page).locator('.readout').textContent()).toMatch(
      /Shipped, with skips: 500 test images/,
    );
    // A number chosen is kept in the URL, and the estimate follows it.
    const before = (await estimate.textContent()) ?? '';
    await images.fill('300');
    await images.press('Tab');
    await expect.poll(() => page.url(), { timeout: 5000 }).toContain('lesion.subset=300');
    await expect.poll(() => estimate.textContent()).not.toBe(before);
    expect(await estimate.textContent()).toMatch(/^\s*300 test images\./);
  });
  // On a GPU backend the default is the shipped study's 500.
  await open('?lesion.backend=webgl#lesion', async ({ page }) => {
    await hydrated(page, '.lesion');
    await expect.poll(() => lesion(page).getByTestId('lesion-images').inputValue()).toBe('500');
  });
});

test('Run live completes the lesion study of a small subset', async () => {
  await open('?lesion.subset=20&lesion.draws=1&lesion.backend=wasm#lesion', async ({ page }) => {
    await hydrated(page, '.lesion');
    await lesion(page).getByRole('button', { name: 'Run live' }).click();
    for (const key of ['skip', 'noskip']) {
      await expect
        .poll(() => lesion(page).locator(`[data-live-status="${key}"]`).textContent(), {
          timeout: 170_000,
          interval: 1000,
        })
        .toMatch(/done, (\d+) of \1 lesions on wasm/);
    }
    // Live points over the shipped bars, one per block.
    const points = lesion(page).locator('.chart[data-chart="delete-one-skip"] svg circle');
    expect(await points.count()).toBeGreaterThan(20);
    expect(page.url()).toContain('lesion.subset=20');
  });
});

test('Cancel keeps the lesions finished', async () => {
  await open('?lesion.subset=40&lesion.backend=wasm#lesion', async ({ page }) => {
    await hydrated(page, '.lesion');
    await lesion(page).getByRole('button', { name: 'Run live' }).click();
    const status = lesion(page).locator('[data-live-status="skip"]');
    await expect
      .poll(
        async () =>
          Number(/(\d+) of \d+ lesions/.exec((await status.textContent()) ?? '')?.[1] ?? 0),
        {
          timeout: 120_000,
          interval: 500,
        },
      )
      .toBeGreaterThanOrEqual(3);
    await lesion(page).getByRole('button', { name: 'Cancel' }).click();
    await expect
      .poll(() => status.textContent(), { timeout: 60_000 })
      .toMatch(/cancelled, (\d+) of (\d+) lesions kept/);
    const [, kept, total] = /(\d+) of (\d+)/.exec((await status.textContent()) ?? '')!;
    expect(Number(kept)).toBeGreaterThanOrEqual(3);
    expect(Number(kept)).toBeLessThan(Number(total));
    // The kept lesions stay drawn.
    expect(
      await lesion(page).locator('.chart[data-chart="delete-one-skip"] svg circle').count(),
    ).toBeGreaterThanOrEqual(2);
  });
});

test('Run live samples the gradient per path length', async () => {
  await open(
    '?paths.samples=1&paths.batch=2&paths.subset=16&paths.backend=wasm#paths',
    async ({ page }) => {
      await hydrated(page, '.paths');
      await paths(page).getByRole('button', { name: 'Run live' }).click();
      await expect
        .poll(() => paths(page).locator('[data-live-status]').textContent(), {
          timeout: 170_000,
          interval: 1000,
        })
        .toMatch(/done: 28 of 28 samples/);
      // The live line joins the shipped one on the magnitude chart.
      expect(await paths(page).locator('.chart[data-chart="magnitude"] svg path').count()).toBe(2);
    },
  );
});
