/**
 * The loss-landscape article's "Run live", timed in Chromium the way a reader
 * runs it: the built site served locally, the figure's settings from its URL,
 * the reader scrolls to the figure, opens Run live, and clicks its button
 * `--think` seconds later; the wall time of each panel is read from the
 * figure's own status line. Every run is a fresh browser context (a first
 * visit: new workers, empty cache), so the first click on a fresh page is
 * what is timed. `--baseline DIR` serves a second build beside this one and
 * alternates the two, `--repeats` times each, in one run of the script
 * (A/B under the same load). Writes a JSON record with the machine.
 *
 *   npm run build
 *   node bench/live-run.ts --grid 11 --subset 256 --model resnet20 --backend wasm \
 *     [--think 3] [--repeats 3 --baseline /tmp/before/dist] \
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
import type { Browser } from 'playwright-core';
import { launchChromium } from '../tests/e2e/support/browser.ts';
import { startStaticServer } from '../tests/e2e/support/static-server.ts';

const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    /** Another build to alternate with --dist (e.g. main's), A/B in the same run. */
    baseline: { type: 'string' },
    repeats: { type: 'string', default: '1' },
    /** Seconds from opening Run live to clicking its button (the reader reads the controls). */
    think: { type: 'string', default: '0' },
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

interface Panel {
  panel: string;
  points: number;
  workers: number;
  backend: string | null;
  /** Seconds from the panel's start: its first point, 3×3 points (a coarse picture), all. */
  firstPoint: number | null;
  ninePoints: number | null;
  seconds: number | null;
}

interface Run {
  build: string;
  /** Seconds from navigation to opening Run live, and to the click on its button. */
  loadToOpen: number;
  loadToClick: number;
  /** The figure's warm-up state at the click (data-warm-up; absent in builds without one). */
  warmUpAtClick: string;
  /** Seconds from the click to the last panel's last point. */
  total: number | null;
  panels: Panel[];
  timedOut: boolean;
  error: string | null;
  marks: Mark[];
}

const labelOf = (text: string): string | null =>
  /^Starting the compute worker for (.*)…$/.exec(text)?.[1] ?? /^(.*?): /.exec(text)?.[1] ?? null;
const countOf = (text: string): { done: number; total: number } | null => {
  const c = /(\d+) of (\d+) points/.exec(text) ?? /all (\d+) points/.exec(text);
  return c ? { done: Number(c[1]), total: Number(c[2] ?? c[1]) } : null;
};

