/**
 * A training engine holds a model's tensors (θ, BN running statistics,
 * momentum) and runs optimisation steps and evaluations on batches of plain
 * arrays. The training loop talks only to this interface, so the same loop
 * drives one in-process engine (here) or several replicas in worker threads
 * (parallel.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model, TensorMap } from '../models/types';
import { foldRunningStats, sgdStep } from './optimizer';
import type { SgdConfig } from './optimizer';
import { disposeMap, toArrayMap, toTensorMap } from './state';
import type { TrainingState } from './state';
import type { Batch } from './types';

/** Sums over a batch, so shards and batches add up. */
export interface BatchTotals {
  /** Σ cross-entropy over the examples. */
  lossSum: number;
  /** Examples classified correctly. */
  correct: number;
  count: number;
}

export interface StepOutcome extends BatchTotals {
  /** false when the loss was not finite: the step was not applied and θ is unchanged. */
  applied: boolean;
}

export interface TrainEngine {
  /** The tfjs backend the work runs on ('wasm', 'cpu', 'webgpu', ...). */
  readonly backend: string;
  /** Replace θ, running statistics and momentum. */
  load(state: TrainingState): Promise<void>;
  /**
   * One SGD step on the mean loss of the batch (training-mode BN), applied
   * only when the loss is finite.
   */
  trainStep(batch: Batch, lr: number): Promise<StepOutcome>;
  /** Loss and accuracy in inference mode (running statistics). */
  evaluate(batch: Batch): Promise<BatchTotals>;
  /** A copy of the current state. */
  snapshot(): Promise<TrainingState>;
  /** Release every tensor (and worker) the engine holds. */
  dispose(): Promise<void>;
}

/** −(1/n) Σ_i log softmax(z_i)[y_i], the mean cross-entropy. */
export function meanCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const onehot = tf.oneHot(labels, logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
}

/** Σ_i −log softmax(z_i)[y_i]. */
export function sumCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const onehot = tf.oneHot(labels, logits.shape[1]);
  return tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits))));
}

/** Number of examples whose largest logit is their label. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
}

export function batchTensors(batch: Batch): { x: tf.Tensor4D; labels: tf.Tensor1D } {
  return {
    x: tf.tensor4d(batch.x, [batch.n, batch.height, batch.width, batch.channels]),
    labels: tf.tensor1d(batch.labels, 'int32'),
  };
}

/**
 * Loss, accuracy, gradients of the mean loss with respect to every parameter,
 * and the BN batch statistics, for one batch in training mode. Every returned
 * tensor belongs to the caller.
 */
export function batchGradients(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  batch: Batch;
}): { loss: tf.Scalar; correct: tf.Scalar; grads: TensorMap; batchStats: TensorMap } {
  const { model, params, state, batch } = options;
  const names = Object.keys(params);
  // The gradient function disposes everything but its value; the batch
  // statistics and the count of correct answers are needed after it, so they
  // are kept (tf.keep) and handed to the caller, or disposed here on failure.
  const kept: { batchStats: TensorMap; correct: tf.Scalar | null } = {
    batchStats: {},
    correct: null,
  };
  try {
    const result = tf.tidy(() => {
      const { x, labels } = batchTensors(batch);
      const f = (...ps: tf.Tensor[]): tf.Scalar => {
        const p: TensorMap = {};
        names.forEach((n, i) => (p[n] = ps[i]!));
        const out = model.forward(p, state, x, { training: true });
        for (const [n, t] of Object.entries(out.batchStats)) kept.batchStats[n] = tf.keep(t);
        kept.correct = tf.keep(countCorrect(out.logits, labels));
        return meanCrossEntropy(out.logits, labels);
      };
      const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params[n]!));
      const g: TensorMap = {};
      names.forEach((n, i) => (g[n] = grads[i]!));
      return { loss: value, grads: g };
    });
    return {
      loss: result.loss,
      correct: kept.correct!,
      grads: result.grads,
      batchStats: kept.batchStats,
    };
  } catch (e) {
    disposeMap(kept.batchStats);
    kept.correct?.dispose();
    throw e;
  }
}

/** Σ loss and correct answers of one batch in inference mode. */
export async function evaluateBatch(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  batch: Batch;
}): Promise<BatchTotals> {
  const { model, params, state, batch } = options;
  const [lossSum, correct] = tf.tidy(() => {
    const { x, labels } = batchTensors(batch);
    const { logits } = model.forward(params, state, x, { training: false });
    return [sumCrossEntropy(logits, labels), countCorrect(logits, labels)];
  });
  try {
    const [l, c] = await Promise.all([lossSum.data(), correct.data()]);
    return { lossSum: l[0]!, correct: c[0]!, count: batch.n };
  } finally {
    lossSum.dispose();
    correct.dispose();
  }
}

/** The in-process engine: the model's tensors live on the current tfjs backend. */
export class LocalEngine implements TrainEngine {
  readonly backend: string;
  private readonly model: Model;
  private readonly sgd: SgdConfig;
  private params: TensorMap = {};
  private state: TensorMap = {};
  private momentum: TensorMap = {};

  constructor(options: { model: Model; sgd: SgdConfig }) {
    this.model = options.model;
    this.sgd = options.sgd;
    this.backend = tf.getBackend();
  }

  async load(training: TrainingState): Promise<void> {
    this.release();
    this.params = toTensorMap(training.params);
    this.state = toTensorMap(training.state);
    this.momentum = toTensorMap(training.momentum);
  }

  async trainStep(batch: Batch, lr: number): Promise<StepOutcome> {
    const { loss, correct, grads, batchStats } = batchGradients({
      model: this.model,
      params: this.params,
      state: this.state,
      batch,
    });
    try {
      const [l, c] = await Promise.all([loss.data(), correct.data()]);
      const meanLoss = l[0]!;
      const outcome = { lossSum: meanLoss * batch.n, correct: c[0]!, count: batch.n };
      if (!Number.isFinite(meanLoss)) return { ...outcome, applied: false };
      this.applyUpdate(grads, batchStats, lr);
      return { ...outcome, applied: true };
    } finally {
      loss.dispose();
      correct.dispose();
      disposeMap(grads);
      disposeMap(batchStats);
    }
  }

  /** θ, b ← SGD(θ, b, g); running statistics ← fold(running, batch statistics). */
  applyUpdate(grads: TensorMap, batchStats: TensorMap, lr: number): void {
    const next = sgdStep({
      params: this.params,
      grads,
      momentum: this.momentum,
      lr,
      config: this.sgd,
    });
    const state = foldRunningStats({ state: this.state, batchStats });
    this.release();
    this.params = next.params;
    this.momentum = next.momentum;
    this.state = state;
  }

  evaluate(batch: Batch): Promise<BatchTotals> {
    return evaluateBatch({ model: this.model, params: this.params, state: this.state, batch });
  }

  async snapshot(): Promise<TrainingState> {
    return {
      params: await toArrayMap(this.params),
      state: await toArrayMap(this.state),
      momentum: await toArrayMap(this.momentum),
    };
  }

  /** The live tensors, for callers in the same thread that need them (read-only). */
  tensors(): { params: TensorMap; state: TensorMap; momentum: TensorMap } {
    return { params: this.params, state: this.state, momentum: this.momentum };
  }

  private release(): void {
    disposeMap(this.params);
    disposeMap(this.state);
    disposeMap(this.momentum);
    this.params = {};
    this.state = {};
    this.momentum = {};
  }

  async dispose(): Promise<void> {
    this.release();
  }
}
