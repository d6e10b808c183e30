import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  builtPages,
  launchChromium,
  openWatchedPage,
  seriousAxeViolations,
  type WatchedPage,
} from './support/browser';

/**
 * Every built page, opened in Chromium as a reader would: it must load (200),
 * log no console error, throw nothing, fetch nothing from another origin,
 * show no raw TeX, give every section heading an id and a link to itself,
 * and pass axe with no serious or critical violation, in light and dark, at
 * desktop and phone widths.
 */

const baseUrl = inject('baseUrl');
const pages = builtPages(inject('distDir'));
const isArticle = (path: string) => path.startsWith('/articles/');

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/**
 * Text a reader sees outside typeset maths and code, where no TeX source
 * belongs. Maths that remark-math parsed but nothing typeset is left as
 * <code class="language-math">; that stays in, so its TeX is caught.
 */
async function proseText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const clone = document.body.cloneNode(true) as HTMLElement;
    const skipped =
      '.katex, script, style, noscript, pre:not(:has(> code.language-math)), code:not(.language-math)';
    for (const node of clone.querySelectorAll(skipped)) node.remove();
    return clone.textContent ?? '';
  });
}

async function visit(watched: WatchedPage, path: string) {
  const response = await watched.page.goto(new URL(path, baseUrl).href, { waitUntil: 'load' });
  expect(response, `no response for ${path}`).not.toBeNull();
  expect(response?.status(), `status of ${path}`).toBe(200);
  // Let anything scheduled after load (hydration, idle callbacks) run and report.
  await watched.page.waitForLoadState('networkidle');
}

function expectCleanRecord(watched: WatchedPage) {
  expect(watched.record.foreignRequests, 'requests to another origin').toEqual([]);
  expect(watched.record.pageErrors, 'uncaught page errors').toEqual([]);
  expect(watched.record.consoleErrors, 'console errors').toEqual([]);
  expect(watched.record.failedResponses, 'failed same-origin responses').toEqual([]);
}

test('the build has the pages the site promises', () => {
  expect(pages).toEqual(
    expect.arrayContaining(['/', '/about/', '/articles/why-gradients-vanish/']),
  );
});

describe.each(pages)('%s', (path) => {
  test('desktop, light: loads cleanly, maths typeset, headings linkable, accessible', async () => {
    const watched = await openWatchedPage(browser, { baseUrl });
    try {
      await visit(watched, path);
      const { page } = watched;

      const text = await proseText(page);
      expect(text, 'display-maths delimiters left in the page').not.toContain('$$');
      expect(text.match(/\$[^\s$]|\\[A-Za-z]+/g) ?? [], 'raw TeX outside typeset maths').toEqual(
        [],
      );
      expect(await page.locator('.katex-error').count(), 'KaTeX errors').toBe(0);
      if (isArticle(path)) {
        expect(await page.locator('article .katex').count(), 'KaTeX output').toBeGreaterThan(0);
      }

      const headings = await page.locator('main :is(h2, h3, h4, h5, h6)').evaluateAll((nodes) =>
        nodes.map((node) => ({
          text: node.textContent?.trim() ?? '',
          id: node.id,
          inToc: node.closest('.toc') !== null,
          link: node.querySelector('a.heading-link')?.getAttribute('href') ?? null,
          label: node.querySelector('a.heading-link')?.getAttribute('aria-label') ?? null,
        })),
      );
      for (const heading of headings) {
        expect(heading.id, `id of heading "${heading.text}"`).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      }
      const ids = headings.map((heading) => heading.id);
      expect(new Set(ids).size, `duplicate heading ids in ${ids.join(', ')}`).toBe(ids.length);
      if (isArticle(path)) {
        const sections = headings.filter((heading) => !heading.inToc);
        expect(sections.length).toBeGreaterThan(3);
        for (const heading of sections) {
          expect(heading.link, `link control of "${heading.text}"`).toBe(`#${heading.id}`);
          expect(heading.label, `label of the link of "${heading.text}"`).toMatch(
            /^Link to section: \S/,
          );
        }
      }

      expect(await seriousAxeViolations(page)).toEqual([]);
      expectCleanRecord(watched);
    } finally {
      await watched.close();
    }
  });

  test('phone (360 px), dark: no sideways scrolling of the page, accessible', async () => {
    const watched = await openWatchedPage(browser, {
      baseUrl,
      viewport: { width: 360, height: 740 },
      colorScheme: 'dark',
    });
    try {
      await visit(watched, path);
      const { page } = watched;
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
      }));
      expect(widths.page, 'page wider than the screen').toBeLessThanOrEqual(widths.viewport);
      expect(await seriousAxeViolations(page)).toEqual([]);
      expectCleanRecord(watched);
    } finally {
      await watched.close();
    }
  });
});
