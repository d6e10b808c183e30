/**
 * The `signals` worker job through the job runner, as the figure drives it:
 * started, a progress and a measured draw per draw, done; the draws of two
 * jobs, one slice each (the figure's workers), sum to exactly the statistics
 * of one whole run; a cancel ends it with the draws it finished; bad
 * parameters are errors; no tensor is left behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import type { FromWorker, ToWorker } from '../../src/compute/jobs/protocol';
import { createJobRunner } from '../../src/compute/jobs/runner';
import type { SignalsJobParams } from '../../src/compute/jobs/signals-job';
import { JOB_TABLE } from '../../src/compute/jobs/table';
import {
  measureSignals,
  signalLayout,
  splitDraws,
  summariseSignals,
  type SignalDraw,
} from '../../src/compute/signals';

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
  it('started, progress and a draw per draw, done; no tensor left', async () => {
    const before = tf.memory().numTensors;
    const h = harness();
    h.send({ type: 'start', jobId: 's', kind: 'signals', params: PARAMS });
    await h.runner.idle();
    const types = h.messages.map((m) => m.type);
    expect(types[0]).toBe('started');
    expect(types.filter((t) => t === 'progress')).toHaveLength(4);
    const draws = h.messages.flatMap((m) =>
      m.type === 'partial' && m.kind === 'signals' ? [m.partial.draw] : [],
    );
    expect(draws).toEqual([0, 1, 2, 3]);
    const done = h.messages.at(-1)!;
    if (done.type !== 'done' || done.kind !== 'signals') throw new Error(`ended with ${done.type}`);
    expect(done.cancelled).toBe(false);
    expect(done.result.draws).toBe(4);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('two jobs, one slice of the draws each, sum to the whole run exactly', async () => {
    const params = {
      ...PARAMS,
      draws: 5,
      network: { ...PARAMS.network, activation: 'tanh' as const },
    };
    const measured: SignalDraw[] = [];
    const h = harness();
    h.on((m) => {
      if (m.type === 'partial' && m.kind === 'signals') measured.push(m.partial);
    });
    const slices = splitDraws(params.draws, 2);
    expect(slices).toEqual([
      [0, 2],
      [2, 5],
    ]);
    // The second slice first: the summary takes the draws in draw order whoever sent them.
    for (const [from, to] of [...slices].reverse())
      h.send({
        type: 'start',
        jobId: `slice-${from}`,
        kind: 'signals',
        params: { ...params, from, to },
      });
    await h.runner.idle();
    expect(measured.map((d) => d.draw).sort()).toEqual([0, 1, 2, 3, 4]);
    const split = summariseSignals(signalLayout(params), measured, 0);
    const whole = await measureSignals(params);
    // Everything but the clock.
    expect({ ...split, elapsedMs: 0, timing: null }).toEqual({
      ...whole,
      elapsedMs: 0,
      timing: null,
    });
    expect(split.forwardVarianceDraws).toHaveLength(5);
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
    expect(h.messages.filter((m) => m.type === 'partial')).toHaveLength(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a slice outside the run is an error naming it', async () => {
    const h = harness();
    h.send({ type: 'start', jobId: 'r', kind: 'signals', params: { ...PARAMS, from: 3, to: 3 } });
    await h.runner.idle();
    const last = h.messages.at(-1)!;
    expect(last.type).toBe('error');
    if (last.type === 'error') expect(last.message).toMatch(/^to must be/);
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
