/**
 * The depth figures' settings tables (URL state: `<figure id>.<name>=value`,
 * see src/components/figure/urlState.ts).
 */
import { LIVE_BACKEND_SETTING } from '../figure/live-backend';
import type { SettingsTable, StateOf } from '../figure/urlState';

/** He et al.'s per-block signals of ResNet-56 ("It is not vanishing gradients"). */
export const responsesSettings = {
  /**
   * The per-block charts: the chosen epoch beside the initial state (dashed),
   * the initial state alone, or the chosen epoch alone ('final', by default
   * the last checkpoint).
   */
  show: {
    type: 'enum',
    default: 'both',
    options: ['both', 'initial', 'final'],
    label: 'Compare',
  },
  /** The chosen epoch among those shipped; −1 is the last one. */
  epoch: { type: 'int', default: -1, min: -1, max: 999, label: 'Epoch' },
  /** Live run: the initial state is model.init(seed); the shipped runs started from seed 0. */
  seed: { type: 'int', default: 0, min: 0, max: 999999, label: 'Seed' },
  /** Live run: the first N Fashion-MNIST training images (the shipped files use 512). */
  images: { type: 'int', default: 256, min: 2, max: 2048, label: 'Training images' },
  /** Live run: the tfjs backend (figure/live-backend.ts). */
  backend: LIVE_BACKEND_SETTING,
} as const satisfies SettingsTable;

export type ResponsesState = StateOf<typeof responsesSettings>;

/** Philipp et al.'s GSC lab ("Deep networks are shallow"). */
export const gscSettings = {
  activation: {
    type: 'enum',
    default: 'relu',
    options: ['relu', 'tanh', 'selu'],
    label: 'Activation',
  },
  /** Batch normalisation after every weight layer. */
  bn: { type: 'boolean', default: false, label: 'Batch normalisation' },
  /** Which networks: the plain one, the residual one, or both side by side. */
  form: {
    type: 'enum',
    default: 'both',
    options: ['both', 'plain', 'residual'],
    label: 'Networks',
  },
  init: {
    type: 'enum',
    default: 'gaussian',
    options: ['gaussian', 'orthogonal'],
    label: 'Initial state',
  },
  /** Live run: seed of weights, inputs and projections (the shipped curves use 0). */
  seed: { type: 'int', default: 0, min: 0, max: 999999, label: 'Seed' },
  /** Live run: Gaussian inputs. */
  inputs: { type: 'int', default: 256, min: 8, max: 2048, label: 'Inputs' },
  /** Live run: random projections per estimate. */
  projections: { type: 'int', default: 4, min: 1, max: 32, label: 'Projections' },
  /** Live run: independent weight draws, averaged. */
  draws: { type: 'int', default: 4, min: 1, max: 16, label: 'Weight draws' },
  /** Live run: the tfjs backend (figure/live-backend.ts). */
  backend: LIVE_BACKEND_SETTING,
} as const satisfies SettingsTable;

export type GscState = StateOf<typeof gscSettings>;

/** The Taylor-replacement curves of trained MLPs ("Deep networks are shallow"). */
export const effectiveDepthSettings = {
  depth: { type: 'enum', default: '20', options: ['20', '50'], label: 'Depth' },
} as const satisfies SettingsTable;

export type EffectiveDepthState = StateOf<typeof effectiveDepthSettings>;
