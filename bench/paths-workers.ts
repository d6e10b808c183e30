/**
 * `skipscape lesion` and `skipscape paths` on one worker thread and on
 * several, and (with --base) the lesion study of an earlier checkout, in one
 * run, interleaved, so a loaded machine weighs on every variant alike. Each
 * run is timed by the wall clock and by its process's CPU time (user + system,
 * worker threads included: /usr/bin/time), and every variant's --json output
 * must be byte-identical to the others' (the study does not depend on the
 * number of workers).
 *
 *   node bin/skipscape.mjs --help >/dev/null      # build the bundle once
 *   node bench/paths-workers.ts --subset 500 --repeats 3 --out bench/results/<date>-paths-workers-<machine>.json
 *
 * --base DIR: a checkout of an earlier commit (its bundle built: node DIR/bin/skipscape.mjs --help),
 * whose `lesion --workers 2` runs as the "before" (there the workers took whole lesions).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    checkpoint: {
      type: 'string',
      default: 'public/artifacts/runs/resnet56-skip/epoch-016.safetensors',
    },
    subset: { type: 'string', default: '500' },
    draws: { type: 'string', default: '1' },
    samples: { type: 'string', default: '2' },
    'paths-subset': { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    repeats: { type: 'string', default: '2' },
    base: { type: 'string' },
    only: { type: 'string', default: 'lesion,paths' },
    out: { type: 'string' },
  },
});

interface Variant {
  name: string;
  command: 'lesion' | 'paths';
  cli: string;
  args: string[];
}

const here = join(process.cwd(), 'bin', 'skipscape.mjs');
const lesionArgs = [
  'lesion',
  '--checkpoint',
  flags.checkpoint,
  '--subset',
  flags.subset,
  '--draws',
  flags.draws,
  '--json',
];
const pathsArgs = [
  'paths',
  '--checkpoint',
  flags.checkpoint,
  '--samples',
  flags.samples,
  '--subset',
  flags['paths-subset'],
  '--json',
];
const only = new Set(flags.only.split(','));
const variants: Variant[] = [];
if (only.has('lesion')) {
  if (flags.base) {
    variants.push({
      name: `before: lesion --workers ${flags.workers} (whole lesions dealt out)`,
      command: 'lesion',
      cli: join(flags.base, 'bin', 'skipscape.mjs'),
      args: [...lesionArgs, '--workers', flags.workers],
    });
  }
  variants.push(
    {
      name: 'lesion --workers 1',
      command: 'lesion',
      cli: here,
      args: [...lesionArgs, '--workers', '1'],
    },
    {
      name: `lesion --workers ${flags.workers}`,
      command: 'lesion',
      cli: here,
      args: [...lesionArgs, '--workers', flags.workers],
    },
  );
}
if (only.has('paths')) {
  variants.push(
    {
      name: 'paths --workers 1',
      command: 'paths',
      cli: here,
      args: [...pathsArgs, '--workers', '1'],
    },
    {
      name: `paths --workers ${flags.workers}`,
      command: 'paths',
      cli: here,
      args: [...pathsArgs, '--workers', flags.workers],
    },
  );
}

interface Run {
  wall: number;
  cpu: number;
  maxResidentMb: number;
  load: number;
  sha256: string;
}
const runs = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
const record: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  kernel: release(),
  flags,
  loadBefore: loadavg(),
};

for (let r = 0; r < Number(flags.repeats); r++) {
  // Alternate the order each repeat, so neither variant always runs first.
  const order = r % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) {
    const load = loadavg()[0]!;
    const t0 = performance.now();
    const child = spawnSync(
      '/usr/bin/time',
      ['-f', 'TIME %U %S %M', process.execPath, v.cli, ...v.args],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    const wall = (performance.now() - t0) / 1000;
    if (child.status !== 0) {
      throw new Error(`${v.name} failed (${child.status}):\n${child.stderr.slice(-2000)}`);
    }
    const [, user, system, kb] = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(child.stderr) ?? [];
    const run: Run = {
      wall,
      cpu: Number(user) + Number(system),
      maxResidentMb: Number(kb) / 1024,
      load,
      sha256: createHash('sha256').update(child.stdout).digest('hex'),
    };
    runs.get(v.name)!.push(run);
    // What is done so far, in case a long run is stopped.
    if (flags.out) {
      await writeFile(
        flags.out,
        `${JSON.stringify({ ...record, runs: Object.fromEntries(runs) }, null, 2)}\n`,
      );
    }
    console.log(
      `${v.name}: ${wall.toFixed(1)} s wall, ${run.cpu.toFixed(1)} s CPU, load ${load.toFixed(1)}, output ${run.sha256.slice(0, 12)}`,
    );
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const summary = variants.map((v) => {
  const rs = runs.get(v.name)!;
  return {
    variant: v.name,
    wallMedian: median(rs.map((r) => r.wall)),
    cpuMedian: median(rs.map((r) => r.cpu)),
    runs: rs,
  };
});
for (const command of ['lesion', 'paths'] as const) {
  const outputs = new Set(
    variants
      .filter((v) => v.command === command)
      .flatMap((v) => runs.get(v.name)!.map((r) => r.sha256)),
  );
  if (outputs.size > 1) throw new Error(`${command}: the variants printed different results`);
}
record.summary = summary;
record.loadAfter = loadavg();
console.table(summary.map(({ runs: _, ...s }) => s));
if (flags.out) await writeFile(flags.out, `${JSON.stringify(record, null, 2)}\n`);
