/**
 * Datasets as plain typed arrays, and the loaders that make them.
 *
 * Loaders never touch the file system or the network themselves: they take a
 * `readBytes(path)` function, so the command line (fs.readFile) and the browser
 * worker (fetch) share them, and tests can hand them synthetic bytes. Paths are
 * joined with '/'; for the shipped subset they are relative to `public/`, which is
 * also the site's URL root:
 *
 *   CLI:    readBytes = (p) => fs.readFile(path.join(repoRoot, 'public', p))
 *   worker: readBytes = async (p) => new Uint8Array(await (await fetch(new URL(p, siteBase))).arrayBuffer())
 *
 * Images stay raw (0–255 bytes, NHWC) until a batch is made, so augmentation can
 * pad with true zeros (black) before normalisation, as torchvision's RandomCrop does
 * in Li et al.'s and He et al.'s pipelines.
 */
import {
  CIFAR10_CHANNELS,
  CIFAR10_CLASS_NAMES,
  CIFAR10_CLASSES,
  CIFAR10_IMAGE_BYTES,
  CIFAR10_SIZE,
  readCifar10Batch,
} from './cifar';
import { DataFormatError, readIdxImages, readIdxLabels } from './idx';

export type Split = 'train' | 'test';

/** Reads a whole file. Rejects (with any Error) when the file cannot be read. */
export type ReadBytes = (path: string) => Promise<Uint8Array>;

/** Labelled images, raw, in NHWC order. */
export interface Dataset {
  /** 'fashion-mnist' or 'cifar10': the name used in checkpoints, surfaces and the manifest. */
  name: string;
  split: Split;
  /** count × height × width × channels bytes 0–255, NHWC (channels fastest). */
  images: Uint8Array;
  /** The class index 0 … classes − 1 of each image. */
  labels: Uint8Array;
  /** Number of examples. */
  count: number;
  height: number;
  width: number;
  channels: number;
  /** Number of classes. */
  classes: number;
  /** Human-readable name of each class, in label order. */
  classNames: readonly string[];
}

/** Where the shipped Fashion-MNIST subset lives, relative to `public/` (and to the site root). */
export const FASHION_MNIST_DIR = 'data/fashion-mnist';

/** The standard IDX file names of each split (those of the upstream distribution). */
export const FASHION_MNIST_FILES: Readonly<Record<Split, { images: string; labels: string }>> = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

/** Fashion-MNIST's labels (Xiao, Rasul & Vollgraf 2017, table 1). */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const FASHION_MNIST_SIZE = 28;

/** The CIFAR-10 binary batch files of each split (cifar-10-batches-bin/). */
export const CIFAR10_FILES: Readonly<Record<Split, readonly string[]>> = {
  train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
  test: ['test_batch.bin'],
};

const joinPath = (dir: string, name: string): string =>
  dir === '' ? name : `${dir.replace(/\/+$/, '')}/${name}`;

async function readFile(readBytes: ReadBytes, path: string): Promise<Uint8Array> {
  try {
    return await readBytes(path);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`${path}: could not be read (${detail})`, { cause });
  }
}

function checkSplit(split: string): asserts split is Split {
  if (split !== 'train' && split !== 'test') {
    throw new RangeError(`split must be 'train' or 'test', got '${split}'`);
  }
}

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new RangeError(`limit must be a whole number of at least 1, got ${limit}`);
  }
}

/**
 * The shipped Fashion-MNIST subset (or the full dataset, given its directory):
 * 28 × 28 × 1 images, 10 classes. `limit` keeps the first `limit` examples and must
 * not exceed what the files hold. Throws DataFormatError naming the file when a
 * file is malformed, when images are not 28 × 28, when a label is not 0–9, or
 * when the label file and the image file disagree on the count. With a limit,
 * the files' bytes past the examples kept are not read, so not checked.
 */
