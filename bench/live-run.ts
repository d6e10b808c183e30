/**
 * The loss-landscape article's "Run live", timed in Chromium the way a reader
 * runs it: the built site served locally, the figure's settings from its URL,
 * a click on Run live, and the wall time of each panel read from the figure's
 * own status line. Writes a JSON record with the machine.
 *
 *   npm run build
 *   node bench/live-run.ts --grid 11 --subset 256 --model resnet20 --backend wasm \
 *     --out bench/results/<date>-live-<machine>.json
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

const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    model: { type: 'string', default: 'resnet20' },
    grid: { type: 'string', default: '11' },
    subset: { type: 'string', default: '256' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string' },
    note: { type: 'string', default: '' },
    timeout: { type: 'string', default: '1800' },
  },
});

interface Mark {
  /** Seconds since the click on Run live. */
  t: number;
  text: string;
}

const server = await startStaticServer({ root: join(process.cwd(), flags.dist) });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const query = new URLSearchParams({
    'landscape.model': flags.model,
    'landscape.view': 'contour',
    'landscape.grid': flags.grid,
    'landscape.subset': flags.subset,
    'landscape.backend': flags.backend,
  });
  await page.goto(`${server.url}/articles/loss-landscapes/?${query}`, { waitUntil: 'load' });
  await page.locator('.landscape-live summary').click();
  const runButton = page.getByRole('button', { name: 'Run live' });
  await runButton.waitFor({ timeout: 30_000 });
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  // Every change of the status line, timed in the page from the click.
  await page.evaluate(() => {
    const w = window as unknown as { __marks: Mark[]; __t0: number };
    w.__marks = [];
    const root = document.querySelector('.landscape-live')!;
    new MutationObserver(() => {
      const text = root.querySelector('.live-status')?.textContent?.trim() ?? '';
      const last = w.__marks.at(-1);
      if (text && text !== last?.text)
        w.__marks.push({ t: (performance.now() - w.__t0) / 1000, text });
    }).observe(root, { subtree: true, childList: true, characterData: true });
    w.__t0 = performance.now();
  });
  await runButton.click();
  // The last panel's "all N points in S s" line, or an error.
  await page.waitForFunction(
    () => {
      const text = document.querySelector('.live-status')?.textContent ?? '';
      const runButton = [...document.querySelectorAll('.landscape-live button')].some(
        (b) => b.textContent?.trim() === 'Run live',
      );
      return (runButton && /all \d+ points in/.test(text)) || /stopped:/.test(text);
    },
    undefined,
    { timeout: Number(flags.timeout) * 1000, polling: 250 },
  );
  const marks = await page.evaluate(() => (window as unknown as { __marks: Mark[] }).__marks);
  const panels = marks.flatMap((m) => {
    const done = /^(.*): all (\d+) points in ([\d.]+) s on (\w+)(?: in (\d+) workers)?/.exec(
      m.text,
    );
    return done
      ? [
          {
            panel: done[1],
            points: Number(done[2]),
            seconds: Number(done[3]),
            backend: done[4],
            workers: Number(done[5] ?? 1),
            finishedAt: m.t,
          },
        ]
      : [];
  });
  const error = marks.find((m) => /stopped:/.test(m.text))?.text ?? null;
  const version = browser.version();
  const record = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      browserCores: cores,
      chromium: version,
      node: process.version,
      os: `linux ${release()}`,
      date: new Date().toISOString(),
      loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    },
    note: flags.note,
    settings: {
      model: flags.model,
      grid: Number(flags.grid),
      subset: Number(flags.subset),
      backend: flags.backend,
      skipscape: JSON.parse(readFileSync('package.json', 'utf8')).version as string,
    },
    panels,
    error,
    marks,
  };
  const json = `${JSON.stringify(record, null, 2)}\n`;
  if (flags.out) await writeFile(flags.out, json);
  for (const p of panels) {
    console.log(
      `${p.panel}: ${p.points} points in ${p.seconds.toFixed(1)} s (${(p.points / p.seconds).toFixed(2)} points/s) on ${p.backend} in ${p.workers} worker(s)`,
    );
  }
  if (error) console.error(error);
  process.exitCode = error ? 1 : 0;
} finally {
  await browser.close();
  await server.close();
}
