/**
 * The Winograd F(2×2, 3×3) and F(4×4, 3×3) kernels (src/compute/winograd)
 * against tfjs's own wasm convolution: same values within 1e-5 of the output's scale on random
 * inputs, odd and even sizes, 'same', 'valid' and explicit padding, every
 * channel count the models use, batch 1 and more; delegation of what they do
 * not cover; no tensor leaks; a ResNet-20 loss and gradient with and without.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import { WASM_LEVELS, type WasmLevel } from '../../src/compute/wasm-build';
import { createModel, type ModelSpec } from '../../src/compute/models';
import {
  stopWinograd,
  tileFor,
  useWinograd,
  WinogradKernel,
  winogradInUse,
  type WinogradTile,
} from '../../src/compute/winograd';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm', winograd: false });
  expect(tf.getBackend()).toBe('wasm');
});

afterAll(() => stopWinograd());

/** Run f with tfjs's own kernels, then with ours; both results as arrays. */
async function both(
  f: () => tf.Tensor,
  tile: WinogradTile | 'auto' = 'auto',
  wasmLevel?: WasmLevel,
): Promise<[Float32Array, Float32Array]> {
  stopWinograd();
  const a = tf.tidy(f);
  await useWinograd({ minInChannels: 1, tile, ...(wasmLevel ? { wasmLevel } : {}) });
  const b = tf.tidy(f);
  const out = [(await a.data()) as Float32Array, (await b.data()) as Float32Array] as const;
  a.dispose();
  b.dispose();
  return [out[0], out[1]];
}

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

