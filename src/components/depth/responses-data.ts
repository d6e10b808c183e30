/**
 * The data side of the ResNet-56 responses figure, kept apart from its
 * rendering (and from tfjs: only types come from src/compute): which epochs
 * are shipped, which epoch the reader's choice resolves to, which reports the
 * per-block charts draw (live ones in place of the shipped ones they
 * recompute), and the "across training" lines of each file's summary.
 *
 *   manifest files ─▶ shippedEpochs ─▶ resolveEpoch(URL epoch) ─▶ chosen epoch
 *   fetched reports ─▶ blockReports(show, chosen, live) ─▶ per-block charts
 *                  └─▶ acrossTraining(reports, live) ─▶ summary-per-epoch charts
 */
import type { BackendName } from '../../compute/backend';
import type { BlockResponse, ResponseSummary } from '../../compute/signals/responses';
import type { Series } from '../training/history';

/** One measured state of one network: a shipped file, or a live run's result. */
export interface ResponsesReport {
  /** The network has skip connections. */
  skip: boolean;
  /** 0: the initial state; otherwise the checkpoint's epoch. */
  epoch: number;
  blocks: BlockResponse[];
  /** Images measured, and BN's batch. */
  images: number;
  batchSize: number;
  loss: number;
  accuracy: number;
  /** The file's summary (`skipscape responses` writes it; the live job computes the same). */
  summary: ResponseSummary;
  source: 'shipped' | 'live';
  /** Seed of the initial state the report measures (or of the run its checkpoint ended). */
  seed: number;
}

/** The epochs of the shipped files, ascending, each once. */
export function shippedEpochs(files: readonly { epoch: number }[]): number[] {
  return [...new Set(files.map((f) => f.epoch))].sort((a, b) => a - b);
}

/**
 * The epoch a reader's choice resolves to among those shipped: −1 is the
 * last one; an epoch that is not shipped becomes the nearest one that is
 * (the earlier on a tie), with a notice. null when nothing is shipped.
 */
export function resolveEpoch(
  epochs: readonly number[],
  wanted: number,
): { epoch: number | null; notice: string | null } {
  if (epochs.length === 0) return { epoch: null, notice: null };
  if (wanted === -1) return { epoch: epochs.at(-1)!, notice: null };
  if (epochs.includes(wanted)) return { epoch: wanted, notice: null };
  const nearest = epochs.reduce((best, e) =>
    Math.abs(e - wanted) < Math.abs(best - wanted) ? e : best,
  );
  return {
    epoch: nearest,
    notice: `Epoch ${wanted} is not shipped (shipped: ${epochs.join(', ')}); showing epoch ${nearest}.`,
  };
}

/** What the per-block charts compare: the initial state and the chosen epoch, or one of them. */
export type Show = 'both' | 'initial' | 'final';

/** A report the per-block charts draw, dashed when it is the initial state beside another. */
export interface ShownReport {
  report: ResponsesReport;
  dashed: boolean;
}

/**
 * The reports of the per-block charts: for each network, the chosen epoch
 * ('final'), the initial state ('initial'), or both (the initial dashed; one
 * line when the chosen epoch is 0). A live report replaces the shipped one of
 * the same network and epoch: it recomputes that state on the reader's
 * images and seed.
 */
export function blockReports(options: {
  shipped: readonly ResponsesReport[];
  live: readonly ResponsesReport[];
  show: Show;
  epoch: number | null;
}): ShownReport[] {
  const { shipped, live, show, epoch } = options;
  const wanted: number[] =
    show === 'initial'
      ? [0]
      : epoch === null
        ? []
        : show === 'final' || epoch === 0
          ? [epoch]
          : [0, epoch];
  const out: ShownReport[] = [];
  for (const skip of [true, false]) {
    for (const e of wanted) {
      const report =
        live.find((r) => r.skip === skip && r.epoch === e) ??
        shipped.find((r) => r.skip === skip && r.epoch === e);
      if (report) out.push({ report, dashed: wanted.length === 2 && e === 0 });
    }
  }
  return out;
}

/** The summary numbers drawn across training, with their chart titles. */
export const SUMMARY_QUANTITIES = [
  {
    key: 'gradientNormFirstOverLast',
    title: 'Gradient norm, first block / last',
    yLabel: 'ratio (log)',
    log: true,
  },
  {
    key: 'outputStdFirstOverLast',
    title: 'Output std, first block / last',
    yLabel: 'ratio',
    log: false,
  },
  { key: 'meanResponseStd', title: 'Mean response std', yLabel: 'std', log: false },
] as const satisfies readonly {
  key: keyof ResponseSummary;
  title: string;
  yLabel: string;
  log: boolean;
}[];

const NETWORK = (skip: boolean) => (skip ? 'with skips' : 'without skips');

/**
 * For one summary quantity, its lines against the epoch: per network, the
 * shipped files' values joined in epoch order (an epoch not shipped is
 * simply absent: the line joins its neighbours), then the live results as
 * dots, then a dot at the chosen epoch on each shipped line.
 */
