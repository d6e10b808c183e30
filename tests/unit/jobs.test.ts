import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import { createModel } from '../../src/compute/models';
import { decodeCheckpoint } from '../../src/compute/train/checkpoint';
import type { FromWorker, ToWorker } from '../../src/compute/jobs/protocol';
import { createJobRunner } from '../../src/compute/jobs/runner';
import { JOB_TABLE } from '../../src/compute/jobs/table';
import type { TrainJobParams } from '../../src/compute/jobs/train-job';

const PUBLIC = join(import.meta.dirname, '..', '..', 'public');

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

/** A runner whose messages are collected, driven as the worker drives it. */
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
    readBytes: async (p) => new Uint8Array(await readFile(join(PUBLIC, p))),
  });
  return {
    runner,
    messages,
    send: (m: ToWorker) => runner.handle(m),
    on: (h: (m: FromWorker) => void) => (onMessage = h),
  };
}

const PARAMS: TrainJobParams = {
  model: 'resnet8',
  dataDir: 'data/fashion-mnist',
  trainImages: 128,
  testImages: 32,
  epochs: 2,
  lr: 0.1,
  batchSize: 32,
  schedule: 'cosine',
  seed: 1,
  augment: true,
  checkpoints: true,
};

describe('job runner', () => {
  it('runs a train job: started, progress, a partial result per epoch, done; no tensor left', async () => {
    const before = tf.memory().numTensors;
    const h = harness();
    h.send({ type: 'start', jobId: 'a', kind: 'train', params: PARAMS });
    await h.runner.idle();
    const types = h.messages.map((m) => m.type);
    expect(types[0]).toBe('started');
    expect(types.filter((t) => t === 'progress')).toHaveLength(8);
    expect(types.filter((t) => t === 'partial')).toHaveLength(2);
    expect(types.at(-1)).toBe('done');
    const done = h.messages.at(-1)!;
    if (done.type !== 'done' || done.kind !== 'train') throw new Error('no done');
    expect(done.cancelled).toBe(false);
    expect(done.result.history.map((e) => e.epoch)).toEqual([1, 2]);
    const partial = h.messages.find((m) => m.type === 'partial');
    if (partial?.type !== 'partial' || partial.kind !== 'train') throw new Error('no partial');
    const checkpoint = decodeCheckpoint(partial.partial.checkpoint!, {
      source: 'partial',
      layout: createModel,
    });
    expect(checkpoint.meta.epoch).toBe(1);
    expect(h.runner.running()).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('cancels: the job ends with done (cancelled) and keeps its finished epochs', async () => {
    const before = tf.memory().numTensors;
    const h = harness();
    let epochs = 0;
    h.on((m) => {
      if (m.type === 'partial') epochs++;
      if (m.type === 'progress' && m.kind === 'train' && m.progress.step === 5)
        h.send({ type: 'cancel', jobId: 'b' });
    });
    h.send({ type: 'start', jobId: 'b', kind: 'train', params: { ...PARAMS, checkpoints: false } });
    await h.runner.idle();
    const done = h.messages.at(-1)!;
    if (done.type !== 'done' || done.kind !== 'train') throw new Error(`ended with ${done.type}`);
    expect(done.cancelled).toBe(true);
    expect(done.result.status).toBe('cancelled');
    expect(done.result.step).toBe(5);
    expect(done.result.history).toHaveLength(1);
    expect(epochs).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports bad parameters, unknown kinds and duplicate ids as errors', async () => {
    const h = harness();
    h.send({ type: 'start', jobId: 'c', kind: 'train', params: { ...PARAMS, epochs: 0 } });
    h.send({ type: 'start', jobId: 'd', kind: 'nonsense' as 'train', params: PARAMS });
    await h.runner.idle();
    const errors = h.messages.filter((m) => m.type === 'error');
    expect(
      errors.map((e) => (e.type === 'error' ? `${e.jobId}: ${e.message}` : '')).sort(),
    ).toEqual([
      'c: epochs must be a whole number from 1 to 1000, got 0',
      "d: unknown job kind 'nonsense'",
    ]);
    const slow = harness();
    slow.send({ type: 'start', jobId: 'e', kind: 'train', params: { ...PARAMS, epochs: 1 } });
    slow.send({ type: 'start', jobId: 'e', kind: 'train', params: PARAMS });
    slow.send({ type: 'cancel', jobId: 'e' });
    await slow.runner.idle();
    expect(slow.messages.some((m) => m.type === 'error' && /already running/.test(m.message))).toBe(
      true,
    );
  });

  it('a job whose data cannot be read fails with an error naming the file', async () => {
    const before = tf.memory().numTensors;
    const h = harness();
    h.send({
      type: 'start',
      jobId: 'f',
      kind: 'train',
      params: { ...PARAMS, dataDir: 'data/missing' },
    });
    await h.runner.idle();
    const last = h.messages.at(-1)!;
    expect(last.type).toBe('error');
    if (last.type === 'error')
      expect(last.message).toMatch(
        /data\/missing\/(train|t10k)-(images-idx3|labels-idx1)-ubyte\.gz/,
      );
    expect(tf.memory().numTensors).toBe(before);
  });
});
