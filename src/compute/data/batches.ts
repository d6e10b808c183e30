/**
 * Seeded shuffling and mini-batches as plain typed arrays. No tensors here: the
 * trainer decides when (and on which backend) a batch becomes a tensor.
 *
 * Reproducibility: every random stream is derived from (seed, epoch) and, for
 * augmentation, the batch index, through deriveSeed. So epoch e's order and batch b's
 * augmentation are the same whether the run started at epoch 0 or resumed at e, and
 * `firstBatch` can skip into an epoch without replaying the batches before it.
 */
import { createRng, deriveSeed, permutation } from '../random';
import { augmentImage, type Augmentation, type ImageShape } from './augment';
import {
  normalizationFor,
  normalizationTable,
  type ChannelNormalization,
  type Dataset,
} from './dataset';

/** One mini-batch. */
export interface Batch {
  /** Normalised images, size × height × width × channels, NHWC. */
  x: Float32Array;
  /** Class index of each image. */
  y: Int32Array;
  /** The same labels one-hot: size × classes, 1 at [i, y[i]], else 0. */
  oneHot: Float32Array;
  /** Number of images in this batch (the last one may be smaller than batchSize). */
  size: number;
  /** Which examples of the dataset the batch holds, in order. */
  indices: Uint32Array;
}

/** The order in which epoch `epoch` visits the examples: a seeded permutation of 0 … count − 1. */
export function shuffledOrder({
  count,
  seed,
  epoch,
}: {
  count: number;
  seed: number;
  epoch: number;
}): Uint32Array {
  return permutation(count, createRng(deriveSeed(seed, `data/shuffle/epoch ${epoch}`)));
}

/** Batches per epoch: ⌈count / batchSize⌉, or ⌊count / batchSize⌋ when the last partial batch is dropped. */
export function batchCount({
  count,
  batchSize,
  dropLast = false,
}: {
  count: number;
  batchSize: number;
  dropLast?: boolean;
}): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

export interface BatchOptions {
  dataset: Dataset;
  batchSize: number;
  /** Default normalizationFor(dataset). */
  normalization?: ChannelNormalization;
  /** Visit the examples in a seeded random order (shuffledOrder); default false: 0, 1, 2, … */
  shuffle?: boolean;
  /** Augment each image (training only); default null: none. */
  augmentation?: Augmentation | null;
  /** Seed of the shuffle and augmentation streams; required when either is on. */
  seed?: number;
  /** Epoch number, so every epoch has its own order and augmentation; default 0. */
  epoch?: number;
  /** Leave out the last batch when it is smaller than batchSize; default false. */
  dropLast?: boolean;
  /** Start at this batch of the epoch (to resume part-way); default 0. */
  firstBatch?: number;
}

/**
 * One epoch of mini-batches. Every example appears exactly once per epoch (except
 * the dropped remainder when dropLast is set). Each batch gets fresh arrays, so a
 * consumer may keep them.
 */
export function* batches({
  dataset,
  batchSize,
  normalization = normalizationFor(dataset),
  shuffle = false,
  augmentation = null,
  seed,
  epoch = 0,
  dropLast = false,
  firstBatch = 0,
}: BatchOptions): Generator<Batch, void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a whole number of at least 1, got ${batchSize}`);
  }
  if (!Number.isInteger(firstBatch) || firstBatch < 0) {
    throw new RangeError(`firstBatch must be a whole number of at least 0, got ${firstBatch}`);
  }
  if ((shuffle || augmentation !== null) && seed === undefined) {
    throw new RangeError('shuffling and augmentation need a seed');
  }
  const { count, classes, channels } = dataset;
  const shape: ImageShape = { height: dataset.height, width: dataset.width, channels };
  const imageSize = shape.height * shape.width * channels;
  if (normalization.mean.length !== channels) {
    throw new RangeError(
      `normalisation has ${normalization.mean.length} channels, the dataset ${channels}`,
    );
  }
  const table = normalizationTable(normalization);
  const order =
    shuffle && seed !== undefined ? shuffledOrder({ count, seed, epoch }) : identity(count);
  const batchTotal = batchCount({ count, batchSize, dropLast });
  const augmented = new Uint8Array(imageSize);
  const scratch = new Uint8Array(imageSize);

  for (let b = firstBatch; b < batchTotal; b++) {
    const start = b * batchSize;
    const size = Math.min(batchSize, count - start);
    const indices = order.slice(start, start + size);
    const x = new Float32Array(size * imageSize);
    const y = new Int32Array(size);
    const oneHot = new Float32Array(size * classes);
    const rng =
      augmentation !== null && seed !== undefined
        ? createRng(deriveSeed(seed, `data/augment/epoch ${epoch}/batch ${b}`))
        : null;
    for (let i = 0; i < size; i++) {
      const n = indices[i]!;
      let image = dataset.images.subarray(n * imageSize, (n + 1) * imageSize);
      if (rng !== null && augmentation !== null) {
        image = augmentImage({ image, shape, augmentation, rng, out: augmented, scratch });
      }
      const offset = i * imageSize;
      for (let p = 0; p < imageSize; p++) {
        x[offset + p] = table[(p % channels) * 256 + image[p]!]!;
      }
      const label = dataset.labels[n]!;
      y[i] = label;
      oneHot[i * classes + label] = 1;
    }
    yield { x, y, oneHot, size, indices };
  }
}

function identity(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}