export function acrossTraining(options: {
  shipped: readonly ResponsesReport[];
  live: readonly ResponsesReport[];
  quantity: keyof ResponseSummary;
  epoch: number | null;
}): Series[] {
  const { shipped, live, quantity, epoch } = options;
  const series: Series[] = [];
  for (const skip of [true, false]) {
    const run = skip ? 'skip' : 'noskip';
    const mine = shipped.filter((r) => r.skip === skip).sort((a, b) => a.epoch - b.epoch);
    if (mine.length > 0) {
      series.push({
        key: `${quantity}-${run}`,
        label: `${NETWORK(skip)}, shipped`,
        run,
        source: 'shipped',
        split: 'train',
        points: mine.map((r) => ({ x: r.epoch, y: finite(r.summary[quantity]) })),
        dots: mine.length <= 2,
      });
      const at = mine.find((r) => r.epoch === epoch);
      if (at) {
        series.push({
          key: `${quantity}-${run}-chosen`,
          label: `${NETWORK(skip)}, epoch ${at.epoch}`,
          run,
          source: 'shipped',
          split: 'train',
          points: [{ x: at.epoch, y: finite(at.summary[quantity]) }],
          dots: true,
        });
      }
    }
    const measured = live.filter((r) => r.skip === skip).sort((a, b) => a.epoch - b.epoch);
    if (measured.length > 0) {
      series.push({
        key: `${quantity}-${run}-live`,
        label: `${NETWORK(skip)}, live`,
        run,
        source: 'live',
        split: 'train',
        // Live runs measure epoch 0 and the last checkpoint only: dots, no line between.
        points: measured.flatMap((r, i) => [
          ...(i > 0 ? [{ x: (measured[i - 1]!.epoch + r.epoch) / 2, y: null }] : []),
          { x: r.epoch, y: finite(r.summary[quantity]) },
        ]),
        dots: true,
      });
    }
  }
  return series;
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * The live run's reference speed, for the estimate shown before it starts:
 * images per second of one responses job (both passes of blockResponses on
 * ResNet-56, WebAssembly) in one worker with a core to itself, and the
 * seconds to start (tfjs, the 7 MB checkpoint and the training images).
 * bench/responses-live.ts measured 20.2 images/s per worker and 2.7 s to
 * start in Chromium on the 2-core AMD EPYC with nothing else running
 * (2026-12-07, load average 2.6 with the benchmark; 4.2 s for 16 images, 15.3 s
 * for 128; bench/README.md). Other backends have no reference: their time is
 * known once a batch is done.
 */
export const LIVE_REFERENCE: {
  imagesPerSecond: Partial<Record<BackendName, number>>;
  startupSeconds: number;
  measuredOn: string;
} = {
  imagesPerSecond: { wasm: 20 },
  startupSeconds: 3,
  measuredOn: 'a reference for one core of a 2-core AMD EPYC',
};

/**
 * Estimated seconds of a live run before it starts: `networks` jobs over
 * `lanes` workers, each measuring `states` states of `images` images at
 * `imagesPerSecond` per worker, plus the start (tfjs, the checkpoint, the
 * images). null without a measured speed for the backend.
 */
export function liveSeconds(options: {
  images: number;
  states: number;
  networks: number;
  lanes: number;
  imagesPerSecond: number | null;
  startupSeconds: number;
}): number | null {
  const { images, states, networks, lanes, imagesPerSecond, startupSeconds } = options;
  if (imagesPerSecond === null || !(imagesPerSecond > 0)) return null;
  const rounds = Math.ceil(networks / Math.max(1, lanes));
  return startupSeconds + (rounds * states * images) / imagesPerSecond;
}

/**
 * A shipped file's JSON as the figure uses it; throws a specific error on a
 * malformed file, or one whose epoch is not the one the manifest lists it at
 * (its name, epoch-NNN.json), so a misnamed file never draws at the wrong epoch.
 */
export function parseShippedReport(
  text: string,
  path: string,
  listedEpoch?: number,
): ResponsesReport {
  const json = JSON.parse(text) as Partial<{
    model: string;
    epoch: number;
    seed: number;
    blocks: BlockResponse[];
    images: number;
    batchSize: number;
    loss: number;
    accuracy: number;
    summary: ResponseSummary;
  }>;
  if (
    typeof json.model !== 'string' ||
    typeof json.epoch !== 'number' ||
    !Array.isArray(json.blocks) ||
    json.blocks.length === 0 ||
    typeof json.summary?.meanResponseStd !== 'number'
  ) {
    throw new Error(`${path}: not a responses file (model, epoch, blocks and summary expected)`);
  }
  if (listedEpoch !== undefined && json.epoch !== listedEpoch) {
    throw new Error(
      `${path}: the file measures epoch ${json.epoch}, the manifest lists epoch ${listedEpoch}`,
    );
  }
  return {
    skip: !json.model.endsWith('-noshort'),
    epoch: json.epoch,
    blocks: json.blocks,
    images: json.images ?? 0,
    batchSize: json.batchSize ?? 0,
    loss: json.loss ?? NaN,
    accuracy: json.accuracy ?? NaN,
    summary: json.summary,
    source: 'shipped',
    seed: json.seed ?? 0,
  };
}
