/**
 * Loss surfaces (Li et al. 2018): f(α, β) = L(θ* + αδ + βη) and the accuracy,
 * on a fixed evaluation subset, with BN in inference mode (its stored running
 * statistics; they move only along interpolation directions, which carry
 * them). A 1-D curve is the same with η absent and ys = [0]; linear
 * interpolation θ(λ) = θ_a + λ(θ_b − θ_a) is a 1-D curve along θ_b − θ_a.
 *
 * Points are computed in a schedule (see pointSchedule): coarse grid first,
 * then finer levels, optionally one shard of the grid, skipping points a
 * resumed surface already has. Cancelling (AbortSignal) stops after the point
 * in progress and returns the surface so far; its mask says which points are
 * in. Points whose loss is NaN or infinite are in the mask with null values.
 *
 *   grid                      schedule (3 levels)          shard 1/2 of it
 *   · · · · ·                 0 · 1 · 0                    0 · · · 0
 *   · · · · ·                 · 2 · 2 ·                    · 2 · 2 ·
 *   · · · · ·       →         1 · 1 · 1          →         · · 1 · ·
 *   · · · · ·                 · 2 · 2 ·                    · 2 · 2 ·
 *   · · · · ·                 0 · 1 · 0                    0 · · · 0
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendLabel } from '../backend';
import type { Model, TensorMap } from '../models/types';
import { countCorrect, sumCrossEntropy } from '../train/engine';
import { disposeMap, toTensorMap } from '../train/state';
import type { ArrayMap } from '../train/state';
import { batches } from '../data/batches';
import type { ChannelNormalization, Dataset } from '../data/dataset';
import { normalizationFor } from '../data/dataset';
import type { Direction, DirectionPair } from './directions';
import { isZero } from './directions';
import { gridDifferences } from './merge';
import type { PlanePool } from './pool';
import type { Surface, SurfaceMeta } from './surface';

export { axisValues, checkGridAxes, MAX_GRID_POINTS, parseGrid } from './axes';
export type { GridAxis } from './axes';

/** Shard `index` of `count` (0-based): the points p with p mod count = index. */
export interface Shard {
  index: number;
  count: number;
}

/** Parse the command line's `i/n` (1-based i, as people count shards). */
export function parseShard(spec: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new Error(`shard "${spec}": expected i/n, e.g. 1/2`);
  const i = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || i < 1 || i > n) throw new Error(`shard "${spec}": need 1 ≤ i ≤ n`);
  return { index: i - 1, count: n };
}

export interface PointSchedule {
  /** Raster indices (j·nx + i) in the order to compute them. */
  order: Int32Array;
  /** Refinement level of each entry of `order`, 0 = coarsest. */
  level: Uint8Array;
  levels: number;
}

/**
 * The order in which to compute a grid's points. With `progressive`, level 0
 * holds every s-th point along both axes (s = 2^k, the largest power of two
 * that leaves at least three points along the longer axis), level 1 every
 * (s/2)-th point not already done, …, the last level the rest, so a partial
 * result is a coarser version of the final grid. Shard `index` of `count`
 * keeps the points whose rank within their level (raster order) is ≡ index
 * (mod count), so every level is split evenly and shards run in step through
 * the levels: the coarse picture comes first from all of them together.
 * (A raster index mod count would not do: with an even stride and count 2,
 * every point of the coarse levels falls to one shard.)
 */
export function pointSchedule(options: {
  nx: number;
  ny: number;
  progressive: boolean;
  shard?: Shard | undefined;
}): PointSchedule {
  const { nx, ny, progressive, shard } = options;
  let coarsest = 1;
  if (progressive) while ((Math.max(nx, ny) - 1) / (coarsest * 2) >= 2) coarsest *= 2;
  const levels = Math.round(Math.log2(coarsest)) + 1;
  // Level of a point: how many halvings from the coarsest stride it takes to reach it.
  const strideOf = (k: number): number => {
    let s = coarsest;
    while (s > 1 && k % s !== 0) s /= 2;
    return s;
  };
  const buckets: number[][] = Array.from({ length: levels }, () => []);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const s = Math.min(strideOf(i), strideOf(j));
      buckets[levels - 1 - Math.round(Math.log2(s))]!.push(j * nx + i);
    }
  }
  if (shard) {
    for (let l = 0; l < levels; l++) {
      buckets[l] = buckets[l]!.filter((_, rank) => rank % shard.count === shard.index);
    }
  }
  const order = new Int32Array(buckets.reduce((a, b) => a + b.length, 0));
  const level = new Uint8Array(order.length);
  let at = 0;
  buckets.forEach((b, l) => {
    for (const p of b) {
      order[at] = p;
      level[at] = l;
      at++;
    }
  });
  return { order, level, levels };
}

