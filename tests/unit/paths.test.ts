/**
 * Veit et al.'s path studies (src/compute/paths): the binomial path-length
 * distribution, the gated backward pass behind the gradient per path length,
 * the lesion study, and the two commands that run them.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { runCli } from '../../src/cli/cli';
import { createJobRunner } from '../../src/compute/jobs/runner';
import type { FromWorker } from '../../src/compute/jobs/protocol';
import { JOB_TABLE } from '../../src/compute/jobs/table';
import type { CommandIo } from '../../src/cli/commands/types';
import { batches } from '../../src/compute/data/batches';
import { firstExamples, loadFashionMnist } from '../../src/compute/data/dataset';
import type { Dataset } from '../../src/compute/data/dataset';
import { createModel } from '../../src/compute/models';
import type { Model, ResNetSpec, TensorMap } from '../../src/compute/models';
import {
  binomialCounts,
  effectiveRange,
  firstBlockInput,
  gatedInputGradient,
  gatedSum,
  firstChangedBlock,
  kendallTau,
  lesionedNetwork,
  lesionGroups,
  lesionPlan,
  lesionStudy,
  parseLesionArtifact,
  parsePathsArtifact,
  pathLengthDistribution,
  pathShare,
  residualBlocks,
  samplePathGradients,
  summarisePathGradients,
  swapWithinStages,
  totalContribution,
} from '../../src/compute/paths';
import type { Gate } from '../../src/compute/paths';
import { initBackend } from '../../src/compute/backend';
import { createRng } from '../../src/compute/random';
import { evaluateDataset } from '../../src/compute/train/batches';
import {
  checkpointFileName,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../../src/compute/train/checkpoint';
import type { Lesion, LesionResult } from '../../src/compute/paths';
import { countCorrect, LocalEngine, sumCrossEntropy } from '../../src/compute/train/engine';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import { messagePortChannel, ParallelEngine, serveReplica } from '../../src/compute/train/parallel';
import type { Channel, ReplicaReply, ReplicaRequest } from '../../src/compute/train/parallel';
import { disposeMap, initialTrainingState, toTensorMap } from '../../src/compute/train/state';
import type { TrainingState } from '../../src/compute/train/state';
import { onThisThread } from './in-process';

const PUBLIC = join(import.meta.dirname, '..', '..', 'public');

const spec = (skip: boolean): ResNetSpec => ({
  kind: 'resnet',
  depth: 8,
  shortcut: 'B',
  skip,
  residualScale: 1,
  inputShape: [1, 28, 28],
  classes: 10,
});

let data: Dataset;
const nets: Record<'skip' | 'plain', { model: Model; training: TrainingState }> = {} as never;

/** BN statistics away from (0, 1), so inference-mode BN is not the identity. */
function perturbState(training: TrainingState, seed: number): TrainingState {
  const rng = createRng(seed);
  const state = Object.fromEntries(
    Object.entries(training.state).map(([n, a]) => [
      n,
      {
        shape: a.shape,
        data: a.data.map(() =>
          n.endsWith('runningVar') ? 0.5 + rng.uniform() : 0.3 * rng.normal(),
        ),
      },
    ]),
  );
  return { ...training, state };
}

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  const test = await loadFashionMnist({
    readBytes: async (p) => new Uint8Array(await readFile(join(PUBLIC, p))),
    split: 'test',
    limit: 24,
  });
  data = firstExamples({ dataset: test, count: 24 });
  for (const [key, skip] of [
    ['skip', true],
    ['plain', false],
  ] as const) {
    const model = createModel(spec(skip));
    nets[key] = { model, training: perturbState(await initialTrainingState(model, 7), 11) };
  }
}, 60_000);

