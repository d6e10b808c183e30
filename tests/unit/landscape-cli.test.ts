/**
 * skipscape landscape, merge, hessian and trajectory, in process, on a
 * ResNet-8 checkpoint and the first few Fashion-MNIST training images.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/cli';
import type { CommandIo } from '../../src/cli/commands/types';
import { decodeDirections } from '../../src/cli/landscape-io';
import { randomDirections } from '../../src/compute/landscape/directions';
import { parseSurface } from '../../src/compute/landscape/exports';
import { isMiddleRow } from '../../src/compute/landscape/merge';
import type { HessianMap } from '../../src/compute/landscape/hessian';
import type { TrajectoryFile } from '../../src/compute/landscape/trajectory';
import { createModel } from '../../src/compute/models';
import type { ResNetSpec } from '../../src/compute/models';
import { createRng, normalArray } from '../../src/compute/random';
import { checkpointFileName, encodeCheckpoint } from '../../src/compute/train/checkpoint';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import { initialTrainingState } from '../../src/compute/train/state';
import type { TrainingState } from '../../src/compute/train/state';
import { onThisThread } from './in-process';

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

const spec: ResNetSpec = {
  kind: 'resnet',
  depth: 8,
  shortcut: 'B',
  skip: true,
  residualScale: 1,
  inputShape: [1, 28, 28],
  classes: 10,
};
const model = createModel(spec);
let dir: string;
let states: TrainingState[];

async function writeCheckpoint(
  path: string,
  training: TrainingState,
  epoch: number,
): Promise<void> {
  await writeFile(
    path,
    encodeCheckpoint({
      meta: {
        spec,
        dataset: 'fashion-mnist',
        epoch,
        step: epoch * 10,
        seed: 0,
        config: {
          epochs: 3,
          lr: 0.1,
          batchSize: 128,
          schedule: { kind: 'constant' },
          sgd: LI_ET_AL_SGD,
          augment: false,
          seed: 0,
          trainImages: 100,
          testImages: 0,
        },
        history: [],
        backend: 'cpu',
        written: new Date(0).toISOString(),
      },
      training,
    }),
  );
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'skipscape-landscape-'));
  const base = await initialTrainingState(model, 1);
  const step = await initialTrainingState(model, 2);
  const rng = createRng(3);
  // A run of three checkpoints along a bent path, each with its own running statistics.
  states = [0, 1, 2].map((k) => {
    const params = Object.fromEntries(
      Object.entries(base.params).map(([n, a]) => {
        const noise = normalArray(a.data.length, rng, 0.01 * k);
        return [
          n,
          {
            shape: a.shape,
            data: a.data.map((v, i) => v + 0.1 * k * step.params[n]!.data[i]! + noise[i]!),
          },
        ];
      }),
    );
    const state = Object.fromEntries(
      Object.entries(base.state).map(([n, a]) => [
        n,
        { shape: a.shape, data: a.data.map((v) => v + 0.05 * k) },
      ]),
    );
    return { params, state, momentum: {} };
  });
  for (const [k, s] of states.entries())
    await writeCheckpoint(join(dir, checkpointFileName(k + 1)), s, k + 1);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ckpt = (epoch: number) => join(dir, checkpointFileName(epoch));

async function evalLoss(path: string): Promise<{ loss: number; accuracy: number }> {
  const r = await cli(
    'eval',
    '--checkpoint',
    path,
    '--split',
    'train',
    '--limit',
    '16',
    '--workers',
    '1',
    '--json',
  );
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { loss: number; accuracy: number };
}

describe('skipscape landscape and merge', () => {
  test('a 3×3 surface with --grid -1:1:3,... ; f(0, 0) equals skipscape eval; directions read back', async () => {
    const out = join(dir, 'whole.json');
    const saved = join(dir, 'directions.safetensors');
    const r = await cli(
      'landscape',
      '--checkpoint',
      ckpt(3),
      '--grid',
      '-1:1:3,-1:1:3',
      '--subset',
      '16',
      '--seed',
      '4',
      '--out',
      out,
      '--save-directions',
      saved,
    );
    expect(r.code, r.err).toBe(0);
    const s = parseSurface(await readFile(out, 'utf8'), out);
    expect(s.xs).toEqual([-1, 0, 1]);
    expect(s.mask).toEqual(new Array(9).fill(1));
    expect(s.meta).toMatchObject({
      model: 'resnet8',
      skip: true,
      subset: 16,
      seed: 4,
      normalization: 'filter',
      kind: 'direction',
      dataset: 'fashion-mnist',
    });
    const e = await evalLoss(ckpt(3));
    expect(s.loss[4]).toBeCloseTo(e.loss, 4);
    expect(s.accuracy[4]).toBeCloseTo(e.accuracy, 6);

    const { directions, metadata } = decodeDirections(new Uint8Array(await readFile(saved)), saved);
    expect(metadata).toMatchObject({ seed: '4', normalization: 'filter', kind: 'direction' });
    const expected = randomDirections({
      params: model.params,
      weights: states[2]!.params,
      seed: 4,
      dimensions: 2,
      normalization: 'filter',
      includeBiasBn: false,
    });
    for (const p of model.params) {
      expect(Array.from(directions.x[p.name]!.data)).toEqual(Array.from(expected.x[p.name]!.data));
      expect(Array.from(directions.y![p.name]!.data)).toEqual(
        Array.from(expected.y![p.name]!.data),
      );
    }
  });

  test('a 1-D curve with the same seed is the surface’s β = 0 row (isMiddleRow), at any resolution', async () => {
    const out = join(dir, 'curve.json');
    const r = await cli(
      'landscape',
      '--checkpoint',
      ckpt(3),
      '--grid',
      '-1:1:5',
      '--subset',
      '16',
      '--seed',
      '4',
      '--out',
      out,
    );
    expect(r.code, r.err).toBe(0);
    const curve = parseSurface(await readFile(out, 'utf8'), out);
    const surface = parseSurface(await readFile(join(dir, 'whole.json'), 'utf8'));
    expect(curve.ys).toEqual([0]);
    // Curve points at α = -1, 0, 1 against the surface's middle row (β = 0).
    for (const [k, i] of [0, 2, 4].entries()) {
      expect(curve.loss[i]!).toBeCloseTo(surface.loss[3 + k]!, 5);
      expect(curve.accuracy[i]).toBeCloseTo(surface.accuracy[3 + k]!, 6);
    }
    expect(isMiddleRow(curve, surface)).toBe(true);
    expect(isMiddleRow(curve, { ...surface, meta: { ...surface.meta, seed: 5 } })).toBe(false);
    expect(isMiddleRow(curve, { ...surface, ys: [0.5, 1] })).toBe(false);
  });

  test('two shards merged equal one run; merge refuses shards of another seed', async () => {
    const shard = (i: number, seed = '4') => join(dir, `shard${i}-${seed}.json`);
    for (const i of [1, 2]) {
      const r = await cli(
        'landscape',
        '--checkpoint',
        ckpt(3),
        '--grid',
        '-1:1:3,-1:1:3',
        '--subset',
        '16',
        '--seed',
        '4',
        '--shard',
        `${i}/2`,
        '--out',
        shard(i),
      );
      expect(r.code, r.err).toBe(0);
    }
    const merged = join(dir, 'merged.json');
    expect((await cli('merge', merged, shard(1), shard(2))).code).toBe(0);
    const a = parseSurface(await readFile(merged, 'utf8'));
    const b = parseSurface(await readFile(join(dir, 'whole.json'), 'utf8'));
    expect({ loss: a.loss, accuracy: a.accuracy, mask: a.mask }).toEqual({
      loss: b.loss,
      accuracy: b.accuracy,
      mask: b.mask,
    });

    expect(
      (
        await cli(
          'landscape',
          '--checkpoint',
          ckpt(3),
          '--grid',
          '-1:1:3,-1:1:3',
          '--subset',
          '16',
          '--seed',
          '5',
          '--shard',
          '2/2',
          '--out',
          shard(2, '5'),
        )
      ).code,
    ).toBe(0);
    const bad = await cli('merge', join(dir, 'bad.json'), shard(1), shard(2, '5'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/seed: 4 vs 5/);
  });

  test('interpolation end points are the two checkpoints’ eval losses', async () => {
    const out = join(dir, 'interp.json');
    const r = await cli(
      'landscape',
      '--checkpoint',
      ckpt(1),
      '--checkpoint2',
      ckpt(3),
      '--grid',
      '0:1:2',
      '--subset',
      '16',
      '--out',
      out,
    );
    expect(r.code, r.err).toBe(0);
    const s = parseSurface(await readFile(out, 'utf8'));
    expect(s.meta.kind).toBe('interpolation');
    expect(s.loss[0]).toBeCloseTo((await evalLoss(ckpt(1))).loss, 4);
    expect(s.loss[1]).toBeCloseTo((await evalLoss(ckpt(3))).loss, 4);
  });
});

test('skipscape hessian at a checkpoint', async () => {
  const out = join(dir, 'hessian.json');
  const r = await cli(
    'hessian',
    '--checkpoint',
    ckpt(3),
    '--subset',
    '4',
    '--iters',
    '3',
    '--out',
    out,
  );
  expect(r.code, r.err).toBe(0);
  expect(r.out).toMatch(/λ_max .*λ_min/);
  const m = JSON.parse(await readFile(out, 'utf8')) as HessianMap;
  expect(m.mask).toEqual([1]);
  expect(m.lambdaMax[0]!).toBeGreaterThan(m.lambdaMin[0]!);
  expect(m.meta).toMatchObject({ method: 'lanczos', hvp: 'exact', iterations: 3, subset: 4 });
}, 300_000);

test('skipscape trajectory: PCA of a run, path ending at the origin, the surface of a square around it', async () => {
  const out = join(dir, 'trajectory.json');
  const r = await cli(
    'trajectory',
    '--run',
    dir,
    '--out',
    out,
    '--grid',
    'around:2',
    '--subset',
    '8',
  );
  expect(r.code, r.err).toBe(0);
  const t = JSON.parse(await readFile(out, 'utf8')) as TrajectoryFile;
  expect(t.path.epochs).toEqual([1, 2, 3]);
  expect(t.path.x[2]).toBeCloseTo(0, 6);
  expect(t.path.y[2]).toBeCloseTo(0, 6);
  expect(t.explainedVarianceRatio[0] + t.explainedVarianceRatio[1]).toBeCloseTo(1, 6);
  const s = parseSurface(await readFile(join(dir, 'trajectory.surface.json'), 'utf8'));
  expect(s.meta.kind).toBe('pca');
  expect(s.mask).toEqual([1, 1, 1, 1]);
  // around:N frames the whole path (and the origin) on one scale.
  const [x0, x1] = s.xs as [number, number];
  const [y0, y1] = s.ys as [number, number];
  expect(x1 - x0).toBeCloseTo(y1 - y0, 9);
  expect(x0).toBeLessThan(Math.min(...t.path.x));
  expect(x1).toBeGreaterThan(Math.max(...t.path.x));
  expect(y0).toBeLessThan(Math.min(...t.path.y));
  expect(y1).toBeGreaterThan(Math.max(...t.path.y));
}, 120_000);
