/**
 * Every setting of the signal figures, one table per figure: it drives the
 * URL (`<figure id>.<name>=value`), the controls' ranges and the defaults
 * (see src/components/figure/urlState.ts). The defaults are what
 * scripts/make-artifacts.sh ships (`signals` step); a test checks the shipped
 * files were made with them.
 */
import type { SignalNetwork } from '../../compute/signals/network';
import type { SettingsTable, StateOf } from '../figure/urlState';

const ACTIVATION_OPTIONS = ['linear', 'relu', 'tanh', 'sigmoid', 'selu'] as const;
const INIT_OPTIONS = ['gaussian', 'glorot', 'kaiming', 'orthogonal'] as const;

function networkSettings(defaults: {
  depth: number;
  maxDepth: number;
  activation: (typeof ACTIVATION_OPTIONS)[number];
  init: (typeof INIT_OPTIONS)[number];
  residual: boolean;
  alpha: 'one' | 'invsqrt' | 'value';
  batch: number;
  draws: number;
}) {
  return {
    /** T: hidden layers (plain) or residual blocks. */
    depth: {
      type: 'int',
      default: defaults.depth,
      min: 1,
      max: defaults.maxDepth,
      label: 'Depth T',
    },
    /** d: units per layer. */
    width: { type: 'int', default: 100, min: 2, max: 400, label: 'Width d' },
    activation: {
      type: 'enum',
      default: defaults.activation,
      options: ACTIVATION_OPTIONS,
      label: 'Activation',
    },
    init: { type: 'enum', default: defaults.init, options: INIT_OPTIONS, label: 'Initialisation' },
    /** σ_w² = n·Var[w] of 'gaussian', the squared gain of 'orthogonal'. */
    sigmaW2: { type: 'number', default: 2, min: 0.1, max: 4, label: 'σ_w²' },
    residual: { type: 'boolean', default: defaults.residual, label: 'Residual' },
    /** α of x_{t+1} = x_t + α·W_t f(x_t): 1, 1/√T, or the value below. */
    alpha: {
      type: 'enum',
      default: defaults.alpha,
      options: ['one', 'invsqrt', 'value'],
      label: 'α',
    },
    alphaValue: { type: 'number', default: 0.5, min: 0.01, max: 2, label: 'α value' },
    bn: { type: 'boolean', default: false, label: 'Batch norm' },
    /** N: inputs x ~ N(0, I) per draw. */
    batch: { type: 'int', default: defaults.batch, min: 8, max: 1024, label: 'Inputs N' },
    /** K: seeded weight draws. */
    draws: { type: 'int', default: defaults.draws, min: 1, max: 32, label: 'Draws K' },
    seed: { type: 'int', default: 0, min: 0, max: 999999, label: 'Seed' },
  } as const satisfies SettingsTable;
}

/** "Why gradients vanish": Glorot & Bengio's setting (tanh, Glorot init), 50 layers. */
export const vanishSettings = networkSettings({
  depth: 50,
  maxDepth: 200,
  activation: 'tanh',
  init: 'glorot',
  residual: false,
  alpha: 'one',
  batch: 256,
  draws: 8,
});

/** "Residual networks and the scale of their blocks": Hayou's network at T = 1000, α = 1/√T. */
export const residualSettings = networkSettings({
  depth: 1000,
  maxDepth: 1000,
  activation: 'relu',
  init: 'kaiming',
  residual: true,
  alpha: 'invsqrt',
  batch: 64,
  draws: 4,
});

export type SignalsState = StateOf<typeof vanishSettings>;
export type SignalsTableName = 'vanish' | 'residual';
export const SIGNALS_TABLES: Record<SignalsTableName, typeof vanishSettings> = {
  vanish: vanishSettings,
  residual: residualSettings as unknown as typeof vanishSettings,
};

/** α as a number for a state (null for the plain network). */
export function alphaOf(state: SignalsState): number | null {
  if (!state.residual) return null;
  if (state.alpha === 'one') return 1;
  if (state.alpha === 'invsqrt') return 1 / Math.sqrt(state.depth);
  return state.alphaValue;
}

export function networkOf(state: SignalsState): SignalNetwork {
  return {
    width: state.width,
    depth: state.depth,
    activation: state.activation,
    init: state.init,
    sigmaW2: state.sigmaW2,
    residualAlpha: alphaOf(state),
    batchNorm: state.bn,
  };
}

/** The one-neuron chain figure. */
export const chainSettings = {
  /** γ² = Var[w_t]. */
  gamma2: { type: 'number', default: 2, min: 0.1, max: 8, label: 'γ²' },
  activation: { type: 'enum', default: 'relu', options: ACTIVATION_OPTIONS, label: 'Activation' },
  /** Layers of each chain. */
  depth: { type: 'int', default: 10, min: 1, max: 50, label: 'Layers T' },
  /** M: chains sampled. */
  chains: { type: 'int', default: 20000, min: 100, max: 200000, label: 'Chains M' },
  seed: { type: 'int', default: 0, min: 0, max: 999999, label: 'Seed' },
} as const satisfies SettingsTable;

export type ChainState = StateOf<typeof chainSettings>;
