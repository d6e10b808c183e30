/**
 * Training curves as the comparison figure holds them, apart from any UI:
 * shipped histories (the command line's history.json) parsed and checked,
 * live steps and epochs folded in as they arrive, chart series built from
 * both, and the CSV export.
 */
import * as z from 'zod/mini';

/** One epoch: what history.json and the live job's epoch events carry (see EpochRecord). */
export interface EpochPoint {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number | null;
  testAccuracy: number | null;
  lr: number;
  backend: string;
}

/** A live step: the running mean over the epoch so far. */
export interface StepPoint {
  /** Fractional epochs done: (epoch − 1) + epochStep / stepsPerEpoch. */
  x: number;
  epoch: number;
  step: number;
  loss: number;
  accuracy: number;
  /** This step's batch alone. */
  batchLoss: number;
  lr: number;
}

/** What a shipped run says about how it was made, for the caption. */
export interface RunDescription {
  model: string;
  dataset: string;
  backend: string;
  epochs: number;
  lr: number | null;
  batchSize: number | null;
  trainImages: number | null;
  seed: number | null;
  schedule: string | null;
}

export interface ShippedRun {
  description: RunDescription;
  epochs: EpochPoint[];
}

/** A loss may be NaN or infinite (a diverged run); JSON writes those as null. */
const lossValue = z.union([z.number(), z.null()]);

const epochSchema = z.object({
  epoch: z.number().check(z.int(), z.gte(1)),
  step: z.number().check(z.int(), z.gte(0)),
  trainLoss: lossValue,
  trainAccuracy: z.number().check(z.gte(0), z.lte(1)),
  testLoss: lossValue,
  testAccuracy: z.union([z.number().check(z.gte(0), z.lte(1)), z.null()]),
  lr: z.number(),
  backend: z.optional(z.string()),
});

const historySchema = z.object({
  model: z.string(),
  dataset: z.string(),
  backend: z.optional(z.string()),
  config: z.optional(
    z.object({
      lr: z.optional(z.number()),
      batchSize: z.optional(z.number()),
      trainImages: z.optional(z.number()),
      seed: z.optional(z.number()),
      schedule: z.optional(z.object({ kind: z.string() })),
    }),
  ),
  epochs: z.array(epochSchema).check(z.minLength(1)),
});

/**
 * Parse a history.json (`skipscape train --out DIR`). Throws with the file's
 * name and the first problem when it is not one.
 */
export function parseHistory(text: string, source: string): ShippedRun {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`, { cause: e });
  }
  const parsed = historySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the file';
    throw new Error(`${source}: not a training history: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  const h = parsed.data;
  const epochs = h.epochs.map((e) => ({
    epoch: e.epoch,
    step: e.step,
    trainLoss: e.trainLoss ?? Number.NaN,
    trainAccuracy: e.trainAccuracy,
    testLoss: e.testLoss,
    testAccuracy: e.testAccuracy,
    lr: e.lr,
    backend: e.backend ?? h.backend ?? 'unknown',
  }));
  epochs.forEach((e, i) => {
    if (i > 0 && e.epoch <= epochs[i - 1]!.epoch) {
      throw new Error(`${source}: epochs are not in increasing order at entry ${i + 1}`);
    }
  });
  return {
    description: {
      model: h.model,
      dataset: h.dataset,
      backend: h.backend ?? epochs.at(-1)!.backend,
      epochs: epochs.at(-1)!.epoch,
      lr: h.config?.lr ?? null,
      batchSize: h.config?.batchSize ?? null,
      trainImages: h.config?.trainImages ?? null,
      seed: h.config?.seed ?? null,
      schedule: h.config?.schedule?.kind ?? null,
    },
    epochs,
  };
}

/** The two runs of a comparison, with skips and without. */
export type RunName = 'skip' | 'noskip';
export const RUNS: readonly RunName[] = ['skip', 'noskip'];

