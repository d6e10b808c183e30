import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Result as AxeViolation } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Shared plumbing for the end-to-end suites: launch the system's Chromium,
 * open a page with every console error, page error and request recorded, and
 * run axe on it. Figure suites (islands, "Run live") add their own
 * *.e2e.test.ts files next to pages.e2e.test.ts and reuse these helpers.
 */

/** Flags from the team brief: a real WebGPU adapter via SwiftShader, no background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function chromiumPath(): string {
  return process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

/** What happened while a page was open. Every list should end up empty. */
export interface PageRecord {
  /** console.error messages (including the browser's own, such as failed loads). */
  consoleErrors: string[];
  /** Uncaught exceptions and unhandled rejections. */
  pageErrors: string[];
  /** Requests to any origin other than the site's; each was aborted. */
  foreignRequests: string[];
  /** Same-origin responses with status 400 or more. */
  failedResponses: string[];
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  record: PageRecord;
  close: () => Promise<void>;
}

export interface WatchedPageOptions {
  /** Origin the site is served from; every other origin is blocked and recorded. */
  baseUrl: string;
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
}

/**
 * A fresh browser context and page that records console errors, page errors
 * and failed responses, and aborts (and records) every request that leaves
 * the site's origin, so nothing can quietly depend on a CDN.
 */
export async function openWatchedPage(
  browser: Browser,
  options: WatchedPageOptions,
): Promise<WatchedPage> {
  const origin = new URL(options.baseUrl).origin;
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
    serviceWorkers: 'block',
  });
  const record: PageRecord = {
    consoleErrors: [],
    pageErrors: [],
    foreignRequests: [],
    failedResponses: [],
  };

  await context.route('**/*', async (route) => {
    const url = route.request().url();
    const { protocol, origin: requestOrigin } = new URL(url);
    if (requestOrigin === origin || protocol === 'data:' || protocol === 'blob:') {
      await route.continue();
    } else {
      record.foreignRequests.push(url);
      await route.abort('blockedbyclient');
    }
  });

  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') {
      const { url, lineNumber } = message.location();
      record.consoleErrors.push(`${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
    }
  });
  page.on('pageerror', (error) => record.pageErrors.push(error.stack ?? error.message));
  page.on('response', (response) => {
    if (response.status() >= 400 && new URL(response.url()).origin === origin) {
      record.failedResponses.push(`${response.status()} ${response.url()}`);
    }
  });

  return { context, page, record, close: () => context.close() };
}

/** axe violations of serious or critical impact, formatted for a readable failure. */
export async function seriousAxeViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter(
      (violation: AxeViolation) =>
        violation.impact === 'serious' || violation.impact === 'critical',
    )
    .map(
      (violation: AxeViolation) =>
        `${violation.impact} ${violation.id}: ${violation.help}\n` +
        violation.nodes
          .slice(0, 5)
          .map((node) => `    ${node.target.join(' ')}: ${node.failureSummary ?? ''}`)
          .join('\n'),
    );
}

/**
 * Every page in the build, as the URL path a reader would use:
 * dist/about/index.html is /about/, dist/404.html is /404.html.
 */
export function builtPages(distDir: string): string[] {
  const pages: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.html')) {
        const rel = relative(distDir, path).split(sep).join('/');
        pages.push(`/${rel.replace(/(^|\/)index\.html$/, '$1')}`);
      }
    }
  };
  walk(distDir);
  return pages.sort();
}
