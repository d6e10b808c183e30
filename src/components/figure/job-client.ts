/**
 * The islands' side of the compute workers (src/compute/jobs/worker.ts):
 * module workers shared by every figure of the page, each started when its
 * first job is. Jobs run on lane 0 unless they name another; a figure that
 * splits work over the CPU's cores (Run live's shards) uses lanes 0 … n − 1.
 * Each job's messages go to the figure that started it, by job id. Nothing
 * here imports tfjs: a worker loads it when its first job starts.
 *
 *   startJob ──start──▶ worker ──started, progress*, partial*──▶ onMessage
 *       │                  ▲                                        │
 *       └─cancel/control───┘            done | error ──▶ onMessage, forgotten
 */
import type { BackendName } from '../../compute/backend';
import type { FromWorker, JobKind, JobKinds, ToWorker } from '../../compute/jobs/protocol';

/** The messages of one kind of job. */
export type JobMessage<K extends JobKind> = Extract<FromWorker, { kind: K }>;

export interface JobHandle {
  jobId: string;
  /** Stop the job at its next step; it still ends with `done` (cancelled) holding what it finished. */
  cancel(): void;
  /** Pause or resume, for jobs that listen (their handler registers onControl). */
  control(action: 'pause' | 'resume'): void;
  /**
   * Stop at once: end the worker that runs the job, whatever it is doing (a
   * step on a slow backend can take minutes, and a worker sees a cancel only
   * between steps). The job sends nothing more; other jobs on the same lane
   * end with an error, and the lane's next job starts a fresh worker.
   */
  terminate(): void;
}

const workers: (Worker | null)[] = [];
const listeners = new Map<
  string,
  { kind: JobKind; lane: number; deliver: (message: FromWorker) => void }
>();
let nextId = 0;

/**
 * How many lanes a figure should split CPU work over: one per core the
 * browser reports, leaving one for the page when there are more than two,
 * and at most four (each worker holds its own copy of tfjs, model and data).
 */
export function cpuLanes(): number {
  const cores = typeof navigator === 'undefined' ? 1 : (navigator.hardwareConcurrency ?? 1);
  return Math.max(1, Math.min(4, cores > 2 ? cores - 1 : cores));
}

function ensureWorker(lane: number): Worker {
  const existing = workers[lane];
  if (existing) return existing;
  const w = new Worker(new URL('../../compute/jobs/worker.ts', import.meta.url), {
    type: 'module',
    name: `skipscape-compute-${lane}`,
  });
  w.onmessage = (event: MessageEvent<FromWorker>) => {
    if (workers[lane] !== w) return;
    const message = event.data;
    const listener = listeners.get(message.jobId);
    if (message.type === 'done' || message.type === 'error') listeners.delete(message.jobId);
    listener?.deliver(message);
  };
  // The worker itself failed (its script did not load, or it crashed): every
  // job it held ends with an error, and the lane's next job starts a fresh worker.
  w.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    endWorker(lane, w, event.message || 'the compute worker stopped unexpectedly');
  };
  workers[lane] = w;
  return w;
}

/** Terminate a lane's worker; every job it held ends with an error saying why. */
function endWorker(lane: number, w: Worker, why: string): void {
  w.terminate();
  if (workers[lane] === w) workers[lane] = null;
  for (const [jobId, { kind, lane: held, deliver }] of listeners) {
    if (held !== lane) continue;
    listeners.delete(jobId);
    deliver({ type: 'error', jobId, kind, name: 'WorkerError', message: why } as FromWorker);
  }
}

