/**
 * The `landscape` job: the explorer's "Run live". It recomputes, in the
 * reader's browser, the surface `skipscape landscape` ships: f(α, β) =
 * L(θ* + αδ + βη) around a shipped checkpoint, with filter-normalised
 * directions from a seed, on the first `subset` images of the shipped
 * Fashion-MNIST subset, BN in inference mode; on a grid the reader picks,
 * coarse points first. Partial surfaces stream back as points arrive; a
 * cancelled job ends with the surface so far (its mask says which points).
 *
 *   start ─▶ checkpoint (sha256 checked) ─▶ data ─▶ directions ─▶ grid, coarse → fine
 *                                                                   │ partial surfaces
 *                                                                   ▼
 *                                                         done (complete or cancelled)
 */
import { loadFashionMnist } from '../data/dataset';
import { randomDirections } from '../landscape/directions';
import { axisValues, computeSurface, type GridProgress, type Shard } from '../landscape/grid';
import type { Normalization, Surface } from '../landscape/surface';
import type { JobHandler } from './protocol';
import { readShippedCheckpoint } from './shipped';

export interface LandscapeJobParams {
  /** URL of θ*'s checkpoint (safetensors written by skipscape train). */
  checkpoint: string;
  /** The manifest's sha256 of that file: a mismatch fails the job before any compute. */
  checkpointSha256: string;
  /** Manifest names for the surface's metadata, e.g. 'resnet56'. */
  model: string;
  /** The folder holding the Fashion-MNIST IDX files, as a URL readBytes understands. */
  dataDir: string;
  /** Grid points per side over [lo, hi]². */
  points: number;
  lo: number;
  hi: number;
  /** The first `subset` images of the split are the evaluation set of every point. */
  subset: number;
  split: 'train' | 'test';
  /** Seed of the Gaussian directions δ and η. */
  seed: number;
  normalization: Normalization;
  /** Skipscape's version, recorded in the surface. */
  version: string;
  /** Images per forward pass. */
  batchSize: number;
  /**
   * Compute only this shard of the grid's points (every count-th point of
   * each refinement level from `index`, as `skipscape landscape --shard`;
   * pointSchedule in grid.ts), so workers on several cores share one
   * surface; mergeSurfaces joins their results. Default: every point.
   */
  shard?: Shard;
}

export interface LandscapeJobTypes {
  params: LandscapeJobParams;
  progress: GridProgress;
  /** The surface so far (points not yet computed have mask 0). */
  partial: Surface;
  /** The finished surface, or the part computed before a cancel. */
  result: Surface;
}

/** Check the parameters; a RangeError names the first that does not fit. */
export function checkLandscapeJobParams(p: LandscapeJobParams): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
  whole('points', p.points, 2, 201);
  whole('subset', p.subset, 1, 60_000);
  whole('seed', p.seed, 0, 2 ** 32 - 1);
  whole('batchSize', p.batchSize, 1, 4096);
  if (!(Number.isFinite(p.lo) && Number.isFinite(p.hi) && p.hi > p.lo)) {
    throw new RangeError(`the grid needs lo < hi, got ${p.lo} and ${p.hi}`);
  }
  if (p.shard !== undefined) {
    whole('shard.count', p.shard.count, 1, 64);
    whole('shard.index', p.shard.index, 0, p.shard.count - 1);
  }
  if (!/^[0-9a-f]{64}$/i.test(p.checkpointSha256)) {
    throw new RangeError(`checkpointSha256 must be 64 hex digits`);
  }
}

export const runLandscapeJob: JobHandler<'landscape'> = async (params, context) => {
  checkLandscapeJobParams(params);
  const {
    checkpoint,
    model,
    sha256: sum,
  } = await readShippedCheckpoint({
    readBytes: (path) => context.readBytes(path),
    checkpoint: params.checkpoint,
    sha256: params.checkpointSha256,
  });
  const data = await loadFashionMnist({
    readBytes: (path) => context.readBytes(path),
    baseDir: params.dataDir,
    split: params.split,
    limit: params.subset,
  });
  if (data.count < params.subset) {
    throw new RangeError(
      `the ${params.split} split has ${data.count} images, fewer than ${params.subset}`,
    );
  }
  const origin = { params: checkpoint.training.params, state: checkpoint.training.state };
  const directions = randomDirections({
    params: model.params,
    weights: origin.params,
    seed: params.seed,
    dimensions: 2,
    normalization: params.normalization,
    includeBiasBn: false,
  });
  const axis = axisValues({ min: params.lo, max: params.hi, steps: params.points });
  const total = (params.points * params.points) / (params.shard?.count ?? 1);
  const surface = await computeSurface({
    model,
    origin,
    directions,
    data,
    xs: axis,
    ys: axis,
    meta: {
      model: params.model,
      skip:
        checkpoint.meta.spec.kind === 'mlp'
          ? checkpoint.meta.spec.residualAlpha !== null
          : checkpoint.meta.spec.skip,
      checkpointSha256: sum,
      checkpoint2Sha256: null,
      dataset: data.name,
      split: params.split,
      seed: params.seed,
      normalization: params.normalization,
      includeBiasBn: false,
      kind: 'direction',
      version: params.version,
    },
    batchSize: params.batchSize,
    shard: params.shard,
    progressive: true,
    signal: context.signal,
    onProgress: (progress) => context.progress(progress),
    onPartial: (partial) => context.partial(partial),
    // About fifty redraws over the whole grid, plus one at the end of each level.
    partialEvery: Math.max(1, Math.floor(total / 50)),
  });
  return { result: surface, cancelled: context.signal.aborted };
};
