import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  launchChromium,
  openWatchedPage,
  seriousAxeViolations,
  type WatchedPage,
} from './support/browser';

/**
 * The signal figures: in "Why gradients vanish" the variance figure replaces
 * the old placeholder and draws the shipped state at once; moving the depth
 * slider recomputes in the worker and changes the curve; the URL it writes
 * reproduces the same curve in a fresh page; the one-neuron chain answers
 * its γ² slider. "Residual networks and the scale of their blocks" draws its
 * shipped T = 1000 state.
 */

const baseUrl = inject('baseUrl');
const vanishUrl = new URL('/articles/why-gradients-vanish/', baseUrl).href;
const residualUrl = new URL('/articles/residual-scaling/', baseUrl).href;

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function open(url: string, run: (watched: WatchedPage) => Promise<void>) {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const response = await watched.page.goto(url, { waitUntil: 'load' });
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

const measuredPath = (page: Page, id: string, chart: string) =>
  page.locator(`#${id} .chart[data-chart="${chart}"] svg path.measured`);

async function status(page: Page, id: string): Promise<string> {
  return (await page.locator(`#${id}`).getByTestId('signals-status').textContent()) ?? '';
}

/** Set a range input's value as a drag would, firing `input`. */
async function slide(page: Page, selector: string, value: number): Promise<void> {
  await page.locator(selector).evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

test('the variance figure replaces the placeholder, draws the shipped state, recomputes on a slider, and its URL reproduces it', async () => {
  let url = '';
  let liveCurve = '';
  await open(`${vanishUrl}#signals`, async ({ page }) => {
    expect(await page.getByText('Live figure in preparation').count()).toBe(0);
    await measuredPath(page, 'signals', 'forward').waitFor({ timeout: 20_000 });
    await measuredPath(page, 'signals', 'backward').waitFor();
    await expect.poll(() => status(page, 'signals')).toMatch(/Shipped result/);
    expect(
      await page.locator('#signals .chart[data-chart="forward"] svg path.theory').count(),
    ).toBe(1);
    const shippedCurve = (await measuredPath(page, 'signals', 'forward').getAttribute('d')) ?? '';
    expect(shippedCurve.length).toBeGreaterThan(20);
    // Histograms: six layers each.
    expect(await page.locator('#signals .chart[data-chart="hist-forward"] svg path').count()).toBe(
      6,
    );

    await slide(page, '#signals input[data-setting="depth"]', 20);
    await expect
      .poll(() => status(page, 'signals'), { timeout: 60_000 })
      .toMatch(/Computed in this browser \((wasm|cpu)\)/);
    liveCurve = (await measuredPath(page, 'signals', 'forward').getAttribute('d')) ?? '';
    expect(liveCurve).not.toBe(shippedCurve);
    expect(liveCurve.length).toBeGreaterThan(20);
    await expect.poll(() => page.url()).toContain('signals.depth=20');
    url = page.url();
    expect(await seriousAxeViolations(page)).toEqual([]);
  });
  await open(url, async ({ page }) => {
    await expect
      .poll(() => status(page, 'signals'), { timeout: 60_000 })
      .toMatch(/Computed in this browser/);
    expect(await page.locator('#signals input[data-setting="depth"]').inputValue()).toBe('20');
    expect(await measuredPath(page, 'signals', 'forward').getAttribute('d')).toBe(liveCurve);
  });
});

test('the one-neuron chain answers its γ² slider', async () => {
  await open(`${vanishUrl}#chain`, async ({ page }) => {
    const chainResult = page.locator('#chain').getByTestId('chain-result');
    const result = {
      textContent: async () => ((await chainResult.textContent()) ?? '').replace(/\s+/g, ' '),
    };
    await expect
      .poll(() => result.textContent(), { timeout: 20_000 })
      .toMatch(/lecture's value: 1\.0000/);
    // The server-rendered text is the same; wait for the island to hydrate before sliding.
    await page.waitForFunction(() => !document.querySelector('#chain astro-island[ssr]'));
    await slide(page, '#chain input[data-setting="gamma2"]', 4);
    await expect.poll(() => result.textContent()).toMatch(/lecture's value: 2\.0000/);
    await expect.poll(() => page.url()).toContain('chain.gamma2=4');
  });
});

test('the residual-scaling article draws its shipped T = 1000 state', async () => {
  await open(`${residualUrl}#residual`, async ({ page }) => {
    await measuredPath(page, 'residual', 'forward').waitFor({ timeout: 30_000 });
    await expect
      .poll(() => status(page, 'residual'))
      .toMatch(/Shipped result \(4 draws × 64 inputs/);
    // The x axis runs to block 1000.
    const ticks = await page
      .locator('#residual .chart[data-chart="forward"] svg text')
      .allTextContents();
    expect(ticks).toContain('1000');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});
