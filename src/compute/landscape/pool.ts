/**
 * Grid points and Hessian-vector products on a pool of replicas (worker
 * threads, each with its own tfjs and wasm instance), so a landscape or a
 * Hessian uses every core. The pool is the one that data-parallel training
 * runs on (train/parallel.ts): ParallelEngine implements PlanePool, and each
 * replica holds one PlaneReplica.
 *
 * Two ways to share the work:
 *
 * - 'whole' (surfaces): every replica holds the whole evaluation subset and
 *   computes whole points, one at a time; the grid's points are dealt out to
 *   whichever replica is free. A point is computed exactly as on one thread
 *   (same batches, same order of sums), so it is the same bit for bit.
 * - 'split' (Hessians): replica k holds a contiguous run of the subset's
 *   batches, and a Hessian-vector product is the sum of the replicas' sums:
 *
 *     H v = (1/N) Σ_i ∇²ℓ_i v = (1/N) Σ_k Σ_{i ∈ share k} ∇²ℓ_i v,
 *
 *   with N the whole subset's count, so shares of different sizes weigh as
 *   their images do. This is exact because the loss is a sum of per-image
 *   terms: BN runs in inference mode (stored running statistics), so no
 *   image's loss depends on another's. (In training mode BN would normalise
 *   each share by its own batch statistics and the split would change the
 *   function.) The shares are whole batches of the one-thread run, so every
 *   batch's product is the same float32 arithmetic; only the float64 order of
 *   the final sum differs, well under 1e-12 relative.
 *
 * The lesion study (paths/lesion.ts) deals groups of lesions out like points:
 * each replica holds θ* and the whole subset, runs a group from each lesion's
 * first changed block with its own intact prefix (LesionSweep), and counts
 * the group's correct answers, integers, so the study is the same as on one
 * thread. The path-gradient sampler (paths/gradient.ts) deals its samples out
 * the same way: a sample is drawn from the seed, its length and its index
 * alone, and computed from the whole subset's tensors as on one thread.
 */
import type { ChannelNormalization, Dataset } from '../data/dataset';
import { PathGradientSampler } from '../paths/gradient';
import type { PathSampleRequest } from '../paths/gradient';
import { LesionSweep } from '../paths/lesion';
import type { Lesion } from '../paths/lesion';
import type { Model } from '../models/types';
import type { DirectionPair } from './directions';
import type { EvaluationBatches, Origin, PlaneTensors } from './grid';
import { evaluateLossAccuracy, evaluationBatches, planeTensors, pointTensors } from './grid';
import type { HvpMethod, ParameterLayout } from './hessian';
import { hessianOperator, parameterLayout } from './hessian';

/** What a replica needs to evaluate points of a plane (plain data: it is posted to workers). */
export interface PlaneSetup {
  origin: Origin;
  directions: DirectionPair;
  /** The replica's images: the whole subset, or its share. */
  data: Dataset;
  /** The whole subset's normalisation (a share's own statistics would differ). */
  normalization: ChannelNormalization;
  batchSize: number;
  /** Parameters the Hessian is taken over, in layout order; null when no products are asked for. */
  parameters: string[] | null;
}

/** A pool of replicas as the landscape and Hessian code sees it. */
export interface PlanePool {
  /** Number of replicas: points computed at once. */
  readonly replicas: number;
  /**
   * Give every replica θ*, the directions and the evaluation images: all of
   * them ('whole', for points) or its share of whole batches ('split', for
   * Hessian-vector products over `parameters`).
   */
  loadPlane(options: {
    origin: Origin;
    directions: DirectionPair;
    data: Dataset;
    batchSize: number;
    share: 'whole' | 'split';
    parameters?: string[] | undefined;
  }): Promise<void>;
  /** Mean loss and accuracy at θ* + αδ + βη over the whole subset, on replica `replica`. */
  evaluatePoint(
    replica: number,
    alpha: number,
    beta: number,
  ): Promise<{ loss: number; accuracy: number }>;
  /**
   * Σ_i ∇²ℓ_i v at θ* + αδ + βη over every image of the subset (a sum, not
   * the mean: the caller divides by the count), each replica its share.
   */
  hessianProduct(options: {
    alpha: number;
    beta: number;
    v: Float64Array;
    hvp: HvpMethod;
    finiteDifferenceStep?: number | undefined;
  }): Promise<Float64Array>;
  /**
   * For each lesion of a group (paths/lesion.ts), the images of the whole
   * subset that the network at θ* with the lesion applied classifies
   * correctly, on replica `replica`; null when stopLesions stopped it.
   */
  lesionGroup(replica: number, lesions: Lesion[]): Promise<number[] | null>;
  /** Stop every replica's group of lesions within a pass of images (a cancel). */
  stopLesions(): Promise<void>;
  /** One sample of the gradient magnitude per path length (paths/gradient.ts), on replica `replica`. */
  pathSample(replica: number, request: PathSampleRequest): Promise<number>;
  /** Release the plane's tensors on every replica. */
  releasePlane(): Promise<void>;
}

