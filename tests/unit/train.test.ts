import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/compute/train/checkpoint';
import type { Checkpoint } from '../../src/compute/train/checkpoint';
import { EXPLODED_LOSS_FACTOR, train } from '../../src/compute/train/loop';
import type { EpochEnd, TrainOptions } from '../../src/compute/train/loop';
import { foldRunningStats, sgdStep } from '../../src/compute/train/optimizer';
import { learningRateAt } from '../../src/compute/train/schedule';
import type { ScheduleSpec } from '../../src/compute/train/schedule';
import { stripesDataset, tinyModel } from './train-helpers';
import { createModel, parseModelName } from '../../src/compute/models';
import { forwardFlopsPerImage } from '../../src/compute/train/throughput';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('sgdStep', () => {
  /** PyTorch's SGD, written out in plain numbers for one scalar parameter. */
  function reference(options: {
    theta: number;
    grads: number[];
    lrs: number[];
    momentum: number;
    weightDecay: number;
    nesterov: boolean;
  }): number[] {
    let theta = options.theta;
    let buf: number | null = null;
    const out: number[] = [];
    options.grads.forEach((g, t) => {
      const d = g + options.weightDecay * theta;
      buf = buf === null ? d : options.momentum * buf + d;
      const u = options.nesterov ? d + options.momentum * buf : buf;
      theta -= options.lrs[t]! * u;
      out.push(theta);
    });
    return out;
  }

  for (const nesterov of [true, false]) {
    it(`matches torch.optim.SGD (nesterov ${nesterov}) over steps with a changing lr`, async () => {
      const grads = [0.5, -1.25, 2.0, 0.75];
      const lrs = [0.1, 0.1, 0.05, 0.01];
      const expected = reference({
        theta: 1.5,
        grads,
        lrs,
        momentum: 0.9,
        weightDecay: 5e-4,
        nesterov,
      });
      let params = { w: tf.scalar(1.5) } as Record<string, tf.Tensor>;
      let momentum = { w: tf.scalar(0) } as Record<string, tf.Tensor>;
      const got: number[] = [];
      for (let t = 0; t < grads.length; t++) {
        const g = { w: tf.scalar(grads[t]!) };
        const next = sgdStep({
          params,
          grads: g,
          momentum,
          lr: lrs[t]!,
          config: { momentum: 0.9, weightDecay: 5e-4, nesterov },
        });
        tf.dispose([params.w!, momentum.w!, g.w]);
        params = next.params;
        momentum = next.momentum;
        got.push((await params.w!.data())[0]!);
      }
      tf.dispose([params.w!, momentum.w!]);
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    });
  }

  it('folds BN statistics with PyTorch momentum 0.1 and keeps names absent from the batch', async () => {
    const state = { m: tf.tensor1d([0, 10]), v: tf.tensor1d([1, 1]) };
    const folded = foldRunningStats({ state, batchStats: { m: tf.tensor1d([1, 20]) } });
    expect(Array.from(await folded.m!.data())).toEqual([0.1, 11].map((x) => Math.fround(x)));
    expect(Array.from(await folded.v!.data())).toEqual([1, 1]);
    tf.dispose([...Object.values(state), ...Object.values(folded)]);
  });
});

describe('learningRateAt', () => {
  it('cosine decays from η₀ to 0 and step divides by γ at each milestone', () => {
    const cos = { kind: 'cosine' } as const;
    expect(learningRateAt({ schedule: cos, baseLr: 0.1, step: 0, totalSteps: 100 })).toBe(0.1);
    expect(learningRateAt({ schedule: cos, baseLr: 0.1, step: 50, totalSteps: 100 })).toBeCloseTo(
      0.05,
    );
    expect(learningRateAt({ schedule: cos, baseLr: 0.1, step: 100, totalSteps: 100 })).toBeCloseTo(
      0,
    );
    const step: ScheduleSpec = { kind: 'step', milestones: [0.5, 0.75], gamma: 0.1 };
    const at = (s: number) =>
      learningRateAt({ schedule: step, baseLr: 0.1, step: s, totalSteps: 100 });
    expect([at(49), at(50), at(74), at(75)].map((x) => +x.toPrecision(6))).toEqual([
      0.1, 0.01, 0.01, 0.001,
    ]);
  });
});

