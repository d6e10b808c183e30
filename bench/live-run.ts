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
import { resolve } from 'node:path';
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

const server = await startStaticServer({ root: resolve(flags.dist) });
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
  // The island hydrates when it scrolls into view; Astro drops the ssr attribute when it has.
  await page.locator('.landscape').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('astro-island[ssr] .landscape') === null);
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
  // The last panel's "all N points in S s" line, or an error; a run that outlasts --timeout
  // still has its record written, with what it reached.
  let timedOut = false;
  await page
    .waitForFunction(
      () => {
        const text = document.querySelector('.live-status')?.textContent ?? '';
        const runButton = [...document.querySelectorAll('.landscape-live button')].some(
          (b) => b.textContent?.trim() === 'Run live',
        );
        return (runButton && /all \d+ points in/.test(text)) || /stopped:/.test(text);
      },
      undefined,
      { timeout: Number(flags.timeout) * 1000, polling: 250 },
    )
    .catch((e: unknown) => {
      if ((e as Error).name !== 'TimeoutError') throw e;
      timedOut = true;
    });
  const marks = await page.evaluate(() => (window as unknown as { __marks: Mark[] }).__marks);
  // Per panel, from its first status line to the next panel's (or its own "all N points").
  // Svelte may never paint a panel's "all N points" line when the next panel starts at once.
  const labelOf = (text: string): string | null =>
    /^Starting the compute worker for (.*)…$/.exec(text)?.[1] ?? /^(.*?): /.exec(text)?.[1] ?? null;
  const countOf = (text: string): { done: number; total: number } | null => {
    const c = /(\d+) of (\d+) points/.exec(text) ?? /all (\d+) points/.exec(text);
    return c ? { done: Number(c[1]), total: Number(c[2] ?? c[1]) } : null;
  };
  const labels = [...new Set(marks.flatMap((m) => labelOf(m.text) ?? []))];
  const panels = labels.map((label, k) => {
    const own = marks.filter((m) => labelOf(m.text) === label);
    const next = marks.find((m) => labelOf(m.text) === labels[k + 1]);
    const counts = own.flatMap((m) => {
      const c = countOf(m.text);
      return c ? [{ t: m.t, ...c }] : [];
    });
    const total = Math.max(...counts.map((c) => c.total));
    const startedAt = own[0]!.t;
    const finishedAt = own.find((m) => /all \d+ points/.test(m.text))?.t ?? next?.t ?? null;
    const reached = (n: number) => counts.find((c) => c.done >= n)?.t ?? null;
    const workers = /in (\d+) workers/.exec(own.at(-1)!.text)?.[1];
    const since = (t: number | null) =>
      t === null ? null : Math.round((t - startedAt) * 100) / 100;
    return {
      panel: label,
      points: total,
      workers: Number(workers ?? 1),
      backend: /on (\w+)/.exec(own.at(-1)!.text)?.[1] ?? null,
      /** Seconds from the panel's start: its first point, 3×3 points (a coarse picture), all. */
      firstPoint: since(reached(1)),
      ninePoints: since(reached(9)),
      seconds: since(finishedAt),
    };
  });
  const error = marks.find((m) => /stopped:/.test(m.text))?.text ?? null;
  // The record keeps the status lines that mark a milestone (each panel's first point, nine
  // points, each quarter, all) and every line without a count, not the thousand in between.
  const kept = new Set<Mark>();
  for (const label of labels) {
    const own = marks.filter((m) => labelOf(m.text) === label);
    const total = panels.find((p) => p.panel === label)?.points ?? 0;
    for (const n of [1, 9, total / 4, total / 2, (3 * total) / 4, total]) {
      const m = own.find((m) => (countOf(m.text)?.done ?? -1) >= n);
      if (m) kept.add(m);
    }
    for (const m of own) if (!countOf(m.text)) kept.add(m);
  }
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
    timedOut,
    error,
    marks: marks.filter((m) => kept.has(m)),
  };
  const json = `${JSON.stringify(record, null, 2)}\n`;
  if (flags.out) await writeFile(flags.out, json);
  for (const p of panels) {
    const rate = p.seconds ? ` (${(p.points / p.seconds).toFixed(2)} points/s)` : '';
    console.log(
      `${p.panel}: first point ${p.firstPoint} s, 9 points ${p.ninePoints} s, all ${p.points} in ${p.seconds} s${rate} on ${p.backend} in ${p.workers} worker(s)`,
    );
  }
  if (error) console.error(error);
  if (timedOut)
    console.error(`not finished in ${flags.timeout} s: the record holds what it reached`);
  process.exitCode = error || timedOut ? 1 : 0;
} finally {
  await browser.close();
  await server.close();
}