describe('path-length distribution', () => {
  test('C(n, k) exactly: Pascal rows and their sum 2^n', () => {
    expect(binomialCounts(0)).toEqual([1n]);
    expect(binomialCounts(5)).toEqual([1n, 5n, 10n, 10n, 5n, 1n]);
    for (const n of [1, 7, 27, 54, 110]) {
      const row = binomialCounts(n);
      expect(row.reduce((a, b) => a + b, 0n)).toBe(2n ** BigInt(n));
      for (let k = 1; k < n; k++)
        expect(row[k]).toBe(binomialCounts(n - 1)[k - 1]! + binomialCounts(n - 1)[k]!);
    }
    // C(54, 27), beyond 2^50: Veit et al.'s ResNet-110 has 54 blocks.
    expect(binomialCounts(54)[27]).toBe(1946939425648112n);
  });

  test('P(k) = C(n, k) / 2^n and sums to one, at any depth', () => {
    for (const n of [1, 3, 10, 27, 40]) {
      const p = pathLengthDistribution(n);
      const c = binomialCounts(n);
      p.forEach((v, k) => expect(v).toBeCloseTo(Number(c[k]!) / 2 ** n, 15));
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    const deep = pathLengthDistribution(2000);
    expect(deep.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(deep.every(Number.isFinite)).toBe(true);
  });

  test('contribution, effective range and share', () => {
    const p = pathLengthDistribution(4); // 1, 4, 6, 4, 1 over 16
    const c = totalContribution(p, [1, 1, 1, 1, 1]);
    c.forEach((v, k) => expect(v).toBeCloseTo(p[k]!, 15));
    // Magnitudes 8, 4, 2, 1, 0.5: contributions ∝ 8, 16, 12, 4, 0.5.
    const d = totalContribution(p, [8, 4, 2, 1, 0.5]);
    expect(d.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(d[1]! / d[0]!).toBeCloseTo(2, 12);
    // 90 % of 40.5 = 36.45: [0, 2] holds 36, [1, 3] holds 32, so [0, 3] (40) is the shortest.
    expect(effectiveRange(d)).toEqual([0, 3]);
    expect(effectiveRange([0, 0, 1, 0])).toEqual([2, 2]);
    expect(pathShare(p, [1, 3])).toBeCloseTo(14 / 16, 15);
  });
});

describe('gated backward pass', () => {
  test('by hand: y = (a·x + x)², branch a·x, skip x', () => {
    const grad = (gate: Gate) =>
      tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) => tf.sum(tf.square(gatedSum(tf.mul(x, 3), x, gate))))(tf.scalar(2))
          .arraySync(),
      );
    // y = (3·2 + 2)² = 64; ∂y/∂(sum) = 16; branch: 16·3, skip: 16·1, both: 16·4.
    expect(grad('branch')).toBeCloseTo(48, 5);
    expect(grad('skip')).toBeCloseTo(16, 5);
    expect(grad('both')).toBeCloseTo(64, 5);
  });

  /** The gradient at the first block's input with every branch output (or every shortcut) held fixed. */
  function heldGradient(hold: 'residual' | 'shortcut', params: TensorMap, state: TensorMap) {
    const { model } = nets.skip;
    return tf.tidy(() => {
      const x = tf.tensor4d(normalised(), [data.count, 28, 28, 1]);
      const labels = tf.tensor1d(Array.from(data.labels), 'int32');
      const h = firstBlockInput({ model, params, state, x });
      // Pass 1: the values to hold, computed outside the differentiated function (constants).
      const held: tf.Tensor[] = [];
      tf.tidy(() => {
        model.forward(params, state, x, {
          training: false,
          combine: (_b, r, s) => {
            held.push(tf.keep(hold === 'residual' ? r : s));
            return tf.add(r, s);
          },
        });
      });
      const first = `${residualBlocks(model.spec)[0]!.name}.input`;
      const g = tf.grad((input: tf.Tensor) => {
        const { logits } = model.forward(params, state, x, {
          training: false,
          tap: (name, t) => (name === first ? input : t),
          combine: (b, r, s) =>
            tf.add(
              hold === 'residual' ? held[b.index]! : r,
              hold === 'shortcut' ? held[b.index]! : s,
            ),
        });
        return sumCrossEntropy(logits, labels);
      })(h);
      tf.dispose(held);
      return g;
    });
  }

  function normalised(): Float32Array {
    // batches() normalises; one batch of everything.
    return [...batches({ dataset: data, batchSize: data.count })][0]!.x;
  }

  function gated(gate: (b: number) => Gate, params: TensorMap, state: TensorMap): tf.Tensor {
    const { model } = nets.skip;
    return tf.tidy(() => {
      const x = tf.tensor4d(normalised(), [data.count, 28, 28, 1]);
      const labels = tf.tensor1d(Array.from(data.labels), 'int32');
      const h = firstBlockInput({ model, params, state, x });
      return gatedInputGradient({ model, params, state, h, labels, gate });
    });
  }

  test('every branch chosen = the gradient with the shortcuts held fixed; none = with the branches held fixed', async () => {
    const params = toTensorMap(nets.skip.training.params);
    const state = toTensorMap(nets.skip.training.state);
    const before = tf.memory().numTensors;
    const allBranches = gated(() => 'branch', params, state);
    const throughBranches = heldGradient('shortcut', params, state);
    const allSkips = gated(() => 'skip', params, state);
    const throughSkips = heldGradient('residual', params, state);
    const scale = await maxAbs(allBranches);
    expect(scale).toBeGreaterThan(0);
    expect(await maxDiff(allBranches, throughBranches)).toBeLessThan(1e-5 * scale);
    expect(await maxDiff(allSkips, throughSkips)).toBeLessThan(1e-5 * Math.max(scale, 1e-6));
    expect(await maxDiff(allBranches, allSkips)).toBeGreaterThan(1e-3 * scale);
    tf.dispose([allBranches, throughBranches, allSkips, throughSkips]);
    expect(tf.memory().numTensors).toBe(before);
    disposeMap(params);
    disposeMap(state);
  });

  test('the 2^n gated gradients (one per path set) sum to the ordinary gradient', async () => {
    const params = toTensorMap(nets.skip.training.params);
    const state = toTensorMap(nets.skip.training.state);
    const n = residualBlocks(nets.skip.model.spec).length;
    expect(n).toBe(3);
    const ordinary = gated(() => 'both', params, state);
    let sum = tf.zerosLike(ordinary);
    for (let set = 0; set < 2 ** n; set++) {
      const g = gated((b) => ((set >> b) & 1 ? 'branch' : 'skip'), params, state);
      const next = tf.add(sum, g);
      tf.dispose([sum, g]);
      sum = next;
    }
    const scale = await maxAbs(ordinary);
    expect(await maxDiff(sum, ordinary)).toBeLessThan(1e-4 * scale);
    tf.dispose([sum, ordinary]);
    disposeMap(params);
    disposeMap(state);
  });

  test('sampling: every length, resumable, no tensor left behind', async () => {
    const { model, training } = nets.skip;
    const params = toTensorMap(training.params);
    const state = toTensorMap(training.state);
    const before = tf.memory().numTensors;
    const options = { model, params, state, data, batchSize: 8, seed: 5 };
    const full = await samplePathGradients({ ...options, samples: 3 });
    expect(full.samples.map((s) => s.length)).toEqual([3, 3, 3, 3]);
    const first = await samplePathGradients({ ...options, samples: 1 });
    const resumed = await samplePathGradients({ ...options, samples: 3, previous: first });
    expect(resumed.samples).toEqual(full.samples);
    const controller = new AbortController();
    controller.abort();
    const cancelled = await samplePathGradients({
      ...options,
      samples: 3,
      signal: controller.signal,
    });
    expect(cancelled.samples.flat()).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    const summary = summarisePathGradients(full);
    expect(summary.lengths).toEqual([0, 1, 2, 3]);
    expect(summary.gradientMagnitude.every((m) => m !== null && m > 0)).toBe(true);
    expect(summary.contribution.reduce((a, b) => a! + b!, 0)).toBeCloseTo(1, 12);
    disposeMap(params);
    disposeMap(state);
  });

  test('sampling on replicas: the same samples as one thread; cancel keeps whole lists; resume', async () => {
    const { model, training } = nets.skip;
    const before = tf.memory().numTensors;
    const params = toTensorMap(training.params);
    const state = toTensorMap(training.state);
    const options = { model, params, state, data, batchSize: 8, seed: 5, samples: 3 };
    const one = await samplePathGradients(options);
    const replicas = inProcessReplicas(2);
    const engine = await ParallelEngine.create({
      model,
      sgd: LI_ET_AL_SGD,
      channels: replicas.channels,
    });
    const pool = { pool: engine, origin: { params: training.params, state: training.state } };
    const rounds: number[][] = [];
    const two = await samplePathGradients({
      ...options,
      pool,
      onRound: (r) => void rounds.push(r.samples.map((s) => s.length)),
    });
    expect(two).toEqual(one);
    expect(rounds).toEqual([
      [1, 1, 1, 1],
      [2, 2, 2, 2],
      [3, 3, 3, 3],
    ]);
    const controller = new AbortController();
    const partial = await samplePathGradients({
      ...options,
      pool,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 6) controller.abort();
      },
    });
    const taken = partial.samples.flat().length;
    expect(taken).toBeGreaterThanOrEqual(6);
    expect(taken).toBeLessThan(12);
    // Every length's list is a prefix of the full run's.
    partial.samples.forEach((list, k) =>
      expect(list).toEqual(one.samples[k]!.slice(0, list.length)),
    );
    const resumed = await samplePathGradients({ ...options, pool, previous: partial });
    expect(resumed).toEqual(one);
    await engine.dispose();
    expect(engine.replicaTensorsAfterDispose).toEqual(engine.replicaTensorsAtStart);
    replicas.close();
    disposeMap(params);
    disposeMap(state);
    expect(tf.memory().numTensors).toBe(before);
  }, 200_000);
});

