/**
 * The paths article's Run live, timed in Chromium the way a reader runs it:
 * the built site served locally, the lesion figure's settings from its URL
 * (single deletions of ResNet-56 over 500 test images, WebAssembly), a click
 * on Run live, and the wall time until each network's status says done; then
 * the gradient sampler's samples per second from its own status line.
 *
 *   npm run build
 *   node bench/paths-live.ts --subset 500 --out bench/results/<date>-paths-live-<machine>.json
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../tests/e2e/support/browser.ts';
import { startStaticServer } from '../tests/e2e/support/static-server.ts';

const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    subset: { type: 'string', default: '500' },
    samples: { type: 'string', default: '2' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string' },
  },
});

const server = await startStaticServer({ root: join(process.cwd(), flags.dist) });
const browser = await launchChromium();
const record: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  kernel: release(),
  loadBefore: loadavg(),
  subset: Number(flags.subset),
  backend: flags.backend,
};
try {
  const page = await browser.newPage();
  const lesionQuery = new URLSearchParams({
    'lesion.study': 'deleteOne',
    'lesion.subset': flags.subset,
    'lesion.backend': flags.backend,
  });
  await page.goto(`${server.url}/articles/paths/?${lesionQuery}`, { waitUntil: 'load' });
  await page.locator('.lesion').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('astro-island[ssr] .lesion') === null);
  record.browserCores = await page.evaluate(() => navigator.hardwareConcurrency);
  const t0 = Date.now();
  await page.locator('#lesion').getByRole('button', { name: 'Run live' }).click();
  const seconds: Record<string, number> = {};
  const status: Record<string, string> = {};
  while (Object.keys(seconds).length < 2 && Date.now() - t0 < 900_000) {
    for (const key of ['skip', 'noskip']) {
      if (seconds[key]) continue;
      const text = (await page.locator(`[data-live-status="${key}"]`).textContent()) ?? '';
      if (/done|failed/.test(text)) {
        seconds[key] = (Date.now() - t0) / 1000;
        status[key] = text;
      }
    }
    await page.waitForTimeout(250);
  }
  record.lesion = {
    seconds,
    status,
    note: 'both networks at once, one worker each (28 lesions each: baseline + 27 single deletions)',
  };
  console.log(JSON.stringify(record.lesion));

  const pathsQuery = new URLSearchParams({
    'paths.samples': flags.samples,
    'paths.subset': flags.subset,
    'paths.backend': flags.backend,
  });
  await page.goto(`${server.url}/articles/paths/?${pathsQuery}`, { waitUntil: 'load' });
  await page.locator('.paths').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('astro-island[ssr] .paths') === null);
  const t1 = Date.now();
  await page.locator('#paths').getByRole('button', { name: 'Run live' }).click();
  let text = '';
  while (Date.now() - t1 < 900_000) {
    text = (await page.locator('#paths [data-live-status]').textContent()) ?? '';
    if (/done|failed/.test(text)) break;
    await page.waitForTimeout(250);
  }
  record.gradient = { seconds: (Date.now() - t1) / 1000, status: text };
  console.log(JSON.stringify(record.gradient));
  record.loadAfter = loadavg();
} finally {
  await browser.close();
  await server.close();
}
if (flags.out) await writeFile(flags.out, `${JSON.stringify(record, null, 2)}\n`);
