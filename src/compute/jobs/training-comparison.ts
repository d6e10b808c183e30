/**
 * The "Skip connections in action" job: one network trained twice, with and
 * without its skip connections, from the same seed, on the same images in
 * the same order with the same augmentation and the same learning rates.
 * Parameters are initialised per name from the seed, so every weight the two
 * networks share starts equal: all of them for BMEnet (its downsamplers act
 * on the long way too, so removing the skips removes no parameter), all but
 * the 1×1 projection shortcuts for a ResNet. The one difference between the
 * runs is the addition at the end of each residual block.
 *
 * Both runs are the training loop of src/compute/train, started together;
 * the loop yields to the event loop before every step, so the two advance
 * step by step in turn and their curves grow side by side. Pausing holds
 * both at their next step or evaluation batch; cancelling stops both and
 * keeps what they have done.
 *
 *   start ─▶ load data ─▶ ┬─ train(with skips)    ─┬─▶ done (both histories)
 *                         └─ train(without skips) ─┘
 *              events: data, step (per run), epoch (per run), run-end (per run)
 *
 * Plain data in and out: the parameters, the datasets' bytes reader, events
 * of plain objects. The tfjs backend must be started by the caller.
 */
import type { Batch } from '../train/types';
import type { BatchTotals, StepOutcome, TrainEngine } from '../train/engine';
import { LocalEngine } from '../train/engine';
import { train } from '../train/loop';
import type { TrainProgress, TrainResult } from '../train/loop';
import { LI_ET_AL_SGD } from '../train/optimizer';
import type { TrainingState } from '../train/state';
import type { EpochRecord } from '../train/types';
import { loadFashionMnist } from '../data/dataset';
import { downsampleDataset } from '../data/downsample';
import type { ReadBytes } from '../data/dataset';
import { createModel, parseModelName } from '../models';
import type { JobHandler } from './protocol';
import { checkTrainJobParams } from './train-job';

/** The networks the comparison offers, named as the command line names them (with skips). */
export const COMPARISON_MODELS = [
  'bmenet8',
  'bmenet16',
  'bmenet32',
  'resnet20',
  'resnet56',
  /** The live demo's narrow ResNet-56 (8, 16, 32 channels), trained on 14 × 14 images. */
  'resnet56w8',
] as const;
export type ComparisonModel = (typeof COMPARISON_MODELS)[number];

/** The two runs, by whether the network has its skip connections. */
export type RunName = 'skip' | 'noskip';
export const RUN_NAMES: readonly RunName[] = ['skip', 'noskip'];

/** What to train. Both runs share every value. */
export interface TrainingComparisonParams {
  model: ComparisonModel;
  /** The folder holding the Fashion-MNIST IDX files, as a URL or path readBytes understands. */
  dataDir: string;
  epochs: number;
  /** η₀ of the cosine schedule. */
  lr: number;
  batchSize: number;
  /** The first N images of the shipped Fashion-MNIST training subset (at most 12,000). */
  trainImages: number;
  /** The first N test images, evaluated after every epoch (at most 2,000). */
  testImages: number;
  seed: number;
  /**
   * Average-pool the images by this factor before training (2: 28 × 28 →
   * 14 × 14, a quarter of the work); default 1, the images as shipped.
   */
  downsample?: number;
}

/** Fashion-MNIST's images, as the networks see them: [channels, height, width]. */
export const COMPARISON_INPUT: [number, number, number] = [1, 28, 28];

/** The input shape after params.downsample. */
export function comparisonInput(downsample = 1): [number, number, number] {
  const [c, h, w] = COMPARISON_INPUT;
  return [c, Math.floor(h / downsample), Math.floor(w / downsample)];
}