export async function loadFashionMnist({
  readBytes,
  baseDir = FASHION_MNIST_DIR,
  split,
  limit,
}: {
  readBytes: ReadBytes;
  /** Directory holding the four IDX files; default FASHION_MNIST_DIR. */
  baseDir?: string;
  split: Split;
  /** Keep only the first `limit` examples. */
  limit?: number;
}): Promise<Dataset> {
  checkSplit(split);
  checkLimit(limit);
  const files = FASHION_MNIST_FILES[split];
  const imagesPath = joinPath(baseDir, files.images);
  const labelsPath = joinPath(baseDir, files.labels);
  const [imageBytes, labelBytes] = await Promise.all([
    readFile(readBytes, imagesPath),
    readFile(readBytes, labelsPath),
  ]);
  // With a limit, a gzipped file is decompressed only as far as the images kept (a live
  // landscape's 256 of the 12,000: 0.2 MB of 9.4, in every worker, for every panel).
  const only = limit !== undefined ? { limit } : {};
  const images = await readIdxImages({
    bytes: imageBytes,
    file: imagesPath,
    rows: FASHION_MNIST_SIZE,
    cols: FASHION_MNIST_SIZE,
    ...only,
  });
  const labels = await readIdxLabels({
    bytes: labelBytes,
    file: labelsPath,
    classes: FASHION_MNIST_CLASS_NAMES.length,
    ...only,
  });
  if (labels.count !== images.count) {
    throw new DataFormatError({
      file: labelsPath,
      problem: `label count does not match: ${labels.count} labels, but ${imagesPath} holds ${images.count} images`,
    });
  }
  const count = limit ?? images.count;
  if (count > images.count) {
    throw new RangeError(`limit ${limit} is more than the ${images.count} images in ${imagesPath}`);
  }
  const imageBytesEach = FASHION_MNIST_SIZE * FASHION_MNIST_SIZE;
  return {
    name: 'fashion-mnist',
    split,
    // slice copies, so the decompressed file can be garbage collected.
    images: images.pixels.slice(0, count * imageBytesEach),
    labels: labels.labels.slice(0, count),
    count,
    height: FASHION_MNIST_SIZE,
    width: FASHION_MNIST_SIZE,
    channels: 1,
    classes: FASHION_MNIST_CLASS_NAMES.length,
    classNames: FASHION_MNIST_CLASS_NAMES,
  };
}

/**
 * CIFAR-10 from its binary distribution (the directory cifar-10-batches-bin/ of
 * cifar-10-binary.tar.gz, which readers bring themselves): 32 × 32 × 3 images in
 * NHWC, 10 classes. Reads data_batch_1…5.bin (train) or test_batch.bin (test) in
 * order, stopping as soon as `limit` examples are in hand.
 */
export async function loadCifar10({
  readBytes,
  dir,
  split,
  limit,
}: {
  readBytes: ReadBytes;
  /** Directory holding the .bin batch files. */
  dir: string;
  split: Split;
  limit?: number;
}): Promise<Dataset> {
  checkSplit(split);
  checkLimit(limit);
  const parts: { images: Uint8Array; labels: Uint8Array }[] = [];
  let count = 0;
  for (const name of CIFAR10_FILES[split]) {
    if (limit !== undefined && count >= limit) break;
    const path = joinPath(dir, name);
    const bytes = await readFile(readBytes, path);
    const batch = readCifar10Batch({
      bytes,
      file: path,
      ...(limit === undefined ? {} : { limit: limit - count }),
    });
    parts.push(batch);
    count += batch.count;
  }
  if (limit !== undefined && count < limit) {
    throw new RangeError(
      `limit ${limit} is more than the ${count} images in ${CIFAR10_FILES[split].map((n) => joinPath(dir, n)).join(', ')}`,
    );
  }
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let offset = 0;
  for (const part of parts) {
    images.set(part.images, offset * CIFAR10_IMAGE_BYTES);
    labels.set(part.labels, offset);
    offset += part.labels.length;
  }
  return {
    name: 'cifar10',
    split,
    images,
    labels,
    count,
    height: CIFAR10_SIZE,
    width: CIFAR10_SIZE,
    channels: CIFAR10_CHANNELS,
    classes: CIFAR10_CLASSES,
    classNames: CIFAR10_CLASS_NAMES,
  };
}

