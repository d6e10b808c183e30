/**
 * The end of a residual block in one kernel, relu(conv2d(x, filter) + bias +
 * residual) (tfjs-fixes' conv2dBiasResidualRelu, the wasm kernel
 * Conv2DResidualRelu of src/compute/winograd): the same values as tfjs's own
 * FusedConv2D, Add and Relu within 1e-5 of the output's scale, and bit for bit
 * the same as our Winograd FusedConv2D followed by tfjs's Add and Relu (the
 * same float operations in the same order), on random inputs, odd sizes,
 * padding and every channel count the models use, with both tiles; what it
 * does not cover goes to tfjs's kernels; never under a gradient tape; no
 * tensor leaks; and a ResNet's inference forward pass through it equal bit
 * for bit to the composed ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import { createModel, type ModelSpec } from '../../src/compute/models';
import { Conv2DResidualRelu, conv2dBiasResidualRelu } from '../../src/compute/tfjs-fixes';
import {
  stopWinograd,
  tileFor,
  useWinograd,
  WinogradKernel,
  type WinogradTile,
} from '../../src/compute/winograd';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm', winograd: false });
  expect(tf.getBackend()).toBe('wasm');
  // The backend's start (compiling tfjs's wasm) is slow on a loaded machine.
}, 120_000);

afterAll(() => stopWinograd());

/** max |a - b| / max |a|: the error on the scale of the output. */
function relativeError(a: Float32Array, b: Float32Array): number {
  expect(b.length).toBe(a.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

type Pad =
  'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const P1: Pad = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

interface Case {
  x: [number, number, number, number];
  k: number;
  pad: Pad;
}

// As tests/unit/winograd.test.ts: the ResNet stages (16 / 32 / 64 channels,
// the landscape's 128 and a last batch of 116 images are the same code with
// a larger N), narrow widths 4 / 8, 6 and 5 / 3 (not multiples of 4), odd
// sizes, 'same', 'valid' and explicit padding.
const CASES: Case[] = [
  { x: [3, 28, 28, 16], k: 16, pad: P1 },
  { x: [2, 14, 14, 32], k: 32, pad: P1 },
  { x: [2, 7, 7, 64], k: 64, pad: P1 },
  { x: [1, 9, 11, 4], k: 4, pad: 'same' },
  { x: [2, 13, 10, 8], k: 8, pad: 'valid' },
  { x: [1, 5, 5, 6], k: 6, pad: 'same' },
  { x: [2, 6, 9, 16], k: 12, pad: 'valid' },
  { x: [1, 3, 3, 5], k: 3, pad: 'valid' },
  { x: [2, 1, 1, 8], k: 8, pad: 'same' },
];

const TILES: WinogradTile[] = [2, 4];

function outShape(c: Case): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(c.x, [3, 3, c.x[3], c.k], 1, 1, c.pad);
  return info.outShape;
}

/** Random x, filter, bias and residual for a case (the residual of the output's shape). */
function inputs(c: Case, seed: number) {
  return {
    x: tf.randomNormal(c.x, 0, 1, 'float32', seed) as tf.Tensor4D,
    filter: tf.randomNormal([3, 3, c.x[3], c.k], 0, 1, 'float32', seed + 1) as tf.Tensor4D,
    bias: tf.randomNormal([c.k], 0, 1, 'float32', seed + 2) as tf.Tensor1D,
    residual: tf.randomNormal(outShape(c), 0, 1, 'float32', seed + 3) as tf.Tensor4D,
  };
}

/** What the op replaces: the fused convolution (bias, linear), then Add, then Relu. */
function composed(a: ReturnType<typeof inputs>, pad: Pad, strides = 1): tf.Tensor {
  return tf.tidy(() =>
    tf.relu(
      tf.add(
        tf.fused.conv2d({
          x: a.x,
          filter: a.filter,
          bias: a.bias,
          strides,
          pad,
          activation: 'linear',
        }),
        a.residual,
      ),
    ),
  );
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describe('conv2dBiasResidualRelu (Conv2DResidualRelu on wasm)', () => {
  it('is a wasm kernel while the Winograd kernels are installed, and only then', async () => {
    stopWinograd();
    expect(tf.getKernel(Conv2DResidualRelu, 'wasm')).toBeUndefined();
    await useWinograd();
    expect(tf.getKernel(Conv2DResidualRelu, 'wasm')).toBeDefined();
    stopWinograd();
    expect(tf.getKernel(Conv2DResidualRelu, 'wasm')).toBeUndefined();
  });

  for (const [c, tile] of CASES.flatMap((c) => TILES.map((t) => [c, t] as const))) {
    const [n, h, w, ch] = c.x;
    const name = `F(${tile}×${tile}, 3×3), ${n}×${h}×${w}×${ch} → ${c.k}, pad ${JSON.stringify(c.pad)}`;
    it(`equals tfjs's conv, add and relu, and ours composed bit for bit: ${name}`, async () => {
      const a = inputs(c, 20);
      const op = () => conv2dBiasResidualRelu({ ...a, strides: 1, pad: c.pad });
      stopWinograd();
      const tfjs = await values(composed(a, c.pad));
      const tfjsOp = await values(op());
      await useWinograd({ minInChannels: 1, tile });
      const ours = await values(op());
      const oursComposed = await values(composed(a, c.pad));
      // Without our kernels the op is tfjs's composition itself.
      expect(Array.from(tfjsOp)).toEqual(Array.from(tfjs));
      expect(relativeError(tfjs, ours)).toBeLessThan(1e-5);
      // The residual is added after the bias and before the ReLU, as Add and Relu would.
      expect(Array.from(ours)).toEqual(Array.from(oursComposed));
      // Some outputs are clipped by the ReLU, some pass: both branches are tested.
      expect(ours.some((v) => v === 0) && ours.some((v) => v > 0)).toBe(true);
      tf.dispose(Object.values(a));
    });
  }

  it('runs in the backend memory, and the copying fallback gives the same bits', async () => {
    await useWinograd({ minInChannels: 1 });
    const copying = await WinogradKernel.create();
    const spy = vi.spyOn(WinogradKernel.prototype, 'conv3x3InPlace');
    try {
      for (const c of CASES) {
        const a = inputs(c, 30);
        const y = await values(conv2dBiasResidualRelu({ ...a, strides: 1, pad: c.pad }));
        const info = tf.backend_util.computeConv2DInfo(c.x, [3, 3, c.x[3], c.k], 1, 1, c.pad);
        const out = new Float32Array(y.length);
        copying.conv3x3({
          x: (await a.x.data()) as Float32Array,
          xShape: c.x,
          filter: (await a.filter.data()) as Float32Array,
          outChannels: c.k,
          bias: (await a.bias.data()) as Float32Array,
          residual: (await a.residual.data()) as Float32Array,
          relu: true,
          padTop: info.padInfo.top,
          padLeft: info.padInfo.left,
          outHeight: info.outHeight,
          outWidth: info.outWidth,
          out,
          tile: tileFor(c.x[3], c.k),
        });
        expect(Array.from(out)).toEqual(Array.from(y));
        tf.dispose(Object.values(a));
      }
      // Every call ran in place, with the residual's address.
      expect(spy.mock.calls.length).toBe(CASES.length);
      expect(spy.mock.calls.every(([o]) => (o.residual ?? 0) !== 0)).toBe(true);
      expect(spy.mock.results.every((r) => r.value === true)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it("leaves what the Winograd kernel does not cover to tfjs's kernels, with the same bits", async () => {
    await useWinograd();
    const cases: { c: Case; strides: number }[] = [
      // Fewer than 4 input channels (the default minInChannels).
      { c: { x: [2, 6, 7, 3], k: 8, pad: 'same' }, strides: 1 },
      // Stride 2.
      { c: { x: [2, 9, 9, 8], k: 8, pad: P1 }, strides: 2 },
    ];
    const spy = vi.spyOn(WinogradKernel.prototype, 'conv3x3InPlace');
    try {
      for (const { c, strides } of cases) {
        const info = tf.backend_util.computeConv2DInfo(c.x, [3, 3, c.x[3], c.k], strides, 1, c.pad);
        const a = {
          ...inputs(c, 40),
          residual: tf.randomNormal(info.outShape, 0, 1, 'float32', 44) as tf.Tensor4D,
        };
        const before = tf.memory().numBytes;
        const y = await values(conv2dBiasResidualRelu({ ...a, strides, pad: c.pad }));
        // The intermediate convolution and sum were freed inside the kernel.
        expect(tf.memory().numBytes).toBe(before);
        stopWinograd();
        const tfjs = await values(composed(a, c.pad, strides));
        await useWinograd();
        expect(Array.from(y)).toEqual(Array.from(tfjs));
        tf.dispose(Object.values(a));
      }
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('is not recorded under a gradient tape: its gradient is that of the composed ops', async () => {
    await useWinograd();
    const c: Case = { x: [2, 11, 9, 16], k: 16, pad: 'same' };
    const a = inputs(c, 50);
    const w = tf.randomNormal(outShape(c), 0, 1, 'float32', 55);
    const spy = vi.spyOn(WinogradKernel.prototype, 'conv3x3InPlace');
    try {
      const loss = (x: tf.Tensor, residual: tf.Tensor): tf.Scalar =>
        tf.sum(
          tf.mul(
            conv2dBiasResidualRelu({
              ...a,
              x: x as tf.Tensor4D,
              residual: residual as tf.Tensor4D,
              strides: 1,
              pad: c.pad,
            }),
            w,
          ),
        );
      const reference = (x: tf.Tensor, residual: tf.Tensor): tf.Scalar =>
        tf.sum(
          tf.mul(
            tf.relu(
              tf.add(tf.add(tf.conv2d(x as tf.Tensor4D, a.filter, 1, c.pad), a.bias), residual),
            ),
            w,
          ),
        );
      const got = tf.grads(loss)([a.x, a.residual]);
      const want = tf.grads(reference)([a.x, a.residual]);
      for (let i = 0; i < 2; i++) {
        expect(Array.from(await got[i]!.data())).toEqual(Array.from(await want[i]!.data()));
      }
      // Under the tape no call carried a residual (the composed ops ran).
      expect(spy.mock.calls.every(([o]) => (o.residual ?? 0) === 0)).toBe(true);
      tf.dispose([...got, ...want]);
    } finally {
      spy.mockRestore();
    }
    tf.dispose([...Object.values(a), w]);
  });

  it('leaves the tensor count where it found it', async () => {
    await useWinograd();
    const a = inputs({ x: [2, 8, 8, 16], k: 16, pad: 'same' }, 60);
    const before = tf.memory().numTensors;
    const y = conv2dBiasResidualRelu({ ...a, strides: 1, pad: 'same' });
    await y.data();
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(Object.values(a));
  });
});

describe('a ResNet in inference mode through the fused block ends', () => {
  const spec = (shortcut: 'A' | 'B', residualScale: number): ModelSpec => ({
    kind: 'resnet',
    depth: 20,
    shortcut,
    skip: true,
    residualScale,
    inputShape: [1, 28, 28],
    classes: 10,
  });

  for (const [shortcut, scale] of [
    ['A', 1],
    ['B', 1],
    ['B', 0.5],
  ] as const) {
    it(`equals the composed ops bit for bit (shortcut ${shortcut}, α = ${scale})`, async () => {
      await useWinograd();
      const model = createModel(spec(shortcut, scale));
      const { params, state } = model.init(3);
      // Running statistics away from 0 and 1, so that BN's folding matters.
      const stats = tf.tidy(() =>
        Object.fromEntries(
          Object.entries(state).map(([k, v]) => [
            k,
            k.endsWith('runningVar')
              ? tf.add(tf.abs(tf.randomNormal(v.shape, 0, 1, 'float32', 7)), 0.5)
              : tf.randomNormal(v.shape, 0, 0.3, 'float32', 8),
          ]),
        ),
      );
      const x = tf.randomNormal([5, 28, 28, 1], 0, 1, 'float32', 9);
      const logits = (trace = false): tf.Tensor =>
        tf.tidy(() => model.forward(params, stats, x, { training: false, trace }).logits);
      const before = tf.memory().numTensors;
      const spy = vi.spyOn(WinogradKernel.prototype, 'conv3x3InPlace');
      let fusedCalls: number;
      let fused: Float32Array;
      try {
        fused = await values(logits());
        fusedCalls = spy.mock.calls.filter(([o]) => (o.residual ?? 0) !== 0).length;
      } finally {
        spy.mockRestore();
      }
      // ResNet-20: 9 blocks, each ending in one fused kernel.
      expect(fusedCalls).toBe(9);
      // A trace turns the fusion off: the same network as separate ops.
      const composedLogits = await values(logits(true));
      expect(Array.from(fused)).toEqual(Array.from(composedLogits));
      stopWinograd();
      const tfjs = await values(logits());
      expect(relativeError(tfjs, fused)).toBeLessThan(1e-5);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, ...Object.values(params), ...Object.values(state), ...Object.values(stats)]);
    });
  }
});