/** A live run as it grows. */
export interface LiveRun {
  steps: StepPoint[];
  epochs: EpochPoint[];
}

export function emptyLiveRun(): LiveRun {
  return { steps: [], epochs: [] };
}

/** A chart's line: points with gaps (null y) where a value is missing or not finite. */
export interface Series {
  key: string;
  label: string;
  run: RunName;
  source: 'shipped' | 'live';
  split: 'train' | 'test';
  points: { x: number; y: number | null }[];
  /** Draw a dot at each point (epoch values of live runs). */
  dots: boolean;
}

export type Metric = 'loss' | 'accuracy';

const finiteOrNull = (v: number | null): number | null =>
  v !== null && Number.isFinite(v) ? v : null;

const RUN_LABEL: Record<RunName, string> = { skip: 'with skips', noskip: 'without skips' };

/**
 * The lines of one chart: for each run, the shipped training and test curves
 * (one point per epoch) and the live ones: training as the running mean over
 * each epoch so far (one segment per epoch, since the mean restarts), test
 * at each epoch's end.
 */
export function chartSeries(options: {
  metric: Metric;
  shipped: Partial<Record<RunName, ShippedRun>>;
  live: Partial<Record<RunName, LiveRun>>;
}): Series[] {
  const { metric, shipped, live } = options;
  const out: Series[] = [];
  const trainValue = (e: EpochPoint) => (metric === 'loss' ? e.trainLoss : e.trainAccuracy);
  const testValue = (e: EpochPoint) => (metric === 'loss' ? e.testLoss : e.testAccuracy);
  for (const run of RUNS) {
    const s = shipped[run];
    if (s) {
      out.push({
        key: `shipped-${run}-train`,
        label: `shipped, ${RUN_LABEL[run]}, training`,
        run,
        source: 'shipped',
        split: 'train',
        points: s.epochs.map((e) => ({ x: e.epoch, y: finiteOrNull(trainValue(e)) })),
        dots: false,
      });
      out.push({
        key: `shipped-${run}-test`,
        label: `shipped, ${RUN_LABEL[run]}, test`,
        run,
        source: 'shipped',
        split: 'test',
        points: s.epochs.map((e) => ({ x: e.epoch, y: finiteOrNull(testValue(e)) })),
        dots: false,
      });
    }
  }
  for (const run of RUNS) {
    const l = live[run];
    if (!l || (l.steps.length === 0 && l.epochs.length === 0)) continue;
    // A gap (null) between epochs: the running mean restarts with each epoch.
    const points: Series['points'] = [];
    let epoch = 0;
    for (const p of l.steps) {
      if (p.epoch !== epoch && points.length > 0) points.push({ x: p.x, y: null });
      epoch = p.epoch;
      points.push({ x: p.x, y: finiteOrNull(metric === 'loss' ? p.loss : p.accuracy) });
    }
    out.push({
      key: `live-${run}-train`,
      label: `live, ${RUN_LABEL[run]}, training`,
      run,
      source: 'live',
      split: 'train',
      points,
      dots: false,
    });
    if (l.epochs.length > 0) {
      out.push({
        key: `live-${run}-test`,
        label: `live, ${RUN_LABEL[run]}, test`,
        run,
        source: 'live',
        split: 'test',
        points: l.epochs.map((e) => ({ x: e.epoch, y: finiteOrNull(testValue(e)) })),
        dots: true,
      });
    }
  }
  return out;
}

/** How much of the previous smoothed value each step keeps (about the last ten steps weigh in). */
export const LIVE_SMOOTHING = 0.9;

/**
 * A run's batch losses, smoothed by an exponential moving average with
 * TensorBoard's bias correction: m_t = βm_{t−1} + (1 − β)ℓ_t, shown as
 * m_t / (1 − β^t), so the first steps are not pulled towards 0. A non-finite
 * loss is a gap, and the average restarts after it.
 */
