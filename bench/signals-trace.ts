/**
 * Where the page's and the workers' time goes while the signal figure
 * answers a change: the built "Why gradients vanish" in Chromium, the
 * benchmark case (ReLU, Kaiming, T = 50, d = 100, 256 inputs, 8 draws), the
 * activation toggled `--runs` times (warm runs) under a Chromium trace
 * (devtools.timeline); prints each change's time to painted, then the
 * trace's events summed per thread and name (ms per change), the number of
 * paints, and what invalidated layout (the nodes and reasons).
 *
 * `--cold`: change the seed instead (cold runs: every weight sampled afresh).
 * `--profile`: V8's sampling profiler in the trace too (every thread, the
 * workers included, as DevTools records it), and the functions with the
 * most self time on the workers and on the page.
 *
 *   npm run build
 *   node bench/signals-trace.ts [--dist dist] [--runs 4] [--cold] [--profile]
 *
 * Durations nest (RunTask holds FunctionCall holds …), so the sums are not a
 * partition; under load they are inflated by the waits for a core.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../tests/e2e/support/browser.ts';
import { startStaticServer } from '../tests/e2e/support/static-server.ts';

const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    runs: { type: 'string', default: '4' },
    cold: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
interface TraceEvent {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  dur?: number;
  id?: string;
  ts?: number;
  args?: {
    name?: string;
    data?: {
      nodeName?: string;
      reason?: string;
      cpuProfile?: {
        nodes?: {
          id: number;
          callFrame: {
            functionName: string;
            url?: string;
            lineNumber: number;
            columnNumber: number;
          };
        }[];
        samples?: number[];
      };
      timeDeltas?: number[];
    };
  };
}

const runs = Number(flags.runs);
const server = await startStaticServer({ root: resolve(flags.dist) });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(
    `${server.url}/articles/why-gradients-vanish/?signals.activation=relu&signals.init=kaiming&signals.seed=100#signals`,
  );
  await page.waitForFunction(
    () =>
      (
        document.querySelector('#signals .signals [data-testid="signals-status"]')?.textContent ??
        ''
      ).includes('Computed in this browser'),
    null,
    { timeout: 300_000 },
  );
  await page.waitForTimeout(500);
  const cdp = await page.context().newCDPSession(page);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (e) => {
    events.push(...(e.value as unknown as TraceEvent[]));
  });
  const complete = new Promise<void>((done) => cdp.on('Tracing.tracingComplete', () => done()));
  await cdp.send('Tracing.start', {
    categories: [
      'devtools.timeline',
      'disabled-by-default-devtools.timeline',
      'disabled-by-default-devtools.timeline.invalidationTracking',
      ...(flags.profile ? ['v8.execute', 'disabled-by-default-v8.cpu_profiler'] : []),
    ].join(','),
    transferMode: 'ReportEvents',
  });
  for (let r = 0; r < runs; r++) {
    const ms = await page.evaluate(
      (to) =>
        new Promise<number>((done) => {
          const root = document.querySelector('#signals .signals')!;
          // Cold: the seed (details' third number input); warm: the activation.
          const select = (
            /^\d+$/.test(to)
              ? root.querySelectorAll('details input[type="number"]')[2]
              : root.querySelector('select[data-setting="activation"]')
          ) as HTMLSelectElement | HTMLInputElement;
          const previous = root.getAttribute('data-timing');
          const start = performance.now();
          const observer = new MutationObserver(() => {
            const status = root.querySelector('[data-testid="signals-status"]')?.textContent ?? '';
            if (root.getAttribute('data-timing') === previous || !status.includes('Computed'))
              return;
            observer.disconnect();
            requestAnimationFrame(() =>
              requestAnimationFrame(() => done(performance.now() - start)),
            );
          });
          observer.observe(root, {
            attributes: true,
            subtree: true,
            childList: true,
            characterData: true,
          });
          select.value = to;
          select.dispatchEvent(new Event('change', { bubbles: true }));
        }),
      flags.cold ? String(101 + r) : r % 2 === 0 ? 'tanh' : 'relu',
    );
    console.log(`change ${r + 1}: painted after ${Math.round(ms)} ms`);
    await page.waitForTimeout(300);
  }
  await cdp.send('Tracing.end');
  await complete;

  const threads = new Map<string, string>();
  for (const e of events)
    if (e.ph === 'M' && e.name === 'thread_name')
      threads.set(`${e.pid}:${e.tid}`, e.args?.name ?? '');
  const totals = new Map<string, number>();
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur) continue;
    const thread = threads.get(`${e.pid}:${e.tid}`) ?? '';
    if (!/CrRendererMain|DedicatedWorker/.test(thread)) continue;
    const key = `${thread.replace(/\d+/g, '').trim()} ${e.name}`;
    totals.set(key, (totals.get(key) ?? 0) + e.dur / 1000);
  }
  console.log('\nms per change, per thread and event (nested):');
  for (const [key, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(`${(ms / runs).toFixed(1).padStart(8)}  ${key}`);
  const longest = events
    .filter(
      (e) =>
        e.ph === 'X' &&
        /CrRendererMain/.test(threads.get(`${e.pid}:${e.tid}`) ?? '') &&
        /HandlePostMessage|EventDispatch|TimerFire/.test(e.name),
    )
    .sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))
    .slice(0, 8);
  console.log(
    `\nlongest message, event and timer tasks on the page: ${longest.map((e) => `${e.name} ${Math.round((e.dur ?? 0) / 1000)} ms`).join(', ')}`,
  );
  const paints = events.filter((e) => e.ph === 'X' && e.name === 'Paint');
  console.log(
    `\n${paints.length} paints (${(paints.length / runs).toFixed(1)} per change), ms each: ${paints.map((e) => Math.round((e.dur ?? 0) / 1000)).join(' ')}`,
  );
  if (flags.profile) {
    // Self time per function from the profiler's chunks: each sample's node
    // gets the time since the previous sample (timeDeltas, µs).
    const nodes = new Map<string, { name: string; where: string }>();
    const self = new Map<string, number>();
    const profileThread = new Map<string, string>();
    for (const e of events)
      if (e.name === 'Profile' && e.id !== undefined)
        profileThread.set(`${e.pid}:${e.id}`, threads.get(`${e.pid}:${e.tid}`) ?? '');
    for (const e of events) {
      if (e.name !== 'ProfileChunk' || e.id === undefined) continue;
      const thread = (profileThread.get(`${e.pid}:${e.id}`) ?? '').replace(/\d+/g, '').trim();
      const profile = e.args?.data?.cpuProfile;
      for (const n of profile?.nodes ?? []) {
        const f = n.callFrame;
        const file = (f.url ?? '').split('/').pop() ?? '';
        nodes.set(`${e.pid}:${e.id}:${n.id}`, {
          name: f.functionName || '(anonymous)',
          where: file ? `${file}:${f.lineNumber + 1}:${f.columnNumber + 1}` : '',
        });
      }
      const deltas = e.args?.data?.timeDeltas ?? [];
      (profile?.samples ?? []).forEach((node, i) => {
        const n = nodes.get(`${e.pid}:${e.id}:${node}`);
        const key = `${thread || '?'}  ${n?.name ?? '?'} ${n?.where ?? ''}`;
        self.set(key, (self.get(key) ?? 0) + (deltas[i] ?? 0) / 1000);
      });
    }
    console.log('\nself time per change (sampled), per thread and function:');
    for (const [key, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
      console.log(`${(ms / runs).toFixed(1).padStart(8)}  ${key}`);
  }
  const invalidations = new Map<string, number>();
  for (const e of events) {
    if (!/Invalidat/.test(e.name)) continue;
    const d = e.args?.data ?? {};
    const key = `${e.name} ${d.nodeName ?? ''} ${d.reason ?? ''}`;
    invalidations.set(key, (invalidations.get(key) ?? 0) + 1);
  }
  console.log('\ninvalidations (count over all changes):');
  for (const [key, n] of [...invalidations].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`${String(n).padStart(6)}  ${key}`);
} finally {
  await browser.close();
  await server.close();
}
