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
  addBins,
  assembleSignals,
  histogramRanges,
  measureSignals,
  signalLayout,
  splitDraws,
  type SignalDrawSums,
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

  it("two jobs, one slice of the draws each, with their workers' counts, sum to the whole run exactly", async () => {
    const params = {
      ...PARAMS,
      draws: 5,
      network: { ...PARAMS.network, activation: 'tanh' as const },
    };
    const measured: SignalDrawSums[] = [];
    // One runner per worker, as on the page: each holds the samples of its own slice.
    const lanes = [harness(), harness()];
    for (const h of lanes)
      h.on((m) => {
        if (m.type === 'partial' && m.kind === 'signals') {
          // Only the sums cross: no sample arrays.
          expect(Object.keys(m.partial).sort()).toEqual(
            [
              'activationMoments',
              'backwardSum',
              'backwardSumSq',
              'draw',
              'forwardSum',
              'forwardSumSq',
              'timing',
            ].sort(),
          );
          measured.push(m.partial);
        }
      });
    const slices = splitDraws(params.draws, 2);
    expect(slices).toEqual([
      [0, 2],
      [2, 5],
    ]);
    // The second slice first: the summary takes the draws in draw order whoever sent them.
    for (const [lane, [from, to]] of [...slices.entries()].reverse())
      lanes[lane]!.send({
        type: 'start',
        jobId: `slice-${from}`,
        kind: 'signals',
        params: { ...params, from, to, run: 'r1' },
      });
    await Promise.all(lanes.map((h) => h.runner.idle()));
    expect(measured.map((d) => d.draw).sort()).toEqual([0, 1, 2, 3, 4]);
    const layout = signalLayout(params);
    const ranges = histogramRanges(layout, measured);
    const bins = await Promise.all(
      slices.map(async ([from, to], lane) => {
        const h = lanes[lane]!;
        h.send({
          type: 'start',
          jobId: `bins-${from}`,
          kind: 'signals-bins',
          params: {
            run: 'r1',
            draws: Array.from({ length: to - from }, (_, i) => from + i),
            ranges,
            bins: layout.histogramBins,
          },
        });
        await h.runner.idle();
        const done = h.messages.at(-1)!;
        if (done.type !== 'done' || done.kind !== 'signals-bins')
          throw new Error(`bins ended with ${done.type}`);
        return done.result.bins;
      }),
    );
    const split = assembleSignals(layout, measured, ranges, addBins(bins), 0);
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

  it('counting a run or a draw the worker no longer holds is an error naming it', async () => {
    const h = harness();
    h.send({ type: 'start', jobId: 'a', kind: 'signals', params: { ...PARAMS, run: 'a' } });
    h.send({ type: 'start', jobId: 'b', kind: 'signals', params: { ...PARAMS, run: 'b', to: 2 } });
    await h.runner.idle();
    // Runs c, d and e: with b, four after a, and a worker keeps the samples of its last four.
    for (const run of ['c', 'd', 'e'])
      h.send({ type: 'start', jobId: run, kind: 'signals', params: { ...PARAMS, run, to: 1 } });
    await h.runner.idle();
    const layout = signalLayout(PARAMS);
    const ranges = {
      signal: { lo: -1, hi: 1 },
      gradient: { lo: -1, hi: 1 },
      activation: { lo: 0, hi: 1 },
    };
    const ask = async (run: string, draws: number[]) => {
      h.send({
        type: 'start',
        jobId: `bins-${run}-${draws.join()}`,
        kind: 'signals-bins',
        params: { run, draws, ranges, bins: layout.histogramBins },
      });
      await h.runner.idle();
      return h.messages.at(-1)!;
    };
    // Runs b … e started after it: run 'a's samples were let go.
    const old = await ask('a', [0]);
    expect(old.type === 'error' && old.message).toMatch(/run 'a' is not held/);
    const missing = await ask('b', [1, 2]);
    expect(missing.type === 'error' && missing.message).toMatch(/draw 2 of run 'b'/);
    const ok = await ask('b', [0, 1]);
    if (ok.type !== 'done' || ok.kind !== 'signals-bins') throw new Error(`ended with ${ok.type}`);
    expect(ok.result.bins.draws).toEqual([0, 1]);
    // Every sample of both draws counted, in a bin or outside.
    const values = 2 * layout.histogramInputs * PARAMS.network.width;
    for (const kind of ['signal', 'gradient', 'activation'] as const)
      ok.result.bins[kind].counts.forEach((c, l) =>
        expect(c.reduce((a, b) => a + b, 0) + ok.result.bins[kind].outside[l]!).toBe(values),
      );
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
