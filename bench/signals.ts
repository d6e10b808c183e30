/**
 * The signal figure's live computation, timed in Chromium the way a reader
 * triggers it: the built "Why gradients vanish" served locally, the variance
 * figure set by its URL to the benchmark case (ReLU, Kaiming, T = 50,
 * d = 100, 256 inputs, 8 draws: forward and backward), then settings changed
 * through its controls. Two times per change:
 *
 *   update: what a reader waits, measured in the page from the control's
 *     change event to the new chart painted (the result in the DOM, then two
 *     animation frames): scheduling, the workers' runs, the statistics and
 *     histograms on the page, and drawing the charts
 *   elapsed: the run alone, from its start to its statistics
 *     (SignalStatistics.elapsedMs: since the histograms are counted in the
 *     workers, up to their counts received; builds before that stopped the
 *     clock at the last draw received, before binning on the page), with the
 *     workers' own split of it
 *     (.timing, summed over draws: CPU time, since the workers run at once),
 *     exposed on the figure as data-elapsed-ms and data-timing
 *
 *   cold: a new seed each time, so every weight is sampled afresh
 *   warm: the activation toggled (ReLU ↔ tanh), so the weights come from the cache
 *   width: the width slider moved one step at a time (100 → 101 → …, Kaiming),
 *     so every matrix is new but its stream of normals is not: the first
 *     step keeps the streams (samples 101² normals a matrix), each later one
 *     adds 2d + 1 normals a matrix
 *   drag: after the init is set to Gaussian σ_w²/fan-in, the σ_w² slider
 *     dragged from 2 down in steps of 0.05, one input event every
 *     --drag-interval ms (--drag-steps of them; the weights stay cached):
 *     how many new results were painted during the drag, and the time from
 *     the last input event to the result for the last value painted (settle)
 *
 *   npm run build
 *   node bench/signals.ts --runs 5 --out bench/results/<date>-signals-<machine>.json
 *
 * A/B against another build (say, of the commit before a change) in the same
 * run: `--baseline DIR` serves that build too, and `--rounds R` alternates
 * the two R times (A B, B A, A B, …), a fresh page each time, so a change in
 * the machine's load hits both:
 *
 *   git archive <commit> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
 *   (cd /tmp/before && npm run build)
 *   node bench/signals.ts --baseline /tmp/before/dist --rounds 3 --runs 4
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launchChromium } from '../tests/e2e/support/browser.ts';
import { startStaticServer } from '../tests/e2e/support/static-server.ts';

const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    runs: { type: 'string', default: '5' },
    out: { type: 'string' },
    note: { type: 'string', default: '' },
    'drag-steps': { type: 'string', default: '40' },
    'drag-interval': { type: 'string', default: '16' },
  },
});

interface Timing {
  weightsMs: number;
  passMs: number;
  readMs: number;
  statsMs: number;
}
/**
 * CPU time of Chromium's renderer threads over one change, from Linux's
 * /proc/<pid>/task/<tid>/schedstat (ns on a core, ns runnable but waiting
 * for one): the page's main thread, the workers summed, and the renderer's
 * other threads summed (V8's background compilers and GC helpers, the
 * compositor). Under load the workers' own clocks (timing) count the waits
 * too; these do not.
 */
interface ThreadTimes {
  mainCpuMs: number;
  mainWaitMs: number;
  workersCpuMs: number;
  workersWaitMs: number;
  otherCpuMs: number;
}
interface Run {
  label: string;
  /** null where /proc is not readable (not Linux). */
  threads: ThreadTimes | null;
  elapsedMs: number;
  timing: Timing;
  /** From the control's change event to the new chart painted, in the page. */
  updateMs: number | null;
  /** The 1-minute load average when the result arrived. */
  loadAverage: number;
}

/** A slider dragged: results painted during the drag, and the last input to its result painted. */
interface Drag {
  steps: number;
  intervalMs: number;
  /** From the first input event to the last. */
  durationMs: number;
  /** New live results painted while the drag went on (after its first input, up to its last). */
  paintsDuring: number;
  /** From the last input event to the result for its value painted. */
  settleMs: number;
  loadAverage: number;
}

