/**
 * The settings of the path figures, one table each: they drive the URL
 * (`<figure id>.<name>=value`), the controls' ranges and the defaults (see
 * src/components/figure/urlState.ts).
 */
import { LIVE_BACKEND_SETTING } from '../figure/live-backend';
import type { SettingsTable, StateOf } from '../figure/urlState';

export const pathsSettings = {
  /** Which shipped network's unravelled view is shown. */
  model: {
    type: 'enum',
    default: 'resnet56',
    options: ['resnet56', 'resnet110'],
    label: 'Network',
  },
  /** The path length pointed at in all three charts; −1 for none. */
  k: { type: 'int', default: -1, min: -1, max: 54, label: 'Path length' },
  /** Live run: gradient samples per path length. */
  samples: { type: 'int', default: 3, min: 1, max: 50, label: 'Samples per length' },
  /** Live run: images per sample. */
  batch: { type: 'int', default: 16, min: 1, max: 128, label: 'Images per sample' },
  /** Live run: the batches are drawn from the first N test images. */
  subset: { type: 'int', default: 500, min: 16, max: 2000, label: 'Test images' },
  /** Live run: seed of the batches and of the blocks chosen. */
  seed: { type: 'int', default: 1, min: 0, max: 999999, label: 'Seed' },
  /** Live run: the tfjs backend (figure/live-backend.ts). */
  backend: LIVE_BACKEND_SETTING,
} as const satisfies SettingsTable;

export type PathsState = StateOf<typeof pathsSettings>;

export const lesionSettings = {
  model: {
    type: 'enum',
    default: 'resnet56',
    options: ['resnet56', 'resnet110'],
    label: 'Network',
  },
  /** The block pointed at in the deletion chart; −1 for none. */
  block: { type: 'int', default: -1, min: -1, max: 53, label: 'Block' },
  /**
   * Live run: the first N test images; 0 chooses by backend (LIVE_LESION_IMAGES:
   * 500 on a GPU, fewer on the CPU, so the run ends in about a minute).
   */
  subset: { type: 'int', default: 0, min: 0, max: 2000, label: 'Test images' },
  /** Live run: draws per number deleted and per number of swaps. */
  draws: { type: 'int', default: 1, min: 1, max: 10, label: 'Draws' },
  /** Live run: seed of the blocks deleted and swapped. */
  seed: { type: 'int', default: 1, min: 0, max: 999999, label: 'Seed' },
  /** Live run: the single deletions only (the quickest part), or the whole study. */
  study: { type: 'enum', default: 'all', options: ['all', 'deleteOne'], label: 'Study' },
  /** Live run: the tfjs backend (figure/live-backend.ts). */
  backend: LIVE_BACKEND_SETTING,
} as const satisfies SettingsTable;

export type LesionState = StateOf<typeof lesionSettings>;
