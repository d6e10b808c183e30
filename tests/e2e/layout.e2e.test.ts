import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, openWatchedPage } from './support/browser';

/**
 * Deep links land where they point: a link to a section below the figures
 * puts its heading at the top of the window, and it is still there once the
 * figures above it have loaded (their space is reserved in the page's
 * markup, so nothing moves when they draw). Checked on a desktop and on a
 * phone-sized window.
 */

const baseUrl = inject('baseUrl');

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

const LINKS = [
  '/articles/loss-landscapes/#how-much-less-convex',
  '/articles/skip-connections-in-action/#what-the-comparison-shows-and-what-it-does-not',
];

for (const viewport of [
  { width: 1280, height: 900 },
  { width: 375, height: 740 },
]) {
  for (const link of LINKS) {
    test(`${link} at ${viewport.width} px: the heading stays at the top after the figures load`, async () => {
      const watched = await openWatchedPage(browser, { baseUrl, viewport });
      try {
        const { page } = watched;
        await page.goto(new URL(link, baseUrl).href, { waitUntil: 'load' });
        const id = link.split('#')[1]!;
        const top = () =>
          page.evaluate((id) => document.getElementById(id)!.getBoundingClientRect().top, id);
        // The figures near it hydrate, fetch and draw (islands start as they come within reach
        // of the window, then fetch what they draw first); the page scrolls to the heading.
        await page.waitForTimeout(8000);
        await page.waitForLoadState('networkidle');
        const after = await top();
        expect(Math.abs(after), `heading top after load: ${after} px`).toBeLessThan(40);
      } finally {
        await watched.close();
      }
    });
  }
}

/**
 * The cause, measured directly: each figure takes as much room before its
 * script runs (the server-rendered markup, what the page lays out first) as
 * once it has drawn its shipped result, so a heading below it cannot move,
 * whatever the timing of the scroll to it.
 */
const FIGURES = [
  { page: '/articles/loss-landscapes/', figure: '#landscape' },
  { page: '/articles/skip-connections-in-action/', figure: '#training' },
];

for (const viewport of [
  { width: 1280, height: 900 },
  { width: 375, height: 740 },
]) {
  for (const { page: path, figure } of FIGURES) {
    test(`${path}${figure} at ${viewport.width} px: as tall before it loads as after`, async () => {
      const heightOf = async (javaScriptEnabled: boolean) => {
        const context = await browser.newContext({ viewport, javaScriptEnabled });
        try {
          const page = await context.newPage();
          await page.goto(new URL(path, baseUrl).href, { waitUntil: 'load' });
          if (javaScriptEnabled) {
            await page.locator(figure).scrollIntoViewIfNeeded();
            await page.waitForLoadState('networkidle');
            await page
              .waitForFunction(
                (f) =>
                  !document.querySelector(
                    `${f} .landscape-status, ${f} [data-testid="live-estimate"]:empty`,
                  ),
                figure,
                { timeout: 20_000 },
              )
              .catch(() => undefined);
            await page.waitForTimeout(2500);
          }
          // Without scripts, <noscript> notes show that a reader with scripts never sees.
          return await page
            .locator(figure)
            .evaluate(
              (el) =>
                el.getBoundingClientRect().height -
                [...el.querySelectorAll('noscript')].reduce(
                  (sum, n) => sum + n.getBoundingClientRect().height,
                  0,
                ),
            );
        } finally {
          await context.close();
        }
      };
      const before = await heightOf(false);
      const after = await heightOf(true);
      expect(Math.abs(after - before), `${before} px before, ${after} px after`).toBeLessThan(48);
    });
  }
}

test('equation (7) of "Why gradients vanish" fits the column at 1280 px, its tag in view', async () => {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const { page } = watched;
    await page.goto(new URL('/articles/why-gradients-vanish/', baseUrl).href, {
      waitUntil: 'load',
    });
    const fit = await page.evaluate(() => {
      const tag = [...document.querySelectorAll('.katex-display .katex-tag')].find(
        (t) => t.textContent?.trim() === '(7)',
      )!;
      const box = tag.closest('.katex-display')!;
      const tagRect = tag.getBoundingClientRect();
      const boxRect = box.getBoundingClientRect();
      return {
        overflow: box.scrollWidth - box.clientWidth,
        tagInside: tagRect.right <= boxRect.right + 1 && tagRect.left >= boxRect.left - 1,
      };
    });
    expect(fit.overflow).toBeLessThanOrEqual(1);
    expect(fit.tagInside).toBe(true);
  } finally {
    await watched.close();
  }
});

test('on a phone the convexity table shows every result without scrolling sideways', async () => {
  const watched = await openWatchedPage(browser, {
    baseUrl,
    viewport: { width: 375, height: 740 },
  });
  try {
    const { page } = watched;
    await page.goto(new URL('/articles/loss-landscapes/#convexity', baseUrl).href, {
      waitUntil: 'load',
    });
    const cells = page.locator('#convexity tbody td');
    expect(await cells.count()).toBeGreaterThan(0);
    const outside = await cells.evaluateAll(
      (tds) =>
        tds.filter((td) => {
          const r = td.getBoundingClientRect();
          return r.right > window.innerWidth + 1 || r.width === 0;
        }).length,
    );
    expect(outside, 'cells off the screen').toBe(0);
    const wrap = await page
      .locator('#convexity .table-wrap')
      .evaluate((w) => w.scrollWidth - w.clientWidth);
    expect(wrap).toBeLessThanOrEqual(1);
  } finally {
    await watched.close();
  }
});