/** Progress of a grid job. */
export interface GridProgress {
  /** Points of this run's schedule that are done (resumed ones included). */
  done: number;
  /** Points in this run's schedule (the shard's, when sharded). */
  total: number;
  /** Refinement level being computed (0 = coarsest) and how many there are. */
  level: number;
  levels: number;
  /** Seconds spent by this run. */
  elapsedSeconds: number;
  /** Points per second in this run; null before the first point. */
  pointsPerSecond: number | null;
  /** Seconds left at that rate; null before the first point. */
  etaSeconds: number | null;
}

/** Meta fields the caller supplies; the engine fills in backend, subset, seconds and written. */
export type SurfaceMetaInput = Omit<SurfaceMeta, 'backend' | 'subset' | 'seconds' | 'written'>;

/** A surface with nothing computed yet. */
export function emptySurface(options: { xs: number[]; ys: number[]; meta: SurfaceMeta }): Surface {
  const n = options.xs.length * options.ys.length;
  return {
    xs: options.xs.slice(),
    ys: options.ys.slice(),
    loss: new Array<number | null>(n).fill(null),
    accuracy: new Array<number | null>(n).fill(null),
    mask: new Array<0 | 1>(n).fill(0),
    meta: { ...options.meta },
  };
}

/** A deep copy, for partial results handed to callers while the job goes on. */
export function copySurface(s: Surface): Surface {
  return {
    xs: s.xs.slice(),
    ys: s.ys.slice(),
    loss: s.loss.slice(),
    accuracy: s.accuracy.slice(),
    mask: s.mask.slice(),
    meta: { ...s.meta },
  };
}

/** The evaluation subset as tensors, in batches, kept for a whole job. */
export interface EvaluationBatches {
  batches: { x: tf.Tensor; labels: tf.Tensor1D; n: number }[];
  count: number;
  dispose(): void;
}

/**
 * Cut the evaluation set into batches of tensors, in order, normalised as in
 * training (the data layer's batches), NHWC for conv nets and
 * [n, features] for the MLP.
 */
export function evaluationBatches(options: {
  model: Model;
  data: Dataset;
  batchSize: number;
  /** Default normalizationFor(data); a share of a subset passes the whole subset's. */
  normalization?: ChannelNormalization | undefined;
}): EvaluationBatches {
  const { model, data, batchSize } = options;
  const per = data.height * data.width * data.channels;
  const out: EvaluationBatches['batches'] = [];
  const dispose = () => {
    for (const b of out) {
      b.x.dispose();
      b.labels.dispose();
    }
  };
  try {
    const normalization = options.normalization ?? normalizationFor(data);
    for (const b of batches({ dataset: data, batchSize, normalization })) {
      const x =
        model.spec.kind === 'mlp'
          ? tf.tensor2d(b.x, [b.size, per])
          : tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]);
      out.push({ x, labels: tf.tensor1d(b.y, 'int32'), n: b.size });
    }
  } catch (e) {
    dispose();
    throw e;
  }
  return { batches: out, count: data.count, dispose };
}

/**
 * Mean cross-entropy and top-1 accuracy of the network at (params, state)
 * over all batches, BN in inference mode. One read from the backend per
 * call: per-batch sums are accumulated on the device.
 */