/** [start, end) image ranges: ⌈count / batchSize⌉ batches dealt into `replicas` contiguous runs. */
export function batchAlignedShares(options: {
  count: number;
  batchSize: number;
  replicas: number;
}): [number, number][] {
  const { count, batchSize, replicas } = options;
  const batches = Math.ceil(count / batchSize);
  return Array.from({ length: replicas }, (_, k) => {
    const first = Math.floor((k * batches) / replicas);
    const last = Math.floor(((k + 1) * batches) / replicas);
    return [Math.min(count, first * batchSize), Math.min(count, last * batchSize)];
  });
}

/** Images [start, end) of a dataset (copies, so they can be posted). */
export function sliceDataset(data: Dataset, start: number, end: number): Dataset {
  const size = data.height * data.width * data.channels;
  return {
    ...data,
    images: data.images.slice(start * size, end * size),
    labels: data.labels.slice(start, end),
    count: end - start,
  };
}

/**
 * A replica's plane: θ* and the directions as tensors, its evaluation
 * batches, and the point last asked for (a Hessian asks for many products at
 * one point; the point's tensors are kept between them).
 */
export class PlaneReplica {
  private readonly model: Model;
  private readonly plane: PlaneTensors;
  private readonly subset: EvaluationBatches;
  private readonly layout: ParameterLayout | null;
  private readonly setup: PlaneSetup;
  /** The lesion study's passes and intact prefix, made when the first group comes. */
  private sweep: LesionSweep | null = null;
  /** The path-gradient sampler's tensors, made when the first sample is asked for. */
  private sampler: PathGradientSampler | null = null;
  private current: { alpha: number; beta: number; at: ReturnType<typeof pointTensors> } | null =
    null;

  constructor(model: Model, setup: PlaneSetup) {
    this.model = model;
    this.setup = setup;
    this.plane = planeTensors(setup.origin, setup.directions);
    try {
      this.subset = evaluationBatches({
        model,
        data: setup.data,
        batchSize: setup.batchSize,
        normalization: setup.normalization,
      });
    } catch (e) {
      this.plane.dispose();
      throw e;
    }
    this.layout =
      setup.parameters === null ? null : parameterLayout(this.plane.params, setup.parameters);
  }

  private pointAt(alpha: number, beta: number): ReturnType<typeof pointTensors> {
    if (this.current?.alpha === alpha && this.current.beta === beta) return this.current.at;
    this.releasePoint();
    const at = pointTensors(this.plane, alpha, beta);
    this.current = { alpha, beta, at };
    return at;
  }

  private releasePoint(): void {
    for (const t of this.current?.at.owned ?? []) t.dispose();
    this.current = null;
  }

  /** Mean loss and accuracy over this replica's images (the whole subset for 'whole' shares). */
  async point(alpha: number, beta: number): Promise<{ loss: number; accuracy: number }> {
    const at = pointTensors(this.plane, alpha, beta);
    try {
      return await evaluateLossAccuracy({
        model: this.model,
        params: at.params,
        state: at.state,
        data: this.subset,
      });
    } finally {
      for (const t of at.owned) t.dispose();
    }
  }

  /** Σ over this replica's images of ∇²ℓ_i v (unscaled; see the module comment). */
  async product(options: {
    alpha: number;
    beta: number;
    v: Float64Array;
    hvp: HvpMethod;
    finiteDifferenceStep?: number | undefined;
  }): Promise<Float64Array> {
    if (this.layout === null) throw new Error('replica: the plane was loaded without parameters');
    if (this.subset.count === 0) return new Float64Array(this.layout.dimension);
    const at = this.pointAt(options.alpha, options.beta);
    const apply = hessianOperator({
      model: this.model,
      params: at.params,
      state: at.state,
      data: this.subset,
      layout: this.layout,
      hvp: options.hvp,
      finiteDifferenceStep: options.finiteDifferenceStep,
      scale: 1,
    });
    return apply(options.v);
  }

  /**
   * Images each lesion of the group gets right over the whole subset, from
   * the lesions' first changed blocks (paths/lesion.ts, LesionSweep); null
   * when the signal fired part-way.
   */
  async lesionGroup(lesions: readonly Lesion[], signal?: AbortSignal): Promise<number[] | null> {
    this.sweep ??= new LesionSweep({
      model: this.model,
      params: this.plane.params,
      state: this.plane.state,
      data: this.setup.data,
      batchSize: this.setup.batchSize,
    });
    return this.sweep.run(lesions, signal);
  }

  /** One gradient sample of a path length, from the whole subset (paths/gradient.ts). */
  async pathSample(request: PathSampleRequest): Promise<number> {
    this.sampler ??= new PathGradientSampler({
      model: this.model,
      params: this.plane.params,
      state: this.plane.state,
      data: this.setup.data,
    });
    return this.sampler.sample(request);
  }

  dispose(): void {
    this.releasePoint();
    this.sweep?.dispose();
    this.sweep = null;
    this.sampler?.dispose();
    this.sampler = null;
    this.subset.dispose();
    this.plane.dispose();
  }
}