/** Whether every lesion a partial study finished has the whole study's error. */
function keptMatch(partial: LesionResult, whole: LesionResult): boolean {
  const pairs: [number | null, number | null][] = [
    [partial.baselineError, whole.baselineError],
    ...partial.deleteOne.map((d, i): [number | null, number | null] => [
      d.error,
      whole.deleteOne[i]!.error,
    ]),
    ...partial.deleteKDraws.map((d, i): [number | null, number | null] => [
      d.error,
      whole.deleteKDraws[i]!.error,
    ]),
    ...partial.reorder.map((d, i): [number | null, number | null] => [
      d.error,
      whole.reorder[i]!.error,
    ]),
  ];
  return pairs.every(([p, w]) => p === null || p === w);
}

/** Replicas served on this thread over MessageChannels (the pool's code, without worker threads). */
function inProcessReplicas(count: number): {
  channels: Channel<ReplicaReply, ReplicaRequest>[];
  close: () => void;
} {
  const ports: MessagePort[] = [];
  const channels = Array.from({ length: count }, () => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    serveReplica({ channel: messagePortChannel<ReplicaRequest, ReplicaReply>(port2), createModel });
    return messagePortChannel<ReplicaReply, ReplicaRequest>(port1);
  });
  return { channels, close: () => ports.forEach((p) => p.close()) };
}

