import { resolve } from 'node:path';
import { launchChromium } from '../tests/e2e/support/browser.ts';
import { startStaticServer } from '../tests/e2e/support/static-server.ts';
const dist = process.argv[2] ?? 'dist';
const server = await startStaticServer({ root: resolve(dist) });
const browser = await launchChromium();
const page = await browser.newPage();
await page.goto(`${server.url}/articles/why-gradients-vanish/?signals.activation=relu&signals.init=kaiming&signals.seed=100#signals`);
await page.waitForFunction(() => (document.querySelector('#signals .signals [data-testid="signals-status"]')?.textContent ?? '').includes('Computed in this browser'), null, { timeout: 300000 });
if (process.argv[4]) await page.evaluate((sel) => { for (const el of document.querySelectorAll(sel)) { (el as HTMLElement).style.contain = 'content'; (el as HTMLElement).style.willChange = 'transform'; } }, process.argv[4]);
await page.waitForTimeout(500);
const cdp = await page.context().newCDPSession(page);
const events: any[] = [];
cdp.on('Tracing.dataCollected', (e: any) => events.push(...e.value));
const done = new Promise<void>((r) => cdp.on('Tracing.tracingComplete', () => r()));
await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline,disabled-by-default-devtools.timeline.invalidationTracking', transferMode: 'ReportEvents' });
const runs = Number(process.argv[3] ?? 6);
if (runs === 0) await page.waitForTimeout(3000);
for (let r = 0; r < runs; r++) {
  const ms = await page.evaluate((to) => new Promise<number>((res) => {
    const root = document.querySelector('#signals .signals')!;
    const sel = root.querySelector('select[data-setting="activation"]') as HTMLSelectElement;
    const prev = root.getAttribute('data-timing');
    const t0 = performance.now();
    const obs = new MutationObserver(() => {
      if (root.getAttribute('data-timing') !== prev && (root.querySelector('[data-testid="signals-status"]')?.textContent ?? '').includes('Computed')) {
        obs.disconnect();
        requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t0)));
      }
    });
    obs.observe(root, { attributes: true, subtree: true, childList: true, characterData: true });
    sel.value = to; sel.dispatchEvent(new Event('change', { bubbles: true }));
  }), r % 2 === 0 ? 'tanh' : 'relu');
  console.log('update', Math.round(ms));
  await page.waitForTimeout(300);
}
await cdp.send('Tracing.end');
await done;
// main thread of the renderer: the thread with 'CrRendererMain' name
const names = new Map<string, string>();
for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name);
const totals = new Map<string, number>();
for (const e of events) {
  if (e.ph !== 'X' || !e.dur) continue;
  const th = names.get(`${e.pid}:${e.tid}`) ?? '?';
  if (!/CrRendererMain|DedicatedWorker/.test(th)) continue;
  const k = `${th.replace(/\d+/g, '')} ${e.name}`;
  totals.set(k, (totals.get(k) ?? 0) + e.dur / 1000);
}
const inv = new Map<string, number>();
for (const e of events) if (/Invalidat/.test(e.name)) { const d = e.args?.data ?? {}; const k = `${e.name} ${d.nodeName ?? ''} ${d.reason ?? ''}`; inv.set(k, (inv.get(k) ?? 0) + 1); }
for (const [k, v] of [...inv].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(v, k);
const paints = events.filter((e) => e.ph === 'X' && e.name === 'Paint');
console.log('paints', paints.length, paints.map((e) => `${Math.round(e.dur / 1000)}`).join(' '));
for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log((v / Math.max(1, runs)).toFixed(2).padStart(8), 'ms/run', k);
await browser.close(); await server.close();
