/**
 * A signal run, GSC runs, block responses and the effective-depth experiment dealt out to lanes
 * (lanes.ts: the command line's worker threads), with the same result as one
 * thread.
 *
 * signals and gsc split over weight draws: a draw's weights, inputs and top gradients
 * (or projections) come from the run's seed and the draw's index alone, so a
 * draw measures the same on any thread, and the draws are merged in index
 * order (assembleSignals, combineGscDraws) whoever measured them. The
 * result is therefore the one-thread result bit for bit, with the same
 * arithmetic in the same order; only the timings differ. The effective-depth
 * experiment's networks are independent: each is trained on a lane of its own.
 * Block responses split over batches of images, pooled in batch order.
 */
import {
  combineGscDraws,
  gscPassesPerDraw,
  type GscDraw,
  type GscResult,
  type GscRunOptions,
} from '../signals/gsc-draws';
import type { EffectiveDepthNetwork, EffectiveDepthOptions } from '../signals/effective-depth';
import {
  combineResponseBatches,
  responseImages,
  responseSummary,
  type BlockResponses,
  type BlockResponsesOptions,
  type ResponseBatch,
  type ResponseSummary,
  type ResponseWeights,
} from '../signals/responses';
import type { Dataset } from '../data/dataset';
import type { ResNetSpec } from '../models/types';
import {
  addBins,
  assembleSignals,
  histogramRanges,
  signalLayout,
  splitDraws,
  type SignalDrawSums,
  type SignalOptions,
  type SignalStatistics,
} from '../signals/statistics';
import type { JobLanes } from './lanes';

/** Names each pooled signal run, whose samples its lanes hold for their `signals-bins` jobs. */
let pooledRuns = 0;

/**
 * measureSignals on lanes: each lane measures a contiguous slice of the
 * draws (splitDraws, as the signal figures split them over web workers) and
 * sends their sums; the histogram samples stay on the lanes, which count
 * their own draws over the ranges of all of them (`signals-bins`), and the
 * counts add up exactly (summary.ts), so the result is summariseSignals' of
 * one thread. Resolves with the draws finished when `signal` aborts, as
 * measureSignals does; the histograms have the signals job's defaults. No
 * partial summaries (the command line prints the whole run).
 */
export async function pooledSignals(
  options: Omit<
    SignalOptions,
    'histogramBins' | 'histogramInputs' | 'histogramLayers' | 'onPartial'
  >,
  lanes: JobLanes,
): Promise<SignalStatistics> {
  const start = performance.now();
  const { network, batch, draws, seed, signal } = options;
  const layout = signalLayout({ network, batch, draws, seed });
  const run = `pooled-${++pooledRuns}`;
  const measured: SignalDrawSums[] = [];
  const slices = splitDraws(draws, lanes.lanes);
  const laneDraws: number[][] = slices.map(() => []);
  await Promise.all(
    slices.map(([from, to], lane) =>
      lanes.run(
        lane,
        'signals',
        { network, batch, draws, seed, from, to, run },
        {
          ...(signal ? { signal } : {}),
          onPartial: (draw) => {
            measured.push(draw);
            laneDraws[lane]!.push(draw.draw);
            options.onProgress?.({
              drawsDone: measured.length,
              draws,
              elapsedMs: performance.now() - start,
            });
          },
        },
      ),
    ),
  );
  // Counted after a cancel too: the draws finished are the result.
  const ranges = histogramRanges(layout, measured);
  const counted = await Promise.all(
    laneDraws.flatMap((own, lane) =>
      own.length > 0
        ? [lanes.run(lane, 'signals-bins', { run, draws: own, ranges, bins: layout.histogramBins })]
        : [],
    ),
  );
  const bins = addBins(counted.map((c) => c.result.bins));
  const binMs = counted.reduce((sum, c) => sum + c.result.binMs, 0);
  return assembleSignals(layout, measured, ranges, bins, performance.now() - start, binMs);
}

/** One GSC run: gradientScaleCoefficients' options without parameters of its own, all given. */
export type GscRun = Required<GscRunOptions>;

/**
 * gradientScaleCoefficients for each run, on lanes: every run's draws are cut
 * into slices (splitDraws, one per lane) and the slices of all runs are dealt
 * out in order to whichever lane is free, so lanes stay busy across runs of
 * different cost. `onRun` gets each run's result once its last draw is in;
 * progress counts backward passes over all runs. 'cancelled' when `signal`
 * aborts before every run is done (the runs finished went to onRun).
 */
