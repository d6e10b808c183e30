/**
 * The training loop: Li et al.'s recipe (SGD, Nesterov momentum 0.9, weight
 * decay 5e-4, lr 0.1 with a decay schedule, batch 128, random crop and flip)
 * over any TrainEngine, with progress, cancellation, divergence detection and
 * a checkpoint every epoch.
 *
 * Reproducibility: every random choice is drawn from a stream derived from
 * the run's seed and the epoch (init, the epoch's shuffle, its augmentation),
 * never from a stream that runs across epochs. A run resumed from the
 * checkpoint of epoch k therefore sees exactly the batches an uninterrupted
 * run sees from epoch k + 1 on, and, the engine being deterministic for a
 * given backend, follows the same curve.
 *
 * Batches: each epoch is a fresh permutation cut into ⌊N / B⌋ full batches
 * (the remainder is dropped, like PyTorch's drop_last, so BN never sees a
 * batch of one); with fewer than B images, one batch of all N.
 */
import type { Model } from '../models/types';
import type { Dataset } from '../data/dataset';
import type { CheckpointMeta } from './checkpoint';
import { LocalEngine } from './engine';
import type { StepOutcome, TrainEngine } from './engine';
import { LI_ET_AL_SGD } from './optimizer';
import type { SgdConfig } from './optimizer';
import { learningRateAt } from './schedule';
import type { ScheduleSpec } from './schedule';
import { firstNonFinite, initialTrainingState, stateMismatches } from './state';
import type { TrainingState } from './state';
import type { EpochRecord, TrainConfig } from './types';
import { evaluateDataset, trainingBatches } from './batches';

export interface TrainProgress {
  /** Optimisation steps completed in the whole run (resumed steps included). */
  step: number;
  totalSteps: number;
  /** 1-based epoch in progress. */
  epoch: number;
  epochs: number;
  /** Steps completed in this epoch, of stepsPerEpoch. */
  epochStep: number;
  stepsPerEpoch: number;
  /** Mean training loss and accuracy over this epoch so far. */
  loss: number;
  accuracy: number;
  /** The last batch's mean loss. */
  batchLoss: number;
  lr: number;
  /** Training images per second over this run's steps so far. */
  imagesPerSecond: number;
  /** Seconds left for the remaining steps at this run's pace (evaluation not included). */
  etaSeconds: number;
}

/** What an epoch's end hands over: its record and the state to checkpoint. */
export interface EpochEnd {
  record: EpochRecord;
  /** All epochs so far, this one included. */
  history: EpochRecord[];
  /** Metadata for the checkpoint of this epoch. */
  meta: CheckpointMeta;
  training: TrainingState;
}

export interface TrainOptions {
  model: Model;
  data: { train: Dataset; test?: Dataset };
  epochs: number;
  /** η₀, default 0.1. */
  lr?: number;
  /** B, default 128. */
  batchSize?: number;
  /** Default cosine. */
  schedule?: ScheduleSpec;
  /** Default Li et al.'s: momentum 0.9 (Nesterov), weight decay 5e-4. */
  sgd?: SgdConfig;
  seed?: number;
  /** Random crop with padding and horizontal flip (data/augment.ts); default true. */
  augment?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
  /** Called after every epoch, awaited: save the checkpoint here. */
  onEpoch?: (end: EpochEnd) => void | Promise<void>;
  /** Continue from a checkpoint (its state, epoch, step and history). */
  resume?: { meta: CheckpointMeta; training: TrainingState };
  /** Where the steps run; default an in-process LocalEngine on the current backend. */
  engine?: TrainEngine;
  /** Images per evaluation batch; default the training batch size. */
  evalBatchSize?: number;
}

/** A batch loss above this many times ln(classes) counts as divergence (see train). */
export const EXPLODED_LOSS_FACTOR = 100;

export interface Divergence {
  /** The step (1-based, whole run) whose loss was not finite. */
  step: number;
  epoch: number;
  loss: number;
  /** The last finite batch loss and its step, or null when the first step diverged. */
  lastFiniteLoss: number | null;
  lastFiniteStep: number | null;
  message: string;
}

export type TrainResult =
  | { status: 'completed'; history: EpochRecord[]; step: number; training: TrainingState }
  /** Stopped by the signal; `training` is the state after the last completed step. */
  | { status: 'cancelled'; history: EpochRecord[]; step: number; training: TrainingState }
  /**
   * Stopped by a non-finite loss (`training` is the state before the offending
   * step, which was not applied) or by a finite loss above 100·ln(classes)
   * (the step was applied: `training` is the state after it). Either way the
   * epoch is not checkpointed, so the last checkpoint is the last good one.
   */
  | {
      status: 'diverged';
      history: EpochRecord[];
      step: number;
      training: TrainingState;
      divergence: Divergence;
    };

