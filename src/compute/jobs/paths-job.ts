/**
 * The path studies' jobs, the "Run live" of the article on Veit et al.:
 * `lesion` recomputes the lesion study of a shipped checkpoint in the
 * reader's browser, `path-gradient` a sampled gradient per path length. Both
 * run the code `skipscape lesion|paths` runs, stream partial results, and end
 * with what they finished when cancelled.
 *
 *   start ─▶ checkpoint (sha256 checked) ─▶ test images ─▶ lesions | rounds of samples
 *                                                              │ partial results
 *                                                              ▼
 *                                                    done (complete or cancelled)
 */
import { loadFashionMnist } from '../data/dataset';
import { lesionStudy, samplePathGradients, summarisePathGradients } from '../paths';
import type { LesionProgress, LesionResult, PathGradientProgress, PathsResult } from '../paths';
import { disposeMap, toTensorMap } from '../train/state';
import type { JobContext, JobHandler, JobKind } from './protocol';
import { readShippedCheckpoint } from './shipped';

interface ShippedCheckpointParams {
  /** URL of the checkpoint (safetensors written by skipscape train). */
  checkpoint: string;
  /** The manifest's sha256 of that file: a mismatch fails the job before any compute. */
  checkpointSha256: string;
  /** The folder holding the Fashion-MNIST IDX files, as a URL readBytes understands. */
  dataDir: string;
  /** The first `subset` test images. */
  subset: number;
  seed: number;
  batchSize: number;
}

export interface LesionJobParams extends ShippedCheckpointParams {
  /** Random draws per number deleted and per number of swaps. */
  draws: number;
  /** Which parts of the study to run (default all). */
  kinds?: ('baseline' | 'deleteOne' | 'deleteK' | 'reorder')[];
}

export interface PathGradientJobParams extends ShippedCheckpointParams {
  /** Samples per path length. */
  samples: number;
}

export interface LesionJobTypes {
  params: LesionJobParams;
  progress: LesionProgress;
  partial: LesionResult;
  result: LesionResult;
}

export interface PathGradientJobTypes {
  params: PathGradientJobParams;
  progress: PathGradientProgress;
  partial: PathsResult;
  result: PathsResult;
}

function checkParams(p: ShippedCheckpointParams & { draws?: number; samples?: number }): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
  whole('subset', p.subset, 1, 10_000);
  whole('seed', p.seed, 0, 2 ** 32 - 1);
  whole('batchSize', p.batchSize, 1, 4096);
  if (p.draws !== undefined) whole('draws', p.draws, 1, 100);
  if (p.samples !== undefined) whole('samples', p.samples, 1, 1000);
  if (!/^[0-9a-f]{64}$/i.test(p.checkpointSha256)) {
    throw new RangeError('checkpointSha256 must be 64 hex digits');
  }
}

/** The checkpoint (sha256 checked) as tensors, its model, and the test images. */
async function loadShipped<K extends JobKind>(
  params: ShippedCheckpointParams,
  context: JobContext<K>,
) {
  const { checkpoint, model } = await readShippedCheckpoint({
    readBytes: (path) => context.readBytes(path),
    checkpoint: params.checkpoint,
    sha256: params.checkpointSha256,
  });
  const data = await loadFashionMnist({
    readBytes: (path) => context.readBytes(path),
    baseDir: params.dataDir,
    split: 'test',
    limit: params.subset,
  });
  if (data.count < params.subset) {
    throw new RangeError(`the test split has ${data.count} images, fewer than ${params.subset}`);
  }
  return {
    model,
    data,
    params: toTensorMap(checkpoint.training.params),
    state: toTensorMap(checkpoint.training.state),
  };
}

export const runLesionJob: JobHandler<'lesion'> = async (params, context) => {
  checkParams(params);
  const shipped = await loadShipped(params, context);
  try {
    const result = await lesionStudy({
      model: shipped.model,
      params: shipped.params,
      state: shipped.state,
      data: shipped.data,
      batchSize: params.batchSize,
      draws: params.draws,
      seed: params.seed,
      ...(params.kinds ? { kinds: params.kinds } : {}),
      signal: context.signal,
      onProgress: (p) => context.progress(p),
      onPartial: (r) => context.partial(r),
    });
    return { result, cancelled: context.signal.aborted };
  } finally {
    disposeMap(shipped.params);
    disposeMap(shipped.state);
  }
};

export const runPathGradientJob: JobHandler<'path-gradient'> = async (params, context) => {
  checkParams(params);
  const shipped = await loadShipped(params, context);
  try {
    const samples = await samplePathGradients({
      model: shipped.model,
      params: shipped.params,
      state: shipped.state,
      data: shipped.data,
      samples: params.samples,
      batchSize: params.batchSize,
      seed: params.seed,
      signal: context.signal,
      onProgress: (p) => context.progress(p),
      onRound: (s) => context.partial(summarisePathGradients(s)),
    });
    return { result: summarisePathGradients(samples), cancelled: context.signal.aborted };
  } finally {
    disposeMap(shipped.params);
    disposeMap(shipped.state);
  }
};
