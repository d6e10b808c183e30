/**
 * He et al.'s point (seed 002; He et al. 2016, §4.1 and fig. 7), measured per
 * residual block of a CIFAR ResNet with or without skips:
 *
 *   outputStd     std of the block's output x_b (after the addition and ReLU):
 *                 "BN ensures forward propagated signals to have non-zero variances";
 *   gradientNorm  the gradient of the loss at that output, ∂ℓ/∂x_b:
 *                 "the backward propagated gradients exhibit healthy norms with BN";
 *   responseStd   std of the block's response α·BN(conv2(·)) before the
 *                 addition (fig. 7: "the residual functions might be generally
 *                 closer to zero than the non-residual functions").
 *
 * Standard deviations pool every element (images, positions, channels):
 * √(E[x²] − E[x]²). gradientNorm is a per-image root mean square,
 * √((1/M) Σ_i ‖∂ℓ_i/∂x_b‖²) with ℓ_i the cross-entropy of image i, so it does
 * not shrink as the subset grows. With BN in batch mode (the default, how the
 * network trains) images are processed in batches whose statistics couple
 * them; the gradient is then that of Σ_i ℓ_i over the batch, at each image's
 * slice of x_b, the per-image term of the batch's backward pass.
 *
 * The gradient at an intermediate value is ∂L/∂ε_b at ε_b = 0, where the
 * forward pass adds a zero tensor ε_b at the probe `${block}.output`
 * (ForwardOptions.tap), so the model is differentiated as it is written.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batches } from '../data/batches';
import type { Dataset } from '../data/dataset';
import type { Model, TensorMap } from '../models/types';
import { sumCrossEntropy } from '../train/engine';
import { disposeMap, toTensorMap, type ArrayMap } from '../train/state';

/** One residual block's statistics. */
export interface BlockResponse {
  /** Parameter prefix of the block, e.g. `layer2.0`. */
  block: string;
  /** 1, 2 or 3: the stage (16, 32 or 64 channels). */
  stage: number;
  /** Position among all blocks, from 0 at the input. */
  index: number;
  /** Std of the block's output x_b over images, positions and channels. */
  outputStd: number;
  /** √((1/M) Σ_i ‖∂ℓ_i/∂x_b‖²): root-mean-square per-image gradient norm at x_b. */
  gradientNorm: number;
  /** Std of the response α·BN(conv2(·)) before the addition (He et al.'s fig. 7). */
  responseStd: number;
}

export interface BlockResponses {
  blocks: BlockResponse[];
  /** Images measured (the first M of the dataset). */
  images: number;
  /** 'batch': BN normalises with each batch's statistics (training mode); 'running': stored statistics. */
  bn: 'batch' | 'running';
  /** Images per forward pass (BN's batch in batch mode). */
  batchSize: number;
  /** Mean cross-entropy and accuracy over the images in this mode. */
  loss: number;
  accuracy: number;
}

