/**
 * The "Run live" state of the training comparison, apart from any UI or
 * worker: the reader's actions (start, pause, resume, cancel) and the job's
 * messages move it between phases, and the curves grow from the job's steps
 * and epochs. Messages that do not fit the phase (a step arriving after
 * Cancel was pressed) change nothing the reader sees as running.
 *
 *   idle ─start─▶ starting ─started─▶ running ◀─resume── paused
 *                    │                  │  └──pause──────▲
 *                    └──────cancel──────┴──▶ cancelling ─done─▶ cancelled
 *                                       ├──done─▶ done
 *                                       └──error─▶ error      (any of the last three ─start─▶ starting)
 */
import type { ComparisonPartial, ComparisonProgress } from '../../compute/jobs/training-comparison';
import { emptyLiveRun, type EpochPoint, type LiveRun, type RunName } from './history';

export type LivePhase =
  'idle' | 'starting' | 'running' | 'paused' | 'cancelling' | 'done' | 'cancelled' | 'error';

export interface RunStatus {
  step: number;
  totalSteps: number;
  epoch: number;
  epochs: number;
  /** Running means over the current epoch. */
  loss: number | null;
  accuracy: number | null;
  /** How the run ended, once it has. */
  ended: 'completed' | 'cancelled' | 'diverged' | null;
  /** Why it diverged. */
  message: string | null;
}

export interface LiveState {
  phase: LivePhase;
  backend: { name: string; reason: string } | null;
  /** What went wrong (phase 'error'). */
  message: string | null;
  data: { trainImages: number; testImages: number } | null;
  /** Both runs together, over the time the job was not paused. */
  imagesPerSecond: number | null;
  runs: Record<RunName, RunStatus>;
  curves: Record<RunName, LiveRun>;
}

export type LiveEvent =
  | { type: 'start' }
  | { type: 'started'; backend: string; reason: string }
  | { type: 'progress'; progress: ComparisonProgress }
  | { type: 'partial'; partial: ComparisonPartial }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel' }
  | { type: 'done'; cancelled: boolean }
  | { type: 'error'; message: string };

function idleRun(): RunStatus {
  return {
    step: 0,
    totalSteps: 0,
    epoch: 0,
    epochs: 0,
    loss: null,
    accuracy: null,
    ended: null,
    message: null,
  };
}

export function initialLiveState(): LiveState {
  return {
    phase: 'idle',
    backend: null,
    message: null,
    data: null,
    imagesPerSecond: null,
    runs: { skip: idleRun(), noskip: idleRun() },
    curves: { skip: emptyLiveRun(), noskip: emptyLiveRun() },
  };
}

/** A job is under way (Pause, Cancel and Restart apply). */
export function isActive(state: LiveState): boolean {
  return ['starting', 'running', 'paused', 'cancelling'].includes(state.phase);
}

/**
 * The next state. Curves are extended in place for speed (a run can have
 * thousands of steps); the returned object is new, so a UI that keeps the
 * state in a reactive variable redraws.
 */
export function liveReducer(state: LiveState, event: LiveEvent): LiveState {
  switch (event.type) {
    case 'start':
      return isActive(state) ? state : { ...initialLiveState(), phase: 'starting' };
    case 'started':
      return state.phase === 'starting'
        ? { ...state, phase: 'running', backend: { name: event.backend, reason: event.reason } }
        : state;
    case 'progress': {
      if (!['running', 'paused'].includes(state.phase)) return state;
      const p = event.progress;
      state.curves[p.run].steps.push({
        x: p.epoch - 1 + p.epochStep / p.stepsPerEpoch,
        epoch: p.epoch,
        step: p.step,
        loss: p.loss,
        accuracy: p.accuracy,
        batchLoss: p.batchLoss,
        lr: p.lr,
      });
      return {
        ...state,
        imagesPerSecond: p.imagesPerSecond,
        runs: {
          ...state.runs,
          [p.run]: {
            ...state.runs[p.run],
            step: p.step,
            totalSteps: p.totalSteps,
            epoch: p.epoch,
            epochs: p.epochs,
            loss: p.loss,
            accuracy: p.accuracy,
          },
        },
      };
    }
    case 'partial': {
      if (!['running', 'paused', 'cancelling'].includes(state.phase)) return state;
      const p = event.partial;
      if (p.type === 'data') {
        return { ...state, data: { trainImages: p.trainImages, testImages: p.testImages } };
      }
      if (p.type === 'epoch') {
        const r = p.record;
        const point: EpochPoint = {
          epoch: r.epoch,
          step: r.step,
          trainLoss: r.trainLoss,
          trainAccuracy: r.trainAccuracy,
          testLoss: r.testLoss,
          testAccuracy: r.testAccuracy,
          lr: r.lr,
          backend: r.backend,
        };
        state.curves[p.run].epochs.push(point);
        return { ...state };
      }
      return {
        ...state,
        runs: {
          ...state.runs,
          [p.run]: { ...state.runs[p.run], ended: p.status, message: p.message },
        },
      };
    }
    case 'pause':
      return state.phase === 'running' ? { ...state, phase: 'paused' } : state;
    case 'resume':
      return state.phase === 'paused' ? { ...state, phase: 'running' } : state;
    case 'cancel':
      return isActive(state) && state.phase !== 'cancelling'
        ? { ...state, phase: 'cancelling' }
        : state;
    case 'done':
      // The job's word decides: a job that finished before Cancel reached it is done.
      return isActive(state) ? { ...state, phase: event.cancelled ? 'cancelled' : 'done' } : state;
    case 'error':
      return isActive(state) ? { ...state, phase: 'error', message: event.message } : state;
  }
}
