/**
 * Choose and start a tfjs backend, and say which one and why.
 *
 *   browser / worker: webgpu → webgl → wasm → cpu
 *   Node:             wasm → cpu; webgpu (Dawn, npm package `webgpu`) only when asked
 *
 * Each backend is imported only when it is tried, so a page that never runs
 * anything loads none of them. The environment is found by feature tests,
 * never by touching the DOM.
 *
 * Threads: the wasm backend runs on one thread here. Its threaded build needs
 * SharedArrayBuffer, which browsers give only to cross-origin-isolated pages
 * (COOP/COEP headers a static host may not send); in Node tfjs turns threads
 * off (tensorflow/tfjs#3830) and forcing them fails, because Emscripten starts
 * its pthread workers from blob: URLs that Node's worker_threads refuses
 * (ERR_WORKER_PATH). Parallelism therefore comes from several workers, each
 * with its own wasm instance (src/compute/jobs).
 */
import * as tf from '@tensorflow/tfjs-core';
import { installWasmKernelFixes } from './tfjs-fixes';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export type Runtime = 'node' | 'browser' | 'worker';

export interface BackendChoice {
  /** The backend now active. */
  name: BackendName;
  /** Why this one, in words a badge or a log line can show. */
  reason: string;
  /** Backends tried before it and why each was passed over. */
  tried: { name: BackendName; error: string }[];
  runtime: Runtime;
  /** For wasm: SIMD support, the number of threads it runs, whether our Winograd kernel is in. */
  wasm?: { simd: boolean; threads: number; winograd: boolean };
}

export interface InitBackendOptions {
  /**
   * Backends to try, in order. A single name is tried first and the default
   * order follows as the fallback. Default: the runtime's order above.
   */
  prefer?: BackendName | BackendName[];
  /**
   * Where tfjs-backend-wasm's .wasm files are: a folder (URL or path ending in
   * '/') or a map from file name to location, as tfjs's setWasmPaths takes.
   * In Node the installed package's dist/ folder is the default.
   */
  wasmPaths?: string | Record<string, string>;
  /** Flags for Dawn's `create()` in Node, e.g. ['backend=vulkan']. */
  dawnFlags?: string[];
  /**
   * Run 3×3 stride-1 convolutions on wasm with our Winograd F(2×2, 3×3)
   * kernel (src/compute/winograd) instead of tfjs's own. Default: on, unless
   * SKIPSCAPE_WINOGRAD=0 (Node) or PUBLIC_SKIPSCAPE_WINOGRAD=0 at the site's
   * build (see winogradWanted).
   */
  winograd?: boolean;
  /** Silence tfjs's own console notices (its "install tfjs-node" banner in Node). Default true in Node. */
  quiet?: boolean;
}

const BROWSER_ORDER: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
const NODE_ORDER: BackendName[] = ['wasm', 'cpu'];

interface NodeProcessLike {
  versions?: { node?: string };
  env?: Record<string, string | undefined>;
}

/**
 * initBackend's winograd option, else the environment: SKIPSCAPE_WINOGRAD in
 * Node, PUBLIC_SKIPSCAPE_WINOGRAD when the site was built (Vite puts the
 * PUBLIC_ variables into import.meta.env). 0, false, off or no turn it off.
 */
export function winogradWanted(option: boolean | undefined): boolean {
  if (option !== undefined) return option;
  const node = (globalThis as { process?: NodeProcessLike }).process?.env?.['SKIPSCAPE_WINOGRAD'];
  // Written out whole: Vite replaces the expression `import.meta.env` only.
  const site = (import.meta as { env?: Record<string, string | undefined> }).env?.[
    'PUBLIC_SKIPSCAPE_WINOGRAD'
  ];
  const v = node ?? site;
  return v === undefined || !['0', 'false', 'off', 'no'].includes(v.toLowerCase());
}

/** Whether the last wasm start put our Winograd kernel in (kept here so reading it loads nothing). */
let winogradStarted = false;

/**
 * The active backend as a result file records it: "wasm (Winograd)" where
 * initBackend put our 3×3 kernel in, whose sums round differently from
 * tfjs's own convolution (within 1e-5 relative), so a number can be traced to
 * the arithmetic that made it.
 */
export function backendLabel(): string {
  const name = tf.getBackend();
  return name === 'wasm' && winogradStarted ? `${name} (Winograd)` : name;
}

/** Node, a browser page, or a (module) worker: by what the global scope offers. */
export function detectRuntime(): Runtime {
  const proc = (globalThis as { process?: NodeProcessLike }).process;
  if (proc?.versions?.node) return 'node';
  const g = globalThis as { WorkerGlobalScope?: abstract new () => unknown };
  if (typeof g.WorkerGlobalScope === 'function' && globalThis instanceof g.WorkerGlobalScope)
    return 'worker';
  return 'browser';
}

/** The order backends are tried in when nothing is asked for. */
export function defaultBackendOrder(runtime: Runtime = detectRuntime()): BackendName[] {
  return runtime === 'node' ? [...NODE_ORDER] : [...BROWSER_ORDER];
}

function backendOrder(prefer: InitBackendOptions['prefer'], runtime: Runtime): BackendName[] {
  const base = defaultBackendOrder(runtime);
  if (prefer === undefined) return base;
  if (Array.isArray(prefer)) return [...prefer];
  return [prefer, ...base.filter((b) => b !== prefer)];
}

// Dynamic imports whose specifiers bundlers must not follow into browser
// bundles (Node built-ins, the native Dawn addon).
const importNode = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

