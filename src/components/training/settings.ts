/**
 * Every setting of the training comparison, one table: it drives the URL
 * (`<figure id>.<name>=value`), the controls' ranges and the defaults. See
 * src/components/figure/urlState.ts.
 *
 * The live run's size has two sets of defaults: the table's, for a browser
 * with a WebGPU adapter, and SMALLER_LIVE_RUN, for one that trains on the CPU
 * through WebAssembly. A value in the URL always wins; a setting the URL
 * leaves out takes the default of the reader's hardware.
 */
import type { SettingsTable, StateOf } from '../figure/urlState';

export const trainingSettings = {
  /** The network trained with and without skips (the lecture's is BMEnet-32). */
  model: {
    type: 'enum',
    default: 'bmenet32',
    options: ['bmenet32', 'bmenet16', 'bmenet8', 'resnet20', 'resnet56'],
    label: 'Network',
  },
  /** Loss on a log axis: early test losses of a network without skips can be far above the rest. */
  log: { type: 'boolean', default: true, label: 'Log-scale loss' },
  /** Live run: epochs, each a pass over the training images. */
  epochs: { type: 'int', default: 3, min: 1, max: 30, label: 'Epochs' },
  /**
   * Live run: η₀, decayed by a cosine to 0 over the run. 0.01 rather than Li
   * et al.'s 0.1: at 0.1, BMEnet-32 with skips diverged within five steps in
   * our first runs (batch 64, 384 images), which would turn the demonstration
   * upside down. (Li et al. train their ResNets at 0.1; set it in the URL or
   * the control.)
   */
  lr: { type: 'number', default: 0.01, min: 0.001, max: 1, label: 'Learning rate' },
  /** Live run: images per optimisation step. */
  batch: { type: 'int', default: 128, min: 2, max: 512, label: 'Batch size' },
  /** Live run: the first N images of the 12,000-image training subset. */
  images: { type: 'int', default: 4000, min: 16, max: 12000, label: 'Training images' },
  /** Live run: the first N test images, evaluated after each epoch. */
  test: { type: 'int', default: 1000, min: 8, max: 2000, label: 'Test images' },
  /** Live run: seed of initialisation, shuffling and augmentation, shared by both runs. */
  seed: { type: 'int', default: 0, min: 0, max: 999999, label: 'Seed' },
  /** Live run: the tfjs backend; 'auto' tries WebGPU, WebGL, WebAssembly, then plain JavaScript. */
  backend: {
    type: 'enum',
    default: 'auto',
    options: ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'],
    label: 'Backend',
  },
} as const satisfies SettingsTable;

export type TrainingState = StateOf<typeof trainingSettings>;
export type TrainingModel = TrainingState['model'];

/** Live-run defaults for a browser without a WebGPU adapter (CPU through WebAssembly). */
export const SMALLER_LIVE_RUN = { epochs: 1, images: 512, test: 256, batch: 64 } as const;

/**
 * The table with the defaults of the reader's hardware: the table as is with
 * WebGPU, SMALLER_LIVE_RUN's values without it. URLs read and write against
 * this, so a link carries only what the reader changed.
 */
export function settingsFor(hasWebGpu: boolean): typeof trainingSettings {
  if (hasWebGpu) return trainingSettings;
  const table: Record<string, unknown> = { ...trainingSettings };
  for (const [name, value] of Object.entries(SMALLER_LIVE_RUN)) {
    table[name] = { ...trainingSettings[name as keyof typeof SMALLER_LIVE_RUN], default: value };
  }
  return table as typeof trainingSettings;
}

export const MODEL_LABELS: Record<TrainingModel, string> = {
  bmenet32: 'BMEnet-32',
  bmenet16: 'BMEnet-16',
  bmenet8: 'BMEnet-8',
  resnet20: 'ResNet-20',
  resnet56: 'ResNet-56',
};