async function maxAbs(a: tf.Tensor): Promise<number> {
  const m = tf.tidy(() => tf.max(tf.abs(a)));
  const v = (await m.data())[0]!;
  m.dispose();
  return v;
}

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

describe('lesion study', () => {
  test("Kendall's τ and swaps within stages", () => {
    expect(kendallTau([0, 1, 2, 3])).toBe(1);
    expect(kendallTau([3, 2, 1, 0])).toBe(-1);
    expect(kendallTau([1, 0, 2, 3])).toBeCloseTo(1 - 2 / 6, 15);
    const blocks = residualBlocks({ ...spec(true), depth: 56 });
    const rng = createRng(1);
    for (let t = 0; t < 20; t++) {
      const order = swapWithinStages(blocks, 1 + t, rng.uniform);
      expect([...order].sort((a, b) => a - b)).toEqual(blocks.map((b) => b.index));
      order.forEach((from, p) => {
        expect(blocks[from]!.stage).toBe(blocks[p]!.stage);
        if (blocks[p]!.downsampling) expect(from).toBe(p);
      });
    }
  });

  for (const key of ['skip', 'plain'] as const) {
    test(`${key}: no lesion reproduces eval exactly; τ = 1 reproduces the baseline; no tensor leaks`, async () => {
      const { model, training } = nets[key];
      const engine = new LocalEngine({ model, sgd: LI_ET_AL_SGD });
      await engine.load(training);
      const evaluation = await evaluateDataset({ engine, dataset: data, batchSize: 16 });
      await engine.dispose();
      if (evaluation === 'cancelled') throw new Error('cancelled');
      const params = toTensorMap(training.params);
      const state = toTensorMap(training.state);
      const before = tf.memory().numTensors;
      const result = await lesionStudy({
        model,
        params,
        state,
        data,
        batchSize: 16,
        draws: 2,
        seed: 3,
        swapCounts: [0, 1, 2],
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(result.baselineError).toBe(1 - evaluation.accuracy);
      const identity = result.reorder.filter((r) => r.tau === 1);
      expect(identity.length).toBeGreaterThan(0);
      for (const r of identity) expect(r.error).toBe(result.baselineError);
      expect(result.deleteOne.map((d) => d.downsampling)).toEqual([false, true, true]);
      expect(result.deleteOne.every((d) => d.error !== null)).toBe(true);
      expect(result.deleteK.map((d) => d.k)).toEqual([1, 2, 3]);
      // k = 3 deletes every block: one draw, whatever the seed; no spread.
      expect(result.deleteK[2]!.spread).toBe(0);
      disposeMap(params);
      disposeMap(state);
    });
  }

  test('a deleted block: with skips its output is ReLU(shortcut); without, its input', () => {
    for (const key of ['skip', 'plain'] as const) {
      const { model, training } = nets[key];
      const params = toTensorMap(training.params);
      const state = toTensorMap(training.state);
      tf.tidy(() => {
        const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 1);
        const net = lesionedNetwork({
          model,
          params,
          state,
          lesion: { kind: 'deleteOne', block: 0 },
        });
        const out = model.forward(net.params, net.state, x, { ...net.forward, trace: true });
        const input = out.trace!['layer1.0.input']!;
        const output = out.trace!['layer1.0.output']!;
        // Stage 1's shortcut is the identity, and its input is already a ReLU's output.
        expect(tf.max(tf.abs(tf.sub(input, output))).arraySync()).toBe(0);
      });
      disposeMap(params);
      disposeMap(state);
    }
  });

  test('dealt out to replicas, the study is the same; cancelled, it keeps what the replicas finished', async () => {
    for (const key of ['skip', 'plain'] as const) {
      const { model, training } = nets[key];
      const before = tf.memory().numTensors;
      const params = toTensorMap(training.params);
      const state = toTensorMap(training.state);
      const options = {
        model,
        params,
        state,
        data,
        batchSize: 10,
        draws: 2,
        seed: 5,
        deleteCounts: [1, 2],
        swapCounts: [1, 2],
      };
      const one = await lesionStudy(options);
      const replicas = inProcessReplicas(2);
      const engine = await ParallelEngine.create({
        model,
        sgd: LI_ET_AL_SGD,
        channels: replicas.channels,
      });
      const pool = { pool: engine, origin: { params: training.params, state: training.state } };
      const groups: number[] = [];
      const two = await lesionStudy({
        ...options,
        pool,
        onProgress: (p) => groups.push(p.done),
      });
      expect(two).toEqual(one);
      // Several groups, dealt out to both replicas (the groups are a replica's share of one
      // thread's budget).
      expect(new Set(groups).size).toBe(groups.length);
      expect(groups.at(-1)).toBe(1 + 3 + 2 * 2 + 2 * 2);
      const controller = new AbortController();
      let seen = 0;
      const partial = await lesionStudy({
        ...options,
        pool,
        signal: controller.signal,
        onPartial: () => {
          if (++seen === 2) controller.abort();
        },
      });
      const finished = (r: typeof one) =>
        [
          r.baselineError,
          ...r.deleteOne.map((d) => d.error),
          ...r.deleteKDraws.map((d) => d.error),
          ...r.reorder.map((d) => d.error),
        ].filter((e) => e !== null);
      // The groups finished when the signal came are kept, and equal the whole study's.
      expect(finished(partial).length).toBeGreaterThanOrEqual(2);
      expect(finished(partial).length).toBeLessThan(finished(one).length);
      expect(keptMatch(partial, one)).toBe(true);
      const resumed = await lesionStudy({ ...options, pool, previous: partial });
      expect(resumed).toEqual(one);
      // Stopped part-way through a group (the replica's own pass loop sees the stop): that group
      // is not kept, the others are; the next study on the pool runs in full.
      const stopped = new AbortController();
      const cut = await lesionStudy({
        ...options,
        pool,
        signal: stopped.signal,
        onProgress: () => stopped.abort(),
      });
      expect(finished(cut).length).toBeGreaterThan(0);
      expect(finished(cut).length).toBeLessThan(finished(one).length);
      expect(keptMatch(cut, one)).toBe(true);
      expect(await lesionStudy({ ...options, pool, previous: cut })).toEqual(one);
      await engine.dispose();
      expect(engine.replicaTensorsAfterDispose).toEqual(engine.replicaTensorsAtStart);
      replicas.close();
      disposeMap(params);
      disposeMap(state);
      expect(tf.memory().numTensors).toBe(before);
    }
  }, 400_000);

  test('cancel keeps the lesions done; resume finishes the rest identically', async () => {
    const { model, training } = nets.plain;
    const params = toTensorMap(training.params);
    const state = toTensorMap(training.state);
    const options = {
      model,
      params,
      state,
      data,
      batchSize: 16,
      draws: 1,
      seed: 3,
      swapCounts: [1],
    };
    const full = await lesionStudy(options);
    const controller = new AbortController();
    let seen = 0;
    const partial = await lesionStudy({
      ...options,
      signal: controller.signal,
      onPartial: () => {
        if (++seen === 2) controller.abort();
      },
    });
    expect(partial.baselineError).toBe(full.baselineError);
    expect(partial.deleteOne[0]!.error).toBe(full.deleteOne[0]!.error);
    expect(partial.deleteOne[1]!.error).toBeNull();
    const resumed = await lesionStudy({ ...options, previous: partial });
    expect(resumed).toEqual(full);
    disposeMap(params);
    disposeMap(state);
  });
});

/**
 * The lesion study done the straightforward way, as it was before the fast one: every lesion a
 * whole forward pass of the changed network over every image, one pass per batch.
 */
async function straightforwardErrors(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  data: Dataset;
  batchSize: number;
  plan: readonly Lesion[];
}): Promise<number[]> {
  const { model, data } = options;
  const errors: number[] = [];
  for (const lesion of options.plan) {
    const net = lesionedNetwork({ ...options, lesion });
    let correct = 0;
    for (const b of batches({ dataset: data, batchSize: options.batchSize })) {
      const c = tf.tidy(() => {
        const x = tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]);
        const { logits } = model.forward(net.params, net.state, x, net.forward);
        return countCorrect(logits, tf.tensor1d(b.y, 'int32'));
      });
      correct += (await c.data())[0]!;
      c.dispose();
    }
    errors.push(1 - correct / data.count);
  }
  return errors;
}

