import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import {
  launchChromium,
  openWatchedPage,
  seriousAxeViolations,
  type WatchedPage,
} from './support/browser';

/**
 * The two depth articles in Chromium: "It is not vanishing gradients" draws
 * ResNet-56's shipped per-block statistics, its epoch control changes them,
 * and Run live recomputes both networks in the workers (and cancels);
 * "Deep networks are shallow"
 * draws the shipped GSC lab and effective-depth curves, a control changes a
 * curve, Run live recomputes a network in the worker, and the CSV export
 * carries the curves.
 */

const baseUrl = inject('baseUrl');
const WAIT = { timeout: 20_000 };

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function open(path: string, run: (watched: WatchedPage) => Promise<void>) {
  const watched = await openWatchedPage(browser, { baseUrl });
  try {
    const response = await watched.page.goto(new URL(path, baseUrl).href, { waitUntil: 'load' });
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

const lines = (page: Page, figure: string, chart: string) =>
  page.locator(`#${figure} .chart[data-chart="${chart}"] svg path`);

test('ResNet-56 per-block statistics draw at once, and the state selector redraws them', async () => {
  await open('/articles/not-vanishing-gradients/#responses', async ({ page }) => {
    for (const chart of ['output', 'gradient', 'response']) {
      await expect.poll(() => lines(page, 'responses', chart).count(), WAIT).toBe(4);
    }
    await expect.poll(() => lines(page, 'responses', 'training').count(), WAIT).toBe(2);
    // Across training: each file's summary, one line per network through the shipped epochs,
    // and the chosen epoch's point on each (a path of one point, drawn as a dot).
    for (const chart of [
      'gradientNormFirstOverLast',
      'outputStdFirstOverLast',
      'meanResponseStd',
    ]) {
      await expect.poll(() => lines(page, 'responses', chart).count(), WAIT).toBe(4);
    }
    await expect(page.getByTestId('responses-numbers').textContent()).resolves.toMatch(
      /gradient norm \d+ times/,
    );
    await expect
      .poll(() => page.getByTestId('responses-epoch').textContent(), WAIT)
      .toBe('epoch 16');
    await page.locator('#responses select').first().selectOption('initial');
    await expect.poll(() => lines(page, 'responses', 'gradient').count(), WAIT).toBe(2);
    await expect.poll(() => page.url(), WAIT).toContain('responses.show=initial');
    expect(await seriousAxeViolations(page)).toEqual([]);
  });
});

test('the epoch control changes the per-block curves, in the URL and the exports', async () => {
  await open(
    '/articles/not-vanishing-gradients/?responses.show=final#responses',
    async ({ page }) => {
      // Whatever epochs are shipped (0 and 16 today, possibly every one): slider index 0 is
      // epoch 0, its last index the last epoch.
      const gradient = lines(page, 'responses', 'gradient');
      const epoch = page.getByTestId('responses-epoch');
      const slider = page.locator('#responses input[type="range"]');
      await expect.poll(() => gradient.count(), WAIT).toBe(2);
      await expect.poll(() => epoch.textContent(), WAIT).toBe('epoch 16');
      const at16 = await gradient.first().getAttribute('d');
      await slider.fill('0');
      await expect.poll(() => epoch.textContent(), WAIT).toBe('epoch 0');
      await expect.poll(() => gradient.first().getAttribute('d'), WAIT).not.toBe(at16);
      const at0 = await gradient.first().getAttribute('d');
      await expect.poll(() => page.url(), WAIT).toContain('responses.epoch=0');
      // The stepper goes to the next shipped epoch, with its own curves.
      await page.locator('#responses').getByRole('button', { name: 'Next epoch' }).click();
      await expect.poll(() => epoch.textContent(), WAIT).not.toBe('epoch 0');
      await expect.poll(() => gradient.first().getAttribute('d'), WAIT).not.toBe(at0);
      // The last epoch again: the curves of epoch 16, and a link that leaves the epoch implicit.
      await slider.fill((await slider.getAttribute('max'))!);
      await expect.poll(() => gradient.first().getAttribute('d'), WAIT).toBe(at16);
      await expect.poll(() => page.url(), WAIT).not.toContain('responses.epoch');
      await slider.fill('0');
      await expect.poll(() => epoch.textContent(), WAIT).toBe('epoch 0');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#responses').getByRole('button', { name: 'CSV' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe('skipscape-resnet56-block-responses-epoch-000.csv');
      const csv = await readFile((await download.path())!, 'utf8');
      expect(csv).toMatch(/^"Gradient norm \(backward\), epoch 0","without skips, epoch 0",0,/m);
      expect(csv).toMatch(/^Mean response std,"with skips, shipped",16,/m);
    },
  );
  // A link to an epoch that is not shipped shows the nearest one, and says so.
  await open(
    '/articles/not-vanishing-gradients/?responses.epoch=500#responses',
    async ({ page }) => {
      await expect
        .poll(() => page.getByTestId('responses-epoch').textContent(), WAIT)
        .toBe('epoch 16');
      await expect(page.locator('#responses .notices').textContent()).resolves.toMatch(
        /Epoch 500 is not shipped/,
      );
    },
  );
});

test('Run live recomputes both networks on a few images; Cancel stops a longer run', async () => {
  await open(
    '/articles/not-vanishing-gradients/?responses.images=4&responses.backend=wasm#responses',
    async ({ page }) => {
      const figure = page.locator('#responses [data-figure]');
      await expect.poll(() => lines(page, 'responses', 'gradient').count(), WAIT).toBe(4);
      await expect(page.getByTestId('responses-estimate').textContent()).resolves.toMatch(
        /Estimate: about \d+ s on wasm/,
      );
      await page.locator('#responses').getByRole('button', { name: 'Run live' }).click();
      await expect.poll(() => figure.getAttribute('data-phase'), { timeout: 240_000 }).toBe('done');
      await expect(page.getByTestId('responses-live-status').textContent()).resolves.toMatch(
        /Done: 4 of 4 states/,
      );
      // The live lines replace the shipped ones of epochs 0 and 16, marked live.
      const live = page.locator(
        '#responses .chart[data-chart="gradient"] svg path[data-source="live"]',
      );
      await expect.poll(() => live.count(), WAIT).toBe(4);
      await expect(
        page
          .locator('#responses .chart[data-chart="gradient"] svg path[data-source="shipped"]')
          .count(),
      ).resolves.toBe(0);
      await expect(page.getByTestId('responses-numbers').textContent()).resolves.toMatch(/Live/);

      // A longer run, cancelled: it ends cancelled, with its finished states kept.
      await page.locator('#responses input[type="number"]').nth(1).fill('2048');
      await page.locator('#responses input[type="number"]').nth(1).blur();
      await expect.poll(() => page.url(), WAIT).toContain('responses.images=2048');
      await page.locator('#responses').getByRole('button', { name: 'Run live' }).click();
      await expect.poll(() => figure.getAttribute('data-phase'), WAIT).toBe('running');
      await page.locator('#responses').getByRole('button', { name: 'Cancel' }).click();
      await expect
        .poll(() => figure.getAttribute('data-phase'), { timeout: 120_000 })
        .toBe('cancelled');
      await expect(page.getByTestId('responses-live-status').textContent()).resolves.toMatch(
        /Cancelled: 0 of 4 states kept/,
      );
      // Nothing live is left: the shipped curves are back.
      await expect.poll(() => lines(page, 'responses', 'gradient').count(), WAIT).toBe(4);
      await expect(live.count()).resolves.toBe(0);
    },
  );
});

test('the GSC lab draws the shipped curves, a control changes them, Run live adds one', async () => {
  await open(
    '/articles/effective-depth/?gsc.form=plain&gsc.inputs=16&gsc.projections=1&gsc.draws=1&gsc.backend=cpu#gsc',
    async ({ page }) => {
      const gsc = lines(page, 'gsc', 'gsc');
      await expect.poll(() => gsc.count(), WAIT).toBe(1);
      const relu = await gsc.first().getAttribute('d');
      await page.locator('#gsc select').first().selectOption('tanh');
      await expect.poll(() => gsc.first().getAttribute('d'), WAIT).not.toBe(relu);
      await expect.poll(() => page.url(), WAIT).toContain('gsc.activation=tanh');
      await expect(page.getByTestId('gsc-summary').first().textContent()).resolves.toMatch(
        /plain tanh: GSC\(0, L\) = \d/,
      );

      // Run live: the plain tanh network, 16 inputs, one projection, on the CPU backend.
      await page.locator('#gsc').getByRole('button', { name: 'Run live' }).click();
      await expect
        .poll(() => page.locator('#gsc [data-figure]').getAttribute('data-phase'), {
          timeout: 120_000,
        })
        .toBe('done');
      await expect.poll(() => gsc.count(), WAIT).toBe(2);
      await expect(page.getByTestId('gsc-summary').first().textContent()).resolves.toMatch(
        /\(live\)/,
      );

      // The CSV export holds both lines.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#gsc').getByRole('button', { name: 'CSV' }).click(),
      ]);
      const csv = await readFile((await download.path())!, 'utf8');
      expect(csv).toMatch(/^chart,line,x,value$/m);
      expect(csv).toMatch(/plain tanh, live \(seed 0\)/);
      expect(csv).toMatch(/plain tanh, shipped/);
      expect(await seriousAxeViolations(page)).toEqual([]);
    },
  );
});

