/**
 * The landscape job as the explorer's "Run live" drives it: through the job
 * runner, with a checkpoint the train job wrote, on the shipped Fashion-MNIST
 * subset. It streams partial surfaces, keeps them on cancel, refuses a
 * checkpoint whose sha256 is not the manifest's, and leaves no tensor behind.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { mergeSurfaces } from '../landscape/merge';
import type { Surface } from '../landscape/surface';
import type { LandscapeJobParams } from './landscape-job';
import type { FromWorker, ToWorker } from './protocol';
import { createJobRunner } from './runner';
import { JOB_TABLE } from './table';

const PUBLIC = join(import.meta.dirname, '..', '..', '..', 'public');
const CHECKPOINT = 'artifacts/test-checkpoint.safetensors';

let checkpoint: Uint8Array;

function harness() {
  const messages: FromWorker[] = [];
  let onMessage: (m: FromWorker) => void = () => undefined;
  const runner = createJobRunner({
    post: (m) => {
      messages.push(m);
      onMessage(m);
    },
    jobs: JOB_TABLE,
    startBackend: async () => ({ name: 'wasm', reason: 'test' }),
    readBytes: async (p) =>
      p === CHECKPOINT ? checkpoint : new Uint8Array(await readFile(join(PUBLIC, p))),
  });
  return {
    runner,
    messages,
    send: (m: ToWorker) => runner.handle(m),
    on: (h: (m: FromWorker) => void) => (onMessage = h),
  };
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function params(overrides: Partial<LandscapeJobParams> = {}): LandscapeJobParams {
  return {
    checkpoint: CHECKPOINT,
    checkpointSha256: sha(checkpoint),
    model: 'resnet8',
    dataDir: 'data/fashion-mnist',
    points: 5,
    lo: -1,
    hi: 1,
    subset: 32,
    split: 'train',
    seed: 3,
    normalization: 'filter',
    version: 'test',
    batchSize: 32,
    ...overrides,
  };
}

const computed = (s: Surface) => s.mask.filter((m) => m === 1).length;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  // A real checkpoint: one short epoch of the train job.
  const h = harness();
  h.send({
    type: 'start',
    jobId: 'train',
    kind: 'train',
    params: {
      model: 'resnet8',
      dataDir: 'data/fashion-mnist',
      trainImages: 64,
      testImages: 16,
      epochs: 1,
      lr: 0.05,
      batchSize: 32,
      schedule: 'constant',
      seed: 1,
      augment: false,
      checkpoints: true,
    },
  });
  await h.runner.idle();
  const partial = h.messages.find((m) => m.type === 'partial');
  if (partial?.type !== 'partial' || partial.kind !== 'train' || !partial.partial.checkpoint) {
    throw new Error('the train job wrote no checkpoint');
  }
  checkpoint = partial.partial.checkpoint;
});

describe('landscape job', () => {
  it('computes the whole grid, coarse points first, streaming partial surfaces; no tensor left', async () => {
    const before = tf.memory().numTensors;
    const h = harness();
    h.send({ type: 'start', jobId: 'a', kind: 'landscape', params: params() });
    await h.runner.idle();
    const done = h.messages.at(-1);
    if (done?.type !== 'done' || done.kind !== 'landscape')
      throw new Error(`ended with ${done?.type}`);
    expect(done.cancelled).toBe(false);
    const surface = done.result;
    expect(computed(surface)).toBe(25);
    expect(surface.loss.every((v) => v !== null && v > 0)).toBe(true);
    expect(surface.meta).toMatchObject({
      model: 'resnet8',
      skip: true,
      checkpointSha256: sha(checkpoint),
      dataset: 'fashion-mnist',
      split: 'train',
      subset: 32,
      seed: 3,
      normalization: 'filter',
      kind: 'direction',
    });
    // Partial surfaces grow monotonically; the first level is the coarse corners-and-centre grid.
    const partials = h.messages.flatMap((m) =>
      m.type === 'partial' && m.kind === 'landscape' ? [m.partial] : [],
    );
    expect(partials.length).toBeGreaterThan(1);
    const counts = partials.map(computed);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    const first = partials[0] as Surface;
    expect(first.mask[0]).toBe(1);
    expect(first.mask[1]).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('cancel ends with done (cancelled) holding the points computed so far', async () => {
    const before = tf.memory().numTensors;
    const h = harness();
    h.on((m) => {
      if (m.type === 'progress' && m.kind === 'landscape' && m.progress.done >= 6) {
        h.send({ type: 'cancel', jobId: 'b' });
      }
    });
    h.send({ type: 'start', jobId: 'b', kind: 'landscape', params: params() });
    await h.runner.idle();
    const done = h.messages.at(-1);
    if (done?.type !== 'done' || done.kind !== 'landscape')
      throw new Error(`ended with ${done?.type}`);
    expect(done.cancelled).toBe(true);
    const kept = computed(done.result);
    expect(kept).toBeGreaterThanOrEqual(6);
    expect(kept).toBeLessThan(25);
    // Every point marked computed has its value; the rest are null.
    done.result.mask.forEach((m, k) => expect(done.result.loss[k] === null).toBe(m === 0));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('two shards, merged, are the whole surface (Run live over two workers)', async () => {
    const run = async (jobId: string, extra: Partial<LandscapeJobParams>) => {
      const h = harness();
      h.send({ type: 'start', jobId, kind: 'landscape', params: params(extra) });
      await h.runner.idle();
      const done = h.messages.at(-1);
      if (done?.type !== 'done' || done.kind !== 'landscape') throw new Error(`${jobId} failed`);
      return done.result;
    };
    const whole = await run('w', {});
    const first = await run('s0', { shard: { index: 0, count: 2 } });
    const second = await run('s1', { shard: { index: 1, count: 2 } });
    expect(computed(first) + computed(second)).toBe(25);
    expect(computed(first)).toBe(13);
    const merged = mergeSurfaces([first, second]);
    expect(merged.mask).toEqual(whole.mask);
    merged.loss.forEach((v, k) => expect(v).toBeCloseTo(whole.loss[k]!, 5));
  });

  it('refuses a checkpoint whose sha256 is not the manifest’s, and bad parameters', async () => {
    const h = harness();
    h.send({
      type: 'start',
      jobId: 'c',
      kind: 'landscape',
      params: params({ checkpointSha256: '0'.repeat(64) }),
    });
    h.send({ type: 'start', jobId: 'd', kind: 'landscape', params: params({ points: 1 }) });
    await h.runner.idle();
    const errors = h.messages.flatMap((m) =>
      m.type === 'error' ? [`${m.jobId}: ${m.message}`] : [],
    );
    expect(errors.sort()).toEqual([
      expect.stringMatching(
        /^c: artifacts\/test-checkpoint\.safetensors: sha256 [0-9a-f]{12}… does not match the manifest's 000000000000…$/,
      ),
      'd: points must be a whole number from 2 to 201, got 1',
    ]);
    h.send({
      type: 'start',
      jobId: 'e',
      kind: 'landscape',
      params: params({ shard: { index: 2, count: 2 } }),
    });
    await h.runner.idle();
    expect(h.messages.at(-1)).toMatchObject({
      type: 'error',
      message: 'shard.index must be a whole number from 0 to 1, got 2',
    });
  });
});
