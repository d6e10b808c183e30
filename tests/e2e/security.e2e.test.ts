/**
 * The Content-Security-Policy of every page (issue 16), and the explorer's
 * caps on uploaded surfaces. Each built page, embeds included, must carry a
 * CSP <meta> whose script-src allows nothing inline but the hashes of our
 * own scripts, and must run (islands hydrated, figures scrolled into view,
 * a live run started in a worker on WebAssembly) without one violation: the
 * page's securitypolicyviolation events and Chromium's "Refused to …"
 * console messages are both collected.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { surfaceToJson } from '../../src/compute/landscape/exports';
import type { Surface } from '../../src/compute/landscape/surface';
import { builtPages, launchChromium, openWatchedPage, type WatchedPage } from './support/browser';

const baseUrl = inject('baseUrl');
const distDir = inject('distDir');
const pages = builtPages(distDir);
const WAIT = { timeout: 20_000 };

let browser: Browser;
let dir: string;
beforeAll(async () => {
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'skipscape-security-'));
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Record every CSP violation the page reports, from its first script on. */
async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) => {
      seen.push(
        `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber} ${e.sample}`,
      );
    });
  });
  return () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp.slice());
}

/** Chromium's own CSP messages among the console errors. */
function cspConsole(watched: WatchedPage): string[] {
  return watched.record.consoleErrors.filter((m) =>
    /Content Security Policy|Refused to (load|execute|apply|compile|create|connect|frame)/i.test(m),
  );
}

/** Scroll the whole page, a screen at a time, so every island hydrates and every figure draws. */
async function scrollThrough(page: Page): Promise<void> {
  const height = await page.evaluate(() => document.body.scrollHeight);
  const step = await page.evaluate(() => window.innerHeight);
  for (let y = 0; y < height; y += step) {
    await page.evaluate((top) => window.scrollTo(0, top), y);
    await page.waitForTimeout(150);
  }
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(
    () => document.querySelector('astro-island[ssr]') === null,
    undefined,
    WAIT,
  );
}

/** The policy of the built page, from its HTML file. */
function policyOf(path: string): string {
  const file = path.endsWith('.html') ? path : `${path}index.html`;
  const html = readFileSync(join(distDir, file), 'utf8');
  const m = /<meta http-equiv="content-security-policy" content="([^"]+)"/i.exec(html);
  return m?.[1] ?? '';
}