const TRAIN = stripesDataset({ count: 96, seed: 1 });
const TEST = { ...stripesDataset({ count: 64, seed: 2 }), split: 'test' as const };

function options(overrides: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model: tinyModel(),
    data: { train: TRAIN, test: TEST },
    epochs: 3,
    lr: 0.1,
    batchSize: 16,
    seed: 7,
    ...overrides,
  };
}

describe('train', () => {
  it('learns, reports progress, and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const epochs: EpochEnd[] = [];
    const result = await train(
      options({
        epochs: 4,
        onProgress: (p) => progress.push(p.step),
        onEpoch: (e) => void epochs.push(e),
      }),
    );
    expect(result.status).toBe('completed');
    expect(progress).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(epochs.map((e) => e.meta.epoch)).toEqual([1, 2, 3, 4]);
    const last = result.history.at(-1)!;
    expect(last.trainLoss).toBeLessThan(result.history[0]!.trainLoss);
    expect(last.testAccuracy!).toBeGreaterThan(0.6);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is reproducible: the same seed gives the same curve and weights, another seed does not', async () => {
    const a = await train(options());
    const b = await train(options());
    const c = await train(options({ seed: 8 }));
    const curve = (r: typeof a) => r.history.map((h) => [h.trainLoss, h.testLoss]);
    expect(curve(b)).toEqual(curve(a));
    expect(b.training.params['conv.weight']!.data).toEqual(a.training.params['conv.weight']!.data);
    expect(curve(c)).not.toEqual(curve(a));
  });

  it('resumes from a checkpoint (through safetensors bytes) onto the uninterrupted curve', async () => {
    const whole = await train(options({ epochs: 3 }));
    let saved: Uint8Array | null = null;
    const stop = new AbortController();
    const first = await train(
      options({
        epochs: 3,
        signal: stop.signal,
        onEpoch: (e) => {
          saved = encodeCheckpoint({ meta: e.meta, training: e.training });
          stop.abort();
        },
      }),
    );
    expect(first.status).toBe('cancelled');
    const model = tinyModel();
    const checkpoint: Checkpoint = decodeCheckpoint(saved!, {
      source: 'epoch-001.safetensors',
      layout: () => model,
    });
    const resumed = await train(options({ model, epochs: 3, resume: checkpoint }));
    expect(resumed.status).toBe('completed');
    expect(resumed.history).toHaveLength(3);
    const strip = (r: typeof whole) =>
      r.history.map(({ trainLoss, trainAccuracy, testLoss, testAccuracy, step, lr }) => ({
        trainLoss,
        trainAccuracy,
        testLoss,
        testAccuracy,
        step,
        lr,
      }));
    expect(strip(resumed)).toEqual(strip(whole));
    for (const name of Object.keys(whole.training.params)) {
      expect(resumed.training.params[name]!.data).toEqual(whole.training.params[name]!.data);
    }
    expect(resumed.training.momentum['fc.weight']!.data).toEqual(
      whole.training.momentum['fc.weight']!.data,
    );
  });

  it('refuses to resume a different run', async () => {
    let saved: EpochEnd | null = null;
    await train(options({ epochs: 1, onEpoch: (e) => void (saved = e) }));
    const resume = { meta: saved!.meta, training: saved!.training };
    await expect(train(options({ seed: 99, resume }))).rejects.toThrow(/seed is 7, not 99/);
    await expect(train(options({ batchSize: 32, resume }))).rejects.toThrow(/batch size is 16/);
  });

  it('cancels through an AbortSignal, keeping the epochs done and the state of the last step', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const epochs: number[] = [];
    const result = await train(
      options({
        epochs: 5,
        signal: controller.signal,
        onEpoch: (e) => void epochs.push(e.meta.epoch),
        onProgress: (p) => {
          if (p.step === 9) controller.abort();
        },
      }),
    );
    expect(result.status).toBe('cancelled');
    expect(result.step).toBe(9);
    expect(result.history.map((h) => h.epoch)).toEqual([1]);
    expect(epochs).toEqual([1]);
    expect(Object.keys(result.training.params)).toContain('conv.weight');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a cancel during the end-of-epoch evaluation records no half-evaluated epoch', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const epochs: number[] = [];
    const result = await train(
      options({
        signal: controller.signal,
        onEpoch: (e) => void epochs.push(e.meta.epoch),
        // 96 images in batches of 16: step 6 is the epoch's last, then comes evaluation.
        onProgress: (p) => p.step === 6 && controller.abort(),
      }),
    );
    expect(result.status).toBe('cancelled');
    expect(result.step).toBe(6);
    expect(result.history).toEqual([]);
    expect(epochs).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops at a non-finite loss, says where, and never hands over a corrupted checkpoint', async () => {
    const before = tf.memory().numTensors;
    const checkpoints: EpochEnd[] = [];
    const result = await train(
      options({
        lr: 1e12,
        schedule: { kind: 'constant' },
        onEpoch: (e) => void checkpoints.push(e),
      }),
    );
    expect(result.status).toBe('diverged');
    if (result.status !== 'diverged') return;
    const d = result.divergence;
    expect(d.step).toBeGreaterThan(1);
    // Either the loss stopped being finite, or it exploded past 100·ln(classes) first.
    if (Number.isFinite(d.loss)) {
      expect(d.loss).toBeGreaterThan(EXPLODED_LOSS_FACTOR * Math.log(4));
      expect(d.message).toMatch(/loss exploded to /);
    }
    expect(d.lastFiniteStep).toBe(d.step - 1);
    expect(Number.isFinite(d.lastFiniteLoss!)).toBe(true);
    expect(d.message).toMatch(new RegExp(`at step ${d.step} .*last finite loss`));
    // The state handed back holds no NaN (a non-finite step is not applied), and
    // no checkpoint of the epoch that diverged was handed over.
    for (const a of Object.values(result.training.params)) {
      expect(a.data.every(Number.isFinite)).toBe(true);
    }
    for (const c of checkpoints) {
      for (const a of Object.values(c.training.params))
        expect(a.data.every(Number.isFinite)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a failing job rejects and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    await expect(train(options({ model: tinyModel({ failAtCall: 4 }) }))).rejects.toThrow(
      /deliberate failure/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('forwardFlopsPerImage', () => {
  it('counts 2·k²·c_in·c_out·H·W per convolution and 2·m·n per dense layer of ResNet-20 on 28×28×1', async () => {
    const model = createModel(parseModelName('resnet20', { inputShape: [1, 28, 28], classes: 10 }));
    const conv = (k: number, cin: number, cout: number, hw: number) =>
      2 * k * k * cin * cout * hw * hw;
    const expected =
      conv(3, 1, 16, 28) +
      6 * conv(3, 16, 16, 28) +
      conv(3, 16, 32, 14) +
      conv(1, 16, 32, 14) +
      5 * conv(3, 32, 32, 14) +
      conv(3, 32, 64, 7) +
      conv(1, 32, 64, 7) +
      5 * conv(3, 64, 64, 7) +
      2 * 64 * 10;
    expect(expected).toBe(62_043_904);
    const before = tf.memory().numTensors;
    expect(await forwardFlopsPerImage(model, [28, 28, 1])).toBe(expected);
    expect(tf.memory().numTensors).toBe(before);
  });
});