/** A study's errors in plan order (baseline, single deletions, then draw by draw). */
function planErrors(result: LesionResult): (number | null)[] {
  const byDraw = (draw: number) => [
    ...result.deleteKDraws.filter((d) => d.draw === draw).map((d) => d.error),
    ...result.reorder.filter((r) => r.draw === draw).map((r) => r.error),
  ];
  return [
    result.baselineError,
    ...result.deleteOne.map((d) => d.error),
    ...Array.from({ length: result.draws }, (_, d) => byDraw(d)).flat(),
  ];
}

describe('the fast lesion study (each lesion from its first changed block)', () => {
  test('a pass from a block input, or to one, equals the whole pass', () => {
    for (const key of ['skip', 'plain'] as const) {
      const { model, training } = nets[key];
      const params = toTensorMap(training.params);
      const state = toTensorMap(training.state);
      tf.tidy(() => {
        const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 2);
        const whole = model.forward(params, state, x, { training: false, trace: true });
        const at = whole.trace!['layer2.0.input']!;
        const head = model.forward(params, state, tf.zeros([1]), {
          training: false,
          from: { probe: 'layer2.0.input', x: at },
        });
        expect(head.logits.shape).toEqual([3, 10]);
        expect(tf.max(tf.abs(tf.sub(head.logits, whole.logits))).arraySync()).toBe(0);
        const part = model.forward(params, state, x, { training: false, to: 'layer3.0.input' });
        expect(part.logits.shape).toEqual([0, 10]);
        const want = whole.trace!['layer3.0.input']!;
        expect(tf.max(tf.abs(tf.sub(part.at!, want))).arraySync()).toBe(0);
        const middle = model.forward(params, state, x, {
          training: false,
          from: { probe: 'layer2.0.input', x: at },
          to: 'layer3.0.input',
        });
        expect(tf.max(tf.abs(tf.sub(middle.at!, want))).arraySync()).toBe(0);
        expect(() =>
          model.forward(params, state, x, {
            training: false,
            from: { probe: 'layer9.0.input', x: at },
          }),
        ).toThrow(/never reached probe layer9.0.input/);
      });
      disposeMap(params);
      disposeMap(state);
    }
  });

  test('first changed blocks and groups by cost', () => {
    const n = 4;
    expect(firstChangedBlock({ kind: 'baseline' }, n)).toBe(4);
    expect(firstChangedBlock({ kind: 'deleteOne', block: 2 }, n)).toBe(2);
    expect(firstChangedBlock({ kind: 'deleteK', k: 2, draw: 0, blocks: [3, 1] }, n)).toBe(1);
    const reorder = (order: number[]): Lesion => ({
      kind: 'reorder',
      swaps: 1,
      draw: 0,
      order,
      tau: kendallTau(order),
    });
    expect(firstChangedBlock(reorder([0, 2, 1, 3]), n)).toBe(1);
    expect(firstChangedBlock(reorder([0, 1, 2, 3]), n)).toBe(4);
    const plan: Lesion[] = [
      { kind: 'baseline' },
      ...[0, 1, 2, 3].map((block): Lesion => ({ kind: 'deleteOne', block })),
    ];
    // Costs 4, 4, 3, 2, 1 in groups of at most 8 block evaluations.
    expect(lesionGroups(plan, n, 8).map((g) => g.length)).toEqual([2, 3]);
    // A lesion dearer than the budget still gets a group of its own.
    expect(lesionGroups(plan, n, 1).map((g) => g.length)).toEqual([1, 1, 1, 1, 1]);
  });

  for (const key of ['skip', 'plain'] as const) {
    test(`${key}: every lesion's error equals the straightforward whole pass, in any grouping`, async () => {
      const { model, training } = nets[key];
      const params = toTensorMap(training.params);
      const state = toTensorMap(training.state);
      const before = tf.memory().numTensors;
      const options = { model, params, state, data, batchSize: 10, draws: 1, seed: 5 };
      const blocks = residualBlocks(model.spec);
      const plan = lesionPlan({ blocks, draws: 1, seed: 5 });
      const expected = await straightforwardErrors({ ...options, plan });
      // Three passes (10, 10, 4 images), so the boundary between groups is kept per pass.
      const fast = await lesionStudy(options);
      expect(planErrors(fast)).toEqual(expected);
      expect(tf.memory().numTensors).toBe(before);
      disposeMap(params);
      disposeMap(state);
    });
  }

  test('the shipped ResNet-56, with and without skips: single deletions, the same errors as the whole passes', async () => {
    // On wasm, the backend of the live figure and the command line (cpu takes minutes here).
    expect((await initBackend({ prefer: ['wasm'] })).name).toBe('wasm');
    const seen = new Set<number>();
    try {
      for (const file of ['resnet56-skip', 'resnet56-noskip']) {
        const bytes = new Uint8Array(
          await readFile(join(PUBLIC, 'artifacts', 'runs', file, 'epoch-016.safetensors')),
        );
        const checkpoint = decodeCheckpoint(bytes, { source: file, layout: createModel });
        const model = createModel(checkpoint.meta.spec);
        const params = toTensorMap(checkpoint.training.params);
        const state = toTensorMap(checkpoint.training.state);
        // Ten images, in passes of six and four.
        const images = firstExamples({ dataset: data, count: 10 });
        const before = tf.memory().numTensors;
        const kinds: Lesion['kind'][] = ['baseline', 'deleteOne'];
        const plan = lesionPlan({ blocks: residualBlocks(model.spec), draws: 1, seed: 0 }).filter(
          (l) => kinds.includes(l.kind),
        );
        const options = { model, params, state, data: images, batchSize: 6 };
        const expected = await straightforwardErrors({ ...options, plan });
        const fast = await lesionStudy({ ...options, draws: 1, seed: 0, kinds });
        expect([fast.baselineError, ...fast.deleteOne.map((d) => d.error)]).toEqual(expected);
        for (const e of expected) seen.add(e);
        expect(tf.memory().numTensors).toBe(before);
        disposeMap(params);
        disposeMap(state);
      }
    } finally {
      await tf.setBackend('cpu');
    }
    // Trained networks and deletions that matter: the comparison is not between constant errors.
    expect(seen.size).toBeGreaterThan(2);
  }, 300_000);
});

