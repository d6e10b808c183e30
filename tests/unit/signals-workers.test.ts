/**
 * `signals`, `gsc` and `responses` dealt out to lanes (src/compute/jobs/pooled.ts), the
 * code of the command line's worker threads, with the job runners served on
 * this thread over MessageChannels: two lanes give the one-thread result bit
 * for bit (draws split unevenly, several networks, pairs; batches of images); a cancel keeps
 * exactly the draws (signals) or networks (gsc) finished, each equal to its
 * one-thread value; no tensor is left behind. The threads themselves run in
 * signals-workers-cli.test.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelLanes } from '../../src/compute/jobs/lanes';
import type { JobLanes } from '../../src/compute/jobs/lanes';
import { pooledGsc, pooledResponses, pooledSignals } from '../../src/compute/jobs/pooled';
import type { GscRun } from '../../src/compute/jobs/pooled';
import type { FromWorker, ToWorker } from '../../src/compute/jobs/protocol';
import { createJobRunner } from '../../src/compute/jobs/runner';
import { JOB_TABLE } from '../../src/compute/jobs/table';
import {
  measureSignalDraws,
  measureSignals,
  signalLayout,
  summariseSignals,
  type SignalNetwork,
  type SignalStatistics,
} from '../../src/compute/signals';
import { gradientScaleCoefficients } from '../../src/compute/signals/gsc';
import type { GscResult } from '../../src/compute/signals/gsc-draws';
import { messagePortChannel } from '../../src/compute/train/parallel';
import type { Dataset } from '../../src/compute/data/dataset';
import { createModel } from '../../src/compute/models';
import type { ResNetSpec } from '../../src/compute/models';
import { createRng } from '../../src/compute/random';
import { measureResponses } from '../../src/compute/signals/responses';
import { toArrayMap } from '../../src/compute/train/state';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ports: MessagePort[] = [];
afterAll(() => ports.forEach((p) => p.close()));

/** `count` job runners on this thread, each behind a MessageChannel, as lanes. */
function inProcessLanes(count: number): JobLanes {
  return channelLanes(
    Array.from({ length: count }, () => {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1, port2);
      const runner = createJobRunner({
        post: (m, transfer) => port2.postMessage(m, (transfer ?? []) as Transferable[]),
        jobs: JOB_TABLE,
        startBackend: async () => ({ name: 'cpu', reason: 'test' }),
      });
      port2.onmessage = (e: MessageEvent<ToWorker>) => runner.handle(e.data);
      return messagePortChannel<FromWorker, ToWorker>(port1);
    }),
  );
}

/** Lanes that also note which draw each partial result was. */
function recording(lanes: JobLanes, draws: number[]): JobLanes {
  return {
    lanes: lanes.lanes,
    run: (lane, kind, params, handlers = {}) =>
      lanes.run(lane, kind, params, {
        ...handlers,
        onPartial: (p) => {
          draws.push((p as { draw: number }).draw);
          handlers.onPartial?.(p);
        },
      }),
  };
}

const net = (o: Partial<SignalNetwork> = {}): SignalNetwork => ({
  width: 12,
  depth: 9,
  activation: 'tanh',
  init: 'gaussian',
  sigmaW2: 1.5,
  residualAlpha: null,
  batchNorm: false,
  ...o,
});

/** Everything but the timings, which differ from run to run. */
function untimed(s: SignalStatistics): SignalStatistics {
  return { ...s, elapsedMs: 0, timing: { weightsMs: 0, passMs: 0, readMs: 0, statsMs: 0 } };
}

describe('signals on lanes', () => {
  it.each([
    ['plain tanh', net()],
    ['residual ReLU with BN', net({ activation: 'relu', residualAlpha: 0.5, batchNorm: true })],
  ])('two lanes equal one thread bit for bit (%s, 5 draws split 2 + 3)', async (_, network) => {
    const options = { network, batch: 10, draws: 5, seed: 7 };
    const before = tf.memory().numTensors;
    let progress = 0;
    const pooled = await pooledSignals(
      { ...options, onProgress: (p) => void (progress = p.drawsDone) },
      inProcessLanes(2),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toBe(5);
    const one = await measureSignals(options);
    expect(pooled.draws).toBe(5);
    expect(untimed(pooled)).toEqual(untimed(one));
  });

  it('a cancel keeps exactly the draws finished, each as one thread measures it', async () => {
    const layout = signalLayout({ network: net(), batch: 10, draws: 12, seed: 3 });
    const controller = new AbortController();
    const draws: number[] = [];
    const pooled = await pooledSignals(
      {
        network: layout.network,
        batch: layout.batch,
        draws: layout.draws,
        seed: layout.seed,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.drawsDone === 3) controller.abort();
        },
      },
      recording(inProcessLanes(2), draws),
    );
    expect(pooled.draws).toBe(draws.length);
    expect(draws.length).toBeGreaterThanOrEqual(3);
    expect(draws.length).toBeLessThan(12);
    const all = await measureSignalDraws({ layout, from: 0, to: 12 });
    const expected = summariseSignals(
      layout,
      all.filter((d) => draws.includes(d.draw)),
      0,
    );
    expect(untimed(pooled)).toEqual(untimed(expected));
  });
});

