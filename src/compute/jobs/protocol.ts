/**
 * The messages between an island and the compute worker: one typed,
 * discriminated union each way. Tensors never cross; only plain objects,
 * typed arrays and (transferred) bytes do.
 *
 *   island                                   worker
 *     │ ── start {jobId, kind, params} ──────▶ │  imports tfjs, starts a backend
 *     │ ◀───────── started {backend, reason} ─ │
 *     │ ◀──────────────── progress {progress} ─ │  many
 *     │ ◀────────────────── partial {partial} ─ │  e.g. one per epoch
 *     │ ── control {pause | resume} ─────────▶ │  optional
 *     │ ── cancel ───────────────────────────▶ │  the job stops at its next step
 *     │ ◀──── done {result, cancelled} | error ─ │  exactly one of these ends a job
 *
 * A cancelled job still ends with `done` (cancelled: true) and keeps what it
 * finished. Each job kind declares its four payload types in JobKinds; to
 * add a kind, add a line there and a loader to JOB_TABLE (table.ts).
 */
import type { BackendName } from '../backend';
import type { EffectiveDepthJobTypes } from './effective-depth-job';
import type { GscDrawsJobTypes } from './gsc-job';
import type { LandscapeJobTypes } from './landscape-job';
import type { LandscapeWarmUpJobTypes } from './landscape-warm-up';
import type { ResponseBatchesJobTypes, ResponsesJobTypes } from './responses-job';
import type { SignalsBinsJobTypes, SignalsJobTypes } from './signals-job';
import type { LesionJobTypes, PathGradientJobTypes } from './paths-job';
import type { TrainJobTypes } from './train-job';
import type { TrainingComparisonJobTypes } from './training-comparison';

/** Every job kind and its payloads: params in; progress, partial results and the result out. */
export interface JobKinds {
  train: TrainJobTypes;
  /** One network with and without skips, side by side ("Skip connections in action"). */
  'training-comparison': TrainingComparisonJobTypes;
  /** A loss surface around a shipped checkpoint (the loss-landscape explorer's "Run live"). */
  landscape: LandscapeJobTypes;
  /** A few tiny evaluations that ready a worker for `landscape` before the reader clicks Run live. */
  'landscape-warm-up': LandscapeWarmUpJobTypes;
  /**
   * A slice of a GSC run's weight draws (Philipp et al.'s measures at initialisation): the GSC
   * lab's workers and the command line's worker threads, merged by whoever started them.
   */
  'gsc-draws': GscDrawsJobTypes;
  /** Per-layer signal statistics of an MLP at initialisation (the signal figures). */
  signals: SignalsJobTypes;
  /** The histogram counts of a `signals` run's draws this worker measured (signals-job.ts). */
  'signals-bins': SignalsBinsJobTypes;
  /** One network of the effective-depth experiment, trained and Taylor-expanded (the command line's worker threads). */
  'effective-depth': EffectiveDepthJobTypes;
  /** Veit et al.'s lesion study of a shipped checkpoint ("Residual networks as ensembles of short paths"). */
  lesion: LesionJobTypes;
  /** A sampled gradient magnitude per path length of a shipped checkpoint (the same article). */
  'path-gradient': PathGradientJobTypes;
  /** He et al.'s per-block signals of a shipped ResNet, initial and trained ("It is not vanishing gradients"). */
  responses: ResponsesJobTypes;
  /** A slice of a block-responses measurement's batches (the command line's worker threads). */
  'response-batches': ResponseBatchesJobTypes;
}

export type JobKind = keyof JobKinds;

/** The shape each entry of JobKinds has. */
export interface JobTypes {
  params: unknown;
  progress: unknown;
  partial: unknown;
  result: unknown;
}

type StartMessage = {
  [K in JobKind]: {
    type: 'start';
    jobId: string;
    kind: K;
    params: JobKinds[K]['params'];
    /** Backends to prefer, in order; default the runtime's order (webgpu, webgl, wasm, cpu). */
    backend?: BackendName | BackendName[];
  };
}[JobKind];

export type ToWorker =
  | StartMessage
  | { type: 'cancel'; jobId: string }
  | { type: 'control'; jobId: string; action: 'pause' | 'resume' };

type PerKind<T extends Record<string, unknown>> = {
  [K in JobKind]: { jobId: string; kind: K } & T;
}[JobKind];

export type FromWorker =
  | PerKind<{ type: 'started'; backend: BackendName; reason: string }>
  | {
      [K in JobKind]: {
        type: 'progress';
        jobId: string;
        kind: K;
        progress: JobKinds[K]['progress'];
      };
    }[JobKind]
  | {
      [K in JobKind]: { type: 'partial'; jobId: string; kind: K; partial: JobKinds[K]['partial'] };
    }[JobKind]
  | {
      [K in JobKind]: {
        type: 'done';
        jobId: string;
        kind: K;
        result: JobKinds[K]['result'];
        /** True when the job stopped on a cancel; the result holds what was done. */
        cancelled: boolean;
      };
    }[JobKind]
  | PerKind<{ type: 'error'; name: string; message: string }>;

/** What a job handler is given besides its params. */
export interface JobContext<K extends JobKind> {
  /** Fires on cancel. */
  signal: AbortSignal;
  progress(progress: JobKinds[K]['progress']): void;
  /** A partial result; buffers in `transfer` are moved, not copied. */
  partial(partial: JobKinds[K]['partial'], transfer?: Transferable[]): void;
  /** Pause and resume requests from the island. */
  onControl(handler: (action: 'pause' | 'resume') => void): void;
  /** Read a file by URL or path (fetch in the browser; injected in tests and Node). */
  readBytes(path: string): Promise<Uint8Array>;
}

/** What a handler resolves to. */
export interface JobOutcome<K extends JobKind> {
  result: JobKinds[K]['result'];
  cancelled: boolean;
  transfer?: Transferable[];
}

export type JobHandler<K extends JobKind> = (
  params: JobKinds[K]['params'],
  context: JobContext<K>,
) => Promise<JobOutcome<K>>;

/** Loaders, so a job's code (and tfjs) is imported only when a job of its kind starts. */
export type JobTable = { [K in JobKind]: () => Promise<JobHandler<K>> };