export async function evaluateLossAccuracy(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  data: EvaluationBatches;
}): Promise<{ loss: number; accuracy: number }> {
  const { model, params, state, data } = options;
  let totals: tf.Tensor1D | null = null;
  try {
    for (const b of data.batches) {
      const previous: tf.Tensor1D | null = totals;
      totals = tf.tidy(() => {
        const { logits } = model.forward(params, state, b.x, { training: false });
        const sums = tf.stack([
          sumCrossEntropy(logits, b.labels),
          tf.cast(countCorrect(logits, b.labels), 'float32'),
        ]) as tf.Tensor1D;
        return previous === null ? sums : tf.add(previous, sums);
      });
      previous?.dispose();
    }
    if (totals === null) throw new Error('evaluation set is empty');
    const [lossSum, correct] = await totals.data();
    return { loss: lossSum! / data.count, accuracy: correct! / data.count };
  } finally {
    (totals as tf.Tensor1D | null)?.dispose();
  }
}

/** The starting point θ* of a plane: parameters and BN running statistics. */
export interface Origin {
  params: ArrayMap;
  state: ArrayMap;
}

/** θ* and the two directions as tensors, kept for a whole job. */
export interface PlaneTensors {
  params: TensorMap;
  state: TensorMap;
  /** Direction tensors by name, only where the direction is not zero. */
  x: TensorMap;
  y: TensorMap;
  dispose(): void;
}

export function planeTensors(origin: Origin, directions: DirectionPair): PlaneTensors {
  const known = new Set([...Object.keys(origin.params), ...Object.keys(origin.state)]);
  const nonZero = (d: Direction | null): TensorMap => {
    const out: TensorMap = {};
    if (d === null) return out;
    for (const [name, a] of Object.entries(d)) {
      if (!known.has(name))
        throw new Error(`direction names ${name}, which the checkpoint does not have`);
      const o = origin.params[name] ?? origin.state[name]!;
      if (o.data.length !== a.data.length)
        throw new Error(
          `direction ${name} has ${a.data.length} values, the checkpoint ${o.data.length}`,
        );
      if (!isZero(a)) out[name] = tf.tensor(a.data, o.shape, 'float32');
    }
    return out;
  };
  const params = toTensorMap(origin.params);
  const state = toTensorMap(origin.state);
  const x = nonZero(directions.x);
  const y = nonZero(directions.y);
  return {
    params,
    state,
    x,
    y,
    dispose() {
      for (const m of [params, state, x, y]) disposeMap(m);
    },
  };
}

/**
 * θ* + αδ + βη as tensors (parameters and running statistics). Tensors that
 * neither direction moves are θ*'s own; `owned` lists the new ones, which the
 * caller disposes.
 */
export function pointTensors(
  plane: PlaneTensors,
  alpha: number,
  beta: number,
): { params: TensorMap; state: TensorMap; owned: tf.Tensor[] } {
  const owned: tf.Tensor[] = [];
  const step = (group: TensorMap): TensorMap => {
    const out: TensorMap = {};
    for (const [name, t] of Object.entries(group)) {
      const dx = plane.x[name];
      const dy = plane.y[name];
      if ((dx === undefined || alpha === 0) && (dy === undefined || beta === 0)) {
        out[name] = t;
        continue;
      }
      const moved = tf.tidy(() => {
        let r: tf.Tensor = t;
        if (dx !== undefined && alpha !== 0) r = tf.add(r, tf.mul(dx, alpha));
        if (dy !== undefined && beta !== 0) r = tf.add(r, tf.mul(dy, beta));
        return r;
      });
      owned.push(moved);
      out[name] = moved;
    }
    return out;
  };
  return { params: step(plane.params), state: step(plane.state), owned };
}

/** What a grid job runs per point, and what it needs to know to report. */
export interface GridJob {
  xs: number[];
  ys: number[];
  /** 1 where a point is already done (resumed); updated as points complete. */
  mask: (0 | 1)[];
  progressive: boolean;
  shard?: Shard | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Points computed at once (default 1): one lane per replica of a pool. Each
   * lane takes the next point of the schedule when its last one is done, so
   * the points of a level are dealt out like shards and come back in any order.
   */
  concurrency?: number | undefined;
  /**
   * Compute point p (raster index) at (α, β) = (xs[p mod nx], ys[p div nx])
   * on lane `lane` (0 … concurrency − 1) and store it; resolve false when
   * cancelled before it was complete (the point is then not marked and the
   * run stops).
   */
  point(p: number, alpha: number, beta: number, lane: number): Promise<boolean>;
  /** Called after each point and when a level is complete. */
  onPoint?: ((progress: GridProgress, levelDone: boolean) => void) | undefined;
}

