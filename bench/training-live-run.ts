/**
 * The training figure's Run live ("Skip connections in action"), timed in
 * Chromium the way a reader runs it: the built site served locally, the
 * figure's settings from its URL (default: the quick run), a click on Run
 * live, and every live step read from the figure's own live chart (its
 * description gives each network's step and smoothed training loss).
 * Reports the estimate shown before the start, images/s, the time to the
 * first step, the time to a visible gap (the plain network's smoothed
 * training loss at least GAP above the residual one's, and staying so to the
 * end) and the total time. Writes a JSON record with the machine.
 *
 *   npm run build
 *   node bench/training-live-run.ts [--query 'training.seed=1'] [--backend wasm] \
 *     --out bench/results/<date>-training-live-<machine>.json
 *
 * Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium) and Node 22.18+
 * (it runs as TypeScript by type stripping).
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../tests/e2e/support/browser.ts';
import { startStaticServer } from '../tests/e2e/support/static-server.ts';

/** A visible gap on the live chart: 0.2 nats, a tenth of its usual 2-nat range. */
const GAP = 0.2;

const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    query: { type: 'string', default: '' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string' },
    note: { type: 'string', default: '' },
    timeout: { type: 'string', default: '1800' },
  },
});

interface Sample {
  /** Seconds since the click on Run live. */
  t: number;
  skip: { step: number; loss: number } | null;
  noskip: { step: number; loss: number } | null;
  imagesPerSecond: number | null;
}

const server = await startStaticServer({ root: join(process.cwd(), flags.dist) });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const query = new URLSearchParams(flags.query);
  query.set('training.backend', flags.backend);
  await page.goto(`${server.url}/articles/skip-connections-in-action/?${query}#training`, {
    waitUntil: 'load',
  });
  await page.locator('.training').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('astro-island[ssr] .training') === null);
  const runButton = page.getByRole('button', { name: 'Run live', exact: true });
  await runButton.waitFor({ timeout: 30_000 });
  const estimate = (await page.getByTestId('live-estimate').textContent())?.trim() ?? '';
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  await page.evaluate(() => {
    const w = window as unknown as { __samples: Sample[]; __t0: number };
    w.__samples = [];
    w.__t0 = performance.now();
    const read = (text: string, title: string) => {
      const m = new RegExp(`${title}: step (\\d+), training loss ([\\d.]+)`).exec(text);
      return m ? { step: Number(m[1]), loss: Number(m[2]) } : null;
    };
    const tick = () => {
      const desc = document.querySelector('.live-chart svg desc')?.textContent ?? '';
      const ips = document.querySelector('[data-testid="images-per-second"]')?.textContent ?? '';
      const sample = {
        t: (performance.now() - w.__t0) / 1000,
        skip: read(desc, 'with skips'),
        noskip: read(desc, 'without skips'),
        imagesPerSecond: ips ? Number.parseFloat(ips) : null,
      };
      const last = w.__samples.at(-1);
      if (sample.skip?.step !== last?.skip?.step || sample.noskip?.step !== last?.noskip?.step)
        w.__samples.push(sample);
    };
    setInterval(tick, 200);
  });
  await runButton.click();
  await page.waitForFunction(
    () =>
      /Finished|Stopped by an error/.test(
        document.querySelector('.training .live-status')?.textContent ?? '',
      ),
    undefined,
    { timeout: Number(flags.timeout) * 1000, polling: 500 },
  );
  const status = (await page.locator('.training .live-status').textContent())?.trim() ?? '';
  const samples = await page.evaluate(
    () => (window as unknown as { __samples: Sample[] }).__samples,
  );
  const totalSeconds = await page.evaluate(
    () => (performance.now() - (window as unknown as { __t0: number }).__t0) / 1000,
  );
  const paired = samples.filter((s) => s.skip && s.noskip);
  const gapAt = paired.findIndex((_, i) =>
    paired.slice(i).every((s) => s.noskip!.loss - s.skip!.loss >= GAP),
  );
  const last = paired.at(-1);
  const record = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      browserCores: cores,
      chromium: browser.version(),
      node: process.version,
      os: `linux ${release()}`,
      date: new Date().toISOString(),
      loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    },
    note: flags.note,
    settings: {
      query: flags.query,
      backend: flags.backend,
      skipscape: JSON.parse(readFileSync('package.json', 'utf8')).version as string,
    },
    estimate,
    status,
    firstStepSeconds: paired[0]?.t ?? null,
    visibleGap: GAP,
    visibleGapSeconds: gapAt >= 0 ? paired[gapAt]!.t : null,
    visibleGapStep: gapAt >= 0 ? paired[gapAt]!.noskip!.step : null,
    totalSeconds,
    steps: last?.noskip?.step ?? 0,
    finalLoss: last ? { skip: last.skip!.loss, noskip: last.noskip!.loss } : null,
    imagesPerSecond: samples.at(-1)?.imagesPerSecond ?? null,
    samples: paired,
  };
  if (flags.out) await writeFile(flags.out, `${JSON.stringify(record, null, 2)}\n`);
  console.log(
    `estimate shown: ${estimate}\nfirst step ${record.firstStepSeconds?.toFixed(1)} s; ` +
      `visible gap (${GAP}) from ${record.visibleGapSeconds?.toFixed(1)} s (step ${record.visibleGapStep}); ` +
      `all ${record.steps} steps in ${totalSeconds.toFixed(1)} s; ${record.imagesPerSecond} images/s; ` +
      `final smoothed loss ${JSON.stringify(record.finalLoss)}; ${status}`,
  );
} finally {
  await browser.close();
  await server.close();
}
