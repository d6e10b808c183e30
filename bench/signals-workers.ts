/**
 * `skipscape signals`, `gsc` and `responses` on one worker thread and on several,
 * in one run, interleaved (the order alternates each repeat), so a loaded
 * machine weighs on every variant alike. Each run is timed by the wall clock
 * (the whole command: Node's start, the threads' start, the work) and by its
 * process's CPU time (user + system, worker threads included: /usr/bin/time);
 * every variant's --json output must be the same as the others' (signals:
 * but for its elapsedMs), since the result does not depend on --workers.
 *
 *   node bin/skipscape.mjs --help >/dev/null      # build the bundle once
 *   node bench/signals-workers.ts --repeats 3 --out bench/results/<date>-signals-workers-<machine>.json
 *
 * The defaults are the commands' own (signals: T = 50, d = 100, N = 256, 8
 * draws; gsc: one ReLU network, T = 50, d = 100, 256 inputs, 4 projections,
 * 4 draws); --gsc-all adds `gsc --all` (24 networks); responses: ResNet-56 with
 * skips, its shipped checkpoint, the first 256 training images in batches of 128.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    repeats: { type: 'string', default: '3' },
    'signals-draws': { type: 'string', default: '8' },
    'gsc-draws': { type: 'string', default: '4' },
    'gsc-all': { type: 'boolean', default: false },
    only: { type: 'string', default: 'signals,gsc,responses' },
    checkpoint: {
      type: 'string',
      default: 'public/artifacts/runs/resnet56-skip/epoch-016.safetensors',
    },
    'responses-subset': { type: 'string', default: '256' },
    out: { type: 'string' },
  },
});

interface Variant {
  name: string;
  command: string;
  args: string[];
}

const cli = join(process.cwd(), '.cache', 'skipscape', 'cli.mjs');
const commands: { command: string; args: string[] }[] = [];
const only = new Set(flags.only.split(','));
if (only.has('signals'))
  commands.push({
    command: 'signals',
    args: ['signals', '--draws', flags['signals-draws'], '--json'],
  });
if (only.has('gsc')) {
  commands.push({ command: 'gsc', args: ['gsc', '--draws', flags['gsc-draws'], '--json'] });
  if (flags['gsc-all'])
    commands.push({
      command: 'gsc --all',
      args: ['gsc', '--all', '--draws', flags['gsc-draws'], '--json'],
    });
}
if (only.has('responses'))
  commands.push({
    command: 'responses',
    args: [
      'responses',
      '--checkpoint',
      join(process.cwd(), flags.checkpoint),
      '--subset',
      flags['responses-subset'],
      '--json',
    ],
  });
const variants: Variant[] = commands.flatMap(({ command, args }) =>
  ['1', flags.workers].map((w) => ({
    name: `${command} --workers ${w}`,
    command,
    args: [...args, '--workers', w],
  })),
);

/** The output without what differs from run to run (signals' elapsedMs). */
function canonical(stdout: string): string {
  const json = JSON.parse(stdout) as Record<string, unknown>;
  delete json['elapsedMs'];
  return JSON.stringify(json);
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
  node: process.version,
  flags,
  loadBefore: loadavg(),
};

for (let r = 0; r < Number(flags.repeats); r++) {
  const order = r % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) {
    const load = loadavg()[0]!;
    const t0 = performance.now();
    const child = spawnSync(
      '/usr/bin/time',
      ['-f', 'TIME %U %S %M', process.execPath, cli, ...v.args],
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
      sha256: createHash('sha256').update(canonical(child.stdout)).digest('hex'),
    };
    runs.get(v.name)!.push(run);
    if (flags.out) {
      await writeFile(
        flags.out,
        `${JSON.stringify({ ...record, runs: Object.fromEntries(runs) }, null, 2)}\n`,
      );
    }
    console.log(
      `${v.name}: ${wall.toFixed(2)} s wall, ${run.cpu.toFixed(2)} s CPU, load ${load.toFixed(1)}, output ${run.sha256.slice(0, 12)}`,
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
const speedUp = commands.map(({ command }) => {
  const [one, many] = summary.filter(
    (s) => variants.find((v) => v.name === s.variant)!.command === command,
  );
  return { command, speedUp: one!.wallMedian / many!.wallMedian };
});
for (const { command } of commands) {
  const outputs = new Set(
    variants
      .filter((v) => v.command === command)
      .flatMap((v) => runs.get(v.name)!.map((r) => r.sha256)),
  );
  if (outputs.size > 1) throw new Error(`${command}: the variants printed different results`);
}
record.summary = summary;
record.speedUp = speedUp;
record.loadAfter = loadavg();
console.table(summary.map(({ runs: _, ...s }) => s));
console.table(speedUp);
if (flags.out) await writeFile(flags.out, `${JSON.stringify(record, null, 2)}\n`);
