/**
 * The islands' side of the compute worker (src/compute/jobs/worker.ts): one
 * module worker per page, started when the first job is, shared by every
 * figure; each job's messages go to the figure that started it, by job id.
 * Nothing here imports tfjs: the worker loads it when its first job starts.
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

let worker: Worker | null = null;
const listeners = new Map<string, { kind: JobKind; deliver: (message: FromWorker) => void }>();
let nextId = 0;

function send(message: ToWorker): void {
  worker?.postMessage(message);
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('../../compute/jobs/worker.ts', import.meta.url), {
    type: 'module',
    name: 'skipscape-compute',
  });
  w.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    const listener = listeners.get(message.jobId);
    if (message.type === 'done' || message.type === 'error') listeners.delete(message.jobId);
    listener?.deliver(message);
  };
  // The worker itself failed (its script did not load, or it crashed): every
  // job it held ends with an error, and the next job starts a fresh worker.
  w.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    const text = event.message || 'the compute worker stopped unexpectedly';
    for (const [jobId, { kind, deliver }] of listeners) {
      deliver({ type: 'error', jobId, kind, name: 'WorkerError', message: text } as FromWorker);
    }
    listeners.clear();
    w.terminate();
    if (worker === w) worker = null;
  };
  worker = w;
  return w;
}

/** Start a job in the shared worker; `onMessage` receives its messages until done or error. */
export function startJob<K extends JobKind>(options: {
  kind: K;
  params: JobKinds[K]['params'];
  /** Backends to prefer, in order; default webgpu, webgl, wasm, cpu. */
  backend?: BackendName | BackendName[];
  onMessage: (message: JobMessage<K>) => void;
}): JobHandle {
  const w = ensureWorker();
  const jobId = `${options.kind}-${++nextId}`;
  listeners.set(jobId, {
    kind: options.kind,
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
    cancel: () => send({ type: 'cancel', jobId }),
    control: (action) => send({ type: 'control', jobId, action }),
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
