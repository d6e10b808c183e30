import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../../src/compute/train/loop';
import type { TrainOptions } from '../../src/compute/train/loop';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import {
  combineBatchStats,
  messagePortChannel,
  ParallelEngine,
  serveReplica,
  shardBatch,
} from '../../src/compute/train/parallel';
import type { ReplicaReply, ReplicaRequest } from '../../src/compute/train/parallel';
import { stripesDataset, tinyModel } from './train-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** K replicas served on this thread over real MessageChannels (structured clone, transfers). */
async function inProcessEngine(k: number): Promise<ParallelEngine> {
  const channels = [];
  for (let i = 0; i < k; i++) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    serveReplica({
      channel: messagePortChannel<ReplicaRequest, ReplicaReply>(port2),
      createModel: () => tinyModel(),
    });
    channels.push(messagePortChannel<ReplicaReply, ReplicaRequest>(port1));
  }
  return ParallelEngine.create({ model: tinyModel(), sgd: LI_ET_AL_SGD, channels });
}

const TRAIN = stripesDataset({ count: 96, seed: 1 });
const TEST = { ...stripesDataset({ count: 64, seed: 2 }), split: 'test' as const };
const base = (overrides: Partial<TrainOptions>): TrainOptions => ({
  model: tinyModel(),
  data: { train: TRAIN, test: TEST },
  epochs: 3,
  batchSize: 16,
  seed: 7,
  ...overrides,
});

describe('data-parallel training', () => {
  it('shards a batch into near-equal copies that cover it in order', () => {
    const batch = {
      x: Float32Array.from({ length: 5 * 4 }, (_, i) => i),
      labels: Int32Array.from([0, 1, 2, 3, 4]),
      n: 5,
      height: 2,
      width: 2,
      channels: 1,
    };
    const shards = shardBatch(batch, 2);
    expect(shards.map((s) => s.n)).toEqual([3, 2]);
    expect(Array.from(shards[1]!.labels)).toEqual([3, 4]);
    expect(shards[1]!.x[0]).toBe(12);
    expect(shards[0]!.x.buffer).not.toBe(batch.x.buffer);
  });

  it('combines shard statistics into the whole batch’s mean and variance', () => {
    const model = tinyModel();
    // Channel values of two shards, one BN channel shown; others zero.
    const a = [1, 2, 3, 4, 5, 6];
    const b = [10, 12, 14, 16];
    const stat = (xs: number[]) => {
      const m = xs.reduce((s, x) => s + x, 0) / xs.length;
      return [m, xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1)] as const;
    };
    const flat = (xs: number[]) => {
      const [m, v] = stat(xs);
      const f = new Float32Array(12);
      f[0] = m; // bn.running_mean, channel 0
      f[6] = v; // bn.running_var, channel 0
      return f;
    };
    const combined = combineBatchStats({ model, stats: [flat(a), flat(b)], counts: [6, 4] });
    const [m, v] = stat([...a, ...b]);
    expect(combined[0]).toBeCloseTo(m, 5);
    // Exact up to the Bessel factors: (N−1)/N of the whole against (n_k−1)/n_k of the shards.
    expect(Math.abs(combined[6]! - v) / v).toBeLessThan(0.1);
  });

  it('one replica follows the in-process engine’s curve', async () => {
    const local = await train(base({}));
    const engine = await inProcessEngine(1);
    const parallel = await train(base({ engine }));
    await engine.dispose();
    local.history.forEach((h, i) => {
      expect(parallel.history[i]!.trainLoss).toBeCloseTo(h.trainLoss, 4);
      expect(parallel.history[i]!.testLoss!).toBeCloseTo(h.testLoss!, 4);
    });
  });

  it('two replicas learn, stay bit-identical, and leave no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const engine = await inProcessEngine(2);
    expect(engine.backend).toBe('cpu×2');
    const result = await train(base({ engine, epochs: 4 }));
    expect(result.status).toBe('completed');
    expect(result.history.at(-1)!.testAccuracy!).toBeGreaterThan(0.6);
    const [r0, r1] = await engine.snapshots();
    for (const group of ['params', 'state', 'momentum'] as const) {
      for (const name of Object.keys(r0![group])) {
        expect(r1![group][name]!.data).toEqual(r0![group][name]!.data);
      }
    }
    await engine.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('cancels and reports a replica’s failure as the run’s error', async () => {
    const engine = await inProcessEngine(2);
    const controller = new AbortController();
    const cancelled = await train(
      base({
        engine,
        signal: controller.signal,
        onProgress: (p) => p.step === 2 && controller.abort(),
      }),
    );
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.step).toBe(2);
    await engine.dispose();

    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    serveReplica({
      channel: messagePortChannel<ReplicaRequest, ReplicaReply>(port2),
      createModel: () => tinyModel({ failAtCall: 2 }),
    });
    const failing = await ParallelEngine.create({
      model: tinyModel(),
      sgd: LI_ET_AL_SGD,
      channels: [messagePortChannel<ReplicaReply, ReplicaRequest>(port1)],
    });
    await expect(train(base({ engine: failing }))).rejects.toThrow(
      /replica 0: .*deliberate failure/,
    );
    await failing.dispose();
  });
});
