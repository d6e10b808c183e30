/**
 * The `signals` worker job through the job runner, as the figure drives it:
 * started, progress per draw, a partial result after the first draw, done;
 * a cancel ends it with the draws it finished; bad parameters are errors;
 * no tensor is left behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import type { FromWorker, ToWorker } from '../../src/compute/jobs/protocol';
import { createJobRunner } from '../../src/compute/jobs/runner';
import type { SignalsJobParams } from '../../src/compute/jobs/signals-job';
import { JOB_TABLE } from '../../src/compute/jobs/table';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

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
  });
  return {
    runner,
    messages,
    send: (m: ToWorker) => runner.handle(m),
    on: (h: (m: FromWorker) => void) => (onMessage = h),
  };
}

const PARAMS: SignalsJobParams = {
  network: {
    width: 16,
    depth: 6,
    activation: 'relu',
    init: 'kaiming',
    sigmaW2: 2,
    residualAlpha: null,
    batchNorm: false,
  },
  batch: 12,
  draws: 4,
  seed: 3,
};

describe('signals job', () => {
  it('started, progress per draw, a first partial, done with every draw; no tensor left', async () => {
    const before = tf.memory().numTensors;
    const h = harness();
    h.send({ type: 'start', jobId: 's', kind: 'signals', params: PARAMS });
    await h.runner.idle();
    const types = h.messages.map((m) => m.type);
    expect(types[0]).toBe('started');
    expect(types.filter((t) => t === 'progress')).toHaveLength(4);
    expect(types.filter((t) => t === 'partial').length).toBeGreaterThanOrEqual(1);
    const done = h.messages.at(-1)!;
    if (done.type !== 'done' || done.kind !== 'signals') throw new Error(`ended with ${done.type}`);
    expect(done.cancelled).toBe(false);
    expect(done.result.draws).toBe(4);
    expect(done.result.t).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a cancel keeps the finished draws', async () => {
    const before = tf.memory().numTensors;
    const h = harness();
    h.on((m) => {
      if (m.type === 'progress' && m.kind === 'signals' && m.progress.drawsDone === 2)
        h.send({ type: 'cancel', jobId: 'c' });
    });
    h.send({ type: 'start', jobId: 'c', kind: 'signals', params: { ...PARAMS, draws: 6 } });
    await h.runner.idle();
    const done = h.messages.at(-1)!;
    if (done.type !== 'done' || done.kind !== 'signals') throw new Error(`ended with ${done.type}`);
    expect(done.cancelled).toBe(true);
    expect(done.result.draws).toBe(2);
    expect(done.result.forwardVarianceDraws).toHaveLength(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bad parameters end in an error naming them', async () => {
    const h = harness();
    h.send({
      type: 'start',
      jobId: 'e',
      kind: 'signals',
      params: { ...PARAMS, network: { ...PARAMS.network, depth: 0 } },
    });
    await h.runner.idle();
    const last = h.messages.at(-1)!;
    expect(last.type).toBe('error');
    if (last.type === 'error') expect(last.message).toMatch(/depth/);
  });
});
