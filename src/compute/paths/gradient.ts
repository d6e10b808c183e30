/**
 * Gradient magnitude per path length, measured as Veit et al. (2016, section
 * 5) did: forward a batch through every block as usual; in the backward pass
 * choose k of the n blocks and propagate through their residual branch only,
 * through the skip only at the other n − k; record the norm of the gradient
 * at the input of the first block. What arrives there is the gradient carried
 * by the paths of length k through those k branches.
 *
 * Why it isolates paths: for fixed activations the backward pass is linear
 * in the upstream gradient. Block i (y = ReLU(f_i(x) + s_i(x))) multiplies it
 * by D_i (F_i + S_i), with D_i the ReLU's mask, F_i the branch's Jacobian and
 * S_i the shortcut's. Expanding the product over blocks gives one term per
 * choice of F_i or S_i at each block: the 2^n paths. Choosing the branch at
 * the blocks of a set K and the skip elsewhere keeps exactly K's term, so the
 * gated gradients of all 2^n sets sum to the ordinary gradient (a test checks
 * this). The ReLU after each join (He et al.'s original block, which Veit et
 * al. measured too) keeps its forward mask on every path.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/dataset';
import { batches } from '../data/batches';
import { yieldToEventLoop } from '../landscape/grid';
import type { Origin } from '../landscape/grid';
import type { PlanePool } from '../landscape/pool';
import type { Model, TensorMap } from '../models';
import { createRng, deriveSeed } from '../random';
import { sumCrossEntropy } from '../train/engine';
import { residualBlocks } from './blocks';
import { onEveryReplica } from './replicas';

/** Where a block's backward pass goes: its residual branch only, its skip only, or both (ordinary). */
export type Gate = 'branch' | 'skip' | 'both';

/**
 * r + s going forward; going backward the upstream gradient dy goes to the
 * branch r only ('branch') or the shortcut s only ('skip').
 */
export function gatedSum(residual: tf.Tensor, shortcut: tf.Tensor, gate: Gate): tf.Tensor {
  if (gate === 'both') return tf.add(residual, shortcut);
  const join = tf.customGrad(((r: tf.Tensor, s: tf.Tensor) => ({
    value: tf.add(r, s),
    gradFunc: (dy: tf.Tensor) =>
      gate === 'branch' ? [dy, tf.zerosLike(s)] : [tf.zerosLike(r), dy],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return join(residual, shortcut);
}

/**
 * The first block's input h for each image of x: the output of the stem
 * (conv, BN, ReLU), where the gradients below are measured. Only the stem
 * runs (ForwardOptions.to): a whole pass over a large subset would hold every
 * layer's activation at once, more than wasm's heap for ResNet-110.
 */
export function firstBlockInput(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  x: tf.Tensor;
}): tf.Tensor {
  const { model, params, state, x } = options;
  const first = `${residualBlocks(model.spec)[0]!.name}.input`;
  return tf.tidy(() => {
    const { at } = model.forward(params, state, x, { training: false, to: first });
    if (at === undefined) throw new Error(`the model has no probe ${first}`);
    return at;
  });
}

/**
 * ∂L/∂h, L = Σ_images cross-entropy, at the input h of the first block, with
 * block i's backward pass gated by gate(i); BN in inference mode (stored
 * statistics, so images do not interact). The pass starts at h
 * (ForwardOptions.from): the stem is not run again. Returns a tensor the
 * caller disposes.
 */
export function gatedInputGradient(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  h: tf.Tensor;
  labels: tf.Tensor1D;
  gate: (block: number) => Gate;
}): tf.Tensor {
  const { model, params, state, h, labels, gate } = options;
  const first = `${residualBlocks(model.spec)[0]!.name}.input`;
  return tf.tidy(() =>
    tf.grad((input: tf.Tensor) => {
      const { logits } = model.forward(params, state, input, {
        training: false,
        from: { probe: first, x: input },
        combine: (block, residual, shortcut) => gatedSum(residual, shortcut, gate(block.index)),
      });
      return sumCrossEntropy(logits, labels);
    })(h),
  );
}

/**
 * ‖g_i‖ for each image i of g ([batch, ...]), scaled by its largest |entry|
 * first: ‖g‖ = m·‖g/m‖. Through 30 or more of ResNet-110's branches the
 * entries are near 1e-27, whose squares (1e-54) are below float32's smallest
 * number, so the plain Σg² came out exactly 0; the scaled sum stays exact to
 * float32 rounding wherever g itself is representable.
 */
export function imageNorms(g: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const flat = tf.reshape(g, [g.shape[0]!, -1]);
    const m = tf.max(tf.abs(flat), 1, true);
    const scale = tf.where(tf.greater(m, 0), m, tf.onesLike(m));
    const scaled = tf.sqrt(tf.sum(tf.square(tf.div(flat, scale)), 1));
    return tf.mul(scaled, tf.reshape(scale, [-1])) as tf.Tensor1D;
  });
}

