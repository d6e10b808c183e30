/**
 * wasm and WebGPU (Dawn on SwiftShader) agree with cpu on the forward pass and
 * the gradients of a small ResNet, in training and inference mode: the
 * Conv2D gradient fix, BN and the fused inference path on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import type { BackendName } from '../../src/compute/backend';
import { createModel } from '../../src/compute/models';
import type { ResNetSpec, TensorMap } from '../../src/compute/models';
import { createRng, normalArray } from '../../src/compute/random';
import { meanCrossEntropy } from '../../src/compute/train/engine';

interface Result {
  trainLogits: Float32Array;
  inferLogits: Float32Array;
  loss: number;
  grads: Float32Array[];
}

const spec: ResNetSpec = {
  kind: 'resnet',
  depth: 8,
  shortcut: 'B',
  skip: true,
  residualScale: 1,
  inputShape: [3, 16, 16],
  classes: 10,
};
const model = createModel(spec);
const names = model.params.map((p) => p.name);
const input = normalArray(2 * 16 * 16 * 3, createRng(1));

/** Everything computed on the current backend, read back as plain arrays. */
async function compute(): Promise<Result> {
  const before = tf.memory().numTensors;
  const { params, state } = model.init(42);
  // Running statistics that are not the identity, so inference mode folds something real.
  const stats: TensorMap = {};
  for (const s of model.state) {
    stats[s.name] = tf.tensor(
      normalArray(s.shape[0]!, createRng(s.name.length)).map((v) =>
        s.role === 'runningVar' ? 1 + Math.abs(v) : v,
      ),
    );
  }
  const x = tf.tensor4d(input, [2, 16, 16, 3]);
  const labels = tf.tensor1d([3, 7], 'int32');
  const [trainLogits, inferLogits, loss, ...grads] = tf.tidy(() => {
    const forward = (ps: tf.Tensor[], training: boolean) => {
      const p: TensorMap = {};
      names.forEach((n, i) => (p[n] = ps[i]!));
      return model.forward(p, stats, x, { training }).logits;
    };
    const ps = names.map((n) => params[n]!);
    const { value, grads: g } = tf.valueAndGrads((...q: tf.Tensor[]) =>
      meanCrossEntropy(forward(q, true), labels),
    )(ps);
    return [forward(ps, true), forward(ps, false), value, ...g];
  });
  const read = async (t: tf.Tensor) => Float32Array.from(await t.data());
  const result: Result = {
    trainLogits: await read(trainLogits!),
    inferLogits: await read(inferLogits!),
    loss: (await loss!.data())[0]!,
    grads: await Promise.all(grads.map(read)),
  };
  tf.dispose([trainLogits!, inferLogits!, loss!, ...grads, x, labels]);
  tf.dispose([...Object.values(params), ...Object.values(state), ...Object.values(stats)]);
  expect(tf.memory().numTensors).toBe(before);
  return result;
}

/** max |a − b| / max(1, max |b|). */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

let reference: Result | null = null;
async function cpuReference(): Promise<Result> {
  if (!reference) {
    await initBackend({ prefer: ['cpu'] });
    reference = await compute();
  }
  return reference;
}

function expectAgreement(result: Result, ref: Result, tolerance: number): void {
  expect(relativeError(result.trainLogits, ref.trainLogits), 'training logits').toBeLessThan(
    tolerance,
  );
  expect(relativeError(result.inferLogits, ref.inferLogits), 'inference logits').toBeLessThan(
    tolerance,
  );
  expect(Math.abs(result.loss - ref.loss), 'loss').toBeLessThan(tolerance);
  names.forEach((n, i) =>
    expect(relativeError(result.grads[i]!, ref.grads[i]!), n).toBeLessThan(tolerance),
  );
}

describe('backends agree with cpu on a ResNet-8 (2×16×16×3)', () => {
  afterAll(async () => {
    await initBackend({ prefer: ['cpu'] });
  });

  it('wasm', async () => {
    const ref = await cpuReference();
    const choice = await initBackend({ prefer: ['wasm'] });
    expect(choice.name).toBe('wasm');
    expectAgreement(await compute(), ref, 1e-4);
  });

  it('webgpu (Dawn on SwiftShader)', async (ctx) => {
    const ref = await cpuReference();
    let choice: { name: BackendName };
    try {
      choice = await initBackend({ prefer: ['webgpu'] });
    } catch (e) {
      ctx.skip(`no WebGPU adapter could be created in Node: ${(e as Error).message}`);
      return;
    }
    expect(choice.name).toBe('webgpu');
    expectAgreement(await compute(), ref, 1e-3);
  });
});