test('the GSC lab on auto: WebAssembly where no hardware GPU is found, said to be chosen; its weight draws', async () => {
  await open(
    '/articles/effective-depth/?gsc.form=both&gsc.inputs=16&gsc.projections=1&gsc.draws=2#gsc',
    async ({ page }) => {
      // Hydrated (Astro drops the island's ssr attribute) before the click.
      await page.waitForFunction(() => document.querySelector('#gsc astro-island[ssr]') === null);
      // An estimate before it starts (none once the probe finds a hardware GPU: no reference there).
      const estimate = await page.getByTestId('gsc-estimate').textContent();
      await page.locator('#gsc').getByRole('button', { name: 'Run live' }).click();
      await expect
        .poll(() => page.locator('#gsc [data-figure]').getAttribute('data-phase'), {
          timeout: 120_000,
        })
        .toBe('done');
      // What auto should pick here: a hardware WebGPU adapter, else a hardware WebGL context, else
      // WebAssembly (headless Chromium without a GPU offers both, as SwiftShader: software).
      const expected = await page.evaluate(async () => {
        const software = /swiftshader|software|llvmpipe|basic render/i;
        const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
        const adapter = (await gpu?.requestAdapter()) as {
          isFallbackAdapter?: boolean;
          info?: { vendor?: string; architecture?: string; description?: string };
        } | null;
        const info = adapter?.info ?? {};
        const name = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`;
        if (adapter && !adapter.isFallbackAdapter && !software.test(name)) return 'webgpu';
        const gl = document.createElement('canvas').getContext('webgl2');
        const debug = gl?.getExtension('WEBGL_debug_renderer_info');
        const renderer = gl && debug ? String(gl.getParameter(debug.UNMASKED_RENDERER_WEBGL)) : '';
        return gl && !software.test(renderer) ? 'webgl' : 'wasm';
      });
      await expect(page.locator('#gsc p.status').textContent()).resolves.toContain(
        `On ${expected}: chosen automatically`,
      );
      if (expected === 'wasm') {
        // On the CPU, the two networks side by side, a worker each (the page reports 2 cores here).
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        const workers = Math.min(2, cores > 2 ? cores - 1 : cores);
        expect(estimate).toMatch(
          new RegExp(
            `^Estimate: about \\d+ s on WebAssembly for both networks, on ${workers} workers?`,
          ),
        );
        expect(page.workers().filter((w) => /\/worker/.test(w.url())).length).toBe(workers);
      }
      // Both networks ran live, each over the weight draws asked for.
      for (const line of await page.getByTestId('gsc-summary').allTextContents()) {
        expect(line).toMatch(/over 2 weight draws\).*\(live\)/);
      }
    },
  );
});

test("the GSC lab splits one network's weight draws over the workers", async () => {
  await open(
    '/articles/effective-depth/?gsc.form=residual&gsc.inputs=16&gsc.projections=1&gsc.draws=4&gsc.backend=wasm#gsc',
    async ({ page }) => {
      await page.waitForFunction(() => document.querySelector('#gsc astro-island[ssr]') === null);
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      const workers = Math.min(2, cores > 2 ? cores - 1 : cores);
      await expect(page.getByTestId('gsc-estimate').textContent()).resolves.toMatch(
        new RegExp(`on WebAssembly for this network, on ${workers} workers?`),
      );
      await page.locator('#gsc').getByRole('button', { name: 'Run live' }).click();
      await expect
        .poll(() => page.locator('#gsc [data-figure]').getAttribute('data-phase'), {
          timeout: 120_000,
        })
        .toBe('done');
      // One network, its 4 draws in a slice per worker, merged on the page.
      expect(page.workers().filter((w) => /\/worker/.test(w.url())).length).toBe(workers);
      await expect(page.getByTestId('gsc-summary').first().textContent()).resolves.toMatch(
        /residual ReLU: .*over 4 weight draws\).*\(live\)/,
      );
    },
  );
});

test('the effective-depth curves draw for both depths', async () => {
  await open('/articles/effective-depth/#taylor', async ({ page }) => {
    const taylor = lines(page, 'taylor', 'taylor');
    await expect.poll(() => taylor.count(), WAIT).toBe(2);
    const at20 = await taylor.first().getAttribute('d');
    await page.locator('#taylor select').selectOption('50');
    await expect.poll(() => taylor.first().getAttribute('d'), WAIT).not.toBe(at20);
    await expect(page.getByTestId('ed-provenance').first().textContent()).resolves.toMatch(
      /50 layers/,
    );
  });
});

test('the depth figures embed on their own', async () => {
  await open('/embed/gradient-scale/?gsc.activation=selu', async ({ page }) => {
    await expect.poll(() => lines(page, 'gsc', 'sign').count(), WAIT).toBe(2);
    expect(await page.locator('#gsc select').first().inputValue()).toBe('selu');
  });
});
