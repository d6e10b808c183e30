/**
 * The warm-up Run live sends its workers before the reader clicks: through
 * the job runner, beside a landscape job if the click comes first. It
 * evaluates the named network a few times, fetches nothing, stops on cancel,
 * refuses sizes out of bounds, and leaves no tensor behind.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import type { Surface } from '../landscape/surface';
import type { LandscapeJobParams } from './landscape-job';
import type { LandscapeWarmUpParams } from './landscape-warm-up';
import type { FromWorker, ToWorker } from './protocol';
import { createJobRunner } from './runner';
import { JOB_TABLE } from './table';

function harness() {
  const messages: FromWorker[] = [];
  const reads: string[] = [];
  const runner = createJobRunner({
    post: (m) => void messages.push(m),
    jobs: JOB_TABLE,
    startBackend: async () => ({ name: 'wasm', reason: 'test' }),
    readBytes: async (p) => {
      reads.push(p);
      throw new Error(`no file here: ${p}`);
    },
  });
  return { runner, messages, reads, send: (m: ToWorker) => runner.handle(m) };
}

const start = (
  jobId: string,
  params: Partial<LandscapeWarmUpParams> = {},
): Extract<ToWorker, { type: 'start' }> => ({
  type: 'start',
  jobId,
  kind: 'landscape-warm-up',
  params: { model: 'resnet8', skip: true, batchSize: 2, passes: 3, ...params },
});

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
}, 120_000);

describe('landscape-warm-up job', () => {
  it('evaluates the network `passes` times, fetches nothing and leaves no tensor', async () => {
    for (const skip of [true, false]) {
      const h = harness();
      const before = tf.memory().numTensors;
      h.send(start(`warm-${skip}`, { skip }));
      await h.runner.idle();
      const done = h.messages.find((m) => m.type === 'done');
      expect(done, JSON.stringify(h.messages.at(-1))).toBeDefined();
      if (done?.type !== 'done' || done.kind !== 'landscape-warm-up') throw new Error('no result');
      expect(done.cancelled).toBe(false);
      expect(done.result.passMs).toHaveLength(3);
      for (const ms of done.result.passMs) expect(ms).toBeGreaterThan(0);
      expect(h.reads).toEqual([]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('ends with one pass at the run’s batch size when asked', async () => {
    const h = harness();
    const before = tf.memory().numTensors;
    h.send(start('warm', { passes: 2, runBatchSize: 16 }));
    await h.runner.idle();
    const done = h.messages.find((m) => m.type === 'done');
    if (done?.type !== 'done' || done.kind !== 'landscape-warm-up') throw new Error('no result');
    expect(done.result.passMs).toHaveLength(3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops at its next pass when cancelled, still with nothing left behind', async () => {
    const h = harness();
    const before = tf.memory().numTensors;
    h.send(start('warm', { passes: 8 }));
    h.send({ type: 'cancel', jobId: 'warm' });
    await h.runner.idle();
    const done = h.messages.find((m) => m.type === 'done');
    if (done?.type !== 'done' || done.kind !== 'landscape-warm-up') throw new Error('no result');
    expect(done.cancelled).toBe(true);
    expect(done.result.passMs.length).toBeLessThan(8);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a batch or a number of passes outside 1 to 8, a run batch over 256, and an unknown network', async () => {
    const h = harness();
    h.send(start('big', { batchSize: 64 }));
    h.send(start('many', { passes: 0 }));
    h.send(start('what', { model: 'resnet7' }));
    h.send(start('huge', { runBatchSize: 257 }));
    await h.runner.idle();
    const errors = h.messages.flatMap((m) =>
      m.type === 'error' ? [`${m.jobId}: ${m.message}`] : [],
    );
    expect(errors).toEqual([
      'big: batchSize must be a whole number from 1 to 8, got 64',
      'many: passes must be a whole number from 1 to 8, got 0',
      expect.stringMatching(/^what: /),
      'huge: runBatchSize must be a whole number from 1 to 256, got 257',
    ]);
  });

  it('a run started during the warm-up, on the same runner, gives the surface of a run alone', async () => {
    // The shipped ResNet-20 that Run live starts from, on a 3×3 grid of 8 images.
    const publicDir = join(import.meta.dirname, '..', '..', '..', 'public');
    const path = 'artifacts/runs/resnet20-skip/epoch-016.safetensors';
    const bytes = new Uint8Array(await readFile(join(publicDir, path)));
    const landscape: LandscapeJobParams = {
      checkpoint: path,
      checkpointSha256: createHash('sha256').update(bytes).digest('hex'),
      model: 'resnet20',
      dataDir: 'data/fashion-mnist',
      points: 3,
      lo: -1,
      hi: 1,
      subset: 8,
      split: 'train',
      seed: 1,
      normalization: 'filter',
      version: 'test',
      batchSize: 8,
    };
    const surfaceOf = async (warm: boolean): Promise<Surface> => {
      const messages: FromWorker[] = [];
      const runner = createJobRunner({
        post: (m) => void messages.push(m),
        jobs: JOB_TABLE,
        startBackend: async () => ({ name: 'wasm', reason: 'test' }),
        readBytes: async (p) => new Uint8Array(await readFile(join(publicDir, p))),
      });
      const before = tf.memory().numTensors;
      if (warm) runner.handle(start('warm', { model: 'resnet20', runBatchSize: 8 }));
      runner.handle({ type: 'start', jobId: 'run', kind: 'landscape', params: landscape });
      await runner.idle();
      expect(tf.memory().numTensors).toBe(before);
      const done = messages.find((m) => m.type === 'done' && m.jobId === 'run');
      if (done?.type !== 'done' || done.kind !== 'landscape') throw new Error('no surface');
      if (warm) expect(messages.some((m) => m.type === 'done' && m.jobId === 'warm')).toBe(true);
      return done.result;
    };
    const alone = await surfaceOf(false);
    const beside = await surfaceOf(true);
    expect(beside.mask).toEqual(alone.mask);
    expect(beside.loss).toEqual(alone.loss);
    expect(beside.accuracy).toEqual(alone.accuracy);
  });
});
