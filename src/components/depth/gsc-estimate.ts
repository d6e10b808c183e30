/**
 * How long the GSC lab's live run should take on WebAssembly, said before it
 * starts. Per network and weight draw: a fixed part (the draw's weights, the
 * per-layer statistics), a forward pass over the inputs, and a backward pass
 * over them per random projection. The constants are fitted to runs of the
 * plain ReLU network in Chromium on a 2-core AMD EPYC under load ~6 (session
 * 7: 64, 256 and 1024 inputs × 1, 4 and 16 projections, 4 draws; the fit is
 * within 25 % of each, and slower than a quiet machine). Orthogonal weights
 * and BN cost a little more; a GPU backend has no reference.
 */
import { splitDraws } from '../../compute/signals/summary';

export const GSC_WASM_SECONDS = {
  perDraw: 0.2,
  perInput: 1e-4,
  perInputProjection: 1.7e-4,
} as const;

/**
 * Starting the workers' tfjs and WebAssembly for a page's first run, on top:
 * the default run (both networks on two workers) took 3.0 s in a fresh page
 * against 1.6 s of the fit (session 7, quiet).
 */
export const GSC_WASM_START_SECONDS = 1.5;

/** Seconds of computing `draws` weight draws on one worker (the busiest one's share of a run), workers started. */
export function gscSecondsOnWasm(run: {
  draws: number;
  inputs: number;
  projections: number;
}): number {
  const c = GSC_WASM_SECONDS;
  const perDraw = c.perDraw + run.inputs * (c.perInput + c.perInputProjection * run.projections);
  return run.draws * perDraw;
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
