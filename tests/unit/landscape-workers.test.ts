/**
 * Surfaces and Hessian maps on a pool of replicas (landscape/pool.ts) equal
 * the one-thread run: grid points bit for bit, Hessian-vector products (sums
 * over shares) within 1e-6 relative; cancel and resume with replicas lose
 * nothing; every replica leaves its tensor count where it found it. The
 * replicas here are served on this thread over real MessageChannels
 * (structured clone and transfers, as between worker threads); the command
 * line's worker threads are tested in landscape-workers-cli.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { randomDirections } from '../../src/compute/landscape/directions';
import { computeSurface, runGrid } from '../../src/compute/landscape/grid';
import type { Origin, SurfaceMetaInput, SurfaceOptions } from '../../src/compute/landscape/grid';
import { computeHessianMap } from '../../src/compute/landscape/hessian';
import type { HessianMapOptions } from '../../src/compute/landscape/hessian';
import { batchAlignedShares } from '../../src/compute/landscape/pool';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import { messagePortChannel, ParallelEngine, serveReplica } from '../../src/compute/train/parallel';
import type { ReplicaReply, ReplicaRequest } from '../../src/compute/train/parallel';
import type { Model } from '../../src/compute/models/types';
import { registerSecondOrderGradients } from '../../src/compute/tfjs-fixes/second-order';
import { initialArrays, randomImages, smallConvNet } from './landscape-fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** K replicas served on this thread over MessageChannels. */
async function pool(k: number, make: () => Model): Promise<ParallelEngine> {
  const channels = [];
  for (let i = 0; i < k; i++) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    serveReplica({
      channel: messagePortChannel<ReplicaRequest, ReplicaReply>(port2),
      createModel: make,
    });
    channels.push(messagePortChannel<ReplicaReply, ReplicaRequest>(port1));
  }
  return ParallelEngine.create({ model: make(), sgd: LI_ET_AL_SGD, channels });
}

const make = () => smallConvNet({ activation: 'relu' });
const model = make();
const meta: SurfaceMetaInput = {
  model: 'small',
  skip: true,
  checkpointSha256: 'c'.repeat(64),
  checkpoint2Sha256: null,
  dataset: 'random',
  split: 'train',
  seed: 3,
  normalization: 'filter',
  includeBiasBn: false,
  kind: 'direction',
  version: 'test',
};
let origin: Origin;
let directions: ReturnType<typeof randomDirections>;
beforeAll(async () => {
  origin = await initialArrays(model, 5);
  directions = randomDirections({
    params: model.params,
    weights: origin.params,
    seed: 3,
    dimensions: 2,
    normalization: 'filter',
    includeBiasBn: false,
  });
});

describe('batch-aligned shares', () => {
  test('deal whole batches in contiguous runs that cover the subset once', () => {
    expect(batchAlignedShares({ count: 500, batchSize: 64, replicas: 2 })).toEqual([
      [0, 256],
      [256, 500],
    ]);
    expect(batchAlignedShares({ count: 10, batchSize: 4, replicas: 4 })).toEqual([
      [0, 0],
      [0, 4],
      [4, 8],
      [8, 10],
    ]);
    expect(batchAlignedShares({ count: 3, batchSize: 8, replicas: 2 })).toEqual([
      [0, 0],
      [0, 3],
    ]);
  });
});