const runs = Number(flags.runs);
const dragSteps = Number(flags['drag-steps']);
const dragInterval = Number(flags['drag-interval']);
const rounds = Number(flags.rounds);
const builds: { label: string; dist: string }[] = [
  { label: 'this build', dist: flags.dist },
  ...(flags.baseline ? [{ label: 'baseline', dist: flags.baseline }] : []),
];
const servers = await Promise.all(
  builds.map((b) => startStaticServer({ root: resolve(process.cwd(), b.dist) })),
);
const browser = await launchChromium();
const chromium = browser.version();
const loadBefore = loadavg().map((v) => Math.round(v * 100) / 100);

/** The processes descended from this one (the Chromium we launched and its children). */
function descendants(): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces, so split after its ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended meanwhile.
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++)
      if (p === process.pid) return true;
    return false;
  };
  return [...parent.keys()].filter((p) => p !== process.pid && ours(p));
}

type ThreadKind = 'main' | 'worker' | 'other';
/** Per renderer thread: the page's main thread (tid = pid), a worker, or another; ns on a core and waiting for one. */
function rendererThreads(): Map<string, { kind: ThreadKind; cpuNs: number; waitNs: number }> {
  const threads = new Map<string, { kind: ThreadKind; cpuNs: number; waitNs: number }>();
  try {
    for (const pid of descendants()) {
      let tids: string[];
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        try {
          const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
          const kind: ThreadKind =
            tid === String(pid) ? 'main' : comm.startsWith('DedicatedWorker') ? 'worker' : 'other';
          const [cpu, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')
            .split(' ')
            .map(Number);
          threads.set(`${pid}/${tid}`, { kind, cpuNs: cpu!, waitNs: wait! });
        } catch {
          // The thread ended meanwhile.
        }
      }
    }
  } catch {
    // No /proc: not Linux.
  }
  return threads;
}

