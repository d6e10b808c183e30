/**
 * Landscape points per second, ours beside PyTorch's, in one run on one
 * machine: ResNet-56 with skips (the shipped checkpoint), 500 Fashion-MNIST
 * training images per point, BN in inference mode, a 1-D line of points
 * θ* + αδ along skipscape's own filter-normalised direction.
 *
 *   node bench/torch-side-by-side.ts [--points 4] [--repeats 2] [--workers 1,2] [--threads 1,2]
 *        [--checkpoint FILE] [--out bench/results/FILE.json] [--note TEXT] [--baseline DIR]
 *
 * (Node 22.18 and newer strip the types; older 22s need --experimental-strip-types.)
 *
 * 1. `skipscape landscape --workers N` for each N, on the line α = −0.5, −0.25,
 *    0, 0.25 (4 points by default, α = 0 among them); points/s is points ÷ the
 *    surface's own computing seconds (after the workers started and loaded
 *    the plane).
 * 2. When `/usr/bin/python3 -c 'import torch'` works: bench/torch_landscape.py
 *    evaluates the same checkpoint along the same δ (written by --save-directions)
 *    on the same images, with torch.set_num_threads(T) for each T, after one
 *    warm-up point.
 * 3. Checks that the computations are the same: PyTorch's loss at every α equals
 *    ours to 1e-5 relative (at α = 0, θ* itself), and the surfaces of every N are
 *    equal bit for bit.
 *
 * The machine is shared: every configuration runs --repeats times, in rounds
 * (ours ×1, ours ×2, PyTorch 1, PyTorch 2, then again), the best and the
 * median round of each are reported, and the load average (`uptime`) before
 * and after every run is recorded beside it.
 *
 * --baseline DIR: another checkout of skipscape (e.g. `git archive <commit>`
 * unpacked, with a node_modules), whose `bin/skipscape.mjs landscape` runs
 * beside ours in every round (before ours in odd rounds, after in even ones),
 * so that a change is measured A/B under the same load; its losses are
 * checked against ours to 1e-6 relative.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const points = Number(option('points', '4'));
const repeats = Number(option('repeats', '2'));
const workerCounts = option('workers', '1,2').split(',').map(Number);
const threadCounts = option('threads', '1,2').split(',').map(Number);
const checkpoint = option(
  'checkpoint',
  join(ROOT, 'public/artifacts/runs/resnet56-skip/epoch-016.safetensors'),
);
const subset = 500;
const PYTHON = '/usr/bin/python3';
const baseline = option('baseline', '');
const DATA = join(ROOT, 'public/data/fashion-mnist');

// α in steps of 0.25 from −0.25·⌊points/2⌋: α = 0, θ* itself, is among them.
const first = -0.25 * Math.floor(points / 2);
const alphas = Array.from({ length: points }, (_, i) => first + 0.25 * i);
const grid = `${first}:${alphas[alphas.length - 1]}:${points}`;

const uptime = (): string => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`;
  }
};
const say = (text: string) => process.stderr.write(`${text}\n`);

interface Measurement {
  /** Ours, the --baseline checkout's, or PyTorch's. */
  kind: 'skipscape' | 'baseline' | 'pytorch';
  /** Worker threads (skipscape) or torch threads. */
  threads: number;
  pointsPerSecond: number;
  seconds: number;
  loss: number[];
  loadBefore: string;
  loadAfter: string;
}

const dir = mkdtempSync(join(tmpdir(), 'skipscape-side-by-side-'));
const directions = join(dir, 'directions.safetensors');
const results: Measurement[] = [];

