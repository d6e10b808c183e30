/**
 * From the data layer's batches (data/batches.ts: normalised NHWC Float32
 * arrays) to the engines' batches, and evaluation over a whole dataset.
 */
import { defaultAugmentation } from '../data/augment';
import { batches } from '../data/batches';
import type { Batch as DataBatch } from '../data/batches';
import type { Dataset } from '../data/dataset';
import type { TrainEngine } from './engine';
import type { Batch } from './types';

/** The engine's view of a data batch: the arrays plus the image geometry. */
export function engineBatch(dataset: Dataset, batch: DataBatch): Batch {
  return {
    x: batch.x,
    labels: batch.y,
    n: batch.size,
    height: dataset.height,
    width: dataset.width,
    channels: dataset.channels,
  };
}

/**
 * The training batches of one epoch: a seeded permutation of the examples
 * cut into ⌊N / B⌋ full batches (the remainder dropped, as PyTorch's
 * drop_last, so BN never sees a batch of one), augmented with random crops
 * and flips when asked; with fewer than B examples, one batch of all N.
 * Order and augmentation derive from (seed, epoch, batch) only, so a resumed
 * run sees exactly the batches of an uninterrupted one.
 */
export function* trainingBatches(options: {
  dataset: Dataset;
  batchSize: number;
  seed: number;
  epoch: number;
  augment: boolean;
}): Generator<Batch, void, undefined> {
  const { dataset } = options;
  for (const b of batches({
    dataset,
    batchSize: Math.min(options.batchSize, dataset.count),
    shuffle: true,
    augmentation: options.augment ? defaultAugmentation({ height: dataset.height }) : null,
    seed: options.seed,
    epoch: options.epoch,
    dropLast: true,
  })) {
    yield engineBatch(dataset, b);
  }
}

export interface Evaluation {
  /** Mean cross-entropy. */
  loss: number;
  accuracy: number;
  images: number;
}

/**
 * Loss and accuracy over a whole dataset in inference mode, in batches, in
 * order. Returns 'cancelled' when the signal fires between batches.
 */
export async function evaluateDataset(options: {
  engine: TrainEngine;
  dataset: Dataset;
  batchSize: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}): Promise<Evaluation | 'cancelled'> {
  const { engine, dataset, batchSize, signal, onProgress } = options;
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  for (const b of batches({ dataset, batchSize })) {
    if (signal?.aborted) return 'cancelled';
    const totals = await engine.evaluate(engineBatch(dataset, b));
    lossSum += totals.lossSum;
    correct += totals.correct;
    seen += totals.count;
    onProgress?.(seen, dataset.count);
  }
  return { loss: lossSum / seen, accuracy: correct / seen, images: seen };
}