describe('grid lanes', () => {
  test('deal every point once, in any order, and stop new points on cancel', async () => {
    const mask = new Array<0 | 1>(25).fill(0);
    const seen: number[] = [];
    const lanesUsed = new Set<number>();
    const controller = new AbortController();
    await runGrid({
      xs: [0, 1, 2, 3, 4],
      ys: [0, 1, 2, 3, 4],
      mask,
      progressive: true,
      concurrency: 3,
      signal: controller.signal,
      async point(p, _a, _b, lane) {
        lanesUsed.add(lane);
        // Uneven durations so that points come back out of order.
        await new Promise((r) => setTimeout(r, (p * 7) % 5));
        seen.push(p);
        if (seen.length === 10) controller.abort();
        return true;
      },
    });
    // Lanes finish the points they hold: nothing started is lost.
    const done = mask.flatMap((m, p) => (m === 1 ? [p] : []));
    expect(done.sort((a, b) => a - b)).toEqual(seen.slice().sort((a, b) => a - b));
    expect(done.length).toBeGreaterThanOrEqual(10);
    expect(done.length).toBeLessThanOrEqual(12);
    expect([...lanesUsed].sort()).toEqual([0, 1, 2]);
    await runGrid({
      xs: [0, 1, 2, 3, 4],
      ys: [0, 1, 2, 3, 4],
      mask,
      progressive: true,
      concurrency: 3,
      async point(p) {
        expect(seen).not.toContain(p);
        seen.push(p);
        return true;
      },
    });
    expect(seen.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  test('a failing point stops the run and is thrown once the other lanes are done', async () => {
    let inFlight = 0;
    await expect(
      runGrid({
        xs: [0, 1, 2, 3],
        ys: [0],
        mask: [0, 0, 0, 0],
        progressive: false,
        concurrency: 2,
        async point(p) {
          inFlight++;
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          if (p === 0) throw new Error('replica 0 crashed');
          return true;
        },
      }),
    ).rejects.toThrow('replica 0 crashed');
    expect(inFlight).toBe(0);
  });
});

describe('surfaces on replicas', () => {
  const data = randomImages({ count: 21, height: 6, width: 6, channels: 1, classes: 3, seed: 6 });
  const options = (overrides: Partial<SurfaceOptions> = {}): SurfaceOptions => ({
    model,
    origin,
    directions,
    data,
    xs: [-1, -0.5, 0, 0.5, 1],
    ys: [-1, 0, 1],
    meta,
    batchSize: 8,
    ...overrides,
  });

  test('equal the one-thread surface bit for bit, and leave no tensors', async () => {
    const before = tf.memory().numTensors;
    const one = await computeSurface(options());
    const engine = await pool(3, make);
    const three = await computeSurface(options({ pool: engine }));
    await engine.dispose();
    expect(three.loss).toEqual(one.loss);
    expect(three.accuracy).toEqual(one.accuracy);
    expect(three.mask).toEqual(one.mask);
    expect(three.meta.backend).toBe(one.meta.backend);
    expect(engine.replicaTensorsAfterDispose).toEqual(engine.replicaTensorsAtStart);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('cancelled, keep every point they finished; resumed, equal the whole run', async () => {
    const before = tf.memory().numTensors;
    const whole = await computeSurface(options());
    const engine = await pool(2, make);
    const controller = new AbortController();
    const partials: number[] = [];
    const partial = await computeSurface(
      options({
        pool: engine,
        signal: controller.signal,
        onProgress: (p) => p.done >= 6 && controller.abort(),
        onPartial: (s) => partials.push(s.mask.filter((m) => m === 1).length),
      }),
    );
    const kept = partial.mask.filter((m) => m === 1).length;
    expect(kept).toBeGreaterThanOrEqual(6);
    expect(kept).toBeLessThan(15);
    // The last partial written holds every point the cancelled run returns.
    expect(partials[partials.length - 1]).toBe(kept);
    partial.mask.forEach((m, p) => m === 1 && expect(partial.loss[p]).toBe(whole.loss[p]));
    const resumed = await computeSurface(options({ pool: engine, resume: partial }));
    await engine.dispose();
    expect(resumed.loss).toEqual(whole.loss);
    expect(resumed.mask.every((m) => m === 1)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('Hessian maps on replicas', () => {
  // 13 images in batches of 4: shares of 8 and 5 images (unequal, so the mean's weights matter).
  const data = randomImages({ count: 13, height: 6, width: 6, channels: 1, classes: 3, seed: 9 });
  const base = (): HessianMapOptions => ({
    model,
    origin,
    data,
    directions,
    xs: [-0.5, 0.5],
    ys: [0],
    meta,
    iterations: 10,
    batchSize: 4,
  });
  const close = (a: (number | null)[], b: (number | null)[]) =>
    a.forEach((u, i) => {
      const v = b[i]!;
      expect(Math.abs(u! - v) / Math.max(Math.abs(v), 1e-12)).toBeLessThan(1e-6);
    });

  test('equal the one-thread map within 1e-6 (exact and finite-difference products)', async () => {
    const before = tf.memory().numTensors;
    for (const hvp of ['exact', 'finite-difference'] as const) {
      const one = await computeHessianMap({ ...base(), hvp });
      const engine = await pool(2, make);
      const two = await computeHessianMap({ ...base(), hvp, pool: engine });
      await engine.dispose();
      close(two.lambdaMax, one.lambdaMax);
      close(two.lambdaMin, one.lambdaMin);
      expect(two.products).toEqual(one.products);
      expect(engine.replicaTensorsAfterDispose).toEqual(engine.replicaTensorsAtStart);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('with more replicas than batches, and over the weights only', async () => {
    const one = await computeHessianMap({ ...base(), parameters: 'weights', batchSize: 8 });
    const engine = await pool(3, make);
    const three = await computeHessianMap({
      ...base(),
      parameters: 'weights',
      batchSize: 8,
      pool: engine,
    });
    await engine.dispose();
    expect(three.meta.dimension).toBe(one.meta.dimension);
    close(three.lambdaMax, one.lambdaMax);
    close(three.lambdaMin, one.lambdaMin);
  });

  test('BN in inference mode: the split is exact, a share is not the whole', async () => {
    // Each share's own mean loss Hessian differs from the whole's; only the weighted sum is it.
    const one = await computeHessianMap(base());
    const share = await computeHessianMap({
      ...base(),
      data: {
        ...data,
        count: 8,
        images: data.images.slice(0, 8 * 36),
        labels: data.labels.slice(0, 8),
      },
    });
    expect(Math.abs(share.lambdaMax[0]! - one.lambdaMax[0]!)).toBeGreaterThan(
      1e-3 * Math.abs(one.lambdaMax[0]!),
    );
  });
});