function runOurs(workers: number, kind: 'skipscape' | 'baseline' = 'skipscape'): Measurement {
  const out = join(dir, `surface-${kind}-${workers}.json`);
  const loadBefore = uptime();
  say(`${kind} landscape --workers ${workers} (${loadBefore})`);
  const r = spawnSync(
    process.execPath,
    [
      join(kind === 'baseline' ? baseline : ROOT, 'bin/skipscape.mjs'),
      'landscape',
      '--checkpoint',
      checkpoint,
      `--grid=${grid}`,
      '--subset',
      String(subset),
      '--workers',
      String(workers),
      '--save-directions',
      directions,
      '--out',
      out,
      '--force',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`skipscape landscape failed:\n${r.stderr}`);
  const surface = JSON.parse(readFileSync(out, 'utf8')) as {
    xs: number[];
    loss: number[];
    meta: { seconds: number };
  };
  if (surface.xs.some((x, i) => Math.abs(x - alphas[i]!) > 1e-12))
    throw new Error(`the grid is not the expected α: ${surface.xs.join(', ')}`);
  const m: Measurement = {
    kind,
    threads: workers,
    pointsPerSecond: points / surface.meta.seconds,
    seconds: surface.meta.seconds,
    loss: surface.loss,
    loadBefore,
    loadAfter: uptime(),
  };
  say(`  ${m.pointsPerSecond.toFixed(3)} points/s`);
  return m;
}

function runPytorch(threads: number): Measurement {
  const loadBefore = uptime();
  say(`PyTorch, ${threads} thread(s) (${loadBefore})`);
  const r = spawnSync(
    PYTHON,
    [
      join(ROOT, 'bench/torch_landscape.py'),
      '--checkpoint',
      checkpoint,
      '--directions',
      directions,
      '--images',
      join(DATA, 'train-images-idx3-ubyte.gz'),
      '--labels',
      join(DATA, 'train-labels-idx1-ubyte.gz'),
      '--subset',
      String(subset),
      `--alphas=${alphas.join(',')}`,
      '--threads',
      String(threads),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`torch_landscape.py failed:\n${r.stderr}`);
  const t = JSON.parse(r.stdout) as { loss: number[]; seconds: number; torch: string };
  const m: Measurement = {
    kind: 'pytorch',
    threads,
    pointsPerSecond: points / t.seconds,
    seconds: t.seconds,
    loss: t.loss,
    loadBefore,
    loadAfter: uptime(),
  };
  say(`  ${m.pointsPerSecond.toFixed(3)} points/s (torch ${t.torch})`);
  return m;
}

try {
  const haveTorch = spawnSync(PYTHON, ['-c', 'import torch']).status === 0;
  if (!haveTorch) say(`PyTorch not available (${PYTHON} -c 'import torch' failed): ours only`);
  // Rounds of every configuration in turn, so a burst of load from other work
  // falls on all of them alike; each configuration's best round is reported.
  for (let round = 0; round < repeats; round++) {
    for (const workers of workerCounts) {
      const order = round % 2 === 0 ? ['baseline', 'skipscape'] : ['skipscape', 'baseline'];
      for (const kind of order as ('skipscape' | 'baseline')[]) {
        if (kind === 'skipscape' || baseline) results.push(runOurs(workers, kind));
      }
    }
    for (const threads of haveTorch ? threadCounts : []) results.push(runPytorch(threads));
  }

  // Same computation: every surface equal bit for bit; PyTorch's losses within 1e-5.
  const ours = results.filter((m) => m.kind === 'skipscape');
  const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  const reference = ours[0]!.loss;
  const sameSurfaces = ours.every((m) => m.loss.every((v, i) => v === reference[i]));
  const torchRuns = results.filter((m) => m.kind === 'pytorch');
  const worstTorch = Math.max(
    0,
    ...torchRuns.flatMap((m) => m.loss.map((v, i) => relative(v, reference[i]!))),
  );
  const atOrigin = alphas.indexOf(0);
  say(
    `loss at θ*: skipscape ${reference[atOrigin]}` +
      torchRuns.map((m) => `, PyTorch (${m.threads} thr.) ${m.loss[atOrigin]}`).join(''),
  );
  say(`surfaces of every worker count equal bit for bit: ${sameSurfaces}`);
  const baselineRuns = results.filter((m) => m.kind === 'baseline');
  const worstBaseline = Math.max(
    0,
    ...baselineRuns.flatMap((m) => m.loss.map((v, i) => relative(v, reference[i]!))),
  );
  if (baseline)
    say(
      `baseline against ours, largest relative loss difference: ${worstBaseline.toExponential(2)}`,
    );
  if (torchRuns.length > 0)
    say(
      `PyTorch against skipscape, largest relative loss difference: ${worstTorch.toExponential(2)}`,
    );

  const best = (kind: Measurement['kind'], threads: number): Measurement | undefined =>
    results
      .filter((m) => m.kind === kind && m.threads === threads)
      .sort((a, b) => b.pointsPerSecond - a.pointsPerSecond)[0];
  /** The median round's points/s (the lower middle one for an even count). */
  const median = (kind: Measurement['kind'], threads: number): number | undefined => {
    const rates = results
      .filter((m) => m.kind === kind && m.threads === threads)
      .map((m) => m.pointsPerSecond)
      .sort((a, b) => a - b);
    return rates.length > 0 ? rates[Math.floor((rates.length - 1) / 2)] : undefined;
  };
  const bests = [
    ...workerCounts.map((w) => best('skipscape', w)),
    ...workerCounts.map((w) => best('baseline', w)),
    ...threadCounts.map((t) => best('pytorch', t)),
  ].filter((m): m is Measurement => m !== undefined);
  const ratio = (a: number | undefined, b: number | undefined): string =>
    a !== undefined && b !== undefined ? (a / b).toFixed(2) : '';
  const rows = bests.map((m) => {
    const name =
      m.kind === 'pytorch'
        ? `PyTorch, ${m.threads} thread${m.threads > 1 ? 's' : ''}`
        : `${m.kind === 'baseline' ? 'baseline ' : ''}\`skipscape landscape --workers ${m.threads}\``;
    const torchBest = best('pytorch', m.threads)?.pointsPerSecond;
    const torchMedian = median('pytorch', m.threads);
    const mid = median(m.kind, m.threads);
    const againstTorch =
      m.kind === 'pytorch'
        ? ''
        : `${ratio(m.pointsPerSecond, torchBest)} / ${ratio(mid, torchMedian)}`;
    const againstBaseline =
      m.kind === 'skipscape' && baseline
        ? `${ratio(m.pointsPerSecond, best('baseline', m.threads)?.pointsPerSecond)} / ${ratio(mid, median('baseline', m.threads))}`
        : '';
    return `| ${name} | ${m.pointsPerSecond.toFixed(3)} | ${mid?.toFixed(3) ?? ''} | ${againstTorch} | ${againstBaseline} | ${m.loadBefore.replace(/.*load average: /, '')} |`;
  });
  const table = [
    `| ${repeats} rounds | best points/s | median points/s | ÷ PyTorch, same threads (best / median) | ÷ baseline (best / median) | load average before the best (1, 5, 15 min) |`,
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
  process.stdout.write(`${table}\n`);

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const record = {
    date: new Date().toISOString(),
    machine: { cpu, cores: cpus().length, node: process.version },
    note: option('note', ''),
    checkpoint: checkpoint.replace(`${ROOT}/`, ''),
    subset,
    alphas,
    sameSurfaces,
    torchLargestRelativeDifference: torchRuns.length > 0 ? worstTorch : null,
    baseline: baseline || null,
    baselineLargestRelativeDifference: baseline ? worstBaseline : null,
    results,
  };
  const outFile = option('out', '');
  if (outFile) writeFileSync(outFile, `${JSON.stringify(record, null, 2)}\n`);
  if (!sameSurfaces || worstTorch > 1e-5 || worstBaseline > 1e-6) {
    say('the computations differ: see above');
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