/** k distinct numbers from 0 … n − 1 (a partial Fisher–Yates shuffle). */
export function chooseBlocks(n: number, k: number, random: () => number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k).sort((a, b) => a - b);
}

/** Raw samples of the gradient magnitude, per path length; resumable from a previous run's. */
export interface PathGradientSamples {
  /** n, the number of residual blocks. */
  blocks: number;
  /** Images per sample. */
  batchSize: number;
  /** Images the batches are drawn from (the first of the test split). */
  subset: number;
  seed: number;
  /**
   * samples[k][s]: the mean over the batch's images of ‖∂ℓ/∂h‖, the norm of
   * one image's loss gradient at the first block's input, for sample s of
   * length k (its own batch and its own k blocks). Ragged while under way.
   */
  samples: number[][];
}

export interface PathGradientProgress {
  done: number;
  total: number;
  /** Samples per second so far. */
  rate: number;
}

/** Which sample to take: length k, index s, from the seed (see samplePathGradients). */
export interface PathSampleRequest {
  k: number;
  s: number;
  seed: number;
  /** Images per sample. */
  batchSize: number;
}

/**
 * The whole subset as tensors and its first-block inputs, made once; each
 * sample gathers its batch from them. The same object takes the samples on
 * one thread and a replica's share on a worker thread (landscape/pool.ts), so
 * both compute the same tensors.
 */
export class PathGradientSampler {
  private readonly model: Model;
  private readonly params: TensorMap;
  private readonly state: TensorMap;
  /** n, the number of residual blocks. */
  readonly blocks: number;
  /** Images the batches are drawn from. */
  readonly subset: number;
  private readonly labels: tf.Tensor1D;
  private readonly h: tf.Tensor;

  constructor(options: { model: Model; params: TensorMap; state: TensorMap; data: Dataset }) {
    const { model, params, state, data } = options;
    this.model = model;
    this.params = params;
    this.state = state;
    this.blocks = residualBlocks(model.spec).length;
    this.subset = data.count;
    // The whole subset, normalised, and its first-block inputs, once.
    const [all] = [...batches({ dataset: data, batchSize: data.count })];
    const x = tf.tensor4d(all!.x, [data.count, data.height, data.width, data.channels]);
    this.labels = tf.tensor1d(all!.y, 'int32');
    this.h = firstBlockInput({ model, params, state, x });
    x.dispose();
  }

  /**
   * Sample s of length k: its batch and its k blocks drawn from the seed, k
   * and s alone; the mean over the batch of ‖∂ℓ/∂h‖.
   */
  async sample(request: PathSampleRequest): Promise<number> {
    const { k, s, seed, batchSize } = request;
    const { model, params, state, h, labels } = this;
    const rng = createRng(deriveSeed(seed, `paths/length ${k}/sample ${s}`));
    const images = chooseBlocks(this.subset, batchSize, rng.uniform);
    const chosen = new Set(chooseBlocks(this.blocks, k, rng.uniform));
    const magnitude = tf.tidy(() => {
      const index = tf.tensor1d(images, 'int32');
      const g = gatedInputGradient({
        model,
        params,
        state,
        h: tf.gather(h, index),
        labels: tf.gather(labels, index) as tf.Tensor1D,
        gate: (b) => (chosen.has(b) ? 'branch' : 'skip'),
      });
      return tf.mean(imageNorms(g));
    });
    try {
      return (await magnitude.data())[0]!;
    } finally {
      magnitude.dispose();
    }
  }

  dispose(): void {
    this.labels.dispose();
    this.h.dispose();
  }
}

/**
 * Samples of the gradient magnitude at every path length k = 0 … n,
 * `samples` per length, in rounds (one sample of every length per round, so
 * a cancelled run has every length). Sample s of length k draws its batch and
 * its blocks from the seed, k and s alone, so a resumed run draws what an
 * uninterrupted one would, and a pool of replicas (one sample at a time each,
 * dealt out in the same order) takes the same samples as this thread.
 * Resolves with what it has when the signal fires.
 */
