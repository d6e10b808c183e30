/**
 * The signal figure's live computation, timed in Chromium the way a reader
 * triggers it: the built "Why gradients vanish" served locally, the variance
 * figure set by its URL to the benchmark case (ReLU, Kaiming, T = 50,
 * d = 100, 256 inputs, 8 draws: forward and backward), then settings changed
 * through its controls. Times come from the worker's own measurement
 * (SignalStatistics.elapsedMs and .timing, exposed on the figure as
 * data-elapsed-ms and data-timing).
 *
 *   cold: a new seed each time, so every weight is sampled afresh
 *   warm: the activation toggled (ReLU ↔ tanh), so the weights come from the cache
 *
 *   npm run build
 *   node bench/signals.ts --runs 5 --out bench/results/<date>-signals-<machine>.json
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launchChromium } from '../tests/e2e/support/browser.ts';
import { startStaticServer } from '../tests/e2e/support/static-server.ts';

const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    runs: { type: 'string', default: '5' },
    out: { type: 'string' },
    note: { type: 'string', default: '' },
  },
});

interface Timing {
  weightsMs: number;
  passMs: number;
  readMs: number;
  statsMs: number;
}
interface Run {
  label: string;
  elapsedMs: number;
  timing: Timing;
}

const runs = Number(flags.runs);
const server = await startStaticServer({ root: join(process.cwd(), flags.dist) });
const browser = await launchChromium();
const chromium = browser.version();
const loadBefore = loadavg().map((v) => Math.round(v * 100) / 100);

/** Wait for a result computed here for the settings now shown, and read its times. */
async function result(page: Page, label: string, previous: string | null): Promise<Run> {
  await page.waitForFunction(
    (prev) => {
      const el = document.querySelector('#signals .signals');
      const status = el?.querySelector('[data-testid="signals-status"]')?.textContent ?? '';
      return (
        status.includes('Computed in this browser') && el?.getAttribute('data-timing') !== prev
      );
    },
    previous,
    { timeout: 300_000, polling: 50 },
  );
  const el = page.locator('#signals .signals');
  return {
    label,
    elapsedMs: Number(await el.getAttribute('data-elapsed-ms')),
    timing: JSON.parse((await el.getAttribute('data-timing')) ?? '{}') as Timing,
  };
}

const cold: Run[] = [];
const warm: Run[] = [];
let backend: string;
try {
  const page = await browser.newPage();
  await page.goto(
    `${server.url}/articles/why-gradients-vanish/?signals.activation=relu&signals.init=kaiming&signals.seed=100#signals`,
  );
  let last = await result(page, 'first (tfjs and wasm load, weights sampled)', null);
  cold.push(last);
  backend =
    /\((\w+)\)/.exec((await page.getByTestId('signals-status').first().textContent()) ?? '')?.[1] ??
    '';
  await page.locator('#signals details summary').click();
  const seedInput = page.locator('#signals details input[type="number"]').nth(2);
  for (let i = 1; i <= runs; i++) {
    await seedInput.fill(String(100 + i));
    await seedInput.press('Enter');
    last = await result(page, `seed ${100 + i}`, JSON.stringify(last.timing));
    cold.push(last);
  }
  const activation = page.locator('#signals select[data-setting="activation"]');
  for (let i = 0; i < runs; i++) {
    await activation.selectOption(i % 2 === 0 ? 'tanh' : 'relu');
    last = await result(page, i % 2 === 0 ? 'tanh' : 'relu', JSON.stringify(last.timing));
    warm.push(last);
  }
} finally {
  await browser.close();
  await server.close();
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};
const summary = (list: Run[]) => ({
  medianElapsedMs: Math.round(median(list.map((r) => r.elapsedMs))),
  medianForwardBackwardMs: Math.round(
    median(list.map((r) => r.timing.passMs + r.timing.readMs + r.timing.statsMs)),
  ),
  medianWeightsMs: Math.round(median(list.map((r) => r.timing.weightsMs))),
});
const record = {
  bench: 'signals',
  case: 'ReLU, Kaiming, T = 50, d = 100, 256 inputs, 8 draws, forward and backward',
  backend,
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    os: `${process.platform} ${release()}`,
    chromium,
    node: process.version,
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadavg().map((v) => Math.round(v * 100) / 100),
  },
  skipscape: JSON.parse(readFileSync('package.json', 'utf8')).version as string,
  date: new Date().toISOString(),
  note: flags.note,
  // Cold runs after the first: new weights, tfjs already loaded.
  cold: summary(cold.slice(1)),
  warm: summary(warm),
  runs: { cold, warm },
};
const json = `${JSON.stringify(record, null, 2)}\n`;
process.stdout.write(json);
if (flags.out) await writeFile(flags.out, json);
