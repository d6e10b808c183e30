/**
 * What the path figures share: colours (Kak and Bouman's red with skips, blue
 * without, as the training figure), the chart styles on screen and in
 * exports, the model names, and the stacking of charts for export.
 */
import { stackSvgs, svgHeight } from '../training/chart';
import type { PlotStyle } from './plot';

export const SKIP_COLOUR = '#d6372c';
export const PLAIN_COLOUR = '#2f6fd6';
/** A live run's series, beside the shipped ones. */
export const LIVE_COLOUR = '#8a5a00';

export const SCREEN_STYLE: PlotStyle = {
  text: 'currentColor',
  grid: 'rgb(127 127 127 / 0.35)',
  background: null,
  font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
  band: 'rgb(214 55 44 / 0.14)',
};

export const EXPORT_STYLE: PlotStyle = {
  text: '#1b1d20',
  grid: '#d6d8d2',
  background: '#ffffff',
  font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
  band: 'rgb(214 55 44 / 0.14)',
};

export const MODEL_LABELS: Record<string, string> = {
  resnet20: 'ResNet-20',
  resnet56: 'ResNet-56',
  resnet110: 'ResNet-110',
};

export const modelLabel = (model: string): string => MODEL_LABELS[model] ?? model;

/** A shipped checkpoint a live run starts from. */
export interface ShippedCheckpoint {
  model: string;
  skip: boolean;
  path: string;
  sha256: string;
}

/** Charts (SVG strings) one above the other, as one SVG document (the SVG and PNG exports). */
export function stackCharts(charts: readonly string[]): {
  svg: string;
  width: number;
  height: number;
} {
  return stackSvgs(
    charts.map((svg) => ({
      svg,
      width: Number(/width="([\d.]+)"/.exec(svg)?.[1] ?? 0),
      height: svgHeight(svg),
    })),
  );
}

/** Seconds as m:ss. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–:––';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export const percent = (v: number | null, digits = 1): string =>
  v === null ? '—' : `${(100 * v).toFixed(digits)} %`;

/**
 * Forward-pass images per second of one WebAssembly worker, ResNet-56 on 28 × 28
 * images, the speed the live landscape measured in Chromium on one core of a
 * 2-core AMD EPYC (bench/README.md); ResNet-110 from it by multiply-adds (about
 * twice ResNet-56's). The lesion study's estimate counts its block evaluations
 * in whole networks' worth (lesionStudyCost / n) at this rate.
 */
export const WASM_FORWARD_IMAGES_PER_SECOND: Readonly<Record<string, number>> = {
  resnet56: 195,
  resnet110: 97,
};

/** Live lesion study's test images by default: on a GPU the shipped study's 500; on the CPU fewer, so it ends in about a minute. */
export const LIVE_LESION_IMAGES = { gpu: 500, cpu: 150 } as const;

/** Residual blocks of a CIFAR ResNet-d: (d − 2)/2. */
export function residualBlockCount(model: string): number | null {
  const depth = Number(/^resnet(\d+)$/.exec(model)?.[1]);
  return Number.isInteger(depth) && depth > 2 ? (depth - 2) / 2 : null;
}