export type ComparisonEvent =
  /** The data are loaded: how many images each run trains and tests on. */
  | { type: 'data'; trainImages: number; testImages: number }
  /**
   * One optimisation step of one run. imagesPerSecond counts the images of
   * both runs together over the time the job was not paused: the runs share
   * one device, so neither has a rate of its own.
   */
  | ({ type: 'step'; run: RunName; imagesPerSecond: number } & Omit<
      TrainProgress,
      'imagesPerSecond'
    >)
  /** One epoch of one run, with its test loss and accuracy. */
  | { type: 'epoch'; run: RunName; record: EpochRecord }
  /** One run has ended; `message` explains a divergence. */
  | { type: 'run-end'; run: RunName; status: TrainResult['status']; message: string | null };

export interface RunOutcome {
  status: TrainResult['status'];
  history: EpochRecord[];
  /** Optimisation steps completed. */
  step: number;
  /** Set when the loss stopped being finite. */
  divergence: string | null;
}

export type ComparisonResult = Record<RunName, RunOutcome>;

/**
 * Holds work while paused. `wait()` resolves at once when running, when the
 * gate is resumed, or when the signal aborts (so a paused job can be
 * cancelled). Time spent paused is kept, so rates can leave it out.
 */
export class PauseGate {
  private waiting: (() => void)[] = [];
  private pausedAt: number | null = null;
  private pausedTotal = 0;

  get paused(): boolean {
    return this.pausedAt !== null;
  }

  pause(): void {
    this.pausedAt ??= performance.now();
  }

  resume(): void {
    if (this.pausedAt === null) return;
    this.pausedTotal += performance.now() - this.pausedAt;
    this.pausedAt = null;
    const waiting = this.waiting;
    this.waiting = [];
    for (const release of waiting) release();
  }

  /** Milliseconds spent paused so far, a pause in progress included. */
  pausedMs(): number {
    return this.pausedTotal + (this.pausedAt === null ? 0 : performance.now() - this.pausedAt);
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (this.pausedAt === null || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const release = () => {
        signal?.removeEventListener('abort', release);
        this.waiting = this.waiting.filter((r) => r !== release);
        resolve();
      };
      this.waiting.push(release);
      signal?.addEventListener('abort', release, { once: true });
    });
  }
}

/** An engine that waits at the gate before every step and evaluation batch. */
class GatedEngine implements TrainEngine {
  constructor(
    private readonly inner: TrainEngine,
    private readonly gate: PauseGate,
    private readonly signal: AbortSignal,
  ) {}

  get backend(): string {
    return this.inner.backend;
  }

  load(state: TrainingState): Promise<void> {
    return this.inner.load(state);
  }

  async trainStep(batch: Batch, lr: number): Promise<StepOutcome> {
    await this.gate.wait(this.signal);
    // A cancel while paused releases the gate: that step must not run (trainLoop ends cancelled).
    if (this.signal.aborted) throw new DOMException('the run was cancelled', 'AbortError');
    return this.inner.trainStep(batch, lr);
  }

  async evaluate(batch: Batch): Promise<BatchTotals> {
    await this.gate.wait(this.signal);
    return this.inner.evaluate(batch);
  }

