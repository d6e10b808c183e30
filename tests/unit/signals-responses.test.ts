/**
 * He et al.'s per-block statistics (src/compute/signals/responses.ts) against
 * a direct computation: a ResNet-8 written out by hand with plain tfjs ops
 * (conv2d, tf.moments for BN, autodiff through it), whose gradient at a
 * block's output is taken by differentiating the rest of the network written
 * as a function of that output. Then the command line on a checkpoint file.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli';
import { onThisThread } from './in-process';
import { loadDataset, parseDataset } from '../../src/cli/data';
import type { CommandIo } from '../../src/cli/commands/types';
import { batches } from '../../src/compute/data/batches';
import type { Dataset } from '../../src/compute/data/dataset';
import { createModel } from '../../src/compute/models';
import type { ResNetSpec, TensorMap } from '../../src/compute/models';
import { createRng } from '../../src/compute/random';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FromWorker, ToWorker } from '../../src/compute/jobs/protocol';
import type { ResponsesJobParams } from '../../src/compute/jobs/responses-job';
import { createJobRunner } from '../../src/compute/jobs/runner';
import { JOB_TABLE } from '../../src/compute/jobs/table';
import {
  blockResponses,
  measureResponses,
  responseSummary,
} from '../../src/compute/signals/responses';
import type { BlockResponses } from '../../src/compute/signals/responses';
import { encodeCheckpoint } from '../../src/compute/train/checkpoint';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import { disposeMap, toArrayMap } from '../../src/compute/train/state';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

const spec = (skip: boolean, inputShape: [number, number, number] = [1, 8, 8]): ResNetSpec => ({
  kind: 'resnet',
  depth: 8,
  shortcut: 'B',
  skip,
  residualScale: 1,
  inputShape,
  classes: 3,
});

function syntheticDataset(count: number): Dataset {
  const rng = createRng(11);
  const images = new Uint8Array(count * 8 * 8);
  for (let i = 0; i < images.length; i++) images[i] = Math.floor(rng.uniform() * 256);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % 3;
  return {
    name: 'synthetic',
    split: 'train',
    images,
    labels,
    count,
    height: 8,
    width: 8,
    channels: 1,
    classes: 3,
    classNames: ['a', 'b', 'c'],
  };
}

/** Initial parameters with BN γ, β drawn away from 1, 0, so responses differ from block to block. */
function parameters(skip: boolean): { params: TensorMap; state: TensorMap } {
  const { params, state } = createModel(spec(skip)).init(5);
  const rng = createRng(7);
  for (const [name, t] of Object.entries(params)) {
    if (name.endsWith('.gamma') || name.endsWith('.beta')) {
      const values = Array.from({ length: t.size }, () =>
        name.endsWith('.gamma') ? 0.2 + 1.5 * rng.uniform() : 0.3 * rng.normal(),
      );
      t.dispose();
      params[name] = tf.tensor1d(values);
    }
  }
  return { params, state };
}

/** The same network, written out: BN in training mode as (x − μ)/√(σ² + ε)·γ + β with biased σ². */
function direct(
  skip: boolean,
  p: TensorMap,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
): { outputs: tf.Tensor[]; responses: tf.Tensor[]; gradients: tf.Tensor[] } {
  const bn = (t: tf.Tensor, name: string) => {
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    return tf.add(
      tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), p[`${name}.gamma`]!),
      p[`${name}.beta`]!,
    );
  };
  // PyTorch's padding = 1 on every side (tfjs's 'same' pads stride-2 convolutions unevenly).
  const conv = (t: tf.Tensor, name: string, stride: number, pad = 1) =>
    tf.conv2d(
      t as tf.Tensor4D,
      p[`${name}.weight`] as tf.Tensor4D,
      stride,
      pad === 0
        ? 'valid'
        : [
            [0, 0],
            [pad, pad],
            [pad, pad],
            [0, 0],
          ],
    );
  const blocks = ['layer1.0', 'layer2.0', 'layer3.0'];
  const block = (t: tf.Tensor, i: number): { out: tf.Tensor; response: tf.Tensor } => {
    const n = blocks[i]!;
    const stride = i === 0 ? 1 : 2;
    const h = tf.relu(bn(conv(t, `${n}.conv1`, stride), `${n}.bn1`));
    const response = bn(conv(h, `${n}.conv2`, 1), `${n}.bn2`);
    if (!skip) return { out: tf.relu(response), response };
    const shortcut = i === 0 ? t : bn(conv(t, `${n}.shortcut.0`, 2, 0), `${n}.shortcut.1`);
    return { out: tf.relu(tf.add(response, shortcut)), response };
  };
  const loss = (t: tf.Tensor) => {
    const logits = tf.add(tf.matMul(tf.mean(t, [1, 2]), p['linear.weight']!), p['linear.bias']!);
    return tf.neg(tf.sum(tf.mul(tf.oneHot(labels, 3), tf.logSoftmax(logits))));
  };
  const stem = tf.relu(bn(conv(x, 'conv1', 1), 'bn1'));
  const outputs: tf.Tensor[] = [];
  const responses: tf.Tensor[] = [];
  let t: tf.Tensor = stem;
  for (let i = 0; i < 3; i++) {
    const b = block(t, i);
    outputs.push(b.out);
    responses.push(b.response);
    t = b.out;
  }
  // ∂(Σ_i ℓ_i)/∂x_b: differentiate the blocks after b and the head as a function of x_b.
  const gradients = outputs.map((o, b) =>
    tf.grad((ob: tf.Tensor) => {
      let u = ob;
      for (let i = b + 1; i < 3; i++) u = block(u, i).out;
      return loss(u) as tf.Scalar;
    })(o),
  );
  return { outputs, responses, gradients };
}

