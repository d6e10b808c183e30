/**
 * --shard auto under each cluster engine's variables, and GNU parallel running
 * shards as separate processes whose merge is the surface of one run.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/cli';
import type { CommandIo } from '../../src/cli/commands/types';
import { resolveShard } from '../../src/cli/shard';
import { parseSurface } from '../../src/compute/landscape/exports';
import { createModel } from '../../src/compute/models';
import type { ResNetSpec } from '../../src/compute/models';
import { encodeCheckpoint } from '../../src/compute/train/checkpoint';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import { initialTrainingState } from '../../src/compute/train/state';
import { onThisThread } from './in-process';

const ROOT = join(import.meta.dirname, '..', '..');
const PARALLEL = '/usr/bin/parallel';
const run = promisify(execFile);

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    progressStream: process.stderr,
  };
  const code = await runCli(onThisThread(argv), io);
  return { code, out, err };
}

/** Run with these variables set (and every engine variable not listed unset). */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const names = [
    'SLURM_ARRAY_TASK_ID',
    'SLURM_ARRAY_TASK_MIN',
    'SLURM_ARRAY_TASK_COUNT',
    'SLURM_ARRAY_TASK_STEP',
    'JOB_COMPLETION_INDEX',
    'JOB_COMPLETION_COUNT',
  ];
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  }
}

describe('resolveShard', () => {
  const resolve = (env: Record<string, string>, shard = 'auto', shards?: string) =>
    resolveShard({ command: 'landscape', shard, shards, env });

  test('Slurm job arrays: index from the task id and the array minimum', () => {
    const r = resolve({
      SLURM_ARRAY_TASK_ID: '12',
      SLURM_ARRAY_TASK_MIN: '10',
      SLURM_ARRAY_TASK_COUNT: '4',
    });
    expect(r?.shard).toEqual({ index: 2, count: 4 });
    expect(r?.source).toContain('Slurm job array');
    // --array=0-14:2 is 8 tasks 0, 2, …, 14.
    expect(
      resolve({
        SLURM_ARRAY_TASK_ID: '6',
        SLURM_ARRAY_TASK_MIN: '0',
        SLURM_ARRAY_TASK_STEP: '2',
        SLURM_ARRAY_TASK_COUNT: '8',
      })?.shard,
    ).toEqual({ index: 3, count: 8 });
    // --array=1,3,7 is not evenly spaced: task 7 of 3 has no place.
    expect(() =>
      resolve({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' }),
    ).toThrow(/evenly spaced --array/);
    expect(() => resolve({ SLURM_ARRAY_TASK_ID: '1' })).toThrow(/SLURM_ARRAY_TASK_MIN is not/);
  });

  test('Kubernetes Indexed Jobs: index from JOB_COMPLETION_INDEX, count from --shards or the env', () => {
    expect(resolve({ JOB_COMPLETION_INDEX: '0' }, 'auto', '5')?.shard).toEqual({
      index: 0,
      count: 5,
    });
    const r = resolve({ JOB_COMPLETION_INDEX: '4', JOB_COMPLETION_COUNT: '5' });
    expect(r?.shard).toEqual({ index: 4, count: 5 });
    expect(r?.source).toContain('Kubernetes Indexed Job');
    expect(() => resolve({ JOB_COMPLETION_INDEX: '2' })).toThrow(/give --shards N/);
    expect(() => resolve({ JOB_COMPLETION_INDEX: '5' }, 'auto', '5')).toThrow(/not below/);
  });

  test('neither engine, both, or a malformed variable: one clear error', () => {
    expect(() => resolve({})).toThrow(/found no cluster engine.*elsewhere give --shard i\/n/);
    expect(() =>
      resolve({
        JOB_COMPLETION_INDEX: '0',
        SLURM_ARRAY_TASK_ID: '0',
        SLURM_ARRAY_TASK_MIN: '0',
        SLURM_ARRAY_TASK_COUNT: '2',
      }),
    ).toThrow(/both/);
    expect(() => resolve({ JOB_COMPLETION_INDEX: 'x' }, 'auto', '2')).toThrow(
      /JOB_COMPLETION_INDEX="x"/,
    );
    expect(resolve({}, '2/3')).toEqual({ shard: { index: 1, count: 3 }, source: '--shard' });
    expect(() => resolve({}, '2/3', '3')).toThrow(/--shards N goes with --shard auto/);
    expect(resolveShard({ command: 'x', shard: undefined, shards: undefined, env: {} })).toBe(
      undefined,
    );
  });
});

const spec: ResNetSpec = {
  kind: 'resnet',
  depth: 8,
  shortcut: 'B',
  skip: true,
  residualScale: 1,
  width: 4,
  inputShape: [1, 28, 28],
  classes: 10,
};
const GRID = ['--grid', '-1:1:5,-1:1:4', '--subset', '8', '--seed', '3', '--backend', 'cpu'];
let dir: string;
let checkpoint: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'skipscape-shard-'));
  checkpoint = join(dir, 'ckpt.safetensors');
  const training = await initialTrainingState(createModel(spec), 1);
  await writeFile(
    checkpoint,
    encodeCheckpoint({
      meta: {
        spec,
        dataset: 'fashion-mnist',
        epoch: 1,
        step: 1,
        seed: 1,
        config: {
          epochs: 1,
          lr: 0.1,
          batchSize: 8,
          schedule: { kind: 'constant' },
          sgd: LI_ET_AL_SGD,
          augment: false,
          seed: 1,
          trainImages: 8,
          testImages: 0,
        },
        history: [],
        backend: 'cpu',
        written: new Date(0).toISOString(),
      },
      training,
    }),
  );
  const whole = await cli(
    'landscape',
    '--checkpoint',
    checkpoint,
    ...GRID,
    '--out',
    join(dir, 'whole.json'),
  );
  expect(whole.code, whole.err).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function surface(path: string) {
  return parseSurface(await readFile(path, 'utf8'));
}