  snapshot(): Promise<TrainingState> {
    return this.inner.snapshot();
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

/** Check the parameters; throws a RangeError naming the first that does not fit. */
export function checkComparisonParams(params: TrainingComparisonParams): void {
  if (!(COMPARISON_MODELS as readonly string[]).includes(params.model)) {
    throw new RangeError(
      `model must be one of ${COMPARISON_MODELS.join(', ')}, got ${params.model}`,
    );
  }
  const downsample = params.downsample ?? 1;
  if (![1, 2, 4].includes(downsample)) {
    throw new RangeError(`downsample must be 1, 2 or 4, got ${downsample}`);
  }
  checkTrainJobParams({ ...params, schedule: 'cosine', augment: true, checkpoints: false });
}

/**
 * Train params.model with and without skips, side by side. Resolves with
 * both runs' outcomes, cancelled ones included (with the epochs they
 * finished); rejects only on an error, after stopping the other run.
 */
export async function trainingComparison(options: {
  params: TrainingComparisonParams;
  readBytes: ReadBytes;
  signal?: AbortSignal;
  gate?: PauseGate;
  onEvent?: (event: ComparisonEvent) => void;
}): Promise<ComparisonResult> {
  const { params, readBytes, onEvent } = options;
  checkComparisonParams(params);
  const gate = options.gate ?? new PauseGate();
  // One controller stops both runs: the caller's cancel, or an error in either.
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();

  try {
    const [fullTrain, fullTest] = await Promise.all([
      loadFashionMnist({
        readBytes,
        baseDir: params.dataDir,
        split: 'train',
        limit: params.trainImages,
      }),
      loadFashionMnist({
        readBytes,
        baseDir: params.dataDir,
        split: 'test',
        limit: params.testImages,
      }),
    ]);
    const trainSet = downsampleDataset(fullTrain, params.downsample ?? 1);
    const testSet = downsampleDataset(fullTest, params.downsample ?? 1);
    onEvent?.({ type: 'data', trainImages: trainSet.count, testImages: testSet.count });

    const started = performance.now();
    let images = 0;
    const imagesPerSecond = () => {
      const seconds = (performance.now() - started - gate.pausedMs()) / 1000;
      return seconds > 0 ? images / seconds : 0;
    };

    const runOne = async (run: RunName): Promise<RunOutcome> => {
      const name = run === 'skip' ? params.model : `${params.model}-noshort`;
      const model = createModel(
        parseModelName(name, { inputShape: comparisonInput(params.downsample), classes: 10 }),
      );
      const engine = new GatedEngine(
        new LocalEngine({ model, sgd: LI_ET_AL_SGD }),
        gate,
        controller.signal,
      );
      try {
        const result = await train({
          model,
          data: { train: trainSet, test: testSet },
          epochs: params.epochs,
          lr: params.lr,
          batchSize: params.batchSize,
          schedule: { kind: 'cosine' },
          sgd: LI_ET_AL_SGD,
          seed: params.seed,
          augment: true,
          signal: controller.signal,
          engine,
          onProgress: (progress) => {
            images += Math.min(params.batchSize, trainSet.count);
            onEvent?.({ ...progress, type: 'step', run, imagesPerSecond: imagesPerSecond() });
          },
          onEpoch: ({ record }) => onEvent?.({ type: 'epoch', run, record }),
        });
        const divergence = result.status === 'diverged' ? result.divergence.message : null;
        onEvent?.({ type: 'run-end', run, status: result.status, message: divergence });
        return { status: result.status, history: result.history, step: result.step, divergence };
      } catch (error) {
        stop();
        throw error;
      } finally {
        await engine.dispose();
      }
    };

    // allSettled, so that after an error the other run has stopped and
    // released its tensors before this rejects.
    const [skip, noskip] = await Promise.allSettled([runOne('skip'), runOne('noskip')]);
    if (skip.status === 'rejected') throw skip.reason;
    if (noskip.status === 'rejected') throw noskip.reason;
    return { skip: skip.value, noskip: noskip.value };
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

/** A step of one run: the job's progress messages. */
export type ComparisonProgress = Extract<ComparisonEvent, { type: 'step' }>;

/** The data loaded, an epoch of one run, or the end of one run: the job's partial results. */
export type ComparisonPartial = Exclude<ComparisonEvent, { type: 'step' }>;

/** The payloads of the 'training-comparison' job kind (see protocol.ts). */
export interface TrainingComparisonJobTypes {
  params: TrainingComparisonParams;
  progress: ComparisonProgress;
  partial: ComparisonPartial;
  result: ComparisonResult;
}

/** The worker's handler: pause and resume arrive as control messages. */
export const runTrainingComparisonJob: JobHandler<'training-comparison'> = async (
  params,
  context,
) => {
  const gate = new PauseGate();
  context.onControl((action) => (action === 'pause' ? gate.pause() : gate.resume()));
  const result = await trainingComparison({
    params,
    readBytes: (path) => context.readBytes(path),
    signal: context.signal,
    gate,
    onEvent: (event) => (event.type === 'step' ? context.progress(event) : context.partial(event)),
  });
  const cancelled = result.skip.status === 'cancelled' || result.noskip.status === 'cancelled';
  return { result, cancelled };
};