describe('skipscape paths and lesion', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skipscape-paths-'));
    for (const [key, net] of Object.entries(nets)) {
      await writeFile(
        join(dir, `${key}-${checkpointFileName(1)}`),
        encodeCheckpoint({
          meta: {
            spec: net.model.spec,
            dataset: 'fashion-mnist',
            epoch: 1,
            step: 1,
            seed: 0,
            config: {
              epochs: 1,
              lr: 0.1,
              batchSize: 128,
              schedule: { kind: 'constant' },
              sgd: LI_ET_AL_SGD,
              augment: false,
              seed: 0,
              trainImages: 100,
              testImages: 0,
            },
            history: [],
            backend: 'cpu',
            written: new Date(0).toISOString(),
          },
          training: net.training,
        }),
      );
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: CommandIo = {
      out: (t) => void (out += t),
      err: (t) => void (err += t),
      progressStream: process.stderr,
    };
    const code = await runCli(onThisThread(argv), io);
    return { code, out, err };
  }

  test('paths --json equals the compute module; --out is a shipped artifact', async () => {
    const ckpt = join(dir, `skip-${checkpointFileName(1)}`);
    const out = join(dir, 'paths.json');
    const flags = [
      '--checkpoint',
      ckpt,
      '--samples',
      '2',
      '--subset',
      '24',
      '--batch',
      '8',
      '--seed',
      '4',
    ];
    const run = await cli('paths', ...flags, '--backend', 'cpu', '--json', '--out', out);
    expect(run.code, run.err).toBe(0);
    const printed = JSON.parse(run.out) as Record<string, unknown>;
    const { model, training } = nets.skip;
    const params = toTensorMap(training.params);
    const state = toTensorMap(training.state);
    const expected = summarisePathGradients(
      await samplePathGradients({ model, params, state, data, samples: 2, batchSize: 8, seed: 4 }),
    );
    disposeMap(params);
    disposeMap(state);
    expect(printed).toEqual(JSON.parse(JSON.stringify(expected)));
    for (const key of [
      'blocks',
      'lengths',
      'distribution',
      'gradientMagnitude',
      'contribution',
      'effectiveRange',
      'effectiveShare',
    ]) {
      expect(printed).toHaveProperty(key);
    }
    const artifact = parsePathsArtifact(await readFile(out, 'utf8'));
    expect(artifact.meta).toMatchObject({
      subset: 24,
      seed: 4,
      samplesPerLength: 2,
      complete: true,
      epoch: 1,
    });
    expect(artifact.meta.checkpointSha256).toMatch(/^[0-9a-f]{64}$/);
    const plain = await cli(
      'paths',
      '--checkpoint',
      join(dir, `plain-${checkpointFileName(1)}`),
      '--backend',
      'cpu',
    );
    expect(plain.code).toBe(2);
  });

  test('lesion --json equals the compute module', async () => {
    const ckpt = join(dir, `plain-${checkpointFileName(1)}`);
    const out = join(dir, 'lesion.json');
    const run = await cli(
      'lesion',
      '--checkpoint',
      ckpt,
      '--subset',
      '24',
      '--draws',
      '2',
      '--batch',
      '16',
      '--backend',
      'cpu',
      '--json',
      '--out',
      out,
    );
    expect(run.code, run.err).toBe(0);
    const printed = JSON.parse(run.out) as Record<string, unknown>;
    const { model, training } = nets.plain;
    const params = toTensorMap(training.params);
    const state = toTensorMap(training.state);
    const expected = await lesionStudy({
      model,
      params,
      state,
      data,
      batchSize: 16,
      draws: 2,
      seed: 0,
    });
    disposeMap(params);
    disposeMap(state);
    expect(printed).toEqual(JSON.parse(JSON.stringify(expected)));
    for (const key of ['baselineError', 'deleteOne', 'deleteK', 'reorder'])
      expect(printed).toHaveProperty(key);
    const artifact = parseLesionArtifact(await readFile(out, 'utf8'));
    expect(artifact.meta).toMatchObject({ subset: 24, draws: 2, complete: true, skip: false });
  });
});