export function smoothedLosses(
  steps: readonly Pick<StepPoint, 'step' | 'batchLoss'>[],
  beta = LIVE_SMOOTHING,
): { step: number; loss: number | null }[] {
  let m = 0;
  let n = 0;
  return steps.map((p) => {
    if (!Number.isFinite(p.batchLoss)) {
      m = 0;
      n = 0;
      return { step: p.step, loss: null };
    }
    m = beta * m + (1 - beta) * p.batchLoss;
    n++;
    return { step: p.step, loss: m / (1 - beta ** n) };
  });
}

/**
 * The live chart's lines: each run's training loss per step, smoothed, on
 * its own x axis of steps (its range is the live run's, not the shipped
 * runs' epochs).
 */
export function liveLossSeries(live: Partial<Record<RunName, LiveRun>>): Series[] {
  return RUNS.flatMap((run) => {
    const l = live[run];
    if (!l || l.steps.length === 0) return [];
    return [
      {
        key: `live-${run}-train`,
        label: `live, ${RUN_LABEL[run]}, training loss (smoothed)`,
        run,
        source: 'live' as const,
        split: 'train' as const,
        points: smoothedLosses(l.steps).map((p) => ({ x: p.step, y: p.loss })),
        dots: false,
      },
    ];
  });
}

/** A cell of CSV: quoted when it holds a comma, quote or line break. */
function cell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const CSV_COLUMNS = [
  'source',
  'model',
  'skip',
  'kind',
  'epoch',
  'step',
  'train_loss',
  'train_accuracy',
  'test_loss',
  'test_accuracy',
  'lr',
  'backend',
  'batch_size',
  'train_images',
  'seed',
] as const;

/** How a run was set up: with the model, what it takes to repeat it. */
export interface RunSetup {
  batchSize: number | null;
  trainImages: number | null;
  seed: number | null;
}

/**
 * Everything the charts show, as CSV: one row per shipped epoch, live epoch
 * and live step (kind 'epoch' or 'step'). A live step's train_loss and
 * train_accuracy are the running means over its epoch so far; a missing value
 * is an empty cell, a non-finite loss is written as NaN or Infinity. Every
 * row carries its run's batch size, training images and seed.
 */
export function curvesCsv(options: {
  model: string;
  /** The live run's network, when it is not `model` (the quick run's narrow ResNet). */
  liveModel?: string | null;
  shipped: Partial<Record<RunName, ShippedRun>>;
  live: Partial<Record<RunName, LiveRun>>;
  liveBackend: string | null;
  liveSetup: RunSetup | null;
}): string {
  const rows: (string | number | null)[][] = [];
  const setup = (s: RunSetup | null) => [
    s?.batchSize ?? null,
    s?.trainImages ?? null,
    s?.seed ?? null,
  ];
  const liveModel = options.liveModel ?? options.model;
  const epochRow = (source: string, run: RunName, e: EpochPoint, s: RunSetup | null) => [
    source,
    source === 'live' ? liveModel : options.model,
    run === 'skip' ? 'true' : 'false',
    'epoch',
    e.epoch,
    e.step,
    e.trainLoss,
    e.trainAccuracy,
    e.testLoss,
    e.testAccuracy,
    e.lr,
    e.backend,
    ...setup(s),
  ];
  for (const run of RUNS) {
    const shipped = options.shipped[run];
    for (const e of shipped?.epochs ?? []) {
      rows.push(epochRow('shipped', run, e, shipped?.description ?? null));
    }
  }
  for (const run of RUNS) {
    const l = options.live[run];
    if (!l) continue;
    for (const p of l.steps) {
      rows.push([
        'live',
        liveModel,
        run === 'skip' ? 'true' : 'false',
        'step',
        p.epoch,
        p.step,
        p.loss,
        p.accuracy,
        null,
        null,
        p.lr,
        options.liveBackend,
        ...setup(options.liveSetup),
      ]);
    }
    for (const e of l.epochs) rows.push(epochRow('live', run, e, options.liveSetup));
  }
  return [CSV_COLUMNS.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}
