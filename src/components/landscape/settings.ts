/**
 * Every setting of the loss-landscape explorer, one table: it drives the URL
 * (`<figure id>.<name>=value`), the controls' ranges and the defaults. See
 * src/components/figure/urlState.ts.
 */
import { LIVE_BACKEND_SETTING } from '../figure/live-backend';
import type { SettingsTable, StateOf } from '../figure/urlState';

export const landscapeSettings = {
  /** Which trained network's surfaces are shown. */
  model: {
    type: 'enum',
    default: 'resnet56',
    options: ['resnet56', 'resnet20'],
    label: 'Network',
  },
  /** 3-D surface, 2-D contour/heatmap, or 1-D slice along α at β = 0. */
  view: { type: 'enum', default: '3d', options: ['3d', 'contour', '1d'], label: 'View' },
  /** Colour (and height) by log10(loss) instead of loss. */
  log: { type: 'boolean', default: true, label: 'Log scale' },
  /** Bottom of the shared colour scale, in loss units; 0 = the smallest loss shown. */
  cmin: { type: 'number', default: 0, min: 0, max: 1e9, label: 'Colour range from' },
  /** Top of the shared colour scale, in loss units; 0 = the largest loss shown. */
  cmax: { type: 'number', default: 0, min: 0, max: 1e9, label: 'to' },
  /** Contour lines drawn inside the colour range. */
  levels: { type: 'int', default: 12, min: 0, max: 40, label: 'Contour lines' },
  /** Linked camera of both 3-D views: azimuth, elevation (degrees) and distance. */
  az: { type: 'number', default: 35, min: -180, max: 180, label: 'Camera azimuth' },
  el: { type: 'number', default: 30, min: 1, max: 88, label: 'Camera elevation' },
  dist: { type: 'number', default: 5.6, min: 1.2, max: 9, label: 'Camera distance' },
  /** Run live: grid points per side over [-1, 1]², and training images per point. */
  grid: { type: 'int', default: 11, min: 3, max: 51, label: 'Grid points per side' },
  subset: { type: 'int', default: 256, min: 16, max: 2048, label: 'Training images' },
  /** Run live's backend (figure/live-backend.ts). */
  backend: LIVE_BACKEND_SETTING,
} as const satisfies SettingsTable;

export type LandscapeState = StateOf<typeof landscapeSettings>;

export const MODEL_LABELS: Record<LandscapeState['model'], string> = {
  resnet56: 'ResNet-56',
  resnet20: 'ResNet-20',
};