const std = (t: tf.Tensor) => Math.sqrt(tf.moments(t).variance.dataSync()[0]!);

describe('block responses (He et al. 2016, §4.1 and fig. 7)', () => {
  for (const skip of [true, false]) {
    it(`match a direct computation on a ResNet-8 ${skip ? 'with' : 'without'} skips`, async () => {
      const model = createModel(spec(skip));
      const { params, state } = parameters(skip);
      const dataset = syntheticDataset(6);
      const before = tf.memory().numTensors;
      const r = (await blockResponses({ model, params, state, dataset })) as BlockResponses;
      expect(tf.memory().numTensors).toBe(before);
      expect(r.blocks.map((b) => b.block)).toEqual(['layer1.0', 'layer2.0', 'layer3.0']);
      expect(r.blocks.map((b) => b.stage)).toEqual([1, 2, 3]);
      const [batch] = batches({ dataset, batchSize: 6 });
      tf.tidy(() => {
        const x = tf.tensor4d(batch!.x, [6, 8, 8, 1]);
        const d = direct(skip, params, x, tf.tensor1d(batch!.y, 'int32'));
        for (let i = 0; i < 3; i++) {
          const got = r.blocks[i]!;
          expect(got.outputStd).toBeCloseTo(std(d.outputs[i]!), 4);
          expect(got.responseStd).toBeCloseTo(std(d.responses[i]!), 4);
          const g = Math.sqrt(tf.sum(tf.square(d.gradients[i]!)).dataSync()[0]! / 6);
          expect(got.gradientNorm / g).toBeCloseTo(1, 4);
        }
      });
      // Batches of 3 pool into the same means over the 6 images for the output moments.
      const halves = (await blockResponses({
        model,
        params,
        state,
        dataset,
        batchSize: 3,
      })) as BlockResponses;
      expect(halves.images).toBe(6);
      expect(halves.blocks[0]!.gradientNorm).toBeGreaterThan(0);
      disposeMap(params);
      disposeMap(state);
    });
  }

  it('summarises first-to-last ratios and the mean response std', () => {
    const s = responseSummary({
      blocks: [
        { block: 'a', stage: 1, index: 0, outputStd: 2, gradientNorm: 9, responseStd: 1 },
        { block: 'b', stage: 3, index: 1, outputStd: 1, gradientNorm: 3, responseStd: 0.5 },
      ],
    });
    expect(s).toEqual({
      outputStdFirstOverLast: 2,
      gradientNormFirstOverLast: 3,
      meanResponseStd: 0.75,
    });
  });
});

