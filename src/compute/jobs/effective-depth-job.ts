/**
 * The `effective-depth` job: one network of the effective-depth experiment
 * (signals/effective-depth.ts), trained with the site's loop and then measured
 * with its last layers Taylor-expanded, exactly as effectiveDepthExperiment
 * does it for each of its networks in turn. The command line runs the plain
 * and the residual network as two of these jobs on two worker threads
 * (src/cli/job-threads.ts); the training set comes with the parameters.
 */
import type { Dataset } from '../data/dataset';
import type { MlpSpec } from '../models/types';
import { effectiveDepthExperiment } from '../signals/effective-depth';
import type { EffectiveDepthNetwork } from '../signals/effective-depth';
import type { JobHandler } from './protocol';

export interface EffectiveDepthJobParams {
  spec: MlpSpec;
  train: Dataset;
  epochs: number;
  lr: number;
  batchSize: number;
  seed: number;
  images: number;
}

export interface EffectiveDepthJobTypes {
  params: EffectiveDepthJobParams;
  progress: { phase: 'train' | 'taylor'; done: number; total: number };
  partial: never;
  /** null when cancelled. */
  result: EffectiveDepthNetwork | null;
}

export const runEffectiveDepthJob: JobHandler<'effective-depth'> = async (params, context) => {
  const { spec, ...rest } = params;
  const networks = await effectiveDepthExperiment({
    ...rest,
    specs: [spec],
    signal: context.signal,
    onProgress: ({ phase, done, total }) => context.progress({ phase, done, total }),
  });
  return networks === 'cancelled'
    ? { result: null, cancelled: true }
    : { result: networks[0]!, cancelled: false };
};