/** Start a job in a shared worker; `onMessage` receives its messages until done or error. */
export function startJob<K extends JobKind>(options: {
  kind: K;
  params: JobKinds[K]['params'];
  /** Backends to prefer, in order; default webgpu, webgl, wasm, cpu. */
  backend?: BackendName | BackendName[];
  /** Which worker runs it (default 0); see cpuLanes. */
  lane?: number;
  onMessage: (message: JobMessage<K>) => void;
}): JobHandle {
  const lane = options.lane ?? 0;
  const w = ensureWorker(lane);
  const jobId = `${options.kind}-${++nextId}`;
  listeners.set(jobId, {
    kind: options.kind,
    lane,
    deliver: (message) => options.onMessage(message as JobMessage<K>),
  });
  const start = {
    type: 'start',
    jobId,
    kind: options.kind,
    params: options.params,
    ...(options.backend !== undefined ? { backend: options.backend } : {}),
  } as ToWorker;
  w.postMessage(start);
  return {
    jobId,
    cancel: () => w.postMessage({ type: 'cancel', jobId } satisfies ToWorker),
    control: (action) => w.postMessage({ type: 'control', jobId, action } satisfies ToWorker),
    terminate: () => {
      listeners.delete(jobId);
      if (workers[lane] === w)
        endWorker(lane, w, 'the compute worker was stopped by another figure');
    },
  };
}

/** What probeGpu found. */
export interface GpuProbe {
  /** A hardware WebGPU adapter: WebGPU is worth trying first. */
  available: boolean;
  /** A WebGPU adapter that is a software renderer (SwiftShader, llvmpipe): present, but not a GPU. */
  software: boolean;
  /** A WebGL 2 context on a hardware GPU, the fallback where WebGPU has no adapter. */
  webgl: boolean;
  reason: string;
}

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: {
    vendor?: string;
    architecture?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
}

/** A renderer's name that says it runs on the CPU. */
const SOFTWARE_RENDERER = /swiftshader|software|llvmpipe|basic render/i;

/**
 * Whether an adapter is a software renderer: the browser says so
 * (isFallbackAdapter), or its name does. SwiftShader, Chromium's Vulkan on
 * the CPU where there is no usable GPU, runs these networks hundreds of
 * times slower than WebAssembly (bench/README.md), so it must not count as a GPU.
 */
export function isSoftwareAdapter(adapter: GpuAdapterLike): boolean {
  const info = adapter.info ?? {};
  return (
    adapter.isFallbackAdapter === true ||
    info.isFallbackAdapter === true ||
    SOFTWARE_RENDERER.test(
      `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`,
    )
  );
}

/**
 * Whether WebGL 2 runs on a hardware GPU. Chromium without a usable GPU
 * renders WebGL through SwiftShader too, and does not count that as a major
 * performance caveat, so the renderer's name decides (where the browser
 * gives it; otherwise the context is taken to be hardware).
 */
function hardwareWebGl(): boolean {
  if (typeof document === 'undefined') return false;
  const gl = document
    .createElement('canvas')
    .getContext('webgl2', { failIfMajorPerformanceCaveat: true });
  if (!gl) return false;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return !SOFTWARE_RENDERER.test(renderer);
}

let probed: Promise<GpuProbe> | null = null;

/**
 * Which GPU this browser offers: a hardware WebGPU adapter, or failing that
 * a hardware WebGL 2 context. Asked without loading tfjs, so a figure can
 * pick its backend and live defaults and say why before anything runs; asked
 * once a page (every live figure asks on mount, and a WebGL context is not
 * free to make), the answer shared.
 */
export function probeGpu(): Promise<GpuProbe> {
  probed ??= askGpu();
  return probed;
}

async function askGpu(): Promise<GpuProbe> {
  const webgl = hardwareWebGl();
  const gpu = (
    navigator as Navigator & { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }
  ).gpu;
  if (!gpu) {
    return {
      available: false,
      software: false,
      webgl,
      reason: 'this browser has no WebGPU (navigator.gpu is missing)',
    };
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      return {
        available: false,
        software: false,
        webgl,
        reason: 'WebGPU is present but found no adapter',
      };
    }
    return isSoftwareAdapter(adapter)
      ? {
          available: false,
          software: true,
          webgl,
          reason: 'the WebGPU adapter here is a software renderer, slower than WebAssembly',
        }
      : { available: true, software: false, webgl, reason: 'a WebGPU adapter is available' };
  } catch (e) {
    return {
      available: false,
      software: false,
      webgl,
      reason: `WebGPU failed: ${(e as Error).message}`,
    };
  }
}
