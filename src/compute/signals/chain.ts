/**
 * Hayou's one-neuron-per-layer chain (seed 003), sampled: x_{t+1} = σ(w_t x_t)
 * with w_t ~ N(0, γ²) independent, and the backward growth rate of one step,
 *
 *   p_t = w_t σ'(w_t x_t) p_{t+1},   r_t = p_t / p_{t+1} = w_t σ'(w_t x_t),
 *
 * whose mean square given an active input the lecture derives as
 * E[r_t² | x_t > 0] = γ²/2 for ReLU (the derivation Kaiming's γ² = 2 comes
 * from). Sampling M chains of T layers and averaging r_t² over every (chain,
 * layer) with x_t > 0 checks it; the standard error says how well.
 *
 * Plain JavaScript: a chain is a few scalar operations per layer, and the
 * seeded generator makes a run the same everywhere.
 */
import type { Activation } from '../models/types';
import { createRng, deriveSeed } from '../random';

export interface ChainOptions {
  /** γ²: Var[w_t]. */
  gamma2: number;
  /** T: layers per chain. */
  depth: number;
  /** M: chains sampled. */
  chains: number;
  activation: Activation;
  seed: number;
}

export interface ChainResult {
  options: ChainOptions;
  /** E[r_t² | x_t > 0] over every (chain, layer) with x_t > 0. */
  meanSquareRate: number;
  /** Its standard error, √(Var[r²]/n). */
  standardError: number;
  /** n: the (chain, layer) pairs with x_t > 0. */
  samples: number;
  /** What the lecture's derivation predicts: γ²/2 for ReLU, γ² for linear; null where it gives no closed form. */
  theory: number | null;
  /** Per layer t: pairs with x_t > 0, and their mean r_t² (null where none). */
  perLayer: {
    active: number[];
    meanSquareRate: (number | null)[];
    standardError: (number | null)[];
  };
  /** The estimate as samples accumulate (chains in order), at about 40 log-spaced sample counts. */
  running: { samples: number[]; meanSquareRate: number[]; standardError: number[] };
}

function activate(kind: Activation, u: number): { value: number; slope: number } {
  switch (kind) {
    case 'linear':
      return { value: u, slope: 1 };
    case 'relu':
      return u > 0 ? { value: u, slope: 1 } : { value: 0, slope: 0 };
    case 'tanh': {
      const t = Math.tanh(u);
      return { value: t, slope: 1 - t * t };
    }
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-u));
      return { value: s, slope: s * (1 - s) };
    }
    case 'selu': {
      const scale = 1.0507009873554805;
      const a = 1.6732632423543772;
      return u > 0
        ? { value: scale * u, slope: scale }
        : { value: scale * a * Math.expm1(u), slope: scale * a * Math.exp(u) };
    }
  }
}

/** The lecture's E[r_t² | x_t > 0]: γ²/2 for ReLU, γ² for the identity; null otherwise. */
export function chainTheory(activation: Activation, gamma2: number): number | null {
  if (activation === 'relu') return gamma2 / 2;
  if (activation === 'linear') return gamma2;
  return null;
}

/** Sample M one-neuron chains of T layers, x_0 ~ N(0, 1). */
export function sampleChain(options: ChainOptions): ChainResult {
  const { gamma2, depth, chains, activation, seed } = options;
  if (!(gamma2 > 0)) throw new Error(`γ² must be positive, got ${gamma2}`);
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`depth must be ≥ 1, got ${depth}`);
  if (!Number.isInteger(chains) || chains < 1) throw new Error(`chains must be ≥ 1, got ${chains}`);
  const rng = createRng(deriveSeed(seed, 'signals.chain'));
  const gamma = Math.sqrt(gamma2);
  const active = new Array<number>(depth).fill(0);
  const layerSum = new Array<number>(depth).fill(0);
  const layerSumSq = new Array<number>(depth).fill(0);
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  const checkpoints = new Set<number>();
  for (let i = 0; i <= 40; i++) checkpoints.add(Math.max(1, Math.round(chains ** (i / 40))));
  const running: ChainResult['running'] = { samples: [], meanSquareRate: [], standardError: [] };
  const standardError = (): number =>
    n > 1 ? Math.sqrt(Math.max(0, sumSq / n - (sum / n) ** 2) / (n - 1)) : Number.NaN;
  for (let m = 1; m <= chains; m++) {
    let x = rng.normal();
    for (let t = 0; t < depth; t++) {
      const w = gamma * rng.normal();
      const { value, slope } = activate(activation, w * x);
      if (x > 0) {
        const r2 = (w * slope) ** 2;
        n++;
        sum += r2;
        sumSq += r2 * r2;
        active[t]!++;
        layerSum[t]! += r2;
        layerSumSq[t]! += r2 * r2;
      }
      x = value;
    }
    if (checkpoints.has(m) && n > 0) {
      running.samples.push(n);
      running.meanSquareRate.push(sum / n);
      running.standardError.push(standardError());
    }
  }
  return {
    options,
    meanSquareRate: n > 0 ? sum / n : Number.NaN,
    standardError: standardError(),
    samples: n,
    theory: chainTheory(activation, gamma2),
    perLayer: {
      active,
      meanSquareRate: layerSum.map((s, t) => (active[t]! > 0 ? s / active[t]! : null)),
      standardError: layerSum.map((s, t) => {
        const m = active[t]!;
        if (m < 2) return null;
        return Math.sqrt(Math.max(0, layerSumSq[t]! / m - (s / m) ** 2) / (m - 1));
      }),
    },
    running,
  };
}
