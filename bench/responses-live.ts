/**
 * The responses figure's Run live ("It is not vanishing gradients"), timed in
 * Chromium the way a reader runs it: the built site served locally, the
 * figure's settings from its URL (WebAssembly, N training images), a click on
 * Run live, the wall time until it says done. Two image counts, alternated
 * over the repeats, separate the start (tfjs, checkpoints, images) from the
 * speed: each worker measures its network's two states, so
 *
 *   images/s per worker = 2 · (N_large − N_small) / (t_large − t_small)
 *   start               = t_small − 2 · N_small / (images/s per worker)
 *
 * which is what LIVE_REFERENCE (src/components/depth/responses-data.ts) holds.
 *
 *   npm run build
 *   node bench/responses-live.ts --small 16 --large 128 --repeats 2 \
 *     --out bench/results/<date>-responses-live-<machine>.json
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
    small: { type: 'string', default: '16' },
    large: { type: 'string', default: '128' },
    repeats: { type: 'string', default: '2' },
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
  backend: flags.backend,
};
const runs: { images: number; seconds: number; status: string; load: number }[] = [];

/** One Run live in a fresh page: seconds from the click to done. */
async function timeRun(images: number): Promise<void> {
  const page = await browser.newPage();
  try {
    const query = new URLSearchParams({
      'responses.images': String(images),
      'responses.backend': flags.backend,
    });
    await page.goto(`${server.url}/articles/not-vanishing-gradients/?${query}#responses`, {
      waitUntil: 'load',
    });
    const figure = page.locator('#responses [data-figure]');
    await figure.scrollIntoViewIfNeeded();
    await page.waitForFunction(
      () => document.querySelector('astro-island[ssr] #responses [data-figure]') === null,
    );
    record.browserCores = await page.evaluate(() => navigator.hardwareConcurrency);
    const t0 = Date.now();
    await page.locator('#responses').getByRole('button', { name: 'Run live' }).click();
    let phase = '';
    while (Date.now() - t0 < 900_000) {
      phase = (await figure.getAttribute('data-phase')) ?? '';
      if (phase === 'done' || phase === 'error') break;
      await page.waitForTimeout(200);
    }
    const seconds = (Date.now() - t0) / 1000;
    const status = (await page.getByTestId('responses-live-status').textContent()) ?? '';
    if (phase !== 'done') throw new Error(`the live run ended ${phase}: ${status}`);
    runs.push({ images, seconds, status, load: loadavg()[0]! });
    console.log(JSON.stringify(runs.at(-1)));
  } finally {
    await page.close();
  }
}

try {
  const small = Number(flags.small);
  const large = Number(flags.large);
  for (let r = 0; r < Number(flags.repeats); r++) {
    await timeRun(small);
    await timeRun(large);
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const tSmall = median(runs.filter((x) => x.images === small).map((x) => x.seconds));
  const tLarge = median(runs.filter((x) => x.images === large).map((x) => x.seconds));
  const imagesPerSecondPerWorker = (2 * (large - small)) / (tLarge - tSmall);
  record.runs = runs;
  record.result = {
    medianSeconds: { [small]: tSmall, [large]: tLarge },
    imagesPerSecondPerWorker,
    startupSeconds: tSmall - (2 * small) / imagesPerSecondPerWorker,
  };
  record.loadAfter = loadavg();
  console.log(JSON.stringify(record.result));
} finally {
  await browser.close();
  await server.close();
}
if (flags.out) await writeFile(flags.out, `${JSON.stringify(record, null, 2)}\n`);