/** The renderer threads' CPU and wait times between two rendererThreads() snapshots. */
function threadTimes(
  before: ReturnType<typeof rendererThreads>,
  after: ReturnType<typeof rendererThreads>,
): ThreadTimes | null {
  if (after.size === 0) return null;
  const t = { mainCpuMs: 0, mainWaitMs: 0, workersCpuMs: 0, workersWaitMs: 0, otherCpuMs: 0 };
  for (const [id, a] of after) {
    const b = before.get(id) ?? { cpuNs: 0, waitNs: 0 };
    const cpu = (a.cpuNs - b.cpuNs) / 1e6;
    const wait = (a.waitNs - b.waitNs) / 1e6;
    if (a.kind === 'main') {
      t.mainCpuMs += cpu;
      t.mainWaitMs += wait;
    } else if (a.kind === 'worker') {
      t.workersCpuMs += cpu;
      t.workersWaitMs += wait;
    } else t.otherCpuMs += cpu;
  }
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    mainCpuMs: round(t.mainCpuMs),
    mainWaitMs: round(t.mainWaitMs),
    workersCpuMs: round(t.workersCpuMs),
    workersWaitMs: round(t.workersWaitMs),
    otherCpuMs: round(t.otherCpuMs),
  };
}

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
    { timeout: 300_000, polling: 20 },
  );
  const el = page.locator('#signals .signals');
  return {
    label,
    threads: null,
    elapsedMs: Number(await el.getAttribute('data-elapsed-ms')),
    timing: JSON.parse((await el.getAttribute('data-timing')) ?? '{}') as Timing,
    updateMs: null,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/**
 * Set a control of the figure (`selector` inside it) to `value` and time, in
 * the page, the change event to the new result painted.
 */
async function change(
  page: Page,
  /** A selector inside the figure and which of its matches. */
  [selector, index]: [string, number],
  value: string,
  label: string,
  previous: string | null,
): Promise<Run> {
  const threadsBefore = rendererThreads();
  const updateMs = await page.evaluate(
    ({ selector, index, value, previous }) =>
      new Promise<number>((resolve, reject) => {
        const root = document.querySelector('#signals .signals')!;
        const control = root.querySelectorAll(selector)[index] as
          HTMLInputElement | HTMLSelectElement;
        const computed = () =>
          (root.querySelector('[data-testid="signals-status"]')?.textContent ?? '').includes(
            'Computed in this browser',
          ) && root.getAttribute('data-timing') !== previous;
        const timeout = setTimeout(() => reject(new Error('no result in 300 s')), 300_000);
        const start = performance.now();
        // Svelte writes a result's attributes and charts in one update; the
        // observer runs after it, and two frames later it has been painted.
        const observer = new MutationObserver(() => {
          if (!computed()) return;
          observer.disconnect();
          clearTimeout(timeout);
          requestAnimationFrame(() =>
            requestAnimationFrame(() => resolve(performance.now() - start)),
          );
        });
        observer.observe(root, {
          attributes: true,
          childList: true,
          subtree: true,
          characterData: true,
        });
        control.value = value;
        control.dispatchEvent(new Event('input', { bubbles: true }));
        control.dispatchEvent(new Event('change', { bubbles: true }));
      }),
    { selector, index, value, previous },
  );
  // The page has painted: the run's threads are done (their next tasks wait for a change).
  const threads = threadTimes(threadsBefore, rendererThreads());
  return { ...(await result(page, label, previous)), updateMs, threads };
}

/**
 * Drag the σ_w² slider (Gaussian init, weights cached): `steps` input events
 * `interval` ms apart, from 2 − 0.05 downwards.
 */
async function drag(page: Page, steps: number, interval: number): Promise<Drag> {
  const measured = await page.evaluate(
    ({ steps, interval }) =>
      new Promise<Omit<Drag, 'loadAverage'>>((resolve, reject) => {
        const root = document.querySelector('#signals .signals')!;
        const slider = root.querySelector('input[data-setting="sigmaW2"]') as HTMLInputElement;
        const status = () =>
          root.querySelector('[data-testid="signals-status"]')?.textContent ?? '';
        const timeout = setTimeout(() => reject(new Error('no result in 300 s')), 300_000);
        let paints = 0;
        let lastInput = 0;
        let dragging = true;
        let timing = root.getAttribute('data-timing');
        const start = performance.now();
        const observer = new MutationObserver(() => {
          // A new live result drawn, for whatever value it was computed
          // (the slider has usually moved on: the figure shows it as stale).
          const now = root.getAttribute('data-timing');
          if (now !== timing && now !== null && dragging) paints++;
          timing = now;
          // After the last input: the result for its value (the status says
          // computed only when the live result is for the settings shown).
          if (!dragging && status().includes('Computed in this browser')) {
            observer.disconnect();
            clearTimeout(timeout);
            requestAnimationFrame(() =>
              requestAnimationFrame(() =>
                resolve({
                  steps,
                  intervalMs: interval,
                  durationMs: lastInput - start,
                  paintsDuring: paints,
                  settleMs: performance.now() - lastInput,
                }),
              ),
            );
          }
        });
        observer.observe(root, {
          attributes: true,
          childList: true,
          subtree: true,
          characterData: true,
        });
        let i = 0;
        const step = () => {
          i++;
          slider.value = (2 - 0.05 * i).toFixed(2);
          lastInput = performance.now();
          slider.dispatchEvent(new Event('input', { bubbles: true }));
          if (i < steps) setTimeout(step, interval);
          else dragging = false;
        };
        step();
      }),
    { steps, interval },
  );
  return { ...measured, loadAverage: Math.round(loadavg()[0]! * 100) / 100 };
}

/** One page of one build: the first run, `runs` cold ones, `runs` + 1 width steps, `runs` warm ones, and a drag. */
async function session(url: string): Promise<{
  first: Run;
  cold: Run[];
  width: Run[];
  warm: Run[];
  drag: Drag | null;
  backend: string;
}> {
  const page = await browser.newPage();
  try {
    await page.goto(
      `${url}/articles/why-gradients-vanish/?signals.activation=relu&signals.init=kaiming&signals.seed=100#signals`,
    );
    const first = await result(page, 'first (tfjs and wasm load, weights sampled)', null);
    let last = first;
    const backend =
      /\((\w+)\)/.exec(
        (await page.getByTestId('signals-status').first().textContent()) ?? '',
      )?.[1] ?? '';
    /** Set the control to each value in turn, each change timed after the last one's result. */
    const changes = async (
      control: [string, number],
      values: string[],
      label: (value: string) => string,
    ): Promise<Run[]> => {
      const list: Run[] = [];
      for (const value of values) {
        last = await change(page, control, value, label(value), JSON.stringify(last.timing));
        list.push(last);
      }
      return list;
    };
    const numbers = (count: number) => Array.from({ length: count }, (_, k) => String(100 + k + 1));
    const cold = await changes(
      ['details input[type="number"]', 2],
      numbers(runs),
      (v) => `seed ${v}`,
    );
    const width = await changes(
      ['input[data-setting="width"]', 0],
      numbers(runs + 1),
      (v) => `width ${v}`,
    );
    const warm = await changes(
      ['select[data-setting="activation"]', 0],
      Array.from({ length: runs }, (_, k) => (k % 2 === 0 ? 'tanh' : 'relu')),
      (v) => v,
    );
    let dragged: Drag | null = null;
    if (dragSteps > 0) {
      // Gaussian σ_w²/fan-in (σ_w² = 2, as Kaiming): one run, then the slider is live.
      last = await change(
        page,
        ['select[data-setting="init"]', 0],
        'gaussian',
        'gaussian',
        JSON.stringify(last.timing),
      );
      dragged = await drag(page, dragSteps, dragInterval);
    }
    return { first, cold, width, warm, drag: dragged, backend };
  } finally {
    await page.close();
  }
}

const times = (list: Run[]) =>
  list
    .map(
      (x) =>
        `${Math.round(x.updateMs ?? NaN)} (${Math.round(x.elapsedMs)}${x.threads ? `; cpu ${Math.round(x.threads.workersCpuMs)} + ${Math.round(x.threads.mainCpuMs)} + ${Math.round(x.threads.otherCpuMs)}` : ''})`,
    )
    .join(' ');
const measured = builds.map(() => ({
  first: [] as Run[],
  cold: [] as Run[],
  width: [] as Run[],
  warm: [] as Run[],
  drag: [] as Drag[],
}));
let backend = '';
try {
  for (let r = 0; r < rounds; r++) {
    // A B, then B A, …: neither build always goes first.
    const order = builds.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const s = await session(servers[i]!.url);
      backend = s.backend;
      measured[i]!.first.push(s.first);
      measured[i]!.cold.push(...s.cold);
      measured[i]!.width.push(...s.width);
      measured[i]!.warm.push(...s.warm);
      if (s.drag) measured[i]!.drag.push(s.drag);
      const dragged = s.drag
        ? `; drag ${s.drag.steps} steps in ${Math.round(s.drag.durationMs)} ms: ${s.drag.paintsDuring} painted during, settled ${Math.round(s.drag.settleMs)} ms after`
        : '';
      process.stderr.write(
        `round ${r + 1} ${builds[i]!.label}: update (run; CPU ms of workers + page + other) cold ${times(s.cold)}, width ${times(s.width)}, warm ${times(s.warm)} ms${dragged}, load ${loadavg()[0]!.toFixed(2)}\n`,
      );
    }
  }
} finally {
  await browser.close();
  await Promise.all(servers.map((s) => s.close()));
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
  medianUpdateMs: Math.round(median(list.map((r) => r.updateMs ?? NaN))),
  medianLoadAverage: median(list.map((r) => r.loadAverage)),
  // CPU time, not wall: what the change cost apart from waiting for a core.
  medianWorkersCpuMs: list.every((r) => r.threads)
    ? Math.round(median(list.map((r) => r.threads!.workersCpuMs)))
    : null,
  medianWorkersWaitMs: list.every((r) => r.threads)
    ? Math.round(median(list.map((r) => r.threads!.workersWaitMs)))
    : null,
  medianMainCpuMs: list.every((r) => r.threads)
    ? Math.round(median(list.map((r) => r.threads!.mainCpuMs)))
    : null,
  medianOtherCpuMs: list.every((r) => r.threads)
    ? Math.round(median(list.map((r) => r.threads!.otherCpuMs)))
    : null,
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
  rounds,
  // Per build: cold runs (new weights; tfjs already loaded) and warm ones (weights cached).
  builds: builds.map((b, i) => ({
    label: b.label,
    dist: b.dist,
    cold: summary(measured[i]!.cold),
    // The first step of each session keeps the streams; the rest extend them.
    widthFirstStep: summary(measured[i]!.width.filter((_, k) => k % (runs + 1) === 0)),
    widthLaterSteps: summary(measured[i]!.width.filter((_, k) => k % (runs + 1) !== 0)),
    warm: summary(measured[i]!.warm),
    drag:
      measured[i]!.drag.length > 0
        ? {
            medianPaintsDuring: median(measured[i]!.drag.map((d) => d.paintsDuring)),
            medianSettleMs: Math.round(median(measured[i]!.drag.map((d) => d.settleMs))),
            medianDurationMs: Math.round(median(measured[i]!.drag.map((d) => d.durationMs))),
          }
        : null,
    runs: measured[i],
  })),
};
const json = `${JSON.stringify(record, null, 2)}\n`;
process.stdout.write(json);
if (flags.out) await writeFile(flags.out, json);
