import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { interpolationDirection, randomDirections } from '../../src/compute/landscape/directions';
import type { DirectionPair } from '../../src/compute/landscape/directions';
import {
  axisValues,
  computeSurface,
  parseGrid,
  parseShard,
  pointSchedule,
} from '../../src/compute/landscape/grid';
import type { Origin, SurfaceMetaInput, SurfaceOptions } from '../../src/compute/landscape/grid';
import { mergeSurfaces } from '../../src/compute/landscape/merge';
import type { Surface } from '../../src/compute/landscape/surface';
import type { Dataset } from '../../src/compute/data/dataset';
import { evaluateDataset } from '../../src/compute/train/batches';
import { LocalEngine } from '../../src/compute/train/engine';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import { initialArrays, randomImages, smallConvNet } from './landscape-fixtures';

const model = smallConvNet({ activation: 'relu' });
const data = randomImages({ count: 20, height: 6, width: 6, channels: 1, classes: 3, seed: 4 });
const meta: SurfaceMetaInput = {
  model: 'small',
  skip: true,
  checkpointSha256: 'a'.repeat(64),
  checkpoint2Sha256: null,
  dataset: 'random',
  split: 'train',
  seed: 9,
  normalization: 'filter',
  includeBiasBn: false,
  kind: 'direction',
  version: 'test',
};

let origin: Origin;
let directions: DirectionPair;

beforeAll(async () => {
  await tf.setBackend('cpu');
  origin = await initialArrays(model, 1);
  directions = randomDirections({
    params: model.params,
    weights: origin.params,
    seed: 9,
    dimensions: 2,
    normalization: 'filter',
    includeBiasBn: false,
  });
});

function options(extra: Partial<SurfaceOptions> = {}): SurfaceOptions {
  return {
    model,
    origin,
    directions,
    data,
    xs: axisValues({ min: -1, max: 1, steps: 5 }),
    ys: axisValues({ min: -1, max: 1, steps: 4 }),
    meta,
    batchSize: 8,
    ...extra,
  };
}

/** Loss and accuracy of the network at (params, state) through the trainer's own evaluation (skipscape eval). */
async function trainerEvaluate(
  at: Origin,
  set: Dataset,
): Promise<{ loss: number; accuracy: number }> {
  const engine = new LocalEngine({ model, sgd: LI_ET_AL_SGD });
  try {
    const momentum = Object.fromEntries(
      Object.entries(at.params).map(([n, a]) => [
        n,
        { shape: a.shape, data: new Float32Array(a.data.length) },
      ]),
    );
    await engine.load({ params: at.params, state: at.state, momentum });
    const r = await evaluateDataset({ engine, dataset: set, batchSize: 7 });
    if (r === 'cancelled') throw new Error('cancelled');
    return r;
  } finally {
    await engine.dispose();
  }
}

function values(s: Surface) {
  return { loss: s.loss, accuracy: s.accuracy, mask: s.mask };
}