describe('gsc on lanes', () => {
  const runs: GscRun[] = [
    {
      network: net({ depth: 5, width: 6 }),
      seed: 2,
      inputs: 16,
      projections: 2,
      draws: 3,
      pairs: true,
    },
    {
      network: net({ depth: 4, width: 6, activation: 'relu', residualAlpha: 1, batchNorm: true }),
      seed: 2,
      inputs: 16,
      projections: 3,
      draws: 1,
      pairs: false,
    },
    {
      network: net({ depth: 6, width: 5, activation: 'selu', init: 'orthogonal' }),
      seed: 5,
      inputs: 12,
      projections: 2,
      draws: 4,
      pairs: false,
    },
  ];
  let one: GscResult[];
  beforeAll(async () => {
    one = [];
    for (const run of runs) one.push((await gradientScaleCoefficients(run)) as GscResult);
  });

  it('two lanes equal one thread bit for bit, leave no tensor, count every pass', async () => {
    const before = tf.memory().numTensors;
    let last: [number, number] = [0, 0];
    const finished: number[] = [];
    const pooled = await pooledGsc(runs, inProcessLanes(2), {
      onProgress: (done, total) => void (last = [done, total]),
      onRun: (i) => void finished.push(i),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(pooled).toEqual(one);
    // Passes: 3 draws × (1 + 4 pair passes), 1 draw × 1, 4 draws × 1.
    expect(last).toEqual([20, 20]);
    expect([...finished].sort()).toEqual([0, 1, 2]);
  });

  it('three lanes and one lane give the same', async () => {
    expect(await pooledGsc(runs, inProcessLanes(3))).toEqual(one);
    expect(await pooledGsc(runs, inProcessLanes(1))).toEqual(one);
  });

  it('a cancel ends with the networks finished, each as one thread measures it', async () => {
    const controller = new AbortController();
    const finished = new Map<number, GscResult>();
    const before = tf.memory().numTensors;
    const pooled = await pooledGsc(runs, inProcessLanes(2), {
      signal: controller.signal,
      onRun: (i, r) => {
        finished.set(i, r);
        controller.abort();
      },
    });
    expect(pooled).toBe('cancelled');
    expect(tf.memory().numTensors).toBe(before);
    expect(finished.size).toBeGreaterThanOrEqual(1);
    expect(finished.size).toBeLessThan(runs.length);
    for (const [i, r] of finished) expect(r).toEqual(one[i]);
  });

  it("a slice of the page's GSC run sees a cancel sent as a message between its draws", async () => {
    // The figure's `gsc-draws` jobs measure slices of draws; a cancel arrives as a message,
    // which the runner reads only when the job yields to the event loop.
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    let passes = 0;
    const outcome = await inProcessLanes(1).run(
      0,
      'gsc-draws',
      {
        network: net({ depth: 6, width: 5 }),
        seed: 1,
        inputs: 12,
        projections: 1,
        draws: 8,
        pairs: false,
        from: 0,
        to: 8,
      },
      {
        signal: controller.signal,
        onProgress: (p) => {
          passes = p.done;
          if (p.done === 1) controller.abort();
        },
      },
    );
    expect(outcome.cancelled).toBe(true);
    expect(outcome.result?.draws ?? 0).toBeLessThan(8);
    expect(passes).toBeLessThan(8);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('responses on lanes', () => {
  const spec: ResNetSpec = {
    kind: 'resnet',
    depth: 8,
    shortcut: 'B',
    skip: true,
    residualScale: 1,
    inputShape: [1, 8, 8],
    classes: 3,
  };
  const count = 22;
  const rng = createRng(11);
  const dataset: Dataset = {
    name: 'synthetic',
    split: 'train',
    images: Uint8Array.from({ length: count * 64 }, () => Math.floor(rng.uniform() * 256)),
    labels: Uint8Array.from({ length: count }, (_, i) => i % 3),
    count,
    height: 8,
    width: 8,
    channels: 1,
    classes: 3,
    classNames: ['a', 'b', 'c'],
  };

  it.each(['batch', 'running'] as const)(
    'two and three lanes equal one thread bit for bit (BN %s, 20 images in batches of 6)',
    async (bn) => {
      const model = createModel(spec);
      const init = model.init(3);
      const weights = {
        kind: 'trained' as const,
        params: await toArrayMap(init.params),
        state: await toArrayMap(init.state),
      };
      Object.values(init.params).forEach((t) => t.dispose());
      Object.values(init.state).forEach((t) => t.dispose());
      const options = { weights, dataset, images: 20, bn, batchSize: 6 };
      const before = tf.memory().numTensors;
      let images = 0;
      const two = await pooledResponses(
        { ...options, spec, onProgress: (done) => void (images = done) },
        inProcessLanes(2),
      );
      const three = await pooledResponses({ ...options, spec }, inProcessLanes(3));
      const one = await measureResponses({ ...options, model });
      expect(tf.memory().numTensors).toBe(before);
      expect(images).toBe(20);
      expect(two).toEqual(one);
      expect(three).toEqual(one);
    },
  );

  it('a cancel ends it as one thread does', async () => {
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    const r = await pooledResponses(
      {
        spec,
        weights: { kind: 'initial', seed: 1 },
        dataset,
        batchSize: 4,
        signal: controller.signal,
        onProgress: () => controller.abort(),
      },
      inProcessLanes(2),
    );
    expect(r).toBe('cancelled');
    expect(tf.memory().numTensors).toBe(before);
  });
});
