/**
 * How long the GSC lab's live run should take on WebAssembly, said before it
 * starts, and how the run is split over workers. Per weight draw on a
 * worker: a fixed part (the draw's weights, the per-layer statistics), a
 * forward pass over the inputs, and per random projection a backward pass
 * over them and a fixed part of its own. The constants are fitted to the
 * second run in a page of both ReLU networks side by side, one a worker, 4
 * draws each, in Chromium on the 2-core AMD EPYC, quiet (session 9: 64, 256
 * and 1024 inputs × 1, 4 and 16 projections; within 25 % of each,
 * tests/unit/gsc-estimate.test.ts). Orthogonal weights and BN cost a little
 * more; a GPU backend has no reference.
 */
import { splitDraws } from '../../compute/signals/summary';

export const GSC_WASM_SECONDS = {
  perDraw: 0.066,
  perInput: 2.25e-4,
  perInputProjection: 1.26e-4,
  perProjection: 0.013,
} as const;

/**
 * A page's first run, with the workers' tfjs and WebAssembly to start and
 * their first draws to warm up, took 0.21 s + 1.21 × the second run's time
 * (the same runs, within 15 %); the estimate says that, the first run's.
 */
export const GSC_WASM_FIRST_RUN = { seconds: 0.21, factor: 1.21 } as const;

/** Seconds of computing `draws` weight draws on one worker (the busiest one's share of a run), workers started and warm. */
export function gscSecondsOnWasm(run: {
  draws: number;
  inputs: number;
  projections: number;
}): number {
  const c = GSC_WASM_SECONDS;
  const perDraw =
    c.perDraw +
    run.inputs * c.perInput +
    run.projections * (c.perProjection + run.inputs * c.perInputProjection);
  return run.draws * perDraw;
}

/** The estimate of a page's first run, from its busiest worker's computing time. */
export function gscFirstRunSeconds(computing: number): number {
  return GSC_WASM_FIRST_RUN.seconds + GSC_WASM_FIRST_RUN.factor * computing;
}

/** One job of a live run: draws [from, to) of one network (`network` indexes the run's networks). */
export interface GscSlice {
  network: number;
  from: number;
  to: number;
}

/**
 * How a live run splits over `lanes` workers: each network's draws cut into
 * ⌊lanes / networks⌋ slices (at least one; splitDraws), the slices of every
 * network in order. Two networks on two cores: one network a worker, as
 * before; one network: its draws split over both.
 */
export function gscSlices(networks: number, draws: number, lanes: number): GscSlice[] {
  const perNetwork = Math.max(1, Math.floor(lanes / networks));
  return Array.from({ length: networks }, (_, network) =>
    splitDraws(draws, perNetwork).map(([from, to]) => ({ network, from, to })),
  ).flat();
}

/**
 * Draws the busiest worker measures when the slices are dealt out in order
 * to whichever worker is free first (each draw taking the same time).
 */
export function busiestWorkerDraws(slices: readonly GscSlice[], lanes: number): number {
  const load = Array.from({ length: Math.max(1, lanes) }, () => 0);
  for (const s of slices) {
    const free = load.indexOf(Math.min(...load));
    load[free]! += s.to - s.from;
  }
  return Math.max(...load);
}
