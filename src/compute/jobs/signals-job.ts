/**
 * The `signals` job: per-layer signal statistics of an MLP at initialisation
 * (src/compute/signals) for the signal figures, with progress per draw and
 * the statistics so far as partial results, so a cancelled run (a slider
 * moved on) keeps what it measured.
 */
import { measureSignals, validateNetwork } from '../signals';
import type { SignalNetwork, SignalProgress, SignalStatistics } from '../signals';
import type { JobHandler } from './protocol';

export interface SignalsJobParams {
  network: SignalNetwork;
  batch: number;
  draws: number;
  seed: number;
}

export interface SignalsJobTypes {
  params: SignalsJobParams;
  progress: SignalProgress;
  partial: SignalStatistics;
  result: SignalStatistics;
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
  try {
    validateNetwork(p.network);
  } catch (e) {
    throw new RangeError((e as Error).message, { cause: e });
  }
}

export const runSignalsJob: JobHandler<'signals'> = async (params, context) => {
  checkSignalsJobParams(params);
  const result = await measureSignals({
    ...params,
    signal: context.signal,
    onProgress: (p) => context.progress(p),
    onPartial: (s) => context.partial(s),
  });
  return { result, cancelled: context.signal.aborted };
};
