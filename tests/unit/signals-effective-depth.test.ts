/** The Taylor replacement behind effective depth (src/compute/signals/effective-depth.ts). */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../src/compute/models';
import type { Activation, MlpSpec } from '../../src/compute/models';
import { createRng } from '../../src/compute/random';
import { runCli } from '../../src/cli/cli';
import { onThisThread } from './in-process';
import type { CommandIo } from '../../src/cli/commands/types';
import { loadDataset, parseDataset } from '../../src/cli/data';
import {
  effectiveDepthExperiment,
  taylorReplacementErrors,
} from '../../src/compute/signals/effective-depth';
import type {
  EffectiveDepthNetwork,
  TaylorReplacement,
} from '../../src/compute/signals/effective-depth';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

const mlp = (activation: Activation, residualAlpha: number | null): MlpSpec => ({
  kind: 'mlp',
  width: 12,
  depth: 5,
  activation,
  init: 'kaiming',
  sigmaW: Math.SQRT2,
  residualAlpha,
  batchNorm: false,
  inputSize: 10,
  classes: 4,
});

function batch(n: number): { x: Float32Array; labels: Int32Array } {
  const rng = createRng(3);
  const x = new Float32Array(n * 10);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(4);
  return { x, labels };
}

async function curve(spec: MlpSpec): Promise<{ t: TaylorReplacement; exactError: number }> {
  const model = createModel(spec);
  const { params, state } = model.init(1);
  const { x, labels } = batch(40);
  const before = tf.memory().numTensors;
  const t = (await taylorReplacementErrors({
    model,
    params,
    state,
    x,
    xShape: [40, 10],
    labels,
  })) as TaylorReplacement;
  expect(tf.memory().numTensors).toBe(before);
  const exactError = tf.tidy(() => {
    const logits = model.forward(params, state, tf.tensor2d(x, [40, 10]), {
      training: false,
    }).logits;
    const wrong = tf.notEqual(tf.argMax(logits, 1), tf.tensor1d(labels, 'int32'));
    return tf.mean(tf.cast(wrong, 'float32')).dataSync()[0]!;
  });
  for (const p of Object.values(params)) p.dispose();
  return { t, exactError };
}

describe('Taylor replacement of the last layers', () => {
  it('replaces nothing at r = 0 and is exact for a linear network at every r', async () => {
    for (const alpha of [null, 0.5]) {
      const { t, exactError } = await curve(mlp('linear', alpha));
      expect(t.replaced).toEqual(alpha === null ? [0, 1, 2, 3, 4] : [0, 1, 2, 3, 4, 5]);
      for (const e of t.trainingError) expect(e).toBeCloseTo(exactError, 6);
      for (const l of t.loss) expect(l).toBeCloseTo(t.loss[0]!, 4);
    }
  });

  it('changes a ReLU network once non-linear layers are replaced', async () => {
    const { t, exactError } = await curve(mlp('relu', null));
    expect(t.trainingError[0]).toBeCloseTo(exactError, 6);
    expect(Math.max(...t.loss.map((l) => Math.abs(l - t.loss[0]!)))).toBeGreaterThan(1e-3);
  });
});

describe('skipscape effective-depth', () => {
  it('prints what the compute module measures (a tiny run)', async () => {
    let out = '';
    const io: CommandIo = {
      out: (t) => void (out += t),
      err: () => undefined,
      progressStream: process.stderr,
    };
    const argv = ['--depth', '3', '--width', '8', '--epochs', '1', '--limit', '64'];
    const code = await runCli(
      onThisThread(['effective-depth', ...argv, '--images', '16', '--backend', 'cpu', '--json']),
      io,
    );
    expect(code).toBe(0);
    const json = JSON.parse(out);
    const train = await loadDataset(parseDataset('t', 'fashion-mnist'), 'train', 64);
    const plain: MlpSpec = {
      ...mlp('relu', null),
      width: 8,
      depth: 3,
      batchNorm: true,
      inputSize: 784,
      classes: 10,
    };
    const direct = (await effectiveDepthExperiment({
      specs: [plain, { ...plain, residualAlpha: 1 }],
      train,
      epochs: 1,
      lr: 0.1,
      images: 16,
    })) as EffectiveDepthNetwork[];
    expect(json.networks.map((n: EffectiveDepthNetwork) => n.taylor)).toEqual(
      direct.map((n) => n.taylor),
    );
    expect(json.networks.map((n: EffectiveDepthNetwork) => n.spec)).toEqual(
      direct.map((n) => n.spec),
    );
    expect(json.networks[0].history[0].trainLoss).toBe(direct[0]!.history[0]!.trainLoss);
  });
});
