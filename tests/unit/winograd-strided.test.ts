/**
 * Strided convolutions in inference by our direct kernel (src/compute/winograd:
 * FusedConv2D with a stride other than 1, im2col and the products'
 * micro-kernel): the same values as tfjs's own FusedConv2D within 1e-5 of the
 * output's scale on random inputs, odd sizes, 'same', 'valid' and explicit
 * padding, 3×3 and 1×1 filters (the ResNets' downsampling blocks) and others,
 * every channel count the models use; Conv2D (what runs under a gradient
 * tape) and what the kernel does not cover stay with tfjs; no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import { stopWinograd, useWinograd, WinogradKernel } from '../../src/compute/winograd';

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
  | 'same'
  | 'valid'
  | number
  | [[number, number], [number, number], [number, number], [number, number]];
const P1: Pad = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

interface Case {
  x: [number, number, number, number];
  f: [number, number];
  k: number;
  strides: number | [number, number];
  pad: Pad;
}

// The ResNets' downsampling convolutions (3×3 stride 2 pad 1, 1×1 stride 2
// pad 0, at 16 → 32 and 32 → 64 channels), narrow widths (4 → 8, 8 → 16),
// channel counts that are not multiples of 4, odd sizes, 'same' and 'valid',
// an unequal stride and a 5×5 filter.
const CASES: Case[] = [
  { x: [3, 28, 28, 16], f: [3, 3], k: 32, strides: 2, pad: P1 },
  { x: [2, 14, 14, 32], f: [3, 3], k: 64, strides: 2, pad: P1 },
  { x: [3, 28, 28, 16], f: [1, 1], k: 32, strides: 2, pad: 0 },
  { x: [2, 14, 14, 32], f: [1, 1], k: 64, strides: 2, pad: 0 },
  { x: [2, 28, 28, 4], f: [3, 3], k: 8, strides: 2, pad: P1 },
  { x: [1, 9, 11, 8], f: [3, 3], k: 16, strides: 2, pad: 'same' },
  { x: [2, 13, 10, 6], f: [3, 3], k: 5, strides: 2, pad: 'valid' },
  { x: [1, 7, 7, 5], f: [1, 1], k: 3, strides: 2, pad: 'valid' },
  { x: [2, 10, 9, 12], f: [3, 3], k: 12, strides: [2, 1], pad: 'same' },
  { x: [1, 11, 12, 4], f: [5, 5], k: 4, strides: 3, pad: 'same' },
  { x: [2, 2, 2, 8], f: [3, 3], k: 8, strides: 2, pad: 'same' },
];

describe('strided FusedConv2D by the direct kernel', () => {
  for (const c of CASES) {
    const [n, h, w, ch] = c.x;
    const name =
      `${n}×${h}×${w}×${ch} → ${c.k}, ${c.f[0]}×${c.f[1]}, stride ${JSON.stringify(c.strides)}, ` +
      `pad ${JSON.stringify(c.pad)}`;
    it(`equals tfjs's (bias or none, linear and relu): ${name}`, async () => {
      const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
      const filter = tf.randomNormal([...c.f, ch, c.k], 0, 1, 'float32', 2) as tf.Tensor4D;
      const bias = tf.randomNormal([c.k], 0, 1, 'float32', 3) as tf.Tensor1D;
      for (const withBias of [true, false]) {
        for (const activation of ['linear', 'relu'] as const) {
          const conv = () =>
            tf.fused.conv2d({
              x,
              filter,
              strides: c.strides,
              pad: c.pad,
              activation,
              ...(withBias ? { bias } : {}),
            });
          stopWinograd();
          const a = conv();
          await useWinograd();
          const spy = vi.spyOn(WinogradKernel.prototype, 'convDirectInPlace');
          let b: tf.Tensor;
          try {
            b = conv();
            expect(spy).toHaveBeenCalledTimes(1);
            expect(spy.mock.results[0]!.value).toBe(true);
          } finally {
            spy.mockRestore();
          }
          expect(b.shape).toEqual(a.shape);
          const [va, vb] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
          expect(relativeError(va, vb)).toBeLessThan(1e-5);
          tf.dispose([a, b]);
        }
      }
      tf.dispose([x, filter, bias]);
    });
  }

  it("leaves Conv2D (the tape's), stride 1, dilation, < 4 channels and strided: false to tfjs", async () => {
    const x = tf.randomNormal([2, 9, 9, 8], 0, 1, 'float32', 4) as tf.Tensor4D;
    const x3 = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 8, 8], 0, 1, 'float32', 6) as tf.Tensor4D;
    const f3 = tf.randomNormal([3, 3, 3, 8], 0, 1, 'float32', 7) as tf.Tensor4D;
    const f1 = tf.randomNormal([1, 1, 8, 8], 0, 1, 'float32', 8) as tf.Tensor4D;
    const fused = (input: tf.Tensor4D, filter: tf.Tensor4D, strides: number, dilations = 1) =>
      tf.fused.conv2d({ x: input, filter, strides, pad: 'same', dilations });
    const ops: (() => tf.Tensor)[] = [
      () => tf.conv2d(x, f, 2, 'same'),
      () => fused(x, f1, 1),
      () => fused(x3, f3, 2),
    ];
    const spy = vi.spyOn(WinogradKernel.prototype, 'convDirectInPlace');
    try {
      for (const op of ops) {
        stopWinograd();
        const a = op();
        await useWinograd();
        const b = op();
        expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
        tf.dispose([a, b]);
      }
      await useWinograd({ strided: false });
      const c = fused(x, f, 2);
      stopWinograd();
      const d = fused(x, f, 2);
      expect(Array.from(await c.data())).toEqual(Array.from(await d.data()));
      tf.dispose([c, d]);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      await useWinograd();
    }
    tf.dispose([x, x3, f, f3, f1]);
  });

  it('leaves the tensor count and the backend memory where it found them', async () => {
    await useWinograd();
    const x = tf.randomNormal([2, 14, 14, 32], 0, 1, 'float32', 9) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 32, 64], 0, 1, 'float32', 10) as tf.Tensor4D;
    // The first call grows the kernel's scratch, kept for the next calls.
    tf.fused.conv2d({ x, filter: f, strides: 2, pad: 1 }).dispose();
    const before = tf.memory();
    const y = tf.fused.conv2d({ x, filter: f, strides: 2, pad: 1, activation: 'relu' });
    await y.data();
    y.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    tf.dispose([x, f]);
  });
});