export async function pooledGsc(
  runs: readonly GscRun[],
  lanes: JobLanes,
  options: {
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
    onRun?: (index: number, result: GscResult) => void;
  } = {},
): Promise<GscResult[] | 'cancelled'> {
  const { signal } = options;
  const tasks = runs.flatMap((run, index) =>
    splitDraws(run.draws, lanes.lanes).map(([from, to]) => ({ index, from, to })),
  );
  const total = runs.reduce((s, r) => s + r.draws * gscPassesPerDraw(r.network, r.pairs), 0);
  const passes = new Map<(typeof tasks)[number], number>();
  const measured: GscDraw[][] = runs.map(() => []);
  const results: GscResult[] = [];
  let cancelled = false;
  let next = 0;
  const lane = async (k: number) => {
    while (next < tasks.length && !signal?.aborted) {
      const task = tasks[next++]!;
      const run = runs[task.index]!;
      const outcome = await lanes.run(
        k,
        'gsc-draws',
        { ...run, from: task.from, to: task.to },
        {
          ...(signal ? { signal } : {}),
          onProgress: (p) => {
            passes.set(task, p.done);
            let done = 0;
            for (const v of passes.values()) done += v;
            options.onProgress?.(done, total);
          },
          onPartial: (draw) => {
            const into = measured[task.index]!;
            into.push(draw);
            if (into.length === run.draws) {
              const result = combineGscDraws(run, into);
              results[task.index] = result;
              options.onRun?.(task.index, result);
            }
          },
        },
      );
      cancelled ||= outcome.cancelled;
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes.lanes, tasks.length) }, (_, k) => lane(k)));
  const complete = runs.every((_, i) => results[i] !== undefined);
  return cancelled || signal?.aborted || !complete ? 'cancelled' : results;
}

/**
 * effectiveDepthExperiment on lanes: each network is trained and measured on
 * a lane of its own (whichever is free, in order), exactly as one thread does
 * it for each in turn, so the networks are the one-thread networks bit for
 * bit but for the training's timings. 'cancelled' when `signal` aborts first.
 */
export async function pooledEffectiveDepth(
  options: Omit<EffectiveDepthOptions, 'lr' | 'batchSize' | 'seed' | 'images'> & {
    lr: number;
    batchSize: number;
    seed: number;
    images: number;
  },
  lanes: JobLanes,
): Promise<EffectiveDepthNetwork[] | 'cancelled'> {
  const { specs, signal, onProgress, ...rest } = options;
  const results: (EffectiveDepthNetwork | null)[] = specs.map(() => null);
  let next = 0;
  const lane = async (k: number) => {
    while (next < specs.length && !signal?.aborted) {
      const network = next++;
      const outcome = await lanes.run(
        k,
        'effective-depth',
        { ...rest, spec: specs[network]! },
        {
          ...(signal ? { signal } : {}),
          onProgress: (p) => onProgress?.({ network, ...p }),
        },
      );
      results[network] = outcome.result;
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes.lanes, specs.length) }, (_, k) => lane(k)));
  return results.every((r) => r !== null) ? results : 'cancelled';
}

/**
 * measureResponses on lanes: the batches of the first `images` images (cut
 * as blockResponses cuts them) in one contiguous slice per lane, pooled in
 * batch order (combineResponseBatches), so the result is one thread's bit for
 * bit. With BN in batch mode a batch's images are coupled, but batches are
 * not: each is a pass of its own either way. 'cancelled' when `signal` aborts
 * first, as measureResponses.
 */
export async function pooledResponses(
  options: Omit<BlockResponsesOptions, 'model' | 'params' | 'state'> & {
    spec: ResNetSpec;
    weights: ResponseWeights;
  },
  lanes: JobLanes,
): Promise<(BlockResponses & { summary: ResponseSummary }) | 'cancelled'> {
  const { spec, weights, signal } = options;
  const bn = options.bn ?? 'batch';
  const batchSize = options.batchSize ?? 128;
  if (weights.kind === 'initial' && bn === 'running')
    throw new Error(
      'the initial state has no running statistics yet; measure it with BN in batch mode',
    );
  const images = responseImages(options);
  const d = options.dataset;
  const size = d.height * d.width * d.channels;
  // Only the images measured travel to the threads.
  const dataset: Dataset = {
    ...d,
    count: images,
    images: d.images.slice(0, images * size),
    labels: d.labels.slice(0, images),
  };
  const measured: ResponseBatch[] = [];
  const done = new Map<number, number>();
  let cancelled = false;
  await Promise.all(
    splitDraws(Math.ceil(images / batchSize), lanes.lanes).map(async ([from, to], lane) => {
      const outcome = await lanes.run(
        lane,
        'response-batches',
        { spec, weights, dataset, bn, batchSize, from, to },
        {
          ...(signal ? { signal } : {}),
          onPartial: (batch) => {
            measured.push(batch);
            done.set(lane, (done.get(lane) ?? 0) + batch.size);
            let all = 0;
            for (const v of done.values()) all += v;
            options.onProgress?.(all, images);
          },
        },
      );
      cancelled ||= outcome.cancelled;
    }),
  );
  if (cancelled || signal?.aborted) return 'cancelled';
  const result = combineResponseBatches(measured, { bn, batchSize });
  return { ...result, summary: responseSummary(result) };
}