async function nodeWasmFolder(): Promise<string> {
  const { createRequire } = (await importNode('node:module')) as typeof import('node:module');
  const { dirname, join } = (await importNode('node:path')) as typeof import('node:path');
  const require = createRequire(import.meta.url);
  // The package's "main" lives in dist/, next to the .wasm files.
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/');
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

interface NavigatorWithGpu {
  gpu?: GpuLike;
}

/**
 * The one Dawn instance of this process. Dawn lives as long as the object
 * create() returned is referenced: replacing it would destroy the device an
 * already started webgpu backend still uses, so it is made once and kept.
 */
let dawnGpu: GpuLike | null = null;

/** Make navigator.gpu exist in Node from Dawn, once per process. */
async function provideNodeWebGpu(flags: string[]): Promise<void> {
  if (!dawnGpu) {
    const webgpu = (await importNode('webgpu')) as {
      create(flags: string[]): GpuLike;
      globals: Record<string, unknown>;
    };
    Object.assign(globalThis, webgpu.globals);
    dawnGpu = webgpu.create(flags);
  }
  const g = globalThis as { navigator?: NavigatorWithGpu };
  if (!g.navigator) g.navigator = {};
  g.navigator.gpu = dawnGpu;
}

async function tryStart(
  name: BackendName,
  options: InitBackendOptions,
  runtime: Runtime,
): Promise<void> {
  switch (name) {
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const paths = options.wasmPaths ?? (runtime === 'node' ? await nodeWasmFolder() : undefined);
      if (paths !== undefined) wasm.setWasmPaths(paths);
      installWasmKernelFixes();
      if (winogradWanted(options.winograd)) {
        const { useWinograd, winogradInUse } = await import('./winograd');
        await useWinograd();
        winogradStarted = winogradInUse();
      } else {
        const { stopWinograd } = await import('./winograd');
        stopWinograd();
        winogradStarted = false;
      }
      break;
    }
    case 'webgl': {
      if (runtime === 'node') throw new Error('WebGL is not available in Node');
      if (typeof OffscreenCanvas === 'undefined' && runtime === 'worker') {
        throw new Error('no OffscreenCanvas in this worker');
      }
      await import('@tensorflow/tfjs-backend-webgl');
      break;
    }
    case 'webgpu': {
      if (runtime === 'node') await provideNodeWebGpu(options.dawnFlags ?? []);
      const gpu = (globalThis as { navigator?: NavigatorWithGpu }).navigator?.gpu;
      if (!gpu) throw new Error('navigator.gpu is missing (no WebGPU in this runtime)');
      const adapter = await gpu.requestAdapter();
      if (!adapter) throw new Error('navigator.gpu.requestAdapter() found no adapter');
      await import('@tensorflow/tfjs-backend-webgpu');
      break;
    }
  }
  await setBackendOrExplain(name, options.quiet ?? runtime === 'node');
  await tf.ready();
}

/**
 * tf.setBackend resolves false when a backend fails to initialise and reports
 * the cause only through console.warn. Catch those lines so the cause lands in
 * BackendChoice.tried; pass them on afterwards unless asked to be quiet.
 */
async function setBackendOrExplain(name: BackendName, quiet: boolean): Promise<void> {
  const lines: string[] = [];
  const warn = console.warn;
  const prod = tf.env().getBool('PROD');
  tf.env().set('PROD', false);
  console.warn = (...parts: unknown[]) => {
    lines.push(parts.map((p) => (p instanceof Error ? p.message : String(p))).join(' '));
  };
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } finally {
    console.warn = warn;
    tf.env().set('PROD', prod);
  }
  if (!quiet) for (const line of lines) warn(line);
  if (!ok || tf.getBackend() !== name) {
    const cause = lines
      .filter((l) => !l.startsWith('Initialization of backend'))
      .map((l) => l.split('\n')[0]!)
      .join('; ');
    throw new Error(`tfjs could not initialise the ${name} backend${cause ? `: ${cause}` : ''}`);
  }
}

function reasonFor(
  name: BackendName,
  runtime: Runtime,
  asked: boolean,
  tried: BackendChoice['tried'],
): string {
  const first = tried.length === 0;
  const where =
    runtime === 'node' ? 'in Node' : runtime === 'worker' ? 'in this worker' : 'in this browser';
  if (asked && first) return `${name} was asked for and started ${where}`;
  const fellBack = first ? '' : ` after ${tried.map((t) => t.name).join(', ')} failed`;
  const why: Record<BackendName, string> = {
    webgpu: 'WebGPU runs on the GPU: the fastest backend',
    webgl: 'WebGL runs on the GPU',
    wasm: 'WebAssembly with SIMD on the CPU',
    cpu: 'plain JavaScript on the CPU, the slowest but always there',
  };
  return `${why[name]}; started ${where}${fellBack}`;
}

/**
 * Start the first backend of the order that works and report it. Throws only
 * when none does (the cpu backend always can).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendChoice> {
  const runtime = detectRuntime();
  if (options.quiet ?? runtime === 'node') tf.env().set('PROD', true);
  const order = backendOrder(options.prefer, runtime);
  const tried: BackendChoice['tried'] = [];
  for (const name of order) {
    try {
      await tryStart(name, options, runtime);
    } catch (e) {
      tried.push({ name, error: e instanceof Error ? e.message : String(e) });
      continue;
    }
    const choice: BackendChoice = {
      name,
      reason: reasonFor(name, runtime, options.prefer !== undefined, tried),
      tried,
      runtime,
    };
    if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const { winogradInUse } = await import('./winograd');
      choice.wasm = {
        simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
        threads: wasm.getThreadsCount(),
        winograd: winogradInUse(),
      };
    }
    return choice;
  }
  throw new Error(
    `no tfjs backend could start: ${tried.map((t) => `${t.name}: ${t.error}`).join('; ')}`,
  );
}
