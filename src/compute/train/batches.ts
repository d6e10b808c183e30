/**
 * From a raw dataset (bytes 0–255, NHWC) to the normalised Float32 batches
 * the engines take, and evaluation over a whole dataset.
 */
import { normalizationFor, normalizationTable } from '../data/dataset';
import type { Dataset } from '../data/dataset';
import { augmentImage, defaultAugmentation } from '../data/augment';
import type { Rng } from '../random';
import type { TrainEngine } from './engine';
import type { Batch } from './types';

const tables = new WeakMap<Dataset, Float32Array>();

/** table[c · 256 + v] = (v / 255 − mean_c) / std_c for the dataset's normalisation. */
function tableFor(dataset: Dataset): Float32Array {
  let t = tables.get(dataset);
  if (t === undefined) {
    t = normalizationTable(normalizationFor(dataset));
    tables.set(dataset, t);
  }
  return t;
}

/**
 * The examples at `indices`, normalised; augmented (random crop with zero
 * padding, then a random flip; data/augment.ts) when an rng is given. The
 * rng is drawn from in index order, so a seed gives the same batch.
 */
export function batchFromDataset(options: {
  dataset: Dataset;
  indices: ArrayLike<number>;
  augment: Rng | null;
}): Batch {
  const { dataset, indices, augment } = options;
  const { height, width, channels } = dataset;
  const size = height * width * channels;
  const n = indices.length;
  const table = tableFor(dataset);
  const x = new Float32Array(n * size);
  const labels = new Int32Array(n);
  const shape = { height, width, channels };
  const augmentation = defaultAugmentation({ height });
  const image = new Uint8Array(size);
  const scratch = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    const k = indices[i]!;
    let pixels = dataset.images.subarray(k * size, (k + 1) * size);
    if (augment) {
      pixels = augmentImage({
        image: pixels,
        shape,
        augmentation,
        rng: augment,
        out: image,
        scratch,
      });
    }
    const base = i * size;
    for (let j = 0; j < size; j++) x[base + j] = table[(j % channels) * 256 + pixels[j]!]!;
    labels[i] = dataset.labels[k]!;
  }
  return { x, labels, n, height, width, channels };
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
  const indices = new Uint32Array(batchSize);
  for (let start = 0; start < dataset.count; start += batchSize) {
    if (signal?.aborted) return 'cancelled';
    const n = Math.min(batchSize, dataset.count - start);
    for (let i = 0; i < n; i++) indices[i] = start + i;
    const totals = await engine.evaluate(
      batchFromDataset({ dataset, indices: indices.subarray(0, n), augment: null }),
    );
    lossSum += totals.lossSum;
    correct += totals.correct;
    seen += totals.count;
    onProgress?.(seen, dataset.count);
  }
  return { loss: lossSum / seen, accuracy: correct / seen, images: seen };
}
