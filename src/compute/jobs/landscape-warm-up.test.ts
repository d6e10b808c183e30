/**
 * The warm-up Run live sends its workers before the reader clicks: through
 * the job runner, beside a landscape job if the click comes first. It
 * evaluates the named network a few times, fetches nothing, stops on cancel,
 * refuses sizes out of bounds, and leaves no tensor behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
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
});