describe('Content-Security-Policy', () => {
  test('the build has pages and embeds to check', () => {
    expect(pages).toEqual(expect.arrayContaining(['/', '/articles/loss-landscapes/']));
    expect(pages.filter((p) => p.startsWith('/embed/')).length).toBeGreaterThan(0);
  });

  test.each(pages)('%s: a policy with no inline script allowed but hashed ones', (path) => {
    const policy = policyOf(path);
    expect(policy, 'CSP meta tag').not.toBe('');
    const directives = new Map(
      policy
        .split(';')
        .map((d) => d.trim())
        .filter((d) => d !== '')
        .map((d) => [d.split(/\s+/)[0]!, d.split(/\s+/).slice(1)] as const),
    );
    expect(directives.get('default-src')).toEqual(["'self'"]);
    const scripts = directives.get('script-src') ?? [];
    expect(scripts).toContain("'self'");
    expect(scripts).not.toContain("'unsafe-inline'");
    expect(scripts).not.toContain("'unsafe-eval'");
    for (const s of scripts)
      expect(s).toMatch(/^'(self|wasm-unsafe-eval|sha256-[A-Za-z0-9+/=]+)'$/);
    expect(directives.get('style-src') ?? []).not.toContain("'unsafe-inline'");
    expect(directives.get('object-src')).toEqual(["'none'"]);
    // Nothing from other origins.
    expect(policy).not.toMatch(/https?:/);
  });

  test.each(pages)('%s: runs without a violation', async (path) => {
    const watched = await openWatchedPage(browser, { baseUrl });
    try {
      const violations = await watchViolations(watched.page);
      const response = await watched.page.goto(new URL(path, baseUrl).href, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      await scrollThrough(watched.page);
      expect(await violations(), 'securitypolicyviolation events').toEqual([]);
      expect(cspConsole(watched), 'CSP console messages').toEqual([]);
      expect(watched.record.pageErrors).toEqual([]);
    } finally {
      await watched.close();
    }
  });

  test('a live run on WebAssembly (worker, wasm, dynamic imports) without a violation', async () => {
    const watched = await openWatchedPage(browser, { baseUrl });
    const { page } = watched;
    try {
      const violations = await watchViolations(page);
      await page.goto(
        new URL(
          '/articles/loss-landscapes/?landscape.view=contour&landscape.grid=3&landscape.subset=16&landscape.backend=wasm',
          baseUrl,
        ).href,
        { waitUntil: 'load' },
      );
      await page.locator('.landscape').scrollIntoViewIfNeeded();
      await page.waitForFunction(
        () => document.querySelector('astro-island[ssr] .landscape') === null,
        undefined,
        WAIT,
      );
      await page.locator('.landscape-live summary').click();
      await page.getByRole('button', { name: 'Run live' }).click({ timeout: 15_000 });
      const status = () => page.locator('.live-status').textContent();
      await expect.poll(status, { timeout: 120_000 }).toMatch(/[1-9]\d* of 9 points|all 9 points/);
      const cancel = page.getByRole('button', { name: 'Cancel' });
      if (await cancel.isVisible()) await cancel.click();
      expect(await violations(), 'securitypolicyviolation events').toEqual([]);
      expect(cspConsole(watched), 'CSP console messages').toEqual([]);
    } finally {
      await watched.close();
    }
  });
});

/** A surface of nx × ny points, every one computed. */
function grid(nx: number, ny: number): Surface {
  const axis = (n: number) =>
    Array.from({ length: n }, (_, k) => Number((-1 + (2 * k) / (n - 1)).toPrecision(12)));
  const xs = axis(nx);
  const ys = axis(ny);
  const loss = ys.flatMap((b) => xs.map((a) => 0.1 + a * a + 2 * b * b + 1e-9 * Math.PI));
  return {
    xs,
    ys,
    loss,
    accuracy: loss.map((l) => Math.exp(-l)),
    mask: loss.map(() => 1 as const),
    meta: {
      model: 'resnet20',
      skip: true,
      checkpointSha256: 'c'.repeat(64),
      checkpoint2Sha256: null,
      dataset: 'fashion-mnist',
      split: 'train',
      subset: 256,
      seed: 0,
      normalization: 'filter',
      includeBiasBn: false,
      kind: 'direction',
      backend: 'wasm',
      seconds: 1,
      version: 'e2e',
      written: '2026-01-01T00:00:00.000Z',
    },
  };
}

describe('surfaces opened in the explorer', () => {
  async function openExplorer() {
    const watched = await openWatchedPage(browser, { baseUrl });
    const { page } = watched;
    await page.goto(new URL('/articles/loss-landscapes/', baseUrl).href, { waitUntil: 'load' });
    await page.locator('.landscape').scrollIntoViewIfNeeded();
    await page.waitForFunction(
      () => document.querySelector('astro-island[ssr] .landscape') === null,
      undefined,
      WAIT,
    );
    await page.locator('.landscape-export summary').click();
    return watched;
  }

  test('a file over 4 MB is refused by its size, at once, with a message that says what to do', async () => {
    // 1000 × 1000 points, about 40 MB: the file that froze the page for 20 s.
    const big = join(dir, 'big.json');
    await writeFile(big, surfaceToJson(grid(1000, 1000)));
    const watched = await openExplorer();
    const { page } = watched;
    try {
      const t0 = Date.now();
      await page.locator('.landscape-export input[type=file]').setInputFiles(big);
      await expect
        .poll(() => page.locator('.landscape-notices').textContent(), { timeout: 10_000 })
        .toMatch(/big\.json: [\d.]+ MB, more than the 4\.0 MB this page opens; .*skipscape export/);
      // Refused before reading: the page answers at once (the old reader took 20 s).
      expect(Date.now() - t0).toBeLessThan(8_000);
      expect(await page.evaluate(() => 1 + 1)).toBe(2);
      expect(watched.record.pageErrors).toEqual([]);
    } finally {
      await watched.close();
    }
  });

  test('a small file with too many points is refused by its grid, before its arrays are read', async () => {
    // 400 × 400 points under 4 MB: the grid cap, not the size cap, says no.
    const s = grid(400, 400);
    s.loss = s.loss.map(() => null);
    s.accuracy = s.accuracy.map(() => null);
    s.mask = s.mask.map(() => 0 as const);
    const text = surfaceToJson(s);
    expect(text.length).toBeLessThan(4 * 1024 * 1024);
    const many = join(dir, 'many.json');
    await writeFile(many, text);
    const watched = await openExplorer();
    const { page } = watched;
    try {
      await page.locator('.landscape-export input[type=file]').setInputFiles(many);
      await expect
        .poll(() => page.locator('.landscape-notices').textContent(), { timeout: 10_000 })
        .toMatch(
          /many\.json: 400 × 400 = 160,000 points, more than the 90,601 \(301 × 301\) this page opens/,
        );
      expect(watched.record.pageErrors).toEqual([]);
    } finally {
      await watched.close();
    }
  });
});
