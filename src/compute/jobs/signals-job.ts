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
   * ''); a job with another name lets the previous run's go.
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
 * This worker's latest run's draws with their samples, and spare sample
 * buffers from the runs before it: reused, since allocating a 1.8 MB
 * ArrayBuffer per draw cost Chromium as much as the copy into it.
 */
const held = {
  run: null as string | null,
  draws: new Map<number, SignalDraw>(),
  spare: [] as Float32Array[],
};
/** Bytes of spare buffers kept at most (a run at the largest settings holds more, then lets them go). */
const MAX_SPARE_BYTES = 64 * 1024 ** 2;
const spareBytes = () => held.spare.reduce((sum, b) => sum + b.byteLength, 0);

function holdRun(run: string): void {
  if (held.run === run) return;
  for (const d of held.draws.values()) {
    const buffer = d.signal[0] ?? d.gradient[0] ?? d.activation[0];
    if (buffer && spareBytes() + buffer.buffer.byteLength <= MAX_SPARE_BYTES)
      held.spare.push(new Float32Array(buffer.buffer, 0, buffer.buffer.byteLength / 4));
  }
  held.draws.clear();
  held.run = run;
}

function sampleBuffer(length: number): Float32Array {
  const i = held.spare.findIndex((b) => b.length >= length);
  if (i >= 0) return held.spare.splice(i, 1)[0]!;
  // None fits: the settings grew, and the smaller buffers are let go.
  held.spare = [];
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
    // Pooled buffers only while this run is the one held (a cancelled run
    // still finishing its draw must not write into the next run's).
    samples: () => (held.run === run ? sampleBuffer(length) : new Float32Array(length)),
    onDraw: (draw) => {
      done++;
      if (held.run === run) held.draws.set(draw.draw, draw);
      context.progress({ drawsDone: done, draws: to - from, elapsedMs: performance.now() - start });
      context.partial(drawSums(draw));
    },
  });
  return { result: { draws: done }, cancelled: context.signal.aborted };
};

export const runSignalsBinsJob: JobHandler<'signals-bins'> = async (params) => {
  const start = performance.now();
  if (held.run !== params.run)
    throw new Error(`signals-bins: run '${params.run}' is not held here (now '${held.run}')`);
  const draws = params.draws.map((k) => {
    const d = held.draws.get(k);
    if (!d) throw new Error(`signals-bins: draw ${k} of run '${params.run}' is not held here`);
    return d;
  });
  const bins = binSamples(draws, params.ranges, params.bins);
  return { result: { bins, binMs: performance.now() - start }, cancelled: false };
};
