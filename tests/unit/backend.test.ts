import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  backendLabel,
  defaultBackendOrder,
  detectRuntime,
  initBackend,
  winogradWanted,
} from '../../src/compute/backend';
import { conv2dForwardGradConfig } from '../../src/compute/tfjs-fixes';

describe('initBackend in Node', () => {
  it('knows it is in Node, and the orders it would try', () => {
    expect(detectRuntime()).toBe('node');
    expect(defaultBackendOrder('node')).toEqual(['wasm', 'cpu']);
    expect(defaultBackendOrder('browser')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(defaultBackendOrder('worker')).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
  });

  it('starts wasm by default, with SIMD on one thread, and says why', async () => {
    const choice = await initBackend();
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.tried).toEqual([]);
    expect(choice.runtime).toBe('node');
    expect(choice.reason).toMatch(/WebAssembly/);
    expect(choice.wasm).toEqual({ simd: true, threads: 1, winograd: winogradWanted(undefined) });
    // Our gradient fixes are in place whichever backend runs.
    expect(tf.getGradient(tf.Conv2D)).toBe(conv2dForwardGradConfig);
  });

  it('runs 3×3 convolutions with the Winograd kernel unless told not to', async () => {
    const { winogradInUse } = await import('../../src/compute/winograd');
    const off = await initBackend({ prefer: 'wasm', winograd: false });
    expect(off.wasm?.winograd).toBe(false);
    expect(winogradInUse()).toBe(false);
    expect(backendLabel()).toBe('wasm');
    const saved = process.env['SKIPSCAPE_WINOGRAD'];
    process.env['SKIPSCAPE_WINOGRAD'] = '0';
    try {
      expect((await initBackend({ prefer: 'wasm' })).wasm?.winograd).toBe(false);
    } finally {
      if (saved === undefined) delete process.env['SKIPSCAPE_WINOGRAD'];
      else process.env['SKIPSCAPE_WINOGRAD'] = saved;
    }
    const on = await initBackend({ prefer: 'wasm' });
    expect(on.wasm?.winograd).toBe(true);
    expect(winogradInUse()).toBe(true);
    // Result files say which arithmetic made their numbers.
    expect(backendLabel()).toBe('wasm (Winograd)');
    await initBackend({ prefer: 'cpu' });
    expect(backendLabel()).toBe('cpu');
  });

  it('shares buffers in wasm clones (the tensors saved for gradients) instead of copying them', async () => {
    await initBackend({ prefer: ['wasm'] });
    const x = tf.tensor1d([1, 2, 3]);
    const buffers = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    y.dispose();
    // The original survives its clone's disposal, and the clone survives the original's.
    expect(Array.from(await x.data())).toEqual([1, 2, 3]);
    const z = tf.clone(x);
    x.dispose();
    expect(Array.from(await z.data())).toEqual([1, 2, 3]);
    z.dispose();
  });

  it('starts what is asked for', async () => {
    const choice = await initBackend({ prefer: 'cpu' });
    expect(choice.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(choice.reason).toMatch(/asked for/);
  });

  it('falls back in order and reports each failure', async () => {
    const choice = await initBackend({ prefer: ['webgl', 'wasm'] });
    expect(choice.name).toBe('wasm');
    expect(choice.tried).toEqual([{ name: 'webgl', error: 'WebGL is not available in Node' }]);
    expect(choice.reason).toMatch(/after webgl failed/);
  });

  it('fails with every reason when nothing can start', async () => {
    await expect(initBackend({ prefer: ['webgl'] })).rejects.toThrow(
      /webgl: WebGL is not available in Node/,
    );
  });
});