/** Let timers, I/O and messages run (a worker's cancel, a page's redraw, a terminal's Ctrl-C). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Run a grid job's schedule; returns this run's compute seconds. Stops early
 * when aborted: no new point starts, and the points in progress on other
 * lanes finish and are kept, so a cancelled run loses nothing it computed.
 */
export async function runGrid(job: GridJob): Promise<number> {
  const nx = job.xs.length;
  const schedule = pointSchedule({
    nx,
    ny: job.ys.length,
    progressive: job.progressive,
    shard: job.shard,
  });
  const total = schedule.order.length;
  let done = 0;
  // Points still to compute in each level, and the schedule index that ends each level.
  const left = new Array<number>(schedule.levels).fill(0);
  const lastOfLevel = new Array<number>(schedule.levels).fill(-1);
  for (let k = 0; k < total; k++) {
    const l = schedule.level[k]!;
    lastOfLevel[l] = k;
    if (job.mask[schedule.order[k]!] === 1) done++;
    else left[l]!++;
  }
  const start = performance.now();
  let computed = 0;
  const progress = (level: number): GridProgress => {
    const elapsed = (performance.now() - start) / 1000;
    const rate = computed > 0 && elapsed > 0 ? computed / elapsed : null;
    return {
      done,
      total,
      level,
      levels: schedule.levels,
      elapsedSeconds: elapsed,
      pointsPerSecond: rate,
      etaSeconds: rate === null ? null : (total - done) / rate,
    };
  };
  let next = 0;
  let stopped = false;
  let failure: { error: unknown } | null = null;
  const lane = async (index: number): Promise<void> => {
    while (!stopped && !job.signal?.aborted) {
      const k = next++;
      if (k >= total) return;
      const p = schedule.order[k]!;
      const level = schedule.level[k]!;
      if (job.mask[p] === 1) {
        // A level done before this run (resumed) still reports its end.
        if (k === lastOfLevel[level] && left[level] === 0) job.onPoint?.(progress(level), true);
        continue;
      }
      const complete = await job.point(p, job.xs[p % nx]!, job.ys[Math.floor(p / nx)]!, index);
      if (!complete) {
        stopped = true;
        return;
      }
      job.mask[p] = 1;
      done++;
      computed++;
      left[level]!--;
      job.onPoint?.(progress(level), left[level] === 0);
      // On the cpu and wasm backends reads resolve as microtasks, so without a
      // macrotask break timers, I/O (partial files) and signals (cancel,
      // Ctrl-C) would wait for the whole grid.
      await yieldToEventLoop();
    }
  };
  const lanes = Math.max(1, Math.min(job.concurrency ?? 1, total));
  await Promise.all(
    Array.from({ length: lanes }, (_, i) =>
      lane(i).catch((error: unknown) => {
        // The other lanes finish the points they hold, then the error is thrown.
        stopped = true;
        failure ??= { error };
      }),
    ),
  );
  if (failure !== null) throw (failure as { error: unknown }).error;
  return (performance.now() - start) / 1000;
}

export interface SurfaceOptions {
  model: Model;
  origin: Origin;
  directions: DirectionPair;
  /** The evaluation subset (the first `subset` images of the split, chosen by the caller). */
  data: Dataset;
  xs: number[];
  /** [0] for a 1-D curve. */
  ys: number[];
  meta: SurfaceMetaInput;
  /** Images per forward pass (default 128). */
  batchSize?: number;
  /** Coarse grid first (default true). */
  progressive?: boolean;
  shard?: Shard | undefined;
  /** A partial surface of the same function and grid to continue. */
  resume?: Surface | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: GridProgress) => void) | undefined;
  /** The surface so far (a copy), after every `partialEvery` computed points and every level. */
  onPartial?: ((surface: Surface, progress: GridProgress) => void) | undefined;
  /** Default 1: after every point. */
  partialEvery?: number;
  /**
   * Replicas (worker threads) to compute the points on, one point per
   * replica at a time; default: this thread. Each replica evaluates a point
   * exactly as this thread would (same batches, same order), so the surface
   * is the same bit for bit on the same backend.
   */
  pool?: PlanePool | undefined;
}