describe('grid syntax and schedule', () => {
  test('parseGrid and axisValues', () => {
    const g = parseGrid('-1:1:51,-0.5:0.5:3');
    expect(g.x).toEqual({ min: -1, max: 1, steps: 51 });
    expect(axisValues(g.x)[25]).toBe(0);
    expect(axisValues(g.y!)).toEqual([-0.5, 0, 0.5]);
    expect(parseGrid('0:1:11').y).toBeNull();
    expect(() => parseGrid('1:0:5')).toThrow(/max must be above min/);
    expect(() => parseGrid('a:1:5')).toThrow(/not min:max:steps/);
    expect(parseShard('2/3')).toEqual({ index: 1, count: 3 });
    expect(() => parseShard('4/3')).toThrow();
  });

  test('progressive schedule: every point once, coarse grid first, each level a finer grid', () => {
    const nx = 9;
    const ny = 9;
    const s = pointSchedule({ nx, ny, progressive: true });
    expect(s.levels).toBe(3);
    expect([...s.order].sort((a, b) => a - b)).toEqual(
      Array.from({ length: nx * ny }, (_, i) => i),
    );
    const coarse = [...s.order].filter((_, k) => s.level[k] === 0);
    expect(coarse.sort((a, b) => a - b)).toEqual([0, 4, 8, 36, 40, 44, 72, 76, 80]);
    for (let k = 1; k < s.order.length; k++)
      expect(s.level[k]).toBeGreaterThanOrEqual(s.level[k - 1]!);
  });

  test('shards partition the grid', () => {
    const all = new Set<number>();
    for (let i = 0; i < 3; i++) {
      for (const p of pointSchedule({
        nx: 7,
        ny: 5,
        progressive: true,
        shard: { index: i, count: 3 },
      }).order) {
        expect(all.has(p)).toBe(false);
        all.add(p);
      }
    }
    expect(all.size).toBe(35);
  });

  test('shards split every level evenly, so the coarse picture comes from all of them', () => {
    // 11 × 11, the article's Run live grid: level 0 is the 3 × 3 lattice of even indices,
    // whose raster indices are all even; two shards must still share it 5 / 4.
    const levelCounts = (index: number) => {
      const s = pointSchedule({ nx: 11, ny: 11, progressive: true, shard: { index, count: 2 } });
      return Array.from({ length: s.levels }, (_, l) => s.level.filter((v) => v === l).length);
    };
    const whole = pointSchedule({ nx: 11, ny: 11, progressive: true });
    const [a, b] = [levelCounts(0), levelCounts(1)];
    a.forEach((n, l) => {
      expect(n + b[l]!).toBe(whole.level.filter((v) => v === l).length);
      expect(Math.abs(n - b[l]!)).toBeLessThanOrEqual(1);
    });
    expect(a[0]).toBe(5);
  });
});

