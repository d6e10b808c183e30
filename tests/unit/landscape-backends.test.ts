/**
 * Exact Hessian-vector products of real ResNets (our tfjs fixes installed:
 * the forward-convolution Conv2D gradient, elementwise BN, the option-A
 * shortcut, the second-order fixes) are symmetric, match finite differences
 * on cpu, and agree across cpu, wasm and WebGPU (Dawn on SwiftShader).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import type { BackendName } from '../../src/compute/backend';
import { evaluationBatches, planeTensors } from '../../src/compute/landscape/grid';
import { hessianOperator, parameterLayout } from '../../src/compute/landscape/hessian';
import type { HvpMethod } from '../../src/compute/landscape/hessian';
import { createModel } from '../../src/compute/models';
import type { ResNetSpec } from '../../src/compute/models';
import { createRng, normalArray } from '../../src/compute/random';
import { initialArrays, randomImages, smallConvNet } from './landscape-fixtures';

const data = randomImages({ count: 6, height: 8, width: 8, channels: 1, classes: 10, seed: 2 });
/** The small conv net's images (6×6, 3 classes). */
const smallData = randomImages({ count: 6, height: 6, width: 6, channels: 1, classes: 3, seed: 2 });

function spec(shortcut: 'A' | 'B'): ResNetSpec {
  return {
    kind: 'resnet',
    depth: 8,
    shortcut,
    skip: true,
    residualScale: 1,
    inputShape: [1, 8, 8],
    classes: 10,
  };
}

/** H v (and H w) of ResNet-8 at a seeded θ with running statistics that are not the identity. */
async function products(
  which: 'A' | 'B' | 'small',
  hvp: HvpMethod,
): Promise<{ hv: Float64Array; hw: Float64Array; v: Float64Array; w: Float64Array }> {
  const model = which === 'small' ? smallConvNet({ activation: 'relu' }) : createModel(spec(which));
  const origin = await initialArrays(model, 3);
  for (const s of model.state) {
    const a = origin.state[s.name]!;
    const r = normalArray(a.data.length, createRng(s.name.length), 0.2);
    a.data = s.role === 'runningVar' ? r.map((x) => 1 + Math.abs(x)) : r;
  }
  const before = tf.memory().numTensors;
  const plane = planeTensors(origin, { x: {}, y: null });
  const subset = evaluationBatches({
    model,
    data: which === 'small' ? smallData : data,
    batchSize: 6,
  });
  try {
    const layout = parameterLayout(plane.params);
    const apply = hessianOperator({
      model,
      params: plane.params,
      state: plane.state,
      data: subset,
      layout,
      hvp,
      finiteDifferenceStep: 1e-2,
    });
    const v = Float64Array.from(normalArray(layout.dimension, createRng(5)));
    const w = Float64Array.from(normalArray(layout.dimension, createRng(6)));
    return { hv: await apply(v), hw: await apply(w), v, w };
  } finally {
    subset.dispose();
    plane.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }
}

function relative(a: Float64Array, b: Float64Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

test('a smooth network from the model builder (tanh MLP with BN): exact H v equals central differences', async () => {
  await initBackend({ prefer: ['cpu'] });
  const model = createModel({
    kind: 'mlp',
    width: 16,
    depth: 3,
    activation: 'tanh',
    init: 'kaiming',
    sigmaW: Math.SQRT2,
    residualAlpha: null,
    batchNorm: true,
    inputSize: 64,
    classes: 10,
  });
  const origin = await initialArrays(model, 3);
  const plane = planeTensors(origin, { x: {}, y: null });
  const subset = evaluationBatches({ model, data, batchSize: 4 });
  try {
    const layout = parameterLayout(plane.params);
    const v = Float64Array.from(normalArray(layout.dimension, createRng(5)));
    const product = (hvp: HvpMethod) =>
      hessianOperator({
        model,
        params: plane.params,
        state: plane.state,
        data: subset,
        layout,
        hvp,
        finiteDifferenceStep: 0.05,
      })(v);
    expect(relative(await product('finite-difference'), await product('exact'))).toBeLessThan(1e-3);
  } finally {
    subset.dispose();
    plane.dispose();
  }
});

type Products = Awaited<ReturnType<typeof products>>;
const shortcuts = ['A', 'B'] as const;

// One order for the whole file, cpu → wasm → webgpu, never back: Dawn in Node
// does not survive switching away from it and back reliably.
describe('ResNet-8 exact Hessian-vector products', () => {
  const reference = new Map<'A' | 'B' | 'small', Products>();
  beforeAll(async () => {
    await initBackend({ prefer: ['cpu'] });
    for (const s of [...shortcuts, 'small'] as const) reference.set(s, await products(s, 'exact'));
  }, 120_000);

  test.each(shortcuts)('shortcut %s, cpu: symmetric, wᵀHv = vᵀHw', (s) => {
    const { hv, hw, v, w } = reference.get(s)!;
    expect(Math.abs(dot(w, hv) - dot(v, hw)) / Math.abs(dot(v, hw))).toBeLessThan(1e-4);
  });

  test('cpu: finite differences do not converge to it through ReLU kinks (why they are only an approximation)', async () => {
    const fd = await products('B', 'finite-difference');
    // A unit whose pre-activation changes sign between θ − εv and θ + εv adds a
    // jump of O(1) to the gradient difference, divided by 2ε.
    expect(relative(fd.hv, reference.get('B')!.hv)).toBeGreaterThan(0.1);
  });

  test.each(shortcuts)('shortcut %s: wasm agrees with cpu', async (s) => {
    expect((await initBackend({ prefer: ['wasm'] })).name).toBe('wasm');
    const r = await products(s, 'exact');
    expect(relative(r.hv, reference.get(s)!.hv)).toBeLessThan(1e-3);
  });

  // SwiftShader runs WebGPU on the CPU: a ResNet-8 double backward takes minutes
  // there, so the WebGPU check uses the small conv net (conv stride 1 and 2, BN,
  // ReLU, pooling, dense), which exercises the same kernels.
  test('small conv net: webgpu (Dawn on SwiftShader) agrees with cpu', async (ctx) => {
    let choice: { name: BackendName };
    try {
      choice = await initBackend({ prefer: ['webgpu'] });
    } catch (e) {
      ctx.skip(`no WebGPU adapter could be created in Node: ${(e as Error).message}`);
      return;
    }
    expect(choice.name).toBe('webgpu');
    const r = await products('small', 'exact');
    expect(relative(r.hv, reference.get('small')!.hv)).toBeLessThan(1e-3);
  }, 300_000);
});
