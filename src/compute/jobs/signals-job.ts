/**
 * The `signals` job: draws [from, to) of a signal run (src/compute/signals) at
 * initialisation, each draw's raw sums and histogram samples sent back as a
 * partial result as soon as it is measured. The figure splits a run's draws
 * over one worker per core and sums them (summariseSignals) on the page, so a
 * cancelled run (a slider moved on) keeps every draw that was finished.
 */
import { measureSignalDraws, signalLayout, validateNetwork } from '../signals';
import type { SignalDraw, SignalNetwork, SignalProgress } from '../signals';
import type { JobHandler } from './protocol';

export interface SignalsJobParams {
  network: SignalNetwork;
  batch: number;
  /** K: the run's draws; this job measures [from, to) of them (default all). */
  draws: number;
  seed: number;
  from?: number;
  to?: number;
}

export interface SignalsJobTypes {
  params: SignalsJobParams;
  /** Draws done of this job's slice. */
  progress: SignalProgress;
  /** One measured draw (its arrays are transferred). */
  partial: SignalDraw;
  /** How many draws of the slice were measured (all of them unless cancelled). */
  result: { draws: number };
}

/** Check the parameters; a RangeError names the first that does not fit. */
export function checkSignalsJobParams(p: SignalsJobParams): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
  whole('width', p.network.width, 1, 2048);
  whole('depth', p.network.depth, 1, 5000);
  whole('batch', p.batch, 2, 4096);
  whole('draws', p.draws, 1, 256);
  whole('seed', p.seed, 0, 2 ** 32 - 1);
  whole('from', p.from ?? 0, 0, p.draws - 1);
  whole('to', p.to ?? p.draws, (p.from ?? 0) + 1, p.draws);
  try {
    validateNetwork(p.network);
  } catch (e) {
    throw new RangeError((e as Error).message, { cause: e });
  }
}

export const runSignalsJob: JobHandler<'signals'> = async (params, context) => {
  checkSignalsJobParams(params);
  const from = params.from ?? 0;
  const to = params.to ?? params.draws;
  const start = performance.now();
  let done = 0;
  await measureSignalDraws({
    layout: signalLayout(params),
    from,
    to,
    signal: context.signal,
    onDraw: (draw) => {
      done++;
      context.progress({ drawsDone: done, draws: to - from, elapsedMs: performance.now() - start });
      // The samples may share one buffer (signals/pass.ts): each transferred once.
      const buffers = [
        ...new Set([...draw.signal, ...draw.gradient, ...draw.activation].map((a) => a.buffer)),
      ];
      context.partial(draw, buffers);
    },
  });
  return { result: { draws: done }, cancelled: context.signal.aborted };
};
