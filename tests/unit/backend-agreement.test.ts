/**
 * wasm and WebGPU (Dawn on SwiftShader) agree with cpu on the forward pass and
 * the gradients of small networks, in training and inference mode: the conv
 * and matMul gradient fixes, BN, both shortcuts, max pooling and the fused
 * inference path on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import type { BackendChoice } from '../../src/compute/backend';
import { createModel } from '../../src/compute/models';
import type { Model, ModelSpec, TensorMap } from '../../src/compute/models';
import { createRng, normalArray } from '../../src/compute/random';
import { meanCrossEntropy } from '../../src/compute/train/engine';

interface Result {
  trainLogits: Float32Array;
  inferLogits: Float32Array;
  loss: number;
  grads: Float32Array[];
}

const resnet8 = (shortcut: 'A' | 'B'): ModelSpec => ({
  kind: 'resnet',
  depth: 8,
  shortcut,
  skip: true,
  residualScale: 1,
  inputShape: [3, 16, 16],
  classes: 10,
});

const MODELS: Record<string, Model> = {
  'ResNet-8 (option B)': createModel(resnet8('B')),
  'ResNet-8 (option A)': createModel(resnet8('A')),
  'BMEnet-8': createModel({
    kind: 'bmenet',
    depth: 8,
    skip: true,
    inputShape: [3, 16, 16],
    classes: 10,
  }),
};

const input = normalArray(2 * 16 * 16 * 3, createRng(1));

/** Everything computed on the current backend, read back as plain arrays. */
async function compute(model: Model): Promise<Result> {
  const before = tf.memory().numTensors;
  const names = model.params.map((p) => p.name);
  const { params, state } = model.init(42);
  // Running statistics that are not the identity, so inference mode folds something real.
  const stats: TensorMap = {};
  model.state.forEach((s, k) => {
    const values = normalArray(s.shape[0]!, createRng(k));
    stats[s.name] = tf.tensor(
      s.role === 'runningVar' ? values.map((v) => 1 + Math.abs(v)) : values,
    );
  });
  const x = tf.tensor4d(input, [2, 16, 16, 3]);
  const labels = tf.tensor1d([3, 7], 'int32');
  const forward = (ps: tf.Tensor[], training: boolean): tf.Tensor2D => {
    const p: TensorMap = {};
    names.forEach((n, i) => (p[n] = ps[i]!));
    return model.forward(p, stats, x, { training }).logits;
  };
  const outputs = tf.tidy(() => {
    const ps = names.map((n) => params[n]!);
    const { value, grads } = tf.valueAndGrads((...q: tf.Tensor[]) =>
      meanCrossEntropy(forward(q, true), labels),
    )(ps);
    return [forward(ps, true), forward(ps, false), value, ...grads];
  });
  const values = await Promise.all(outputs.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose([...outputs, x, labels]);
  tf.dispose([...Object.values(params), ...Object.values(state), ...Object.values(stats)]);
  expect(tf.memory().numTensors).toBe(before);
  return {
    trainLogits: values[0]!,
    inferLogits: values[1]!,
    loss: values[2]![0]!,
    grads: values.slice(3),
  };
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

let references: Record<string, Result> | null = null;

async function cpuReferences(): Promise<Record<string, Result>> {
  if (!references) {
    await initBackend({ prefer: ['cpu'] });
    const refs: Record<string, Result> = {};
    for (const [label, model] of Object.entries(MODELS)) refs[label] = await compute(model);
    references = refs;
  }
  return references;
}

/** The models named (default all) on the current backend against cpu. */
async function expectAgreement(tolerance: number, labels = Object.keys(MODELS)): Promise<void> {
  const refs = await cpuReferences();
  for (const label of labels) {
    const model = MODELS[label]!;
    const result = await compute(model);
    const ref = refs[label]!;
    expect(
      relativeError(result.trainLogits, ref.trainLogits),
      `${label} training logits`,
    ).toBeLessThan(tolerance);
    expect(
      relativeError(result.inferLogits, ref.inferLogits),
      `${label} inference logits`,
    ).toBeLessThan(tolerance);
    expect(Math.abs(result.loss - ref.loss), `${label} loss`).toBeLessThan(tolerance);
    model.params.forEach((p, i) => {
      expect(relativeError(result.grads[i]!, ref.grads[i]!), `${label} ${p.name}`).toBeLessThan(
        tolerance,
      );
    });
  }
}

describe('backends agree with cpu on ResNet-8 (options A and B) and BMEnet-8, 2×16×16×3', () => {
  afterAll(async () => {
    await initBackend({ prefer: ['cpu'] });
  });

  it('wasm', async () => {
    await cpuReferences();
    const choice = await initBackend({ prefer: ['wasm'] });
    expect(choice.name).toBe('wasm');
    await expectAgreement(1e-4);
  });

  it('webgpu (Dawn on SwiftShader)', async (ctx) => {
    await cpuReferences();
    let choice: BackendChoice;
    try {
      choice = await initBackend({ prefer: ['webgpu'] });
    } catch (e) {
      ctx.skip(`no WebGPU adapter could be created in Node: ${(e as Error).message}`);
      return;
    }
    expect(choice.name).toBe('webgpu');
    // Asking again must keep the same Dawn instance: a second one would drop
    // the first, and with it the device the started backend computes on.
    const gpu = () => (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
    const first = gpu();
    expect((await initBackend({ prefer: ['webgpu'] })).name).toBe('webgpu');
    expect(gpu()).toBe(first);
    // SwiftShader compiles every shader on the CPU (about half a minute per
    // model here), so WebGPU checks the model that runs every gradient path of
    // ours: 3×3 and 1×1 stride-2 convolutions, BN, the dense layer's matMul.
    await expectAgreement(1e-3, ['ResNet-8 (option B)']);
  });
});
