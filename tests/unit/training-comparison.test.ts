import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import type { FromWorker } from '../../src/compute/jobs/protocol';
import { createJobRunner } from '../../src/compute/jobs/runner';
import { JOB_TABLE } from '../../src/compute/jobs/table';
import { createModel, parseModelName } from '../../src/compute/models';
import {
  checkComparisonParams,
  COMPARISON_INPUT,
  PauseGate,
  trainingComparison,
  type ComparisonEvent,
  type TrainingComparisonParams,
} from '../../src/compute/jobs/training-comparison';

/**
 * The with/without-skips job on the wasm backend (as the CLI runs), on the
 * first few images of the shipped Fashion-MNIST subset: ResNet-20, two steps
 * per epoch.
 */

const readBytes = async (path: string) => new Uint8Array(await readFile(join('public', path)));

const tiny: TrainingComparisonParams = {
  model: 'resnet20',
  dataDir: 'data/fashion-mnist',
  epochs: 1,
  lr: 0.05,
  batchSize: 8,
  trainImages: 16,
  testImages: 8,
  seed: 3,
};

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('trainingComparison', () => {
  test('without skips, every remaining weight starts where it does with skips', async () => {
    // BMEnet loses no parameter (its downsamplers also act on the long way);
    // a ResNet loses its 1×1 projection shortcuts and nothing else.
    for (const [name, dropped] of [
      ['bmenet8', 0],
      ['resnet20', 16 * 32 + 2 * 32 + (32 * 64 + 2 * 64)],
    ] as const) {
      const withSkips = createModel(parseModelName(name, { inputShape: COMPARISON_INPUT }));
      const without = createModel(
        parseModelName(`${name}-noshort`, { inputShape: COMPARISON_INPUT }),
      );
      const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
      const total = (ps: { shape: number[] }[]) => ps.reduce((s, p) => s + size(p.shape), 0);
      expect(total(withSkips.params) - total(without.params), name).toBe(dropped);
      const a = withSkips.init(7);
      const b = without.init(7);
      try {
        for (const p of without.params) {
          const [x, y] = await Promise.all([a.params[p.name]!.data(), b.params[p.name]!.data()]);
          expect(Array.from(y), p.name).toEqual(Array.from(x));
        }
      } finally {
        tf.dispose([Object.values(a.params), Object.values(a.state)]);
        tf.dispose([Object.values(b.params), Object.values(b.state)]);
      }
    }
  });

  test('trains both runs side by side, reports every step and epoch, leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const events: ComparisonEvent[] = [];
    const result = await trainingComparison({
      params: tiny,
      readBytes,
      onEvent: (e) => events.push(e),
    });
    expect(tf.memory().numTensors).toBe(before);

    expect(events[0]).toEqual({ type: 'data', trainImages: 16, testImages: 8 });
    for (const run of ['skip', 'noskip'] as const) {
      const outcome = result[run];
      expect(outcome.status).toBe('completed');
      expect(outcome.step).toBe(2);
      expect(outcome.history).toHaveLength(1);
      const record = outcome.history[0]!;
      expect(record.testAccuracy).not.toBeNull();
      expect(Number.isFinite(record.trainLoss)).toBe(true);
      const steps = events.filter((e) => e.type === 'step' && e.run === run);
      expect(steps.map((e) => (e.type === 'step' ? e.step : -1))).toEqual([1, 2]);
      expect(events.filter((e) => e.type === 'epoch' && e.run === run)).toHaveLength(1);
      expect(events.at(-1)?.type === 'run-end' || events.at(-2)?.type === 'run-end').toBe(true);
    }
    // The runs alternate: the second run's first step comes before the first run's second.
    const order = events.flatMap((e) => (e.type === 'step' ? [`${e.run}${e.step}`] : []));
    expect(order.indexOf('noskip1')).toBeLessThan(order.indexOf('skip2'));
    // Different networks from the same start: the losses differ.
    expect(result.skip.history[0]!.trainLoss).not.toBe(result.noskip.history[0]!.trainLoss);
  });

  test('cancel stops both runs at their next step and keeps what they did', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const events: ComparisonEvent[] = [];
    const result = await trainingComparison({
      params: { ...tiny, epochs: 3 },
      readBytes,
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step') controller.abort();
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.skip.status).toBe('cancelled');
    expect(result.noskip.status).toBe('cancelled');
    expect(result.skip.step + result.noskip.step).toBeLessThanOrEqual(2);
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(0);
  });

  test('a paused job takes no step until resumed, and a paused job can be cancelled', async () => {
    const gate = new PauseGate();
    const events: ComparisonEvent[] = [];
    let resumedAt = Infinity;
    const job = trainingComparison({
      params: tiny,
      readBytes,
      gate,
      onEvent: (e) => {
        events.push({ ...e });
        if (e.type === 'data') {
          gate.pause();
          setTimeout(() => {
            resumedAt = events.length;
            gate.resume();
          }, 300);
        }
      },
    });
    const result = await job;
    expect(resumedAt).toBe(1); // nothing happened while paused
    expect(result.skip.status).toBe('completed');
    expect(gate.pausedMs()).toBeGreaterThanOrEqual(250);

    const controller = new AbortController();
    const paused = new PauseGate();
    paused.pause();
    setTimeout(() => controller.abort(), 100);
    const cancelled = await trainingComparison({
      params: tiny,
      readBytes,
      gate: paused,
      signal: controller.signal,
    });
    expect(cancelled.skip.status).toBe('cancelled');
    expect(cancelled.skip.step).toBe(0);
  });

  test('runs in the worker’s job runner: progress per step, partials per epoch, pause and resume', async () => {
    const messages: FromWorker[] = [];
    const runner = createJobRunner({
      post: (m) => {
        messages.push(m);
        // Pause on the first step, resume a moment later.
        if (m.type === 'progress' && messages.filter((x) => x.type === 'progress').length === 1) {
          runner.handle({ type: 'control', jobId: 'c', action: 'pause' });
          setTimeout(() => runner.handle({ type: 'control', jobId: 'c', action: 'resume' }), 200);
        }
      },
      jobs: JOB_TABLE,
      startBackend: async () => ({ name: 'wasm', reason: 'test' }),
      readBytes,
    });
    runner.handle({ type: 'start', jobId: 'c', kind: 'training-comparison', params: tiny });
    await runner.idle();
    const types = messages.map((m) => m.type);
    expect(types[0]).toBe('started');
    expect(types.filter((t) => t === 'progress')).toHaveLength(4);
    // data, two epochs, two run ends.
    expect(types.filter((t) => t === 'partial')).toHaveLength(5);
    const done = messages.at(-1);
    if (done?.type !== 'done' || done.kind !== 'training-comparison') throw new Error('no done');
    expect(done.cancelled).toBe(false);
    expect(done.result.skip.history).toHaveLength(1);
    expect(done.result.noskip.history).toHaveLength(1);
  });

  test('parameters out of range are refused with the name of the culprit', () => {
    expect(() => checkComparisonParams({ ...tiny, epochs: 0 })).toThrow(/epochs/);
    expect(() => checkComparisonParams({ ...tiny, trainImages: 70_000 })).toThrow(/trainImages/);
    expect(() => checkComparisonParams({ ...tiny, lr: -1 })).toThrow(/lr must/);
    expect(() =>
      checkComparisonParams({ ...tiny, model: 'vgg16' as TrainingComparisonParams['model'] }),
    ).toThrow(/model must be one of/);
  });
});
