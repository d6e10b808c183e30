/**
 * What a live run will be before it starts, apart from any UI: the job's
 * parameters from the figure's settings, the backends to try, and how long it
 * should take, with the ETA once it runs.
 *
 * Backends: figure/live-backend.ts ('auto' takes WebGPU only on a hardware
 * adapter).
 *
 * Time: before a run, from the speed measured for that run and backend on a
 * 2-core AMD EPYC (REFERENCE_SPEED; bench/README.md, bench/training-live-run.ts);
 * once it runs, from the speed measured in this browser.
 */
import type { BackendName } from '../../compute/backend';
import type { TrainingComparisonParams } from '../../compute/jobs/training-comparison';
import { MODEL_LABELS, QUICK_RUN, type TrainingState } from './settings';

/** The job that trains both networks, from the figure's settings. */
export function comparisonParams(s: TrainingState, base: string): TrainingComparisonParams {
  const quick = s.live === 'quick';
  return {
    model: quick ? QUICK_RUN.network : s.model,
    dataDir: `${base.replace(/\/?$/, '/')}data/fashion-mnist`,
    epochs: s.epochs,
    lr: s.lr,
    batchSize: s.batch,
    trainImages: s.images,
    testImages: s.test,
    seed: s.seed,
    downsample: quick ? QUICK_RUN.downsample : 1,
  };
}

/** The network a live run trains, in words. */
export function liveNetworkLabel(s: Pick<TrainingState, 'live' | 'model'>): string {
  return s.live === 'quick' ? QUICK_RUN.label : `${MODEL_LABELS[s.model]} on 28 × 28 images`;
}

/**
 * Images per second, both networks together, on one core of a 2-core AMD
 * EPYC (bench/README.md): the quick run on WebAssembly, 155 images/s of the
 * process's CPU time in Node and the same code in Chromium's worker (35.5
 * images/s of wall time there while the machine ran four times as many jobs
 * as it has cores); BMEnet-32 at the lecture's scale, 9.5 images/s in
 * Chromium (issue 15). Other networks and backends have no reference; their time
 * is known once the first steps are done.
 */
export const REFERENCE_SPEED: Partial<Record<string, Partial<Record<BackendName, number>>>> = {
  [QUICK_RUN.network]: { wasm: 150 },
  bmenet32: { wasm: 9.5 },
};

/** Seconds to start: loading tfjs, the backend and the images (measured as above). */
const STARTUP_SECONDS = 4;

/** Training images both runs go through: whole batches per epoch, as the training loop takes them. */
export function imagesToTrain(s: Pick<TrainingState, 'epochs' | 'batch' | 'images'>): number {
  const batch = Math.min(s.batch, s.images);
  return 2 * s.epochs * Math.max(1, Math.floor(s.images / batch)) * batch;
}

/**
 * Seconds a run should take at `imagesPerSecond` (both networks): training,
 * plus the test images after each epoch, whose forward pass costs about a
 * third of a training step's forward and backward.
 */
export function runSeconds(
  s: Pick<TrainingState, 'epochs' | 'batch' | 'images' | 'test'>,
  imagesPerSecond: number,
): number {
  const evaluation = (2 * s.epochs * s.test) / 3;
  return (imagesToTrain(s) + evaluation) / imagesPerSecond;
}

/** The estimate before a run starts, or null when this network and backend have no reference. */
export function estimateBefore(
  s: TrainingState,
  backend: BackendName,
): { seconds: number; imagesPerSecond: number } | null {
  const network = s.live === 'quick' ? QUICK_RUN.network : s.model;
  const speed = REFERENCE_SPEED[network]?.[backend];
  if (speed === undefined) return null;
  return { seconds: STARTUP_SECONDS + runSeconds(s, speed), imagesPerSecond: speed };
}

/** Seconds left of a running job, from the images both runs have still to go through. */
export function secondsLeft(options: {
  settings: Pick<TrainingState, 'epochs' | 'batch' | 'images' | 'test'>;
  stepsDone: number;
  imagesPerSecond: number;
}): number | null {
  const { settings, stepsDone, imagesPerSecond } = options;
  if (!(imagesPerSecond > 0)) return null;
  const batch = Math.min(settings.batch, settings.images);
  const left = Math.max(0, imagesToTrain(settings) - stepsDone * batch);
  const evaluation = (2 * settings.epochs * settings.test) / 3;
  return (left + evaluation * (left / imagesToTrain(settings))) / imagesPerSecond;
}

/**
 * "about 3 s", "about 45 s", "about 3 min", "about 1 h 10 min": whole seconds
 * below 10 s (rounded to 5 s, 2.4 s read "about 1 s" and 2.6 s "about 5 s"),
 * then the nearest 5 s, then minutes.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 9.5) return `about ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90) return `about ${Math.round(seconds / 5) * 5} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `about ${minutes} min`;
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
