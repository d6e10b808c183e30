/**
 * Job kinds → the code that runs them, loaded on first use (so tfjs and the
 * models load only when a job starts). One line per kind; its payload types
 * go in JobKinds (protocol.ts).
 */
import type { JobTable } from './protocol';

export const JOB_TABLE: JobTable = {
  train: async () => (await import('./train-job')).runTrainJob,
  'training-comparison': async () =>
    (await import('./training-comparison')).runTrainingComparisonJob,
  landscape: async () => (await import('./landscape-job')).runLandscapeJob,
  'landscape-warm-up': async () => (await import('./landscape-warm-up')).runLandscapeWarmUpJob,
  'gsc-draws': async () => (await import('./gsc-job')).runGscDrawsJob,
  signals: async () => (await import('./signals-job')).runSignalsJob,
  'signals-bins': async () => (await import('./signals-job')).runSignalsBinsJob,
  'effective-depth': async () => (await import('./effective-depth-job')).runEffectiveDepthJob,
  lesion: async () => (await import('./paths-job')).runLesionJob,
  'path-gradient': async () => (await import('./paths-job')).runPathGradientJob,
  responses: async () => (await import('./responses-job')).runResponsesJob,
  'response-batches': async () => (await import('./responses-job')).runResponseBatchesJob,
};