/** One reader's first visit: open the article, scroll, open Run live, think, click, wait. */
async function runOnce(browser: Browser, build: string, url: string): Promise<Run> {
  const context = await browser.newContext({ serviceWorkers: 'block' });
  try {
    const page = await context.newPage();
    const query = new URLSearchParams({
      'landscape.model': flags.model,
      'landscape.view': 'contour',
      'landscape.grid': flags.grid,
      'landscape.subset': flags.subset,
      'landscape.backend': flags.backend,
    });
    await page.goto(`${url}/articles/loss-landscapes/?${query}`, { waitUntil: 'load' });
    // The island hydrates when it scrolls into view; Astro drops the ssr attribute when it has.
    await page.locator('.landscape').scrollIntoViewIfNeeded();
    await page.waitForFunction(
      () => document.querySelector('astro-island[ssr] .landscape') === null,
    );
    await page.locator('.landscape-live summary').click();
    const loadToOpen = await page.evaluate(() => performance.now() / 1000);
    const runButton = page.getByRole('button', { name: 'Run live' });
    await runButton.waitFor({ timeout: 30_000 });
    const waited = (await page.evaluate(() => performance.now() / 1000)) - loadToOpen;
    await page.waitForTimeout(Math.max(0, Number(flags.think) - waited) * 1000);
    // Every change of the status line, timed in the page from the click.
    const { loadToClick, warmUpAtClick } = await page.evaluate(() => {
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
      return {
        loadToClick: w.__t0 / 1000,
        warmUpAtClick:
          (document.querySelector('.live-run') as HTMLElement | null)?.dataset['warmUp'] ??
          'absent',
      };
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
    const labels = [...new Set(marks.flatMap((m) => labelOf(m.text) ?? []))];
    const panels: Panel[] = labels.map((label, k) => {
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
        firstPoint: since(reached(1)),
        ninePoints: since(reached(9)),
        seconds: since(finishedAt),
      };
    });
    const error = marks.find((m) => /stopped:/.test(m.text))?.text ?? null;
    const last = marks.findLast((m) => /all \d+ points/.test(m.text));
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
    const round = (v: number) => Math.round(v * 100) / 100;
    return {
      build,
      loadToOpen: round(loadToOpen),
      loadToClick: round(loadToClick),
      warmUpAtClick,
      total: last && !timedOut && !error ? round(last.t) : null,
      panels,
      timedOut,
      error,
      marks: marks.filter((m) => kept.has(m)),
    };
  } finally {
    await context.close();
  }
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return Math.round((s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2) * 100) / 100;
};

const builds = [
  { label: 'this', dist: flags.dist },
  ...(flags.baseline ? [{ label: 'baseline', dist: flags.baseline }] : []),
];
const servers = await Promise.all(builds.map((b) => startStaticServer({ root: resolve(b.dist) })));
const browser = await launchChromium();
try {
  const cores = await (async () => {
    const page = await browser.newPage();
    const n = await page.evaluate(() => navigator.hardwareConcurrency);
    await page.close();
    return n;
  })();
  const loadBefore = loadavg().map((v) => Math.round(v * 100) / 100);
  const runs: Run[] = [];
  for (let r = 0; r < Number(flags.repeats); r++) {
    // Alternated, and the order swapped each round, so neither build always goes first.
    const order = r % 2 === 0 ? builds.keys() : [...builds.keys()].reverse();
    for (const k of order) {
      const run = await runOnce(browser, builds[k]!.label, servers[k]!.url);
      runs.push(run);
      console.log(
        `${run.build} #${r + 1} (click ${run.loadToClick} s after load, warm-up ${run.warmUpAtClick}): ` +
          run.panels
            .map((p) => `${p.panel} ${p.seconds} s (first point ${p.firstPoint} s)`)
            .join('; ') +
          (run.error ? `; ${run.error}` : '') +
          (run.timedOut ? `; not finished in ${flags.timeout} s` : ''),
      );
    }
  }
  // Per build and panel, the median over repeats.
  const summary = Object.fromEntries(
    builds.map(({ label }) => {
      const own = runs.filter((r) => r.build === label);
      const panelNames = [...new Set(own.flatMap((r) => r.panels.map((p) => p.panel)))];
      return [
        label,
        {
          runs: own.length,
          total: median(own.flatMap((r) => (r.total === null ? [] : [r.total]))),
          panels: panelNames.map((panel) => {
            const of = (f: (p: Panel) => number | null) =>
              own.flatMap((r) => {
                const v = r.panels.find((p) => p.panel === panel);
                const x = v ? f(v) : null;
                return x === null ? [] : [x];
              });
            return {
              panel,
              seconds: median(of((p) => p.seconds)),
              firstPoint: median(of((p) => p.firstPoint)),
              ninePoints: median(of((p) => p.ninePoints)),
              all: of((p) => p.seconds),
            };
          }),
        },
      ];
    }),
  );
  const record = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      browserCores: cores,
      chromium: browser.version(),
      node: process.version,
      os: `linux ${release()}`,
      date: new Date().toISOString(),
      loadAverageBefore: loadBefore,
      loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    },
    note: flags.note,
    settings: {
      model: flags.model,
      grid: Number(flags.grid),
      subset: Number(flags.subset),
      backend: flags.backend,
      think: Number(flags.think),
      repeats: Number(flags.repeats),
      builds: builds.map((b) => ({ label: b.label, dist: b.dist })),
      skipscape: JSON.parse(readFileSync('package.json', 'utf8')).version as string,
    },
    summary,
    runs,
  };
  const json = `${JSON.stringify(record, null, 2)}\n`;
  if (flags.out) await writeFile(flags.out, json);
  for (const [label, s] of Object.entries(summary)) {
    console.log(
      `${label} (median of ${s.runs}): ${s.panels
        .map(
          (p) =>
            `${p.panel} ${p.seconds} s (first point ${p.firstPoint} s; each: ${p.all.join(', ')})`,
        )
        .join('; ')}; both ${s.total} s`,
    );
  }
  process.exitCode = runs.some((r) => r.error || r.timedOut) ? 1 : 0;
} finally {
  await browser.close();
  await Promise.all(servers.map((s) => s.close()));
}