describe('the lesion and path-gradient jobs (Run live)', () => {
  function encoded(key: 'skip' | 'plain'): Uint8Array {
    const net = nets[key];
    return encodeCheckpoint({
      meta: {
        spec: net.model.spec,
        dataset: 'fashion-mnist',
        epoch: 1,
        step: 1,
        seed: 0,
        config: {
          epochs: 1,
          lr: 0.1,
          batchSize: 128,
          schedule: { kind: 'constant' },
          sgd: LI_ET_AL_SGD,
          augment: false,
          seed: 0,
          trainImages: 100,
          testImages: 0,
        },
        history: [],
        backend: 'cpu',
        written: new Date(0).toISOString(),
      },
      training: net.training,
    });
  }

  function run(
    start: (send: (m: Parameters<ReturnType<typeof createJobRunner>['handle']>[0]) => void) => void,
  ) {
    const bytes = encoded('skip');
    const messages: FromWorker[] = [];
    let resolve: () => void = () => undefined;
    const ended = new Promise<void>((r) => (resolve = r));
    const runner = createJobRunner({
      post: (m) => {
        messages.push(m);
        if (m.type === 'done' || m.type === 'error') resolve();
      },
      jobs: JOB_TABLE,
      startBackend: async () => ({ name: 'cpu', reason: 'test' }),
      readBytes: async (p) =>
        p === 'checkpoint' ? bytes : new Uint8Array(await readFile(join(PUBLIC, p))),
    });
    start((m) => runner.handle(m));
    return { messages, ended, sha: createHash('sha256').update(bytes).digest('hex'), runner };
  }

  test('lesion: partial results, the same study as the compute module, cancel keeps, no tensors left', async () => {
    const before = tf.memory().numTensors;
    const params = {
      checkpoint: 'checkpoint',
      checkpointSha256: createHash('sha256').update(encoded('skip')).digest('hex'),
      dataDir: 'data/fashion-mnist',
      subset: 24,
      seed: 2,
      batchSize: 12,
      draws: 1,
    };
    const h = run((send) => send({ type: 'start', jobId: 'a', kind: 'lesion', params }));
    await h.ended;
    const done = h.messages.find((m) => m.type === 'done');
    expect(done && done.kind === 'lesion' && !done.cancelled).toBe(true);
    expect(h.messages.filter((m) => m.type === 'partial').length).toBeGreaterThan(3);
    const { model, training } = nets.skip;
    const p = toTensorMap(training.params);
    const st = toTensorMap(training.state);
    const expected = await lesionStudy({
      model,
      params: p,
      state: st,
      data,
      batchSize: 12,
      draws: 1,
      seed: 2,
    });
    disposeMap(p);
    disposeMap(st);
    expect(done!.type === 'done' && done!.result).toEqual(expected);
    expect(tf.memory().numTensors).toBe(before);

    // Cancel after the first partial result: the job ends with what it finished.
    let sent = false;
    const c = run((send) => {
      send({ type: 'start', jobId: 'b', kind: 'lesion', params });
      const timer = setInterval(() => {
        if (!sent && c.messages.some((m) => m.type === 'partial')) {
          sent = true;
          send({ type: 'cancel', jobId: 'b' });
          clearInterval(timer);
        }
      }, 1);
    });
    await c.ended;
    const cancelled = c.messages.find((m) => m.type === 'done');
    expect(cancelled?.type === 'done' && cancelled.cancelled).toBe(true);
    const kept =
      cancelled?.type === 'done' && cancelled.kind === 'lesion' ? cancelled.result : null;
    expect(kept?.baselineError).toBe(expected.baselineError);
    expect(kept?.deleteOne.some((d) => d.error === null)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('path-gradient: a wrong sha256 fails before any compute; a run ends with every length', async () => {
    const params = {
      checkpoint: 'checkpoint',
      checkpointSha256: '0'.repeat(64),
      dataDir: 'data/fashion-mnist',
      subset: 24,
      seed: 2,
      batchSize: 4,
      samples: 1,
    };
    const bad = run((send) => send({ type: 'start', jobId: 'c', kind: 'path-gradient', params }));
    await bad.ended;
    expect(bad.messages.at(-1)).toMatchObject({ type: 'error' });
    const before = tf.memory().numTensors;
    const good = run((send) =>
      send({
        type: 'start',
        jobId: 'd',
        kind: 'path-gradient',
        params: { ...params, checkpointSha256: bad.sha },
      }),
    );
    await good.ended;
    const done = good.messages.find((m) => m.type === 'done');
    expect(done?.type === 'done' && done.kind === 'path-gradient' && done.result.samples).toEqual([
      1, 1, 1, 1,
    ]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
