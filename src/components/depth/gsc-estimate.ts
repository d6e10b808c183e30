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

/** Seconds of computing, one worker's share (`networks` of the run's networks), workers started. */
export function gscSecondsOnWasm(run: {
  networks: number;
  draws: number;
  inputs: number;
  projections: number;
}): number {
  const c = GSC_WASM_SECONDS;
  const perDraw = c.perDraw + run.inputs * (c.perInput + c.perInputProjection * run.projections);
  return run.networks * run.draws * perDraw;
}