export interface BlockResponsesOptions {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  dataset: Dataset;
  /** The first `images` examples of the dataset (default all). */
  images?: number;
  /** Default 'batch'. */
  bn?: 'batch' | 'running';
  /** Default 128, the training batch. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const OUTPUT = '.output';
const RESPONSE = '.response';

/** Sums that pool into a standard deviation across batches. */
interface Moments {
  count: number;
  sum: number;
  sumSquares: number;
}

function pooledStd(m: Moments): number {
  const mean = m.sum / m.count;
  return Math.sqrt(Math.max(0, m.sumSquares / m.count - mean * mean));
}

/** Per-block forward and backward statistics; 'cancelled' when the signal fires between batches. */
export async function blockResponses(
  options: BlockResponsesOptions,
): Promise<BlockResponses | 'cancelled'> {
  const batchSize = options.batchSize ?? 128;
  const images = responseImages(options);
  const measured = await measureResponseBatches({
    ...options,
    from: 0,
    to: Math.ceil(images / batchSize),
  });
  if (measured === 'cancelled') return 'cancelled';
  return combineResponseBatches(measured, { bn: options.bn ?? 'batch', batchSize });
}

/** How many images a measurement takes: the first `images` of the dataset (at least 2). */
export function responseImages(options: Pick<BlockResponsesOptions, 'dataset' | 'images'>): number {
  const { dataset } = options;
  const images = Math.min(options.images ?? dataset.count, dataset.count);
  if (!Number.isInteger(images) || images < 2) throw new Error('need at least 2 images');
  return images;
}

/**
 * One batch's sums, before they are pooled over batches: what blockResponses
 * adds up, and what a worker measuring a slice of the batches sends back.
 * (Plain numbers, the float32 values the backend summed, so pooling them in
 * batch order anywhere gives the same doubles bit for bit.)
 */
export interface ResponseBatch {
  /** Index of the batch: images [batch·batchSize, …). */
  batch: number;
  size: number;
  /** The blocks' parameter prefixes, in forward order. */
  names: string[];
  /** Per block: the element counts of its output and of its response. */
  sizes: number[];
  /** Per block Σo, Σo², Σr, Σr²; then the batch's summed cross-entropy and its correct count. */
  forward: number[];
  /** Per block: Σ over the batch of ‖∂(Σ_i ℓ_i)/∂x_b‖². */
  gradientSquares: number[];
}

/**
 * Measure batches [from, to) of a blockResponses run, one at a time, each
 * sent to `onBatch` when done; 'cancelled' when the signal fires between
 * batches. Batches are cut from the first `images` images as blockResponses
 * cuts them, so any split of them measures the same batches.
 */
export async function measureResponseBatches(
  options: BlockResponsesOptions & {
    from: number;
    to: number;
    onBatch?: (batch: ResponseBatch) => void;
  },
): Promise<ResponseBatch[] | 'cancelled'> {
  const { model, params, state, dataset, signal, onProgress, from, to } = options;
  if (model.spec.kind !== 'resnet') throw new Error('block responses need a ResNet');
  const bn = options.bn ?? 'batch';
  const batchSize = options.batchSize ?? 128;
  const images = responseImages(options);
  const total = Math.ceil(images / batchSize);
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= total))
    throw new Error(`batches [${from}, ${to}) are not a slice of 0 … ${total}`);
  const subset: Dataset = {
    ...dataset,
    count: images,
    images: dataset.images.subarray(0, images * dataset.height * dataset.width * dataset.channels),
    labels: dataset.labels.subarray(0, images),
  };
  const training = bn === 'batch';
  const measured: ResponseBatch[] = [];
  let seen = 0;
  let index = from;
  for (const b of batches({ dataset: subset, batchSize, firstBatch: from })) {
    if (index >= to) break;
    if (signal?.aborted) return 'cancelled';
    const x = tf.tensor4d(b.x, [b.size, dataset.height, dataset.width, dataset.channels]);
    const labels = tf.tensor1d(b.y, 'int32');
    try {
      // Pass 1: the forward statistics, and the shapes of the block outputs.
      const forward = tf.tidy(() => {
        const out = model.forward(params, state, x, { training, trace: true });
        const trace = out.trace!;
        const names = Object.keys(trace)
          .filter((n) => n.endsWith(OUTPUT))
          .map((n) => n.slice(0, -OUTPUT.length));
        const sums = names.flatMap((n) => {
          const o = trace[n + OUTPUT]!;
          const r = trace[n + RESPONSE]!;
          return [tf.sum(o), tf.sum(tf.square(o)), tf.sum(r), tf.sum(tf.square(r))];
        });
        const loss = sumCrossEntropy(out.logits, labels);
        const right = tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), labels), 'float32'));
        return {
          names,
          shapes: names.map((n) => trace[n + OUTPUT]!.shape),
          sizes: names.flatMap((n) => [trace[n + OUTPUT]!.size, trace[n + RESPONSE]!.size]),
          values: tf.stack([...sums, loss, right]),
        };
      });
      const v = await forward.values.data();
      forward.values.dispose();

      // Pass 2: ∂(Σ_i ℓ_i)/∂x_b through zero perturbations at the block outputs.
      const names = forward.names;
      const squares = tf.tidy(() => {
        const epsilons = forward.shapes.map((s) => tf.zeros(s));
        const where = new Map(names.map((n, i) => [n + OUTPUT, i]));
        const f = (...eps: tf.Tensor[]): tf.Scalar => {
          const out = model.forward(params, state, x, {
            training,
            tap: (name, t) => {
              const i = where.get(name);
              return i === undefined ? t : tf.add(t, eps[i]!);
            },
          });
          return sumCrossEntropy(out.logits, labels);
        };
        const grads = tf.grads(f)(epsilons);
        return tf.stack(grads.map((g) => tf.sum(tf.square(g))));
      });
      const g = await squares.data();
      squares.dispose();
      const batch: ResponseBatch = {
        batch: index,
        size: b.size,
        names,
        sizes: forward.sizes,
        forward: Array.from(v),
        gradientSquares: Array.from(g),
      };
      measured.push(batch);
      options.onBatch?.(batch);
    } finally {
      x.dispose();
      labels.dispose();
    }
    index++;
    seen += b.size;
    onProgress?.(seen, images);
  }
  return measured;
}

