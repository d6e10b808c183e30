/**
 * The data layer's public API: readers for IDX (Fashion-MNIST, MNIST) and CIFAR-10
 * binary files, dataset loaders over an injected readBytes, normalisation, seeded
 * shuffling, augmentation and mini-batches. Bytes in, typed arrays out; no tensors.
 */
export {
  DataFormatError,
  gunzipIfNeeded,
  isGzip,
  parseIdx,
  readIdxImages,
  readIdxLabels,
} from './idx';
export type { IdxArray, IdxImages, IdxLabels } from './idx';
export { CIFAR10_CLASS_NAMES, CIFAR10_RECORD_BYTES, readCifar10Batch } from './cifar';
export type { CifarBatch } from './cifar';
export {
  CIFAR10_FILES,
  CIFAR10_NORMALIZATION,
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_DIR,
  FASHION_MNIST_FILES,
  FASHION_MNIST_NORMALIZATION,
  channelStatistics,
  firstExamples,
  loadCifar10,
  loadFashionMnist,
  normalizationFor,
  normalizationTable,
  normalizeImages,
} from './dataset';
export type { ChannelNormalization, Dataset, ReadBytes, Split } from './dataset';
export { augmentImage, cropWithPadding, defaultAugmentation, flipHorizontal } from './augment';
export type { Augmentation, ImageShape } from './augment';
export { batchCount, batches, shuffledOrder } from './batches';
export type { Batch, BatchOptions } from './batches';