describe('landscape --shard auto', () => {
  test.each([
    {
      engine: 'Slurm job array',
      vars: { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '3' },
      extra: [] as string[],
    },
    {
      engine: 'Kubernetes Indexed Job',
      vars: { JOB_COMPLETION_INDEX: '1' },
      extra: ['--shards', '3'],
    },
  ])('under a $engine computes the shard --shard 2/3 computes', async ({ engine, vars, extra }) => {
    const auto = join(dir, `auto-${engine.split(' ')[0]}.json`);
    const r = await withEnv(vars, () =>
      cli(
        'landscape',
        '--checkpoint',
        checkpoint,
        ...GRID,
        '--shard',
        'auto',
        ...extra,
        '--out',
        auto,
      ),
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`--shard auto: shard 2/3 from the ${engine}`);
    const explicit = join(dir, 'explicit-2of3.json');
    if (!existsSync(explicit)) {
      const e = await cli(
        'landscape',
        '--checkpoint',
        checkpoint,
        ...GRID,
        '--shard',
        '2/3',
        '--out',
        explicit,
      );
      expect(e.code, e.err).toBe(0);
    }
    const a = await surface(auto);
    const b = await surface(explicit);
    expect(a.mask.filter((m) => m === 1).length).toBeGreaterThan(0);
    expect(a.mask.filter((m) => m === 1).length).toBeLessThan(a.mask.length);
    expect({ mask: a.mask, loss: a.loss }).toEqual({ mask: b.mask, loss: b.loss });
  });

  test('with no engine variables it refuses in one line, writing nothing', async () => {
    const out = join(dir, 'none.json');
    const r = await withEnv({}, () =>
      cli('landscape', '--checkpoint', checkpoint, ...GRID, '--shard', 'auto', '--out', out),
    );
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('--shard auto found no cluster engine');
    expect(existsSync(out)).toBe(false);
  });
});

describe('GNU parallel', () => {
  const pinned = join(ROOT, '.cache', 'skipscape', `cli-shard-test-${process.pid}.mjs`);
  afterAll(async () => {
    await rm(pinned, { force: true });
  });

  test.skipIf(!existsSync(PARALLEL))(
    'three shards as three processes, merged, are the surface of one run (skipped without /usr/bin/parallel)',
    async () => {
      const { ensureCliBundle } = (await import('../../bin/build-cli.mjs')) as {
        ensureCliBundle(o: { force: boolean; outfile: string }): Promise<string>;
      };
      await ensureCliBundle({ force: true, outfile: pinned });
      // The line examples/cluster/README.md gives, with a pinned bundle.
      await run(
        PARALLEL,
        [
          '--halt',
          'now,fail=1',
          '-j',
          '3',
          process.execPath,
          pinned,
          'landscape',
          '--checkpoint',
          checkpoint,
          ...GRID,
          '--shard',
          '{}/3',
          '--out',
          join(dir, 'parallel-{}.json'),
          ':::',
          '1',
          '2',
          '3',
        ],
        { cwd: dir },
      );
      const merged = join(dir, 'merged.json');
      const m = await cli(
        'merge',
        merged,
        ...[1, 2, 3].map((i) => join(dir, `parallel-${i}.json`)),
      );
      expect(m.code, m.err).toBe(0);
      const a = await surface(merged);
      const b = await surface(join(dir, 'whole.json'));
      expect(a.mask.every((v) => v === 1)).toBe(true);
      expect({ loss: a.loss, accuracy: a.accuracy, mask: a.mask }).toEqual({
        loss: b.loss,
        accuracy: b.accuracy,
        mask: b.mask,
      });
    },
    180_000,
  );
});
