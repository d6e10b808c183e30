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
import type { Model, TensorMap } from '../models';
import { createRng, deriveSeed } from '../random';
import { sumCrossEntropy } from '../train/engine';
import { residualBlocks } from './blocks';

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

/**
 * Samples of the gradient magnitude at every path length k = 0 … n,
 * `samples` per length, in rounds (one sample of every length per round, so
 * a cancelled run has every length). Sample s of length k draws its batch and
 * its blocks from the seed, k and s alone, so a resumed run draws what an
 * uninterrupted one would. Resolves with what it has when the signal fires.
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

  // The whole subset, normalised, and its first-block inputs, once.
  const [all] = [...batches({ dataset: data, batchSize: subset })];
  const x = tf.tensor4d(all!.x, [subset, data.height, data.width, data.channels]);
  const labels = tf.tensor1d(all!.y, 'int32');
  const h = firstBlockInput({ model, params, state, x });
  const total = (n + 1) * samples;
  let done = out.samples.reduce((a, s) => a + Math.min(s.length, samples), 0);
  let fresh = 0;
  const t0 = performance.now();
  try {
    for (let s = 0; s < samples; s++) {
      for (let k = 0; k <= n; k++) {
        if (out.samples[k]!.length > s) continue;
        // Let a cancel arrive (see lesionStudy).
        await yieldToEventLoop();
        if (signal?.aborted) return out;
        const rng = createRng(deriveSeed(seed, `paths/length ${k}/sample ${s}`));
        const images = chooseBlocks(subset, batchSize, rng.uniform);
        const chosen = new Set(chooseBlocks(n, k, rng.uniform));
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
          return tf.mean(tf.sqrt(tf.sum(tf.square(g), [1, 2, 3])));
        });
        const value = (await magnitude.data())[0]!;
        magnitude.dispose();
        out.samples[k]!.push(value);
        done++;
        fresh++;
        const seconds = (performance.now() - t0) / 1000;
        options.onProgress?.({ done, total, rate: fresh / Math.max(seconds, 1e-9) });
      }
      await options.onRound?.(structuredClone(out));
    }
    return out;
  } finally {
    x.dispose();
    labels.dispose();
    h.dispose();
  }
}
