/**
 * Plain-data types of a training run: what goes into history.json, the
 * checkpoint metadata and the worker's messages.
 */
import type { ScheduleSpec } from './schedule';
import type { SgdConfig } from './optimizer';

/** One epoch of a run, as history.json and the charts read it. */
export interface EpochRecord {
  /** 1-based: the epoch just completed. */
  epoch: number;
  /** Optimisation steps completed at the end of this epoch. */
  step: number;
  /** Mean cross-entropy over the epoch's training batches (training-mode BN, augmented). */
  trainLoss: number;
  trainAccuracy: number;
  /** Inference-mode loss and accuracy on the test split; null when there is none. */
  testLoss: number | null;
  testAccuracy: number | null;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Wall-clock seconds of the epoch (training and evaluation). */
  seconds: number;
  /** Training images per second over the epoch's steps. */
  imagesPerSecond: number;
  backend: string;
}

/** The hyperparameters of a run; stored in every checkpoint so a resume continues it exactly. */
export interface TrainConfig {
  epochs: number;
  lr: number;
  batchSize: number;
  schedule: ScheduleSpec;
  sgd: SgdConfig;
  augment: boolean;
  seed: number;
  /** Training images used (after any limit). */
  trainImages: number;
  /** Test images evaluated after every epoch (0: none). */
  testImages: number;
}

/** An image set in NHWC, normalised, with integer labels. */
export interface ImageSet {
  /** count × height × width × channels values. */
  images: Float32Array;
  labels: Uint8Array | Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/** One batch, ready to become tensors. */
export interface Batch {
  /** n × height × width × channels values. */
  x: Float32Array;
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
}
