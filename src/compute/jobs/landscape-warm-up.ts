/**
 * The `landscape-warm-up` job: readies a worker for Run live before the
 * reader clicks it. The first run in a fresh worker pays for more than its
 * points: the backend's start (tfjs imported, its WebAssembly and our
 * Winograd kernel's compiled; the runner does this before any job), the job
 * code's first parse, and the first calls of every kernel, which run in the
 * browser's baseline code until they are hot enough to be optimised
 * (V8 compiles WebAssembly with Liftoff first and tiers hot functions up to
 * TurboFan; JavaScript likewise). This job pays those costs ahead, for a few
 * milliseconds of arithmetic: `passes` evaluations of the network, exactly as
 * the landscape job evaluates a grid point (θ* + αδ + βη, then the mean loss
 * and accuracy over a batch, BN in inference mode), on `batchSize` blank
 * images with placeholder weights, and optionally one on a batch of the
 * run's size, which grows the worker's memory to what the run will use. Nothing is fetched and nothing computed
 * here is kept: a run's results do not depend on whether its worker was warmed.
 *
 *   start ─▶ backend (runner) ─▶ model from its name ─▶ passes × (point, evaluate)
 *         ─▶ [one run-sized (point, evaluate)] ─▶ done
 */
import * as tf from '@tensorflow/tfjs-core';
import { createModel, parseModelName } from '../models';
import { FASHION_MNIST_CLASS_NAMES } from '../data/dataset';
import {
  evaluateLossAccuracy,
  planeTensors,
  pointTensors,
  type EvaluationBatches,
} from '../landscape/grid';
import type { ArrayMap } from '../train/state';
import type { JobHandler } from './protocol';

/** Fashion-MNIST's images are 28 × 28, one channel. */
const SIDE = 28;

export interface LandscapeWarmUpParams {
  /**
   * The network Run live will evaluate, as the manifest names it (e.g.
   * 'resnet20'), with or without skips: the shipped checkpoints' networks on
   * Fashion-MNIST's 28 × 28 grey images, as the landscape job reads them.
   */
  model: string;
  skip: boolean;
  /** Images per warm-up pass (1 to 8): enough to run every kernel, no more. */
  batchSize: number;
  /** Evaluations (1 to 8). */
  passes: number;
  /**
   * Then one more at the run's batch size (up to 256), so the worker's memory
   * grows to what a grid point needs, and is written, before the run: the
   * first touch of fresh pages is a page fault each, dear in a virtual
   * machine, and a run would otherwise pay them during its first points.
   * Default: no such pass.
   */
  runBatchSize?: number;
}

export interface LandscapeWarmUpResult {
  /** Milliseconds of each pass, in order (the run-sized one last): the first pays for the kernels' first calls. */
  passMs: number[];
}

export interface LandscapeWarmUpJobTypes {
  params: LandscapeWarmUpParams;
  progress: never;
  partial: never;
  result: LandscapeWarmUpResult;
}

/** Check the parameters; a RangeError names the first that does not fit. */
export function checkWarmUpParams(p: LandscapeWarmUpParams): void {
  for (const [name, value] of [
    ['batchSize', p.batchSize],
    ['passes', p.passes],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 8)
      throw new RangeError(`${name} must be a whole number from 1 to 8, got ${value}`);
  }
  const run = p.runBatchSize;
  if (run !== undefined && !(Number.isInteger(run) && run >= 1 && run <= 256))
    throw new RangeError(`runBatchSize must be a whole number from 1 to 256, got ${run}`);
}

export const runLandscapeWarmUpJob: JobHandler<'landscape-warm-up'> = async (params, context) => {
  checkWarmUpParams(params);
  const spec = parseModelName(params.skip ? params.model : `${params.model}-noshort`, {
    inputShape: [1, SIDE, SIDE],
    classes: FASHION_MNIST_CLASS_NAMES.length,
  });
  const model = createModel(spec);
  // Placeholder weights: the kernels' cost does not depend on the values. Zero
  // running means and unit variances keep BN's arithmetic finite. The
  // directions move the convolution and dense weights only, as Run live's do
  // (biases and BN left out), so each pass makes the same kind of point.
  const zeros = (shape: number[]) => ({
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    shape,
  });
  const origin: { params: ArrayMap; state: ArrayMap } = { params: {}, state: {} };
  const direction: ArrayMap = {};
  for (const p of model.params) {
    origin.params[p.name] = zeros(p.shape);
    if (p.role === 'conv' || p.role === 'dense') {
      const d = zeros(p.shape);
      d.data.fill(1e-3);
      direction[p.name] = d;
    }
  }
  for (const s of model.state) {
    const v = zeros(s.shape);
    if (s.role === 'runningVar') v.data.fill(1);
    origin.state[s.name] = v;
  }
  const plane = planeTensors(origin, { x: direction, y: direction });
  const blank = (n: number): EvaluationBatches => {
    const batch = {
      x: tf.zeros([n, SIDE, SIDE, 1]),
      labels: tf.zeros([n], 'int32') as tf.Tensor1D,
      n,
    };
    return { batches: [batch], count: n, dispose: () => tf.dispose([batch.x, batch.labels]) };
  };
  const sizes = Array.from({ length: params.passes }, () => params.batchSize);
  if (params.runBatchSize !== undefined) sizes.push(params.runBatchSize);
  const passMs: number[] = [];
  try {
    for (const [k, n] of sizes.entries()) {
      if (context.signal.aborted) break;
      const started = performance.now();
      const data = blank(n);
      const at = pointTensors(plane, 0.5 - k / sizes.length, 0.25);
      try {
        await evaluateLossAccuracy({ model, params: at.params, state: at.state, data });
      } finally {
        for (const t of at.owned) t.dispose();
        data.dispose();
      }
      passMs.push(performance.now() - started);
    }
  } finally {
    plane.dispose();
  }
  return { result: { passMs }, cancelled: context.signal.aborted };
};
