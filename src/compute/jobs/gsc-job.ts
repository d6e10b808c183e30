/**
 * The `gsc` job: Philipp et al.'s GSC, pre-activation std and sign diversity
 * of one lab network at initialisation (signals/gsc.ts), in the worker. No
 * partial results: one estimate is a forward and a backward pass per
 * projection, a few seconds; the job leaves the tensor count where it was.
 */
import { gradientScaleCoefficients, measureGscDraws } from '../signals/gsc';
import type { GscDraw, GscResult } from '../signals/gsc';
import type { SignalNetwork } from '../signals/network';
import type { JobHandler } from './protocol';

export interface GscJobParams {
  network: SignalNetwork;
  seed: number;
  inputs: number;
  projections: number;
  draws: number;
}

export interface GscJobTypes {
  params: GscJobParams;
  progress: { done: number; total: number };
  partial: never;
  /** null when cancelled before the estimate was finished. */
  result: GscResult | null;
}

export const runGscJob: JobHandler<'gsc'> = async (params, context) => {
  const result = await gradientScaleCoefficients({
    ...params,
    signal: context.signal,
    onProgress: (done, total) => context.progress({ done, total }),
  });
  return result === 'cancelled' ? { result: null, cancelled: true } : { result, cancelled: false };
};

export interface GscDrawsJobParams extends GscJobParams {
  /** Also GSC(k, l) for every pair of layers. */
  pairs: boolean;
  /** This job measures draws [from, to) of the run's `draws`. */
  from: number;
  to: number;
}

export interface GscDrawsJobTypes {
  params: GscDrawsJobParams;
  /** Passes done of this job's slice. */
  progress: { done: number; total: number };
  /** One measured draw, as soon as it is done. */
  partial: GscDraw;
  /** How many draws of the slice were measured (all of them unless cancelled). */
  result: { draws: number };
}

/**
 * The `gsc-draws` job: draws [from, to) of a GSC run (measureGscDraws), each
 * sent back as a partial result; the caller merges every slice's draws with
 * combineGscDraws. The command line deals a run's draws out to its worker
 * threads with this (src/compute/jobs/pooled.ts).
 */
export const runGscDrawsJob: JobHandler<'gsc-draws'> = async (params, context) => {
  let done = 0;
  const measured = await measureGscDraws({
    ...params,
    signal: context.signal,
    onProgress: (passes, total) => context.progress({ done: passes, total }),
    onDraw: (draw) => {
      done++;
      context.partial(draw);
    },
  });
  return { result: { draws: done }, cancelled: measured === 'cancelled' };
};