export async function samplePathGradients(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  /** The images to draw batches from (its first `subset` are used). */
  data: Dataset;
  samples: number;
  batchSize: number;
  seed: number;
  /** Samples already taken (from an earlier, interrupted run with the same settings). */
  previous?: PathGradientSamples;
  signal?: AbortSignal;
  onProgress?: (progress: PathGradientProgress) => void;
  /** After each round, a copy of the samples so far. */
  onRound?: (samples: PathGradientSamples) => void | Promise<void>;
  /** Replicas (worker threads) to deal the samples out to, with θ* as arrays; default: this thread. */
  pool?: { pool: PlanePool; origin: Origin } | undefined;
}): Promise<PathGradientSamples> {
  const { model, params, state, data, samples, batchSize, seed, signal } = options;
  const n = residualBlocks(model.spec).length;
  const subset = data.count;
  if (!Number.isInteger(samples) || samples < 1) {
    throw new RangeError(`samples must be a whole number of at least 1, got ${samples}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > subset) {
    throw new RangeError(`batchSize must be from 1 to the ${subset} images, got ${batchSize}`);
  }
  const out: PathGradientSamples = options.previous
    ? structuredClone(options.previous)
    : { blocks: n, batchSize, subset, seed, samples: [] };
  if (
    out.blocks !== n ||
    out.batchSize !== batchSize ||
    out.subset !== subset ||
    out.seed !== seed
  ) {
    throw new Error(
      `the previous samples were taken with n=${out.blocks}, batch ${out.batchSize}, subset ${out.subset}, seed ${out.seed}; ` +
        `this run has n=${n}, batch ${batchSize}, subset ${subset}, seed ${seed}`,
    );
  }
  for (let k = 0; k <= n; k++) out.samples[k] ??= [];
  // The samples still to take, round by round (s), every length (k) in each.
  const todo: { k: number; s: number }[] = [];
  for (let s = 0; s < samples; s++) {
    for (let k = 0; k <= n; k++) if (out.samples[k]!.length <= s) todo.push({ k, s });
  }
  const total = (n + 1) * samples;
  let done = out.samples.reduce((a, s) => a + Math.min(s.length, samples), 0);
  let fresh = 0;
  const t0 = performance.now();
  const record = (k: number, value: number) => {
    out.samples[k]!.push(value);
    done++;
    fresh++;
    const seconds = (performance.now() - t0) / 1000;
    options.onProgress?.({ done, total, rate: fresh / Math.max(seconds, 1e-9) });
  };
  const roundDone = (s: number) => out.samples.every((list) => list.length > s);
  if (options.pool) {
    return pooledSamples({ ...options, pool: options.pool, out, todo, record, roundDone });
  }

  const sampler = new PathGradientSampler({ model, params, state, data });
  try {
    for (const { k, s } of todo) {
      // Let a cancel arrive (see lesionStudy).
      await yieldToEventLoop();
      if (signal?.aborted) return out;
      record(k, await sampler.sample({ k, s, seed, batchSize }));
      if (k === n && roundDone(s)) await options.onRound?.(structuredClone(out));
    }
    return out;
  } finally {
    sampler.dispose();
  }
}

/**
 * The samples dealt out to a pool's replicas, one at a time to whichever is
 * free, in the one-thread order. A sample may finish before one dealt out
 * earlier; it waits until those of its length before it are in, so each
 * length's list stays in sample order (what resume reads), and a round is
 * handed on once all its lengths are in.
 */
async function pooledSamples(options: {
  pool: { pool: PlanePool; origin: Origin };
  data: Dataset;
  samples: number;
  batchSize: number;
  seed: number;
  signal?: AbortSignal | undefined;
  onRound?: ((samples: PathGradientSamples) => void | Promise<void>) | undefined;
  out: PathGradientSamples;
  todo: readonly { k: number; s: number }[];
  record: (k: number, value: number) => void;
  roundDone: (s: number) => boolean;
}): Promise<PathGradientSamples> {
  const { pool, origin } = options.pool;
  const { out, todo, record, roundDone, signal, seed, batchSize } = options;
  const waiting = new Map<string, number>();
  let next = 0;
  let rounds = Promise.resolve();
  let roundsHanded = -1;
  const lane = async (index: number, failed: () => boolean): Promise<void> => {
    while (!failed()) {
      await yieldToEventLoop();
      if (signal?.aborted) return;
      const item = todo[next++];
      if (item === undefined) return;
      const value = await pool.pathSample(index, { k: item.k, s: item.s, seed, batchSize });
      waiting.set(`${item.k} ${item.s}`, value);
      // Take in every sample that is next in its length's list.
      for (let moved = true; moved;) {
        moved = false;
        out.samples.forEach((list, k) => {
          const v = waiting.get(`${k} ${list.length}`);
          if (v === undefined) return;
          waiting.delete(`${k} ${list.length}`);
          record(k, v);
          moved = true;
        });
      }
      while (roundsHanded + 1 < options.samples && roundDone(roundsHanded + 1)) {
        roundsHanded++;
        // A round's copy holds that round and those before it, as on one
        // thread, even where a later round's sample is already in.
        const snapshot = structuredClone(out);
        snapshot.samples = snapshot.samples.map((list) => list.slice(0, roundsHanded + 1));
        rounds = rounds.then(() => options.onRound?.(snapshot));
      }
      await rounds;
    }
  };
  // Rounds a resumed run already had are not handed on again.
  while (roundsHanded + 1 < options.samples && roundDone(roundsHanded + 1)) roundsHanded++;
  await onEveryReplica({ pool, origin, data: options.data, batchSize, lane });
  return out;
}
