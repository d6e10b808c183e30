/**
 * Signals at initialisation (DESIGN.md, "Signals"): per-layer forward and
 * backward statistics of the theory labs' MLP, the mean-field curves they are
 * compared with, and Hayou's one-neuron chain.
 *
 *   network.ts     the networks and their seeded weight draws
 *   propagate.ts   the reusable per-layer forward + backward pass (tfjs)
 *   pass.ts        the statistics' pass in a WebAssembly SIMD kernel (assembly/signals.ts)
 *   statistics.ts  each draw's forward and backward pass, measured (pass.ts)
 *   summary.ts     variances, histograms, bands over draws, from the draws (plain JS)
 *   theory.ts      Glorot & Bengio's and Hayou's recursions
 *   chain.ts       the one-neuron chain, sampled against γ²/2
 */
export * from './network';
export * from './propagate';
export * from './pass';
export * from './statistics';
export * from './theory';
export * from './chain';
export * from './file';