/** The first `count` examples of a dataset (copies; the evaluation subsets of the landscapes). */
export function firstExamples({ dataset, count }: { dataset: Dataset; count: number }): Dataset {
  if (!Number.isInteger(count) || count < 1 || count > dataset.count) {
    throw new RangeError(`count must be a whole number in 1…${dataset.count}, got ${count}`);
  }
  const size = dataset.height * dataset.width * dataset.channels;
  return {
    ...dataset,
    images: dataset.images.slice(0, count * size),
    labels: dataset.labels.slice(0, count),
    count,
  };
}

/**
 * Per-channel normalisation, x̂ = (v / 255 − mean_c) / std_c, on the [0, 1] scale
 * that torchvision's ToTensor produces, so the constants read as in the papers' code.
 */
export interface ChannelNormalization {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Fashion-MNIST: the mean and (population) standard deviation of every pixel of the
 * shipped 12,000-image training subset, 0.28615 and 0.35379 (a unit test recomputes
 * them from the files). The often-quoted full 60,000-image values, 0.2860 and
 * 0.3530, differ by less than 0.001.
 */
export const FASHION_MNIST_NORMALIZATION: ChannelNormalization = {
  mean: [0.28615],
  std: [0.35379],
};

/**
 * CIFAR-10: the constants of Li et al.'s loss-landscape code (cifar10/dataloader.py),
 * mean (125.3, 123.0, 113.9) / 255 and std (63.0, 62.1, 66.7) / 255 for red, green,
 * blue: the per-channel mean and standard deviation over the 50,000 training images.
 */
export const CIFAR10_NORMALIZATION: ChannelNormalization = {
  mean: [125.3 / 255, 123.0 / 255, 113.9 / 255],
  std: [63.0 / 255, 62.1 / 255, 66.7 / 255],
};

/** Per-channel mean and population standard deviation of a dataset's pixels, on [0, 1]. */
export function channelStatistics(dataset: Dataset): ChannelNormalization {
  const c = dataset.channels;
  const sum = new Float64Array(c);
  const sumSquares = new Float64Array(c);
  const { images } = dataset;
  for (let i = 0; i < images.length; i++) {
    const v = images[i]! / 255;
    sum[i % c]! += v;
    sumSquares[i % c]! += v * v;
  }
  const n = images.length / c;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sumSquares, (s, k) => Math.sqrt(s / n - mean[k]! * mean[k]!));
  return { mean, std };
}

/**
 * The normalisation a dataset trains with: the documented constants for
 * Fashion-MNIST and CIFAR-10, else the dataset's own statistics.
 */
export function normalizationFor(dataset: Dataset): ChannelNormalization {
  if (dataset.name === 'fashion-mnist') return FASHION_MNIST_NORMALIZATION;
  if (dataset.name === 'cifar10') return CIFAR10_NORMALIZATION;
  return channelStatistics(dataset);
}

/**
 * A lookup table per channel: table[c · 256 + v] = (v / 255 − mean_c) / std_c, so
 * normalising a pixel is one read.
 */
export function normalizationTable(normalization: ChannelNormalization): Float32Array {
  const { mean, std } = normalization;
  if (mean.length === 0 || mean.length !== std.length || std.some((s) => !(s > 0))) {
    throw new RangeError('normalisation needs as many means as standard deviations, all std > 0');
  }
  const table = new Float32Array(mean.length * 256);
  for (let c = 0; c < mean.length; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - mean[c]!) / std[c]!;
  }
  return table;
}

/** Raw NHWC bytes to normalised NHWC floats. */
export function normalizeImages({
  images,
  channels,
  normalization,
}: {
  images: Uint8Array;
  channels: number;
  normalization: ChannelNormalization;
}): Float32Array {
  if (normalization.mean.length !== channels) {
    throw new RangeError(
      `normalisation has ${normalization.mean.length} channels, the images ${channels}`,
    );
  }
  const table = normalizationTable(normalization);
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = table[(i % channels) * 256 + images[i]!]!;
  return out;
}