/** Yield to the event loop, so messages (a cancel) and timers run between steps. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function stepsPerEpoch(count: number, batchSize: number): number {
  return Math.max(1, Math.floor(count / batchSize));
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { model, data, epochs, signal, onProgress, onEpoch, resume } = options;
  const config: TrainConfig = {
    epochs,
    lr: options.lr ?? 0.1,
    batchSize: options.batchSize ?? 128,
    schedule: options.schedule ?? { kind: 'cosine' },
    sgd: options.sgd ?? LI_ET_AL_SGD,
    augment: options.augment ?? true,
    seed: options.seed ?? 0,
    trainImages: data.train.count,
    testImages: data.test?.count ?? 0,
  };
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new RangeError(`epochs must be a whole number ≥ 1, got ${epochs}`);
  }
  if (!Number.isInteger(config.batchSize) || config.batchSize < 2) {
    throw new RangeError(`batch size must be a whole number ≥ 2, got ${config.batchSize}`);
  }
  if (!(config.lr > 0)) throw new RangeError(`learning rate must be > 0, got ${config.lr}`);
  if (data.train.count < 2) throw new RangeError('training needs at least 2 images');

  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let step = 0;
  let initial: TrainingState;
  if (resume) {
    checkResumable(model, resume, config, data.train.name);
    initial = resume.training;
    history = resume.meta.history.slice();
    startEpoch = resume.meta.epoch;
    step = resume.meta.step;
  } else {
    initial = await initialTrainingState(model, config.seed);
  }

  const engine = options.engine ?? new LocalEngine({ model, sgd: config.sgd });
  const ownsEngine = options.engine === undefined;
  const batchSize = Math.min(config.batchSize, data.train.count);
  const perEpoch = stepsPerEpoch(data.train.count, config.batchSize);
  const totalSteps = perEpoch * epochs;
  // Cross-entropy starts near ln(classes) (uniform predictions); a batch loss
  // a hundred times that means the run has blown up even while it is finite
  // (lr 50 reached 7.9e8 before its first NaN).
  const lossCeiling = EXPLODED_LOSS_FACTOR * Math.log(Math.max(2, model.spec.classes));
  let lastFiniteLoss: number | null = null;
  let lastFiniteStep: number | null = null;
  let runSteps = 0;
  let runSeconds = 0;

  const finish = async (
    status: 'completed' | 'cancelled',
  ): Promise<Extract<TrainResult, { status: 'completed' | 'cancelled' }>> => ({
    status,
    history,
    step,
    training: await engine.snapshot(),
  });

  try {
    await engine.load(initial);
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const epochStart = performance.now();
      const epochBatches = trainingBatches({
        dataset: data.train,
        batchSize: config.batchSize,
        seed: config.seed,
        epoch,
        augment: config.augment,
      });
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lr = config.lr;
      let trainSeconds = 0;
      let s = 0;
      // Step time runs from the end of the previous step, so it includes
      // making the batch (shuffling, augmentation) as well as the engine's work.
      let t0 = performance.now();
      for (const batch of epochBatches) {
        await yieldToEventLoop();
        if (signal?.aborted) return await finish('cancelled');
        lr = learningRateAt({ schedule: config.schedule, baseLr: config.lr, step, totalSteps });
        let outcome: StepOutcome;
        try {
          outcome = await engine.trainStep(batch, lr);
        } catch (e) {
          // An engine may refuse a step once the run is cancelled (a paused job's gate).
          if (signal?.aborted) return await finish('cancelled');
          throw e;
        }
        const batchLoss = outcome.lossSum / outcome.count;
        const exploded = outcome.applied && Number.isFinite(batchLoss) && batchLoss > lossCeiling;
        if (!outcome.applied || !Number.isFinite(batchLoss) || exploded) {
          const divergence: Divergence = {
            step: step + 1,
            epoch: epoch + 1,
            loss: batchLoss,
            lastFiniteLoss,
            lastFiniteStep,
            message:
              (exploded
                ? `loss exploded to ${batchLoss.toPrecision(3)} at step ${step + 1} (epoch ${epoch + 1}, lr ${lr.toPrecision(3)}), above ${lossCeiling.toPrecision(3)} = ${EXPLODED_LOSS_FACTOR}·ln(${model.spec.classes} classes); `
                : `loss became ${batchLoss} at step ${step + 1} (epoch ${epoch + 1}, lr ${lr.toPrecision(3)}); `) +
              (lastFiniteStep === null
                ? 'no step had a finite loss'
                : `last finite loss ${lastFiniteLoss!.toPrecision(5)} at step ${lastFiniteStep}`) +
              (exploded
                ? '; no checkpoint was written for this epoch'
                : '; the update was not applied and no checkpoint was written for this epoch'),
          };
          return {
            status: 'diverged',
            history,
            step,
            training: await engine.snapshot(),
            divergence,
          };
        }
        step++;
        lastFiniteLoss = batchLoss;
        lastFiniteStep = step;
        lossSum += outcome.lossSum;
        correct += outcome.correct;
        seen += outcome.count;
        const now = performance.now();
        const dt = (now - t0) / 1000;
        t0 = now;
        trainSeconds += dt;
        runSeconds += dt;
        runSteps++;
        onProgress?.({
          step,
          totalSteps,
          epoch: epoch + 1,
          epochs,
          epochStep: ++s,
          stepsPerEpoch: perEpoch,
          loss: lossSum / seen,
          accuracy: correct / seen,
          batchLoss,
          lr,
          imagesPerSecond: (runSteps * batchSize) / runSeconds,
          etaSeconds: (totalSteps - step) * (runSeconds / runSteps),
        });
      }
      const test = data.test
        ? await evaluateDataset({
            engine,
            dataset: data.test,
            batchSize: options.evalBatchSize ?? config.batchSize,
            ...(signal ? { signal } : {}),
          })
        : null;
      if (test === 'cancelled') return await finish('cancelled');
      const record: EpochRecord = {
        epoch: epoch + 1,
        step,
        trainLoss: lossSum / seen,
        trainAccuracy: correct / seen,
        testLoss: test ? test.loss : null,
        testAccuracy: test ? test.accuracy : null,
        lr,
        seconds: (performance.now() - epochStart) / 1000,
        imagesPerSecond: seen / trainSeconds,
        backend: engine.backend,
      };
      const training = await engine.snapshot();
      const bad = firstNonFinite(training);
      if (bad !== null) {
        // A finite loss with a non-finite parameter is possible (an overflow in
        // a tensor the loss did not reach yet); never checkpoint it.
        return {
          status: 'diverged',
          history,
          step,
          training,
          divergence: {
            step,
            epoch: epoch + 1,
            loss: NaN,
            lastFiniteLoss,
            lastFiniteStep,
            message: `${bad} holds a non-finite value at the end of epoch ${epoch + 1}; no checkpoint was written`,
          },
        };
      }
      if (test !== null && !Number.isFinite(test.loss)) {
        // The training batches stayed finite but the test loss did not (BN
        // running statistics overflowed, or weights too large for inference).
        return {
          status: 'diverged',
          history,
          step,
          training,
          divergence: {
            step,
            epoch: epoch + 1,
            loss: test.loss,
            lastFiniteLoss,
            lastFiniteStep,
            message: `the test loss is ${test.loss} at the end of epoch ${epoch + 1}; no checkpoint was written`,
          },
        };
      }
      history = [...history, record];
      const meta: CheckpointMeta = {
        spec: model.spec,
        dataset: data.train.name,
        epoch: epoch + 1,
        step,
        seed: config.seed,
        config,
        history,
        backend: engine.backend,
        written: new Date().toISOString(),
      };
      await onEpoch?.({ record, history, meta, training });
    }
    return await finish('completed');
  } finally {
    if (ownsEngine) await engine.dispose();
  }
}

/** A resume must continue the same run: same model, data, seed and batch size. */
function checkResumable(
  model: Model,
  resume: { meta: CheckpointMeta; training: TrainingState },
  config: TrainConfig,
  dataset: string,
): void {
  const { meta, training } = resume;
  const problems: string[] = [];
  if (JSON.stringify(meta.spec) !== JSON.stringify(model.spec)) {
    problems.push(`the checkpoint's model ${JSON.stringify(meta.spec)} is not this run's`);
  }
  if (meta.dataset !== dataset) problems.push(`it was trained on ${meta.dataset}, not ${dataset}`);
  if (meta.config.seed !== config.seed)
    problems.push(`its seed is ${meta.config.seed}, not ${config.seed}`);
  if (meta.config.batchSize !== config.batchSize) {
    problems.push(`its batch size is ${meta.config.batchSize}, not ${config.batchSize}`);
  }
  if (meta.config.trainImages !== config.trainImages) {
    problems.push(`it trained on ${meta.config.trainImages} images, not ${config.trainImages}`);
  }
  if (Object.keys(training.momentum).length === 0) {
    problems.push('it holds no optimiser state (momentum buffers)');
  }
  problems.push(...stateMismatches(model, training));
  if (problems.length > 0) {
    throw new Error(`cannot resume from this checkpoint: ${problems.join('; ')}`);
  }
}
