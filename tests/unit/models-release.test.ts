/**
 * TensorRunner releases each module's intermediate tensors when the module
 * returns, in inference with nothing recorded or watched: the same logits
 * bit for bit as holding them to the end of the pass, far fewer tensors
 * alive after a pass, and nothing released that a trace, a tap, an end probe
 * or a gradient tape still needs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import { createModel, type ModelSpec } from '../../src/compute/models';
import { TensorRunner } from '../../src/compute/models/graph';

const releasing = TensorRunner.prototype.module;
/** The runner as it was: every module's tensors held until the pass ends. */
const holding = (): void => {
  TensorRunner.prototype.module = (_type, body) => body();
};

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
}, 120_000);

afterEach(() => {
  TensorRunner.prototype.module = releasing;
});

const resnet = (shortcut: 'A' | 'B'): ModelSpec => ({
  kind: 'resnet',
  depth: 20,
  shortcut,
  skip: true,
  residualScale: 1,
  inputShape: [1, 28, 28],
  classes: 10,
});

describe('TensorRunner in inference releases each block as it returns', () => {
  for (const shortcut of ['A', 'B'] as const) {
    it(`gives the same logits bit for bit, with fewer tensors alive (shortcut ${shortcut})`, async () => {
      const model = createModel(resnet(shortcut));
      const { params, state } = model.init(1);
      const x = tf.randomNormal([3, 28, 28, 1], 0, 1, 'float32', 2);
      /** Logits of one pass outside any tidy, and how many tensors it left alive. */
      const pass = async (): Promise<{ logits: number[]; alive: number }> => {
        const before = tf.memory().numTensors;
        const { logits } = model.forward(params, state, x, { training: false });
        const alive = tf.memory().numTensors - before;
        const values = Array.from(await logits.data());
        // What the pass left behind, the logits among it, freed for the next one.
        tf.engine().endScope();
        tf.engine().startScope();
        return { logits: values, alive };
      };
      tf.engine().startScope();
      const released = await pass();
      holding();
      const held = await pass();
      tf.engine().endScope();
      expect(released.logits).toEqual(held.logits);
      // ResNet-20 holds hundreds of tensors to the end of the pass; released,
      // what is left is the stem's and the head's few and one per block.
      expect(held.alive).toBeGreaterThan(150);
      expect(released.alive).toBeLessThan(40);
      tf.dispose([x, ...Object.values(params), ...Object.values(state)]);
    });
  }

  it('keeps what a trace, an end probe and a gradient tape need', async () => {
    const model = createModel(resnet('B'));
    const { params, state } = model.init(3);
    const x = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 4);
    const before = tf.memory().numTensors;
    const traced = tf.tidy(() => {
      const r = model.forward(params, state, x, { training: false, trace: true });
      return [r.logits, r.trace!['layer2.0.response']!];
    });
    // Still readable: a released tensor would throw here.
    expect((await traced[1]!.data()).length).toBe(2 * 14 * 14 * 32);
    const atProbe = tf.tidy(
      () => model.forward(params, state, x, { training: false, to: 'layer3.1.response' }).at!,
    );
    expect(atProbe.shape).toEqual([2, 7, 7, 64]);
    await atProbe.data();
    const gradient = tf.tidy(() =>
      tf.grad((input: tf.Tensor) =>
        tf.sum(model.forward(params, state, input, { training: false }).logits),
      )(x),
    );
    holding();
    const gradientHeld = tf.tidy(() =>
      tf.grad((input: tf.Tensor) =>
        tf.sum(model.forward(params, state, input, { training: false }).logits),
      )(x),
    );
    expect(Array.from(await gradient.data())).toEqual(Array.from(await gradientHeld.data()));
    tf.dispose([...traced, atProbe, gradient, gradientHeld]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ...Object.values(params), ...Object.values(state)]);
  });
});
