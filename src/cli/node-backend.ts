/**
 * Starting a tfjs backend in Node for the command line and its worker
 * threads: wasm (default; one single-threaded instance per thread, since
 * tfjs-wasm has no threads in Node, tensorflow/tfjs#3830), cpu, or webgpu
 * through Dawn (the `webgpu` package) when an adapter exists.
 *
 * Importing this module installs our tfjs fixes (every gradient registered,
 * the forward-convolution Conv2D gradient the wasm backend needs).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../compute/tfjs-fixes';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { WASM_DIR } from './paths';

export const NODE_BACKENDS = ['wasm', 'cpu', 'webgpu'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

let wasmPathsSet = false;

/** Put navigator.gpu in place with Dawn; false when no adapter can be had. */
export async function installDawn(): Promise<{ ok: boolean; why: string }> {
  if (!process.env['XDG_RUNTIME_DIR']) {
    const dir = `/tmp/skipscape-xdg-${process.getuid?.() ?? 0}`;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  }
  try {
    const dawn = (await import('webgpu')) as {
      create: (options: string[]) => GPU;
      globals: Record<string, unknown>;
    };
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { ok: false, why: 'Dawn found no WebGPU adapter' };
    Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });
    const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    return {
      ok: true,
      why: `Dawn adapter: ${[info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown'}`,
    };
  } catch (e) {
    return {
      ok: false,
      why: `Dawn failed to start: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

/** Start `name` and make it current; throws with the reason when it cannot start. */
export async function startNodeBackend(
  name: NodeBackend,
): Promise<{ backend: string; why: string }> {
  let why = '';
  switch (name) {
    case 'wasm': {
      if (!wasmPathsSet) {
        setWasmPaths(WASM_DIR);
        wasmPathsSet = true;
      }
      why = 'tfjs-wasm (SIMD, single-threaded in Node)';
      break;
    }
    case 'cpu':
      why = 'tfjs-cpu (plain JavaScript)';
      break;
    case 'webgpu': {
      const dawn = await installDawn();
      if (!dawn.ok) throw new Error(`webgpu backend unavailable: ${dawn.why}`);
      await import('@tensorflow/tfjs-backend-webgpu');
      why = dawn.why;
      break;
    }
  }
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend failed to initialise`);
  await tf.ready();
  return { backend: tf.getBackend(), why };
}
