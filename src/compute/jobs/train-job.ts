/**
 * The `train` job: train a model on the shipped Fashion-MNIST subset in the
 * worker, streaming progress, one partial result per epoch (its record and,
 * when asked, its checkpoint as safetensors bytes) and the history at the end.
 */
import { loadFashionMnist } from '../data/dataset';
import { createModel, parseModelName } from '../models';
import type { ModelSpec } from '../models/types';
import { encodeCheckpoint } from '../train/checkpoint';
import { train } from '../train/loop';
import type { TrainProgress, TrainResult } from '../train/loop';
import { scheduleFromName } from '../train/schedule';
import type { ScheduleName } from '../train/schedule';
import type { EpochRecord } from '../train/types';
import type { JobHandler } from './protocol';

export interface TrainJobParams {
  /** A model name ('resnet20', 'resnet56-noshort', 'bmenet32') or a full spec. */
  model: string | ModelSpec;
  /** The folder holding the Fashion-MNIST IDX files, as a URL or path readBytes understands. */
  dataDir: string;
  trainImages: number;
  testImages: number;
  epochs: number;
  lr: number;
  batchSize: number;
  schedule: ScheduleName;
  seed: number;
  augment: boolean;
  /** Send each epoch's checkpoint (safetensors bytes) with its partial result. */
  checkpoints: boolean;
}

export interface TrainJobPartial {
  record: EpochRecord;
  /** The epoch's checkpoint, when params.checkpoints. */
  checkpoint: Uint8Array | null;
}

export interface TrainJobResult {
  status: TrainResult['status'];
  history: EpochRecord[];
  step: number;
  /** Why the run stopped, when its loss stopped being finite. */
  divergence: string | null;
}

export interface TrainJobTypes {
  params: TrainJobParams;
  progress: TrainProgress;
  partial: TrainJobPartial;
  result: TrainJobResult;
}

/** Check the parameters; a RangeError names the first that does not fit. */
export function checkTrainJobParams(p: TrainJobParams): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
  whole('epochs', p.epochs, 1, 1000);
  whole('batchSize', p.batchSize, 2, 4096);
  whole('trainImages', p.trainImages, 2, 60_000);
  whole('testImages', p.testImages, 1, 10_000);
  whole('seed', p.seed, 0, 2 ** 32 - 1);
  if (!(p.lr > 0 && p.lr <= 10)) throw new RangeError(`lr must be in (0, 10], got ${p.lr}`);
  if (!['cosine', 'step', 'constant'].includes(p.schedule)) {
    throw new RangeError(`schedule must be cosine, step or constant, got ${p.schedule}`);
  }
}

export const runTrainJob: JobHandler<'train'> = async (params, context) => {
  checkTrainJobParams(params);
  const spec =
    typeof params.model === 'string'
      ? parseModelName(params.model, { inputShape: [1, 28, 28], classes: 10 })
      : params.model;
  const model = createModel(spec);
  const readBytes = (path: string) => context.readBytes(path);
  const [trainSet, testSet] = await Promise.all([
    loadFashionMnist({
      readBytes,
      baseDir: params.dataDir,
      split: 'train',
      limit: params.trainImages,
    }),
    loadFashionMnist({
      readBytes,
      baseDir: params.dataDir,
      split: 'test',
      limit: params.testImages,
    }),
  ]);
  const result = await train({
    model,
    data: { train: trainSet, test: testSet },
    epochs: params.epochs,
    lr: params.lr,
    batchSize: params.batchSize,
    schedule: scheduleFromName(params.schedule),
    seed: params.seed,
    augment: params.augment,
    signal: context.signal,
    onProgress: (p) => context.progress(p),
    onEpoch: ({ record, meta, training }) => {
      const checkpoint = params.checkpoints ? encodeCheckpoint({ meta, training }) : null;
      context.partial({ record, checkpoint }, checkpoint ? [checkpoint.buffer as ArrayBuffer] : []);
    },
  });
  return {
    result: {
      status: result.status,
      history: result.history,
      step: result.step,
      divergence: result.status === 'diverged' ? result.divergence.message : null,
    },
    cancelled: result.status === 'cancelled',
  };
};
