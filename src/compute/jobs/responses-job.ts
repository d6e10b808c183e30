/**
 * The `responses` job: He et al.'s per-block signals of one shipped ResNet
 * ("It is not vanishing gradients", Run live), with measureResponses, the
 * function `skipscape responses` runs. For each state asked for, in order:
 * 'initial' is model.init(seed), the state a run with that seed starts from
 * (seed 0: the shipped runs' own epoch 0); 'final' is the shipped checkpoint.
 * Each state finished is a partial result; a cancel ends the job between
 * batches with the states already finished.
 *
 *   start ─▶ checkpoint (sha256 checked) ─▶ first M training images
 *         ─▶ initial: batches … ─▶ partial ─▶ final: batches … ─▶ partial ─▶ done
 */
import { loadFashionMnist } from '../data/dataset';
import type { Dataset } from '../data/dataset';
import { createModel } from '../models';
import type { ResNetSpec } from '../models/types';
import { measureResponseBatches, measureResponses } from '../signals/responses';
import type {
  BlockResponses,
  ResponseBatch,
  ResponseSummary,
  ResponseWeights,
} from '../signals/responses';
import { disposeMap, toTensorMap } from '../train/state';
import type { JobHandler } from './protocol';
import { readShippedCheckpoint } from './shipped';

export type ResponsesState = 'initial' | 'final';

export interface ResponsesJobParams {
  /** URL of the checkpoint (safetensors written by skipscape train). */
  checkpoint: string;
  /** The manifest's sha256 of that file: a mismatch fails the job before any compute. */
  checkpointSha256: string;
  /** The folder holding the Fashion-MNIST IDX files, as a URL readBytes understands. */
  dataDir: string;
  /** The first `images` training images (the CLI's --subset). */
  images: number;
  /** Images per pass, BN's batch (the CLI's --batch). */
  batchSize: number;
  /** Seed of the initial state, model.init(seed). */
  seed: number;
  /** Which states to measure, in this order. */
  states: ResponsesState[];
}

/** One state's measurement, as the CLI writes it less its file provenance. */
export interface ResponsesJobReport extends BlockResponses {
  summary: ResponseSummary;
  state: ResponsesState;
  /** 0 for the initial state, the checkpoint's epoch for the final one. */
  epoch: number;
  /** The network has skip connections (its checkpoint's spec). */
  skip: boolean;
  /** Seed of the initial state (the checkpoint's run's seed for 'final'). */
  seed: number;
}

export interface ResponsesJobTypes {
  params: ResponsesJobParams;
  /** Images done of the state being measured. */
  progress: { state: ResponsesState; done: number; total: number };
  partial: ResponsesJobReport;
  /** The states finished, in the order asked. */
  result: ResponsesJobReport[];
}

export function checkResponsesJobParams(p: ResponsesJobParams): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
  whole('images', p.images, 2, 60_000);
  whole('batchSize', p.batchSize, 2, 1024);
  whole('seed', p.seed, 0, 2 ** 32 - 1);
  if (p.states.length === 0 || p.states.some((s) => s !== 'initial' && s !== 'final')) {
    throw new RangeError(`states must name 'initial' and/or 'final', got ${p.states.join(', ')}`);
  }
  if (!/^[0-9a-f]{64}$/i.test(p.checkpointSha256)) {
    throw new RangeError('checkpointSha256 must be 64 hex digits');
  }
}

export const runResponsesJob: JobHandler<'responses'> = async (params, context) => {
  checkResponsesJobParams(params);
  const { checkpoint, model } = await readShippedCheckpoint({
    readBytes: (path) => context.readBytes(path),
    checkpoint: params.checkpoint,
    sha256: params.checkpointSha256,
  });
  if (model.spec.kind !== 'resnet') throw new Error(`${params.checkpoint} is not a ResNet`);
  if (checkpoint.meta.dataset !== 'fashion-mnist') {
    throw new Error(
      `${params.checkpoint} was trained on ${checkpoint.meta.dataset}; the live run reads Fashion-MNIST`,
    );
  }
  const skip = model.spec.skip;
  const dataset = await loadFashionMnist({
    readBytes: (path) => context.readBytes(path),
    baseDir: params.dataDir,
    split: 'train',
    limit: params.images,
  });
  const reports: ResponsesJobReport[] = [];
  for (const state of params.states) {
    if (context.signal.aborted) break;
    const measured = await measureResponses({
      model,
      weights:
        state === 'initial'
          ? { kind: 'initial', seed: params.seed }
          : {
              kind: 'trained',
              params: checkpoint.training.params,
              state: checkpoint.training.state,
            },
      dataset,
      bn: 'batch',
      batchSize: params.batchSize,
      signal: context.signal,
      onProgress: (done, total) => context.progress({ state, done, total }),
    });
    if (measured === 'cancelled') break;
    const report: ResponsesJobReport = {
      ...measured,
      state,
      epoch: state === 'initial' ? 0 : checkpoint.meta.epoch,
      skip,
      seed: state === 'initial' ? params.seed : checkpoint.meta.config.seed,
    };
    reports.push(report);
    context.partial(report);
  }
  return { result: reports, cancelled: context.signal.aborted };
};

export interface ResponseBatchesJobParams {
  spec: ResNetSpec;
  weights: ResponseWeights;
  /** The images measured (the first `images` of the split); batches are cut from them in order. */
  dataset: Dataset;
  bn: 'batch' | 'running';
  batchSize: number;
  /** This job measures batches [from, to). */
  from: number;
  to: number;
}

export interface ResponseBatchesJobTypes {
  params: ResponseBatchesJobParams;
  /** Images done of this job's slice. */
  progress: { done: number; total: number };
  /** One measured batch, as soon as it is done. */
  partial: ResponseBatch;
  /** How many batches of the slice were measured (all of them unless cancelled). */
  result: { batches: number };
}

/**
 * The `response-batches` job: batches [from, to) of a block-responses
 * measurement (measureResponseBatches), each sent back as a partial result;
 * the caller pools every slice's batches with combineResponseBatches. The
 * command line deals `skipscape responses`'s batches out to its worker
 * threads with this (src/compute/jobs/pooled.ts).
 */
export const runResponseBatchesJob: JobHandler<'response-batches'> = async (params, context) => {
  const model = createModel(params.spec);
  const w = params.weights;
  const { params: p, state } =
    w.kind === 'initial'
      ? model.init(w.seed)
      : { params: toTensorMap(w.params), state: toTensorMap(w.state) };
  let done = 0;
  try {
    const measured = await measureResponseBatches({
      model,
      params: p,
      state,
      dataset: params.dataset,
      bn: params.bn,
      batchSize: params.batchSize,
      from: params.from,
      to: params.to,
      signal: context.signal,
      onProgress: (images, total) => context.progress({ done: images, total }),
      onBatch: (batch) => {
        done++;
        context.partial(batch);
      },
    });
    return { result: { batches: done }, cancelled: measured === 'cancelled' };
  } finally {
    disposeMap(p);
    disposeMap(state);
  }
};