describe('surfaces', () => {
  test('f(0, 0) equals the trainer’s evaluation of θ* on the same subset', async () => {
    const s = await computeSurface(
      options({ xs: [-0.5, 0, 0.5], ys: [0], directions: { x: directions.x, y: null } }),
    );
    const expected = await trainerEvaluate(origin, data);
    expect(s.loss[1]).toBeCloseTo(expected.loss, 5);
    expect(s.accuracy[1]).toBeCloseTo(expected.accuracy, 6);
    expect(s.mask).toEqual([1, 1, 1]);
    expect(s.meta.subset).toBe(20);
    expect(s.meta.backend).toBe('cpu');
  });

  test('a point off the origin is the loss of θ* + αδ + βη', async () => {
    const s = await computeSurface(options({ xs: [0.5], ys: [-0.25] }));
    const moved: Origin = { params: {}, state: origin.state };
    for (const [name, a] of Object.entries(origin.params)) {
      const dx = directions.x[name]!.data;
      const dy = directions.y![name]!.data;
      moved.params[name] = {
        shape: a.shape,
        data: a.data.map((v, k) => v + 0.5 * dx[k]! - 0.25 * dy[k]!),
      };
    }
    expect(s.loss[0]).toBeCloseTo((await trainerEvaluate(moved, data)).loss, 4);
  });

  test('interpolation end points are the two checkpoints’ losses', async () => {
    const b = await initialArrays(model, 2);
    const x = interpolationDirection({ a: origin, b });
    const s = await computeSurface(
      options({
        directions: { x, y: null },
        xs: [0, 0.5, 1],
        ys: [0],
        meta: { ...meta, kind: 'interpolation' },
      }),
    );
    expect(s.loss[0]).toBeCloseTo((await trainerEvaluate(origin, data)).loss, 5);
    expect(s.loss[2]).toBeCloseTo((await trainerEvaluate(b, data)).loss, 4);
    expect(s.accuracy[2]).toBeCloseTo((await trainerEvaluate(b, data)).accuracy, 6);
  });

  test('shard-and-merge equals one run; merge refuses other grids and conflicting points', async () => {
    const whole = await computeSurface(options());
    const shards: Surface[] = [];
    for (let i = 0; i < 3; i++)
      shards.push(await computeSurface(options({ shard: { index: i, count: 3 } })));
    for (const s of shards)
      expect(s.mask.filter((m) => m === 1).length).toBeLessThan(whole.mask.length);
    const merged = mergeSurfaces([shards[2]!, shards[0]!, shards[1]!]);
    expect(values(merged)).toEqual(values(whole));
    expect(merged.meta.seconds).toBeCloseTo(
      shards.reduce((a, s) => a + s.meta.seconds, 0),
      6,
    );
    // Merging a shard with the whole run: overlapping points agree.
    expect(values(mergeSurfaces([whole, shards[1]!]))).toEqual(values(whole));

    const otherSeed = { ...shards[1]!, meta: { ...shards[1]!.meta, seed: 10 } };
    expect(() => mergeSurfaces([shards[0]!, otherSeed])).toThrow(/seed/);
    const otherGrid = { ...shards[1]!, xs: shards[1]!.xs.map((v) => v * 2) };
    expect(() => mergeSurfaces([shards[0]!, otherGrid])).toThrow(/xs/);
    const p = whole.mask.findIndex((_, k) => shards[0]!.mask[k] === 1);
    const conflicting = { ...whole, loss: whole.loss.map((v, k) => (k === p ? v! + 1 : v)) };
    expect(() => mergeSurfaces([shards[0]!, conflicting])).toThrow(/disagree/);
  });

  test('cancel keeps the points done; resuming from them equals one run', async () => {
    const whole = await computeSurface(options());
    const controller = new AbortController();
    const partials: Surface[] = [];
    const partial = await computeSurface(
      options({
        signal: controller.signal,
        onPartial: (s, progress) => {
          partials.push(s);
          if (progress.done === 7) controller.abort();
        },
      }),
    );
    expect(partial.mask.filter((m) => m === 1).length).toBe(7);
    partial.mask.forEach((m, k) => {
      if (m === 1) expect(partial.loss[k]).toBe(whole.loss[k]);
      else expect(partial.loss[k]).toBeNull();
    });
    // Progressive: the first partials are the coarse grid, corners and middle.
    expect(partials[0]!.mask.filter((m) => m === 1).length).toBe(1);
    expect(partials.length).toBe(7);

    const before = tf.memory().numTensors;
    let forwards = 0;
    const counting = {
      ...model,
      forward: (...args: Parameters<typeof model.forward>) => {
        forwards++;
        return model.forward(...args);
      },
    };
    const resumed = await computeSurface(
      options({ model: counting, resume: JSON.parse(JSON.stringify(partial)) as Surface }),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(values(resumed)).toEqual(values(whole));
    // Only the missing points were computed: 20 − 7 points × 3 batches of 8 images.
    expect(forwards).toBe((20 - 7) * 3);
    expect(resumed.meta.seconds).toBeGreaterThan(partial.meta.seconds);
    await expect(
      computeSurface(
        options({ resume: { ...partial, meta: { ...partial.meta, normalization: 'layer' } } }),
      ),
    ).rejects.toThrow(/normalization/);
  });

  test('diverged points are in the mask with null values', async () => {
    const s = await computeSurface(options({ xs: [0, 1e30], ys: [0] }));
    expect(s.mask).toEqual([1, 1]);
    expect(s.loss[0]).not.toBeNull();
    expect(s.loss[1]).toBeNull();
    expect(s.accuracy[1]).toBeNull();
  });

  test('jobs leave the tensor count where they found it, finished, cancelled or failed', async () => {
    const before = tf.memory().numTensors;
    await computeSurface(options());
    expect(tf.memory().numTensors).toBe(before);
    const controller = new AbortController();
    await computeSurface(
      options({ signal: controller.signal, onProgress: (p) => p.done === 3 && controller.abort() }),
    );
    expect(tf.memory().numTensors).toBe(before);
    let calls = 0;
    const failing = {
      ...model,
      forward: (...args: Parameters<typeof model.forward>) => {
        if (++calls === 5) throw new Error('deliberate');
        return model.forward(...args);
      },
    };
    await expect(computeSurface(options({ model: failing }))).rejects.toThrow(/deliberate/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