/**
 * Compute a loss surface (or 1-D curve). Resolves with the surface, complete
 * or, when `signal` aborts, partial (see its mask). Leaves the tfjs tensor
 * count where it found it.
 */
export async function computeSurface(options: SurfaceOptions): Promise<Surface> {
  const { model, origin, directions, data, xs, ys } = options;
  if (directions.y === null && (ys.length !== 1 || ys[0] !== 0)) {
    throw new Error('a 1-D curve (one direction) needs ys = [0]');
  }
  const meta: SurfaceMeta = {
    ...options.meta,
    subset: data.count,
    backend: backendLabel(),
    seconds: 0,
    written: new Date().toISOString(),
  };
  const surface = emptySurface({ xs, ys, meta });
  if (options.resume) {
    const diff = gridDifferences(surface, options.resume);
    if (diff.length > 0)
      throw new Error(`cannot resume: the partial surface differs (${diff.join('; ')})`);
    const r = options.resume;
    for (let p = 0; p < r.mask.length; p++) {
      if (r.mask[p] !== 1) continue;
      surface.mask[p] = 1;
      surface.loss[p] = r.loss[p]!;
      surface.accuracy[p] = r.accuracy[p]!;
    }
    surface.meta.seconds = r.meta.seconds;
    if (r.meta.backend !== meta.backend) surface.meta.backend = `${r.meta.backend}+${meta.backend}`;
  }
  const secondsBefore = surface.meta.seconds;
  const batchSize = options.batchSize ?? 128;
  const pool = options.pool;
  let local: { plane: PlaneTensors; subset: EvaluationBatches } | null = null;
  if (pool) {
    await pool.loadPlane({ origin, directions, data, batchSize, share: 'whole' });
  } else {
    const plane = planeTensors(origin, directions);
    try {
      local = { plane, subset: evaluationBatches({ model, data, batchSize }) };
    } catch (e) {
      plane.dispose();
      throw e;
    }
  }
  const evaluate = async (
    alpha: number,
    beta: number,
    lane: number,
  ): Promise<{ loss: number; accuracy: number }> => {
    if (local === null) return pool!.evaluatePoint(lane, alpha, beta);
    const at = pointTensors(local.plane, alpha, beta);
    try {
      return await evaluateLossAccuracy({
        model,
        params: at.params,
        state: at.state,
        data: local.subset,
      });
    } finally {
      for (const t of at.owned) t.dispose();
    }
  };
  const partialEvery = Math.max(1, options.partialEvery ?? 1);
  const start = performance.now();
  let sincePartial = 0;
  let failed = false;
  try {
    await runGrid({
      xs,
      ys,
      mask: surface.mask,
      progressive: options.progressive ?? true,
      shard: options.shard,
      signal: options.signal,
      concurrency: pool?.replicas ?? 1,
      async point(p, alpha, beta, lane) {
        const { loss, accuracy } = await evaluate(alpha, beta, lane);
        const finite = Number.isFinite(loss);
        surface.loss[p] = finite ? loss : null;
        surface.accuracy[p] = finite ? accuracy : null;
        return true;
      },
      onPoint(progress, levelDone) {
        surface.meta.seconds = secondsBefore + (performance.now() - start) / 1000;
        options.onProgress?.(progress);
        sincePartial++;
        if (options.onPartial && (levelDone || sincePartial >= partialEvery)) {
          sincePartial = 0;
          surface.meta.written = new Date().toISOString();
          options.onPartial(copySurface(surface), progress);
        }
      },
    });
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (local) {
      local.subset.dispose();
      local.plane.dispose();
    } else {
      // A pool that failed (a worker died) may not answer; its error is the one to report.
      await pool!.releasePlane().catch((e: unknown) => {
        if (!failed) throw e;
      });
    }
  }
  surface.meta.seconds = secondsBefore + (performance.now() - start) / 1000;
  surface.meta.written = new Date().toISOString();
  return surface;
}
