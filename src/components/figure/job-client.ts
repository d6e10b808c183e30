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
    const message = event.data;
    const listener = listeners.get(message.jobId);
    if (message.type === 'done' || message.type === 'error') listeners.delete(message.jobId);
    listener?.deliver(message);
  };
  // The worker itself failed (its script did not load, or it crashed): every
  // job it held ends with an error, and the lane's next job starts a fresh worker.
  w.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    const text = event.message || 'the compute worker stopped unexpectedly';
    for (const [jobId, { kind, lane: held, deliver }] of listeners) {
      if (held !== lane) continue;
      listeners.delete(jobId);
      deliver({ type: 'error', jobId, kind, name: 'WorkerError', message: text } as FromWorker);
    }
    w.terminate();
    if (workers[lane] === w) workers[lane] = null;
  };
  workers[lane] = w;
  return w;
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
  };
}

/**
 * Whether this browser offers a WebGPU adapter, asked without loading tfjs,
 * so a figure can pick its live defaults and say why before anything runs.
 */
export async function probeWebGpu(): Promise<{ available: boolean; reason: string }> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu)
    return { available: false, reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    const adapter = await gpu.requestAdapter();
    return adapter
      ? { available: true, reason: 'a WebGPU adapter is available' }
      : { available: false, reason: 'WebGPU is present but found no adapter' };
  } catch (e) {
    return { available: false, reason: `WebGPU failed: ${(e as Error).message}` };
  }
}
