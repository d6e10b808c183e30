/**
 * The paths article's Run live, timed in Chromium the way a reader runs it:
 * the built site served locally, the lesion figure's settings from its URL
 * (by default the single deletions of ResNet-56 over 500 test images,
 * WebAssembly), the estimate the figure shows before it starts, a click on
 * Run live, and the wall time until each network's status says done; then
 * the gradient sampler's samples per second from its own status line.
 * Besides the wall clock, the CPU time of Chromium's processes over the run
 * (user + system, from /proc; every worker thread of the page included), the
 * measure a shared machine disturbs least.
 *
 *   npm run build
 *   node bench/paths-live.ts --subset 500 --out bench/results/<date>-paths-live-<machine>.json
 *
 * A/B in one run: --dist a,b (two builds, e.g. an earlier commit's) and --repeats N run them
 * interleaved, alternating which goes first. --subset auto leaves the number of test images to
 * the figure (its default for the backend) and --study all runs the whole study, as a reader's
 * first click does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../tests/e2e/support/browser.ts';
import { startStaticServer } from '../tests/e2e/support/static-server.ts';

const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    subset: { type: 'string', default: '500' },
    study: { type: 'string', default: 'deleteOne' },
    samples: { type: 'string', default: '2' },
    'gradient-subset': { type: 'string', default: '500' },
    'no-gradient': { type: 'boolean', default: false },
    backend: { type: 'string', default: 'wasm' },
    repeats: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});

/** CPU seconds (user + system) of every process below this one: Chromium and its helpers. */
function childCpuSeconds(): number {
  const ticks = 100; // USER_HZ on Linux
  const parents = new Map<number, number>();
  const times = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(name), Number(fields[1]));
      times.set(Number(name), (Number(fields[11]) + Number(fields[12])) / ticks);
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  for (const [pid, seconds] of times) {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === process.pid) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

async function lesionRun(browser: Browser, url: string): Promise<Record<string, unknown>> {
  const page = await browser.newPage();
  try {
    const query = new URLSearchParams({
      'lesion.study': flags.study,
      'lesion.backend': flags.backend,
      ...(flags.subset === 'auto' ? {} : { 'lesion.subset': flags.subset }),
    });
    await page.goto(`${url}/articles/paths/?${query}`, { waitUntil: 'load' });
    await page.locator('.lesion').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelector('astro-island[ssr] .lesion') === null);
    await page.waitForTimeout(1000);
    const estimate = await page
      .locator('[data-testid="lesion-estimate"]')
      .textContent({ timeout: 2000 })
      .catch(() => null);
    const images = await page
      .locator('[data-testid="lesion-images"]')
      .inputValue({ timeout: 2000 })
      .catch(() => flags.subset);
    const browserCores = await page.evaluate(() => navigator.hardwareConcurrency);
    const cpu0 = childCpuSeconds();
    const load = loadavg()[0];
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
    return {
      images: Number(images),
      estimate: estimate?.replace(/\s+/g, ' ').trim() ?? null,
      seconds,
      cpuSeconds: childCpuSeconds() - cpu0,
      load,
      browserCores,
      status,
    };
  } finally {
    await page.close();
  }
}

async function gradientRun(browser: Browser, url: string): Promise<Record<string, unknown>> {
  const page = await browser.newPage();
  try {
    const query = new URLSearchParams({
      'paths.samples': flags.samples,
      'paths.subset': flags['gradient-subset'],
      'paths.backend': flags.backend,
    });
    await page.goto(`${url}/articles/paths/?${query}`, { waitUntil: 'load' });
    await page.locator('.paths').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelector('astro-island[ssr] .paths') === null);
    const cpu0 = childCpuSeconds();
    const load = loadavg()[0];
    const t1 = Date.now();
    await page.locator('#paths').getByRole('button', { name: 'Run live' }).click();
    let text = '';
    while (Date.now() - t1 < 900_000) {
      text = (await page.locator('#paths [data-live-status]').textContent()) ?? '';
      if (/done|failed/.test(text)) break;
      await page.waitForTimeout(250);
    }
    return {
      seconds: (Date.now() - t1) / 1000,
      cpuSeconds: childCpuSeconds() - cpu0,
      load,
      status: text,
    };
  } finally {
    await page.close();
  }
}

const dists = flags.dist.split(',').map((d) => resolve(d));
const record: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  kernel: release(),
  loadBefore: loadavg(),
  flags,
  note: 'both networks at once, one worker each; deleteOne: 28 lesions each (baseline + 27 single deletions)',
};
const servers = await Promise.all(dists.map((root) => startStaticServer({ root })));
const browser = await launchChromium();
const runs: Record<string, unknown>[] = [];
try {
  for (let r = 0; r < Number(flags.repeats); r++) {
    const order = dists.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const lesion = await lesionRun(browser, servers[i]!.url);
      const gradient = !flags['no-gradient'] ? await gradientRun(browser, servers[i]!.url) : null;
      const run = { dist: dists[i], repeat: r, lesion, gradient };
      console.log(JSON.stringify(run));
      runs.push(run);
    }
  }
  record.runs = runs;
  record.loadAfter = loadavg();
} finally {
  await browser.close();
  await Promise.all(servers.map((s) => s.close()));
}
if (flags.out) await writeFile(flags.out, `${JSON.stringify(record, null, 2)}\n`);
