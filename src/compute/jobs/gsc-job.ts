/**
 * The `gsc-draws` job: Philipp et al.'s GSC, pre-activation std and sign
 * diversity of one lab network at initialisation (signals/gsc.ts), a slice of
 * a run's weight draws in the worker; whoever started the slices merges their
 * draws (combineGscDraws, signals/gsc-draws.ts): the GSC lab's page, or the
 * command line's main thread. The job leaves the tensor count where it was.
 */
import { measureGscDraws } from '../signals/gsc';
import type { GscDraw, GscRunOptions } from '../signals/gsc-draws';
import type { JobHandler } from './protocol';

/** A run's options, all given (GscRunOptions), and the slice of its draws this job measures. */
export interface GscDrawsJobParams extends Required<GscRunOptions> {
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

/** Draws [from, to) of a GSC run (measureGscDraws), each sent back as a partial result. */
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
