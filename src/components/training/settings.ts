/**
 * Every setting of the training comparison, one table: it drives the URL
 * (`<figure id>.<name>=value`), the controls' ranges and the defaults. See
 * src/components/figure/urlState.ts.
 *
 * Two live runs are offered (`live`):
 *
 * - 'quick' (the default): the demonstration that fits a reader's CPU, a
 *   narrow ResNet and its plain twin on 14 × 14 images (QUICK_RUN says which
 *   and why). It shows degradation (the plain network's training loss stays
 *   above the residual one's) within a minute on WebAssembly.
 * - 'lecture': the shipped network (the `model` setting, BMEnet-32 by
 *   default) at the shipped runs' scale, for readers with a GPU; on a CPU it
 *   takes the better part of an hour, and the figure says so before it starts.
 *
 * Each preset has its own defaults for the run's size; a value in the URL
 * always wins, and a link carries only what the reader changed.
 */
import { LIVE_BACKEND_SETTING } from '../figure/live-backend';
import type { SettingsTable, StateOf } from '../figure/urlState';

export const trainingSettings = {
  /** The network of the shipped comparison (the lecture's is BMEnet-32), and of the 'lecture' live run. */
  model: {
    type: 'enum',
    default: 'bmenet32',
    options: ['bmenet32', 'bmenet16', 'bmenet8', 'resnet20', 'resnet56'],
    label: 'Network',
  },
  /** Loss on a log axis: early test losses of a network without skips can be far above the rest. */
  log: { type: 'boolean', default: true, label: 'Log-scale loss' },
  /** Which live run: the one-minute demonstration, or the shipped network at the lecture's scale. */
  live: { type: 'enum', default: 'quick', options: ['quick', 'lecture'], label: 'Live run' },
  /** Live run: epochs, each a pass over the training images. */
  epochs: { type: 'int', default: 3, min: 1, max: 30, label: 'Epochs' },
  /**
   * Live run: η₀, decayed by a cosine to 0 over the run. 0.01 rather than Li
   * et al.'s 0.1 for BMEnet: at 0.1, BMEnet-32 with skips diverged within
   * five steps in our first runs (batch 64, 384 images), which would turn the
   * demonstration upside down.
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
  /** Live run: the tfjs backend (figure/live-backend.ts). */
  backend: LIVE_BACKEND_SETTING,
} as const satisfies SettingsTable;

export type TrainingState = StateOf<typeof trainingSettings>;
export type TrainingModel = TrainingState['model'];
export type LivePreset = TrainingState['live'];

/** The settings that size a live run; each preset has its own defaults for them. */
export type RunSize = Pick<TrainingState, 'epochs' | 'lr' | 'batch' | 'images' | 'test'>;

/**
 * The quick live run: a narrow ResNet-56 (8, 16, 32 channels instead of
 * He et al.'s 16, 32, 64) and its plain twin on Fashion-MNIST average-pooled
 * to 14 × 14, one epoch over 2,048 images in batches of 32 at η₀ = 0.05.
 *
 * Why this one (measured with bench/live-demo-config.ts on the wasm backend,
 * one thread, as the browser's worker runs it; bench/README.md): depth is what
 * makes a plain network degrade, so the network stays 56 layers deep and
 * gets cheap another way, a quarter of the pixels and a quarter of the
 * channels' products, about 1/16 of ResNet-56's multiply-adds per image. The
 * whole run is 26 s of one core of the 2-core test machine (155 images/s,
 * both networks together). Seeds 0–3: the plain network's smoothed training
 * loss stays within 0.1 of chance (ln 10 ≈ 2.30) and is at least 0.2 above
 * the residual one's from step 19–36 of 64 to the end; after 64 steps
 * 2.24–2.29 without skips against 1.30–1.77 with them. Candidates set aside:
 * at η₀ = 0.1 the residual network's loss first climbs to 3.6 and crosses
 * below the plain one's only after 30 steps; ResNet-32 at the same width is
 * 1.6× faster but its plain twin also learns (2.11 after 96 steps).
 */
export const QUICK_RUN = {
  /** The network with skips, as parseModelName reads it; `-noshort` is its plain twin. */
  network: 'resnet56w8',
  label: 'narrow ResNet-56 on 14 × 14 images',
  downsample: 2,
  size: { epochs: 1, lr: 0.05, batch: 32, images: 2048, test: 256 } satisfies RunSize,
} as const;

/** The lecture's scale: the shipped runs' first epochs, on the shipped network. */
export const LECTURE_RUN: RunSize = {
  epochs: trainingSettings.epochs.default,
  lr: trainingSettings.lr.default,
  batch: trainingSettings.batch.default,
  images: trainingSettings.images.default,
  test: trainingSettings.test.default,
};

/** The run size a preset starts from. */
export function presetSize(preset: LivePreset): RunSize {
  return preset === 'quick' ? QUICK_RUN.size : LECTURE_RUN;
}

/**
 * The table with the defaults of a live preset. URLs read and write against
 * it, so a link carries only what the reader changed from that preset.
 */
export function settingsFor(preset: LivePreset): typeof trainingSettings {
  if (preset === 'lecture') return trainingSettings;
  const table: Record<string, unknown> = { ...trainingSettings };
  for (const [name, value] of Object.entries(QUICK_RUN.size)) {
    table[name] = { ...trainingSettings[name as keyof RunSize], default: value };
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