describe('skipscape responses', () => {
  it('prints, as JSON, what the compute module measures on the checkpoint', async () => {
    const s = spec(true, [1, 28, 28]);
    const model = createModel(s);
    const init = model.init(2);
    const training = {
      params: await toArrayMap(init.params),
      state: await toArrayMap(init.state),
      momentum: {},
    };
    const dir = await mkdtemp(join(tmpdir(), 'responses-'));
    try {
      const file = join(dir, 'epoch-001.safetensors');
      await writeFile(
        file,
        encodeCheckpoint({
          meta: {
            spec: s,
            dataset: 'fashion-mnist',
            epoch: 1,
            step: 1,
            seed: 2,
            config: {
              epochs: 1,
              lr: 0.1,
              batchSize: 128,
              schedule: { kind: 'cosine' },
              sgd: LI_ET_AL_SGD,
              augment: true,
              seed: 2,
              trainImages: 8,
              testImages: 0,
            },
            history: [],
            backend: 'cpu',
            written: '2026-12-06T00:00:00Z',
          },
          training,
        }),
      );
      let out = '';
      const io: CommandIo = {
        out: (t) => void (out += t),
        err: () => undefined,
        progressStream: process.stderr,
      };
      const code = await (async () =>
        runCli(
          onThisThread([
            'responses',
            '--checkpoint',
            file,
            '--subset',
            '8',
            '--backend',
            'cpu',
            '--json',
          ]),
          io,
        ))();
      expect(code).toBe(0);
      const json = JSON.parse(out);
      const dataset = await loadDataset(parseDataset('t', 'fashion-mnist'), 'train', 8);
      const direct = (await blockResponses({
        model,
        params: init.params,
        state: init.state,
        dataset,
      })) as BlockResponses;
      expect(json).toMatchObject({
        model: 'resnet8',
        epoch: 1,
        seed: 2,
        split: 'train',
        bn: 'batch',
      });
      expect(json.blocks).toEqual(direct.blocks);
      expect(json.summary).toEqual(responseSummary(direct));
    } finally {
      disposeMap(init.params);
      disposeMap(init.state);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('measureResponses (the CLI and the live job)', () => {
  it('is blockResponses of the given weights with its summary, and leaves no tensor', async () => {
    const model = createModel(spec(false));
    const dataset = syntheticDataset(10);
    const before = tf.memory().numTensors;
    const initial = await measureResponses({
      model,
      weights: { kind: 'initial', seed: 4 },
      dataset,
      batchSize: 5,
    });
    expect(tf.memory().numTensors).toBe(before);
    const { params, state } = model.init(4);
    const direct = (await blockResponses({
      model,
      params,
      state,
      dataset,
      batchSize: 5,
    })) as BlockResponses;
    expect(initial).toEqual({ ...direct, summary: responseSummary(direct) });
    const trained = await measureResponses({
      model,
      weights: {
        kind: 'trained',
        params: await toArrayMap(params),
        state: await toArrayMap(state),
      },
      dataset,
      batchSize: 5,
    });
    expect(trained).toEqual(initial);
    disposeMap(params);
    disposeMap(state);
    expect(tf.memory().numTensors).toBe(before);
    await expect(
      measureResponses({ model, weights: { kind: 'initial', seed: 4 }, dataset, bn: 'running' }),
    ).rejects.toThrow(/no running statistics/);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the responses job (Run live)', () => {
  const PUBLIC = join(process.cwd(), 'public');
  const s = { ...spec(true, [1, 28, 28]), classes: 10 };

  /** A ResNet-8 checkpoint at epoch 3 whose weights are model.init(9) with BN γ, β moved. */
  async function checkpointBytes(): Promise<{ bytes: Uint8Array; sha: string }> {
    const model = createModel(s);
    const { params, state } = model.init(9);
    const rng = createRng(3);
    for (const [name, t] of Object.entries(params)) {
      if (name.endsWith('.gamma')) {
        params[name] = tf.tensor1d(Array.from({ length: t.size }, () => 0.3 + rng.uniform()));
        t.dispose();
      }
    }
    const training = {
      params: await toArrayMap(params),
      state: await toArrayMap(state),
      momentum: {},
    };
    disposeMap(params);
    disposeMap(state);
    const bytes = encodeCheckpoint({
      meta: {
        spec: s,
        dataset: 'fashion-mnist',
        epoch: 3,
        step: 3,
        seed: 9,
        config: {
          epochs: 3,
          lr: 0.1,
          batchSize: 128,
          schedule: { kind: 'cosine' },
          sgd: LI_ET_AL_SGD,
          augment: true,
          seed: 9,
          trainImages: 8,
          testImages: 0,
        },
        history: [],
        backend: 'cpu',
        written: '2026-12-07T00:00:00Z',
      },
      training,
    });
    return { bytes, sha: createHash('sha256').update(bytes).digest('hex') };
  }

  function run(bytes: Uint8Array, start: (send: (m: ToWorker) => void) => void) {
    const messages: FromWorker[] = [];
    let resolve: () => void = () => undefined;
    const ended = new Promise<void>((r) => (resolve = r));
    let runner: ReturnType<typeof createJobRunner> | null = null;
    runner = createJobRunner({
      post: (m) => {
        messages.push(m);
        if (m.type === 'partial' && cancelOnPartial)
          runner!.handle({ type: 'cancel', jobId: m.jobId });
        if (m.type === 'done' || m.type === 'error') resolve();
      },
      jobs: JOB_TABLE,
      startBackend: async () => ({ name: 'cpu', reason: 'test' }),
      readBytes: async (p) =>
        p === 'checkpoint' ? bytes : new Uint8Array(await readFile(join(PUBLIC, p))),
    });
    start((m) => runner!.handle(m));
    return { messages, ended };
  }
  let cancelOnPartial = false;

  it('measures the initial state and the checkpoint as measureResponses does; cancel keeps; no tensors left', async () => {
    const { bytes, sha } = await checkpointBytes();
    const params: ResponsesJobParams = {
      checkpoint: 'checkpoint',
      checkpointSha256: sha,
      dataDir: 'data/fashion-mnist',
      images: 12,
      batchSize: 6,
      seed: 5,
      states: ['initial', 'final'],
    };
    const before = tf.memory().numTensors;
    cancelOnPartial = false;
    const h = run(bytes, (send) => send({ type: 'start', jobId: 'a', kind: 'responses', params }));
    await h.ended;
    const done = h.messages.at(-1)!;
    if (done.type !== 'done' || done.kind !== 'responses')
      throw new Error(`ended with ${done.type}`);
    expect(done.cancelled).toBe(false);
    expect(done.result.map((r) => [r.state, r.epoch, r.skip, r.seed])).toEqual([
      ['initial', 0, true, 5],
      ['final', 3, true, 9],
    ]);
    expect(h.messages.filter((m) => m.type === 'partial')).toHaveLength(2);
    const progress = h.messages.flatMap((m) =>
      m.type === 'progress' && m.kind === 'responses' ? [m.progress] : [],
    );
    expect(progress).toEqual([
      { state: 'initial', done: 6, total: 12 },
      { state: 'initial', done: 12, total: 12 },
      { state: 'final', done: 6, total: 12 },
      { state: 'final', done: 12, total: 12 },
    ]);
    expect(tf.memory().numTensors).toBe(before);

    // The same numbers as the compute function the CLI calls, on the same images.
    const dataset = await loadDataset(parseDataset('t', 'fashion-mnist'), 'train', 12);
    const model = createModel(s);
    const initial = await measureResponses({
      model,
      weights: { kind: 'initial', seed: 5 },
      dataset,
      batchSize: 6,
    });
    expect(done.result[0]).toMatchObject(initial as object);
    const { decodeCheckpoint } = await import('../../src/compute/train/checkpoint');
    const decoded = decodeCheckpoint(bytes, { source: 'c', layout: createModel });
    const final = await measureResponses({
      model,
      weights: { kind: 'trained', params: decoded.training.params, state: decoded.training.state },
      dataset,
      batchSize: 6,
    });
    expect(done.result[1]).toMatchObject(final as object);
    expect(done.result[1]!.summary.meanResponseStd).not.toBeCloseTo(
      done.result[0]!.summary.meanResponseStd,
      3,
    );
    expect(tf.memory().numTensors).toBe(before);

    // Cancel at the first partial result: the job ends cancelled with the initial state only.
    cancelOnPartial = true;
    const c = run(bytes, (send) => send({ type: 'start', jobId: 'b', kind: 'responses', params }));
    await c.ended;
    const end = c.messages.at(-1)!;
    if (end.type !== 'done' || end.kind !== 'responses') throw new Error(`ended with ${end.type}`);
    expect(end.cancelled).toBe(true);
    expect(end.result.map((r) => r.state)).toEqual(['initial']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a checkpoint whose sha256 differs, and bad parameters, before any compute', async () => {
    const { bytes } = await checkpointBytes();
    const base: ResponsesJobParams = {
      checkpoint: 'checkpoint',
      checkpointSha256: '0'.repeat(64),
      dataDir: 'data/fashion-mnist',
      images: 4,
      batchSize: 4,
      seed: 0,
      states: ['initial'],
    };
    const before = tf.memory().numTensors;
    for (const [params, message] of [
      [base, /does not match the manifest/],
      [{ ...base, images: 1 }, /images must be a whole number from 2/],
      [{ ...base, states: [] }, /states must name/],
    ] as const) {
      cancelOnPartial = false;
      const h = run(bytes, (send) =>
        send({
          type: 'start',
          jobId: 'x',
          kind: 'responses',
          params: params as ResponsesJobParams,
        }),
      );
      await h.ended;
      const end = h.messages.at(-1)!;
      expect(end.type).toBe('error');
      expect(end.type === 'error' && end.message).toMatch(message);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
