/**
 * The `gsc` job: Philipp et al.'s GSC, pre-activation std and sign diversity
 * of one lab network at initialisation (signals/gsc.ts), in the worker. No
 * partial results: one estimate is a forward and a backward pass per
 * projection, a few seconds; the job leaves the tensor count where it was.
 */
import { gradientScaleCoefficients } from '../signals/gsc';
import type { GscResult } from '../signals/gsc';
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
