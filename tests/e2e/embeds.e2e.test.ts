import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, openWatchedPage } from './support/browser';

/**
 * Embeds: /embeds/ lists every embeddable figure with a snippet to copy; a
 * page that pastes the snippet gets a frame that takes the figure's height
 * from the figure's own message; each embed has its caption and a clean
 * attribution ("From <title>, Skipscape.").
 */

const baseUrl = inject('baseUrl');
const SLUGS = ['loss-landscape', 'training-comparison'];

let browser: Browser;
/**
 * A course site: another server on this machine (another origin), answering
 * each path with the page the test put there. It must be a real server: a
 * page answered by Playwright's route() has no address, so Chromium's Local
 * Network Access checks treat it as a public site and refuse its frame of
 * 127.0.0.1 (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS). Nor can it be
 * a page of the site: the site's Content-Security-Policy would refuse the
 * snippet's inline script and, by default-src 'self', the frame of another
 * origin.
 */
const coursePages = new Map<string, string>();
/** A course page's own Content-Security-Policy, by path (none when absent). */
const coursePolicies = new Map<string, string>();
/** CSP's hash source of an inline script: the base64 SHA-256 of its exact text. */
const hashSource = (script: string) =>
  `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
const scriptOf = (snippet: string) => /<script>([\s\S]*)<\/script>/.exec(snippet)![1]!;
let courseServer: Server;
let courseOrigin: string;
beforeAll(async () => {
  browser = await launchChromium();
  courseServer = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const body = coursePages.get(path);
    const policy = coursePolicies.get(path);
    res
      .writeHead(body ? 200 : 404, {
        'Content-Type': 'text/html; charset=utf-8',
        ...(policy ? { 'Content-Security-Policy': policy } : {}),
      })
      .end(body ?? 'Not found');
  });
  await new Promise<void>((done) => courseServer.listen(0, '127.0.0.1', done));
  courseOrigin = `http://localhost:${(courseServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await browser?.close();
  courseServer?.closeAllConnections();
  await new Promise((done) => courseServer?.close(done));
});

test('/embeds/ lists every embeddable figure with a snippet that can be copied', async () => {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const { page, context } = watched;
    await page.goto(new URL('/embeds/', baseUrl).href, { waitUntil: 'load' });
    const snippets = await page.locator('.embed-snippet code').allTextContents();
    expect(snippets.length).toBeGreaterThanOrEqual(SLUGS.length);
    for (const slug of SLUGS) {
      const snippet = snippets.find((s) => s.includes(`/embed/${slug}/`));
      expect(snippet, slug).toBeDefined();
      expect(snippet).toMatch(/^<iframe src="https?:\/\/[^"]+\/embed\//);
      expect(snippet).toContain("addEventListener('message'");
      expect(snippet).toContain('skipscape:embed-height');
    }
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: new URL(baseUrl).origin,
    });
    // The hash published for course pages with their own CSP is the snippets' script's.
    const published = (await page.locator('#embed-script-hash').textContent())!.trim();
    for (const snippet of snippets) expect(hashSource(scriptOf(snippet))).toBe(published);
    await page.getByRole('button', { name: 'Copy snippet' }).first().click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(snippets[0]);
    expect(watched.record.pageErrors).toEqual([]);
  } finally {
    await watched.close();
  }
});

for (const slug of SLUGS) {
  test(`the ${slug} snippet: the frame takes the figure's height; caption and attribution`, async () => {
    // A plain page: the watched one refuses every origin but the site's, and this test needs two.
    const page = await browser.newPage();
    try {
      await page.goto(new URL('/embeds/', baseUrl).href, { waitUntil: 'load' });
      const snippet = (await page.locator('.embed-snippet code').allTextContents()).find((s) =>
        s.includes(`/embed/${slug}/`),
      )!;
      // The snippet names the configured site; here the site is served by the test's server.
      const configured = /src="(https?:\/\/[^/"]+)/.exec(snippet)![1]!;
      const local = snippet.replaceAll(configured, new URL(baseUrl).origin);
      // A course page on another origin pasting the snippet (the course server above), so the
      // frame is cross-origin; its own CSP allows no inline script but the snippet's, by the hash
      // /embeds/ tells it to add (of the snippet as pasted here, whose origin is the test's).
      const path = `/course-week-3-${slug}.html`;
      coursePages.set(path, `<!doctype html><title>Course</title><h1>Week 3</h1>${local}`);
      coursePolicies.set(
        path,
        `default-src 'none'; script-src ${hashSource(scriptOf(local))}; frame-src ${new URL(baseUrl).origin}`,
      );
      await page.goto(courseOrigin + path);
      const frame = page.locator('iframe');
      const initial = Number(await frame.getAttribute('height'));
      await expect
        .poll(() => frame.evaluate((f) => f.getBoundingClientRect().height), { timeout: 30_000 })
        .not.toBe(initial);
      const embed = page.frames().find((f) => f.url().includes(`/embed/${slug}/`))!;
      await embed.waitForLoadState('load');
      await page.waitForTimeout(1500);
      const { content, scrolls } = await embed.evaluate(() => {
        const style = getComputedStyle(document.body);
        return {
          content:
            document.body.getBoundingClientRect().height +
            parseFloat(style.marginTop) +
            parseFloat(style.marginBottom),
          scrolls:
            document.documentElement.scrollHeight > document.documentElement.clientHeight + 1,
        };
      });
      // The frame's inner height: the course page's CSP forbids the snippet's inline style (its
      // border: 0), so the frame keeps the browser's border around it.
      const height = await frame.evaluate((f) => f.clientHeight);
      expect(Math.abs(height - content), `frame ${height} px, figure ${content} px`).toBeLessThan(
        4,
      );
      expect(scrolls, 'nothing cut off: the frame does not scroll').toBe(false);

      const caption = (await embed.locator('figcaption').first().textContent())!
        .replace(/\s+/g, ' ')
        .trim();
      expect(caption).toMatch(/From [^,]*\S, Skipscape\.$/);
      if (slug === 'loss-landscape') expect(caption).toMatch(/filter-normalised/);
    } finally {
      await page.close();
    }
  });
}