// Channel counts of the models: 1 (Fashion-MNIST input), 3 (CIFAR-10),
// 16 / 32 / 64 (ResNet stages), 4 / 8 (narrow widths), 6 (not a multiple of 4).
const CASES: Case[] = [
  { x: [1, 28, 28, 1], k: 16, pad: P1 },
  { x: [2, 32, 32, 3], k: 16, pad: P1 },
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

describe('Winograd Conv2D and FusedConv2D on wasm', () => {
  it('is installed and removed by useWinograd / stopWinograd', async () => {
    await useWinograd();
    expect(winogradInUse()).toBe(true);
    stopWinograd();
    expect(winogradInUse()).toBe(false);
  });

  // Both builds of the kernel: relaxed SIMD (fused multiply-adds; what Chromium and Node run)
  // and SIMD alone (what engines without relaxed SIMD run).
  const runs = CASES.flatMap((c) =>
    TILES.flatMap((t) => WASM_LEVELS.map((level) => [c, t, level] as const)),
  );
  for (const [c, tile, level] of runs) {
    const [n, h, w, ch] = c.x;
    const name = `F(${tile}×${tile}, 3×3), ${level} build, ${n}×${h}×${w}×${ch} → ${c.k}, pad ${JSON.stringify(c.pad)}`;
    it(`conv2d equals tfjs's: ${name}`, async () => {
      const x = tf.randomNormal(c.x, 0, 1, 'float32', 1);
      const f = tf.randomNormal([3, 3, ch, c.k], 0, 1, 'float32', 2);
      const [a, b] = await both(
        () => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, c.pad),
        tile,
        level,
      );
      expect(relativeError(a, b)).toBeLessThan(1e-5);
      tf.dispose([x, f]);
    });
    it(`fused conv2d (bias, relu) equals tfjs's: ${name}`, async () => {
      const x = tf.randomNormal(c.x, 0, 1, 'float32', 3);
      const f = tf.randomNormal([3, 3, ch, c.k], 0, 1, 'float32', 4);
      const bias = tf.randomNormal([c.k], 0, 1, 'float32', 5);
      for (const activation of ['linear', 'relu'] as const) {
        const [a, b] = await both(
          () =>
            tf.fused.conv2d({
              x: x as tf.Tensor4D,
              filter: f as tf.Tensor4D,
              strides: 1,
              pad: c.pad,
              bias: bias as tf.Tensor1D,
              activation,
            }),
          tile,
          level,
        );
        expect(relativeError(a, b)).toBeLessThan(1e-5);
      }
      tf.dispose([x, f, bias]);
    });
  }

  it('picks F(4×4) from 16 channels for inference and from 48 under a gradient tape', () => {
    expect([8, 16, 32, 64].map((c) => tileFor(c, c))).toEqual([2, 4, 4, 4]);
    expect([8, 16, 32, 64].map((c) => tileFor(c, c, false))).toEqual([2, 2, 2, 4]);
    expect(tileFor(16, 32)).toBe(4);
    expect(tileFor(12, 64)).toBe(2);
  });

  it('leaves convolutions with fewer than 4 input channels to tfjs by default', async () => {
    const x = tf.randomNormal([1, 6, 6, 3], 0, 1, 'float32', 15);
    const f = tf.randomNormal([3, 3, 3, 8], 0, 1, 'float32', 16);
    stopWinograd();
    const a = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same');
    await useWinograd();
    const b = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same');
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    tf.dispose([x, f, a, b]);
  });

  it('delegates stride 2, dilation 2, 1×1 filters and other activations to tfjs', async () => {
    const x = tf.randomNormal([2, 9, 9, 8], 0, 1, 'float32', 6);
    const f3 = tf.randomNormal([3, 3, 8, 4], 0, 1, 'float32', 7);
    const f1 = tf.randomNormal([1, 1, 8, 4], 0, 1, 'float32', 8);
    const ops: (() => tf.Tensor)[] = [
      () => tf.conv2d(x as tf.Tensor4D, f3 as tf.Tensor4D, 2, 'same'),
      () => tf.conv2d(x as tf.Tensor4D, f3 as tf.Tensor4D, 1, 'same', 'NHWC', 2),
      () => tf.conv2d(x as tf.Tensor4D, f1 as tf.Tensor4D, 1, 'valid'),
      () =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: f3 as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          activation: 'relu6',
        }),
    ];
    for (const op of ops) {
      const [a, b] = await both(op);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    tf.dispose([x, f3, f1]);
  });

  it('computes in the backend memory, and the copying fallback gives the same values', async () => {
    await useWinograd({ minInChannels: 1 });
    const copying = await WinogradKernel.create();
    const spy = vi.spyOn(WinogradKernel.prototype, 'conv3x3InPlace');
    try {
      for (const c of CASES) {
        const [, , , ch] = c.x;
        const x = tf.randomNormal(c.x, 0, 1, 'float32', 17);
        const f = tf.randomNormal([3, 3, ch, c.k], 0, 1, 'float32', 18);
        const bias = tf.randomNormal([c.k], 0, 1, 'float32', 19);
        const y = tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: f as tf.Tensor4D,
          strides: 1,
          pad: c.pad,
          bias: bias as tf.Tensor1D,
          activation: 'relu',
        });
        const info = tf.backend_util.computeConv2DInfo(c.x, [3, 3, ch, c.k], 1, 1, c.pad);
        const out = new Float32Array(y.size);
        copying.conv3x3({
          x: (await x.data()) as Float32Array,
          xShape: c.x,
          filter: (await f.data()) as Float32Array,
          outChannels: c.k,
          bias: (await bias.data()) as Float32Array,
          relu: true,
          padTop: info.padInfo.top,
          padLeft: info.padInfo.left,
          outHeight: info.outHeight,
          outWidth: info.outWidth,
          out,
          tile: tileFor(ch, c.k),
        });
        // The same float arithmetic in the same order: equal bit for bit.
        expect(Array.from(out)).toEqual(Array.from(await y.data()));
        tf.dispose([x, f, bias, y]);
      }
      // In Node the backend's memory is not shared, so every call ran in place.
      expect(spy.mock.results.length).toBe(CASES.length);
      expect(spy.mock.results.every((r) => r.value === true)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('leaves the tensor count where it found it', async () => {
    await useWinograd();
    const x = tf.randomNormal([2, 8, 8, 16], 0, 1, 'float32', 9);
    const f = tf.randomNormal([3, 3, 16, 16], 0, 1, 'float32', 10);
    const before = tf.memory().numTensors;
    const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same');
    await y.data();
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, f]);
  });

  it('gives conv2d the same gradients with respect to input and filter', async () => {
    const x = tf.randomNormal([2, 11, 9, 16], 0, 1, 'float32', 12);
    const f = tf.randomNormal([3, 3, 16, 8], 0, 1, 'float32', 13);
    const w = tf.randomNormal([2, 11, 9, 8], 0, 1, 'float32', 14);
    const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), w));
    for (const i of [0, 1]) {
      const [a, b] = await both(() => tf.grads(loss)([x, f])[i]!);
      expect(relativeError(a, b)).toBeLessThan(1e-5);
    }
    tf.dispose([x, f, w]);
  });

  const resnet = (depth: number): ModelSpec => ({
    kind: 'resnet',
    depth,
    shortcut: 'A',
    skip: true,
    residualScale: 1,
    inputShape: [1, 28, 28],
    classes: 10,
  });

  for (const depth of [20, 56]) {
    it(`gives a ResNet-${depth} the same loss, inference and training mode`, async () => {
      const model = createModel(resnet(depth));
      const { params, state } = model.init(1);
      const x = tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 11);
      const labels = tf.oneHot(tf.tensor1d([0, 3, 7, 9, 1, 1, 2, 5], 'int32'), 10);
      const before = tf.memory().numTensors;
      for (const training of [false, true]) {
        const [a, b] = await both(() =>
          tf.losses.softmaxCrossEntropy(
            labels,
            model.forward(params, state, x, { training }).logits,
          ),
        );
        expect(relativeError(a, b)).toBeLessThan(1e-5);
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, labels, ...Object.values(params), ...Object.values(state)]);
    });
  }

  // The input gradient of a deep network in training mode is a test of the
  // network's conditioning as much as of the kernel: for ResNet-56 at this
  // seed, scaling x by (1 + 1.2e-7) moves tfjs's own gradient by 0.9 % (a
  // ReLU at its kink), so the model-level gradient check is ResNet-20's.
  it('gives a ResNet-20 the same input gradient in training mode', async () => {
    const model = createModel(resnet(20));
    const { params, state } = model.init(1);
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 11);
    const labels = tf.oneHot(tf.tensor1d([0, 3, 7, 9], 'int32'), 10);
    const before = tf.memory().numTensors;
    const [a, b] = await both(() =>
      tf.grad((input: tf.Tensor) =>
        tf.losses.softmaxCrossEntropy(
          labels,
          model.forward(params, state, input, { training: true }).logits,
        ),
      )(x),
    );
    expect(relativeError(a, b)).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels, ...Object.values(params), ...Object.values(state)]);
  });
});

describe('winograd.wasm', () => {
  it('is what `npm run build:wasm` builds from assembly/winograd.ts (and signals.wasm from signals.ts)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'winograd-'));
    execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--out', dir], { stdio: 'pipe' });
    const built = readFileSync(join(dir, 'winograd.wasm'));
    expect(built.equals(readFileSync('src/compute/winograd/winograd.wasm'))).toBe(true);
    expect(readFileSync(join(dir, 'wasm-bytes.ts'), 'utf8')).toBe(
      readFileSync('src/compute/winograd/wasm-bytes.ts', 'utf8'),
    );
    // The signal statistics' kernel (assembly/signals.ts) is built by the same script.
    expect(
      readFileSync(join(dir, 'signals.wasm')).equals(
        readFileSync('src/compute/signals/signals.wasm'),
      ),
    ).toBe(true);
    expect(readFileSync(join(dir, 'signals-wasm-bytes.ts'), 'utf8')).toBe(
      readFileSync('src/compute/signals/signals-wasm-bytes.ts', 'utf8'),
    );
  });
});
