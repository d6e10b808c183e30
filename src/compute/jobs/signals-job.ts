/**
 * The `signals` job: draws [from, to) of a signal run (src/compute/signals) at
 * initialisation, each draw's sums sent back as a partial result as soon as it
 * is measured. The figure splits a run's draws over one worker per core and
 * sums them on the page, so a cancelled run (a slider moved on) keeps every
 * draw that was finished.
 *
 * The histogram samples (3 × 6 layers × 256 inputs × d floats per draw) stay
 * in the worker that measured them, kept for the run's `signals-bins` job:
 * the page takes the histograms' ranges from every draw's sums
 * (histogramRanges), and each worker counts its own draws' samples over them
 * (binSamples) and sends back only the counts.
 *
 *   page ── signals {run, from, to} ──▶ worker: draws, samples kept under `run`
 *   page ◀──── partial: the draw's sums ─ worker
 *   page ── signals-bins {run, draws, ranges} ──▶ worker ── counts ──▶ page
 */
import { binSamples, measureSignalDraws, signalLayout, validateNetwork } from '../signals';
import { signalSampleLength } from '../signals/pass';
import {
  drawSums,
  type HistogramBins,
  type HistogramRanges,
  type SignalDraw,
  type SignalDrawSums,
  type SignalNetwork,
  type SignalProgress,
} from '../signals';
import type { JobHandler } from './protocol';

export interface SignalsJobParams {
  network: SignalNetwork;
  batch: number;
  /** K: the run's draws; this job measures [from, to) of them (default all). */
  draws: number;
  seed: number;
  from?: number;
  to?: number;
  /**
   * Names the run whose samples the worker keeps for `signals-bins` (default
   * ''); it keeps those of its last few runs.
   */
  run?: string;
}

export interface SignalsJobTypes {
  params: SignalsJobParams;
  /** Draws done of this job's slice. */
  progress: SignalProgress;
  /** One measured draw's sums (its samples stay in the worker). */
  partial: SignalDrawSums;
  /** How many draws of the slice were measured (all of them unless cancelled). */
  result: { draws: number };
}

export interface SignalsBinsJobParams {
  /** The run (SignalsJobParams.run) whose samples are counted. */
  run: string;
  /** Which of its draws this worker measured to count (all of them must still be held). */
  draws: number[];
  ranges: HistogramRanges;
  bins: number;
}

export interface SignalsBinsJobTypes {
  params: SignalsBinsJobParams;
  progress: null;
  partial: null;
  /** The counts, and the ms the worker spent on them. */
  result: { bins: HistogramBins; binMs: number };
}

/** Check the parameters; a RangeError names the first that does not fit. */
export function checkSignalsJobParams(p: SignalsJobParams): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
    }
  };
  whole('width', p.network.width, 1, 2048);
  whole('depth', p.network.depth, 1, 5000);
  whole('batch', p.batch, 2, 4096);
  whole('draws', p.draws, 1, 256);
  whole('seed', p.seed, 0, 2 ** 32 - 1);
  whole('from', p.from ?? 0, 0, p.draws - 1);
  whole('to', p.to ?? p.draws, (p.from ?? 0) + 1, p.draws);
  try {
    validateNetwork(p.network);
  } catch (e) {
    throw new RangeError((e as Error).message, { cause: e });
  }
}

/**
 * The draws, with their samples, of this worker's latest runs (a figure's run
 * is counted just after it ends, but a page may hold more than one figure, and
 * a superseded run's counts are not needed), oldest first; and spare sample
 * buffers from the runs let go: reused, since allocating a 1.8 MB ArrayBuffer
 * per draw cost Chromium as much as the copy into it.
 */
const held = new Map<string, Map<number, SignalDraw>>();
let spare: Float32Array[] = [];
/** Runs held at most, and bytes of samples (the newest run is always held whole). */
const KEEP_RUNS = 4;
const MAX_HELD_BYTES = 256 * 1024 ** 2;
/** Bytes of spare buffers kept at most. */
const MAX_SPARE_BYTES = 64 * 1024 ** 2;

const bufferOf = (d: SignalDraw): ArrayBufferLike | undefined =>
  (d.signal[0] ?? d.gradient[0] ?? d.activation[0])?.buffer;
const bytes = (buffers: (ArrayBufferLike | undefined)[]) =>
  buffers.reduce((sum, b) => sum + (b?.byteLength ?? 0), 0);

/** Let the oldest run go, its buffers kept as spares while they fit. */
function releaseOldest(): void {
  const [run, draws] = held.entries().next().value ?? [];
  if (run === undefined || !draws) return;
  held.delete(run);
  for (const d of draws.values()) {
    const buffer = bufferOf(d);
    if (buffer && bytes(spare.map((b) => b.buffer)) + buffer.byteLength <= MAX_SPARE_BYTES)
      spare.push(new Float32Array(buffer, 0, buffer.byteLength / 4));
  }
}

function holdRun(run: string): void {
  if (held.has(run)) return;
  held.set(run, new Map());
  while (held.size > KEEP_RUNS) releaseOldest();
}

function keepDraw(run: string, draw: SignalDraw): void {
  const draws = held.get(run);
  if (!draws) return;
  draws.set(draw.draw, draw);
  const heldBytes = () => bytes([...held.values()].flatMap((ds) => [...ds.values()].map(bufferOf)));
  while (held.size > 1 && heldBytes() > MAX_HELD_BYTES) releaseOldest();
}

function sampleBuffer(length: number): Float32Array {
  const i = spare.findIndex((b) => b.length >= length);
  if (i >= 0) return spare.splice(i, 1)[0]!;
  // None fits: the settings grew, and the smaller buffers are let go.
  spare = [];
  return new Float32Array(length);
}

export const runSignalsJob: JobHandler<'signals'> = async (params, context) => {
  checkSignalsJobParams(params);
  const from = params.from ?? 0;
  const to = params.to ?? params.draws;
  const run = params.run ?? '';
  const layout = signalLayout(params);
  const start = performance.now();
  let done = 0;
  holdRun(run);
  const length = signalSampleLength(
    layout.histogramLayers.length,
    layout.histogramInputs,
    params.network.width,
  );
  await measureSignalDraws({
    layout,
    from,
    to,
    signal: context.signal,
    // Pooled buffers only while this run is held (a run let go that is
    // still finishing its draw must not take a buffer it cannot give back).
    samples: () => (held.has(run) ? sampleBuffer(length) : new Float32Array(length)),
    onDraw: (draw) => {
      done++;
      keepDraw(run, draw);
      context.progress({ drawsDone: done, draws: to - from, elapsedMs: performance.now() - start });
      context.partial(drawSums(draw));
    },
  });
  return { result: { draws: done }, cancelled: context.signal.aborted };
};

export const runSignalsBinsJob: JobHandler<'signals-bins'> = async (params) => {
  const start = performance.now();
  const heldDraws = held.get(params.run);
  if (!heldDraws)
    throw new Error(
      `signals-bins: run '${params.run}' is not held here (only ${[...held.keys()].map((r) => `'${r}'`).join(', ') || 'none'})`,
    );
  const draws = params.draws.map((k) => {
    const d = heldDraws.get(k);
    if (!d) throw new Error(`signals-bins: draw ${k} of run '${params.run}' is not held here`);
    return d;
  });
  const bins = binSamples(draws, params.ranges, params.bins);
  return { result: { bins, binMs: performance.now() - start }, cancelled: false };
};
