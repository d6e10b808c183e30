import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, openWatchedPage, type WatchedPage } from './support/browser';
import { siteUrl } from '../../src/components/site/site-url.mjs';

/**
 * What a reader of the first article relies on beyond the checks every page
 * gets: the seed's equation numbers, a working "Copy BibTeX" button, and a
 * print layout without site chrome that spells out where references link.
 */

const baseUrl = inject('baseUrl');
const articleUrl = new URL('/articles/why-gradients-vanish/', baseUrl).href;

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function withArticle(run: (watched: WatchedPage) => Promise<void>) {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const response = await watched.page.goto(articleUrl, { waitUntil: 'networkidle' });
    expect(response?.status()).toBe(200);
    await run(watched);
    expect(watched.record.consoleErrors).toEqual([]);
    expect(watched.record.pageErrors).toEqual([]);
    expect(watched.record.foreignRequests).toEqual([]);
  } finally {
    await watched.close();
  }
}

test('equations carry the numbers seed 001 gives them, (1) to (9)', async () => {
  await withArticle(async ({ page }) => {
    const tags = await page
      .locator('.katex-display .katex-html .katex-tag')
      .evaluateAll((nodes) => nodes.map((node) => node.textContent?.trim()));
    for (let n = 1; n <= 9; n++) expect(tags).toContain(`(${n})`);
  });
});

test('"Copy BibTeX" puts the entry on the clipboard and says so', async () => {
  await withArticle(async ({ page, context }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: new URL(baseUrl).origin,
    });
    const bibtex = (await page.locator('.cite-this pre.bibtex').textContent()) ?? '';
    expect(bibtex).toMatch(/^@misc\{skipscape-why-gradients-vanish,/);
    // The URL the site is served at, as configured for the build (site-url.mjs), never a placeholder.
    expect(bibtex).toContain(
      `url          = {${siteUrl(process.env)}/articles/why-gradients-vanish/}`,
    );
    expect(bibtex).not.toContain('.example');

    await page.getByRole('button', { name: 'Copy BibTeX' }).click();
    await expect
      .poll(() => page.locator('.cite-this [role=status]').textContent())
      .toMatch(/Copied/);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(bibtex);
  });
});

test('print: no navigation or controls, reference URLs written out', async () => {
  await withArticle(async ({ page }) => {
    await page.emulateMedia({ media: 'print' });
    const printed = await page.evaluate(() => {
      const shown = (selector: string) =>
        [...document.querySelectorAll(selector)].some((node) => node.checkVisibility());
      return {
        nav: shown('.site-header nav'),
        toc: shown('.toc'),
        headingLinks: shown('.heading-link'),
        copy: shown('.copy-row'),
        referenceUrls: [...document.querySelectorAll<HTMLAnchorElement>('.references li a')].map(
          (link) => ({ href: link.href, after: getComputedStyle(link, '::after').content }),
        ),
      };
    });
    expect(printed).toMatchObject({ nav: false, toc: false, headingLinks: false, copy: false });
    expect(printed.referenceUrls.length).toBeGreaterThan(0);
    for (const { href, after } of printed.referenceUrls) expect(after).toContain(href);
  });
});