/** The statistics of a run from all its batches (any order: they are pooled in batch order). */
export function combineResponseBatches(
  measured: readonly ResponseBatch[],
  options: { bn: 'batch' | 'running'; batchSize: number },
): BlockResponses {
  const ordered = [...measured].sort((a, b) => a.batch - b.batch);
  if (ordered.some((b, k) => b.batch !== k))
    throw new Error('combineResponseBatches: batches 0 … n − 1 expected, each once');
  const names = ordered[0]?.names ?? [];
  const zero = (): Moments => ({ count: 0, sum: 0, sumSquares: 0 });
  const outputs = names.map(zero);
  const responses = names.map(zero);
  const gradientSquares = names.map(() => 0);
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  for (const b of ordered) {
    const v = b.forward;
    names.forEach((_, i) => {
      outputs[i]!.count += b.sizes[2 * i]!;
      outputs[i]!.sum += v[4 * i]!;
      outputs[i]!.sumSquares += v[4 * i + 1]!;
      responses[i]!.count += b.sizes[2 * i + 1]!;
      responses[i]!.sum += v[4 * i + 2]!;
      responses[i]!.sumSquares += v[4 * i + 3]!;
      gradientSquares[i]! += b.gradientSquares[i]!;
    });
    lossSum += v[4 * names.length]!;
    correct += v[4 * names.length + 1]!;
    seen += b.size;
  }
  return {
    blocks: names.map((block, index) => ({
      block,
      stage: Number(/^layer(\d+)\./.exec(block)?.[1] ?? 0),
      index,
      outputStd: pooledStd(outputs[index]!),
      gradientNorm: Math.sqrt(gradientSquares[index]! / seen),
      responseStd: pooledStd(responses[index]!),
    })),
    images: seen,
    bn: options.bn,
    batchSize: options.batchSize,
    loss: lossSum / seen,
    accuracy: correct / seen,
  };
}

/** The numbers the article quotes, per file: first block over last, and the mean response std. */
export interface ResponseSummary {
  /** outputStd of the first block over that of the last. */
  outputStdFirstOverLast: number;
  /** gradientNorm of the first block over that of the last. */
  gradientNormFirstOverLast: number;
  /** responseStd averaged over the blocks. */
  meanResponseStd: number;
}

/** Summary ratios the article quotes: first block over last, and mean response std. */
export function responseSummary(r: Pick<BlockResponses, 'blocks'>): ResponseSummary {
  const first = r.blocks[0]!;
  const last = r.blocks[r.blocks.length - 1]!;
  return {
    outputStdFirstOverLast: first.outputStd / last.outputStd,
    gradientNormFirstOverLast: first.gradientNorm / last.gradientNorm,
    meanResponseStd: r.blocks.reduce((s, b) => s + b.responseStd, 0) / r.blocks.length,
  };
}

/**
 * Which weights to measure: a run's initial state, model.init(seed) exactly
 * as `skipscape train` starts from it (epoch 0), or a checkpoint's trained
 * parameters and BN running statistics.
 */
export type ResponseWeights =
  { kind: 'initial'; seed: number } | { kind: 'trained'; params: ArrayMap; state: ArrayMap };

export interface MeasureResponsesOptions extends Omit<BlockResponsesOptions, 'params' | 'state'> {
  weights: ResponseWeights;
}

/**
 * blockResponses of the given weights with their summary: the one
 * measurement `skipscape responses` writes and the figure's live run shows.
 * It makes the weights' tensors and disposes of them, so it leaves
 * tf.memory().numTensors where it found it.
 */
export async function measureResponses(
  options: MeasureResponsesOptions,
): Promise<(BlockResponses & { summary: ResponseSummary }) | 'cancelled'> {
  const { weights, ...rest } = options;
  if (weights.kind === 'initial' && rest.bn === 'running') {
    throw new Error(
      'the initial state has no running statistics yet; measure it with BN in batch mode',
    );
  }
  const { params, state } =
    weights.kind === 'initial'
      ? rest.model.init(weights.seed)
      : { params: toTensorMap(weights.params), state: toTensorMap(weights.state) };
  try {
    const result = await blockResponses({ ...rest, params, state });
    return result === 'cancelled' ? result : { ...result, summary: responseSummary(result) };
  } finally {
    disposeMap(params);
    disposeMap(state);
  }
}
