/**
 * The training figure's three charts as SVG strings, the same markup on the
 * page and in its exports: the shipped runs' loss and accuracy per epoch,
 * and the live run's training loss per step, on an axis range of its own
 * (a one-minute run is a few dozen steps; the shipped runs are many epochs).
 */
import { NETWORK_COLOURS } from '../figure/colours';
import { lineChartSvg, type ChartStyle } from './chart';
import {
  chartSeries,
  liveLossSeries,
  RUNS,
  smoothedLosses,
  type LiveRun,
  type Metric,
  type RunName,
  type ShippedRun,
} from './history';

export const RUN_TITLE: Record<RunName, string> = { skip: 'With skips', noskip: 'Without skips' };

export const SCREEN_STYLE: ChartStyle = {
  colours: NETWORK_COLOURS,
  text: 'currentColor',
  grid: 'rgba(128, 128, 128, 0.28)',
  background: null,
  font: 'system-ui, sans-serif',
};

export const EXPORT_STYLE: ChartStyle = {
  colours: NETWORK_COLOURS,
  text: '#1b1d20',
  grid: '#d6d8d2',
  background: '#ffffff',
  font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
};

/** A loss or accuracy in words: 0.512, 81.3 %. */
export function formatMetric(metric: Metric, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return 'not finite';
  return metric === 'loss' ? value.toFixed(3) : `${(100 * value).toFixed(1)} %`;
}

/** A loss tick: 0.5, 2, 100, 1e4. */
function formatTick(value: number): string {
  return Math.abs(value) >= 1e4 ? value.toExponential(0).replace('+', '') : String(value);
}

/** A chart's height for its width. */
export function chartHeight(width: number): number {
  return Math.round(Math.min(300, Math.max(220, width * 0.62)));
}

/** The shipped runs' loss or accuracy per epoch. */
export function shippedChartSvg(o: {
  metric: Metric;
  width: number;
  style: ChartStyle;
  legend: boolean;
  idPrefix: string;
  shipped: Partial<Record<RunName, ShippedRun>>;
  log: boolean;
}): string {
  const { metric, shipped } = o;
  const parts: string[] = [];
  for (const run of RUNS) {
    const last = shipped[run]?.epochs.at(-1);
    if (!last) continue;
    const train = metric === 'loss' ? last.trainLoss : last.trainAccuracy;
    const test = metric === 'loss' ? last.testLoss : last.testAccuracy;
    parts.push(
      `Shipped run ${RUN_TITLE[run].toLowerCase()}: after ${last.epoch} epochs, training ${metric} ${formatMetric(metric, train)}, test ${metric} ${formatMetric(metric, test)}.`,
    );
  }
  const xMax = Math.max(1, ...Object.values(shipped).map((r) => r.epochs.at(-1)?.epoch ?? 0));
  return lineChartSvg({
    width: o.width,
    height: chartHeight(o.width),
    title: metric === 'loss' ? 'Shipped runs: loss (cross-entropy)' : 'Shipped runs: accuracy',
    description: parts.length > 0 ? parts.join(' ') : 'No shipped curves.',
    xLabel: 'epoch',
    yLabel: metric === 'loss' ? 'loss' : 'accuracy',
    xMax,
    yDomain: metric === 'accuracy' ? [0, 1] : null,
    yScale: metric === 'loss' && o.log ? 'log' : 'linear',
    yFormat: metric === 'accuracy' ? (v) => `${Math.round(v * 100)} %` : formatTick,
    series: chartSeries({ metric, shipped, live: {} }),
    style: o.style,
    idPrefix: o.idPrefix,
    legend: o.legend,
  });
}

/** The live run's smoothed training loss per step, on the run's own axes. */
export function liveChartSvg(o: {
  width: number;
  style: ChartStyle;
  legend: boolean;
  idPrefix: string;
  live: Partial<Record<RunName, LiveRun>>;
  /** Steps of each run: the x axis runs to it, so the curve grows across the chart. */
  totalSteps: number;
  title: string;
}): string {
  const parts: string[] = [];
  for (const run of RUNS) {
    const steps = o.live[run]?.steps ?? [];
    const last = smoothedLosses(steps).at(-1);
    if (last) {
      parts.push(
        `Live run ${RUN_TITLE[run].toLowerCase()}: step ${last.step}, training loss ${formatMetric('loss', last.loss)} (smoothed).`,
      );
    }
  }
  return lineChartSvg({
    width: o.width,
    height: chartHeight(o.width),
    title: o.title,
    description: parts.length > 0 ? parts.join(' ') : 'The live run has taken no step yet.',
    xLabel: 'step',
    yLabel: 'training loss',
    xMax: Math.max(1, o.totalSteps),
    yDomain: null,
    yScale: 'linear',
    yFit: true,
    yFormat: (v) => String(Number(v.toPrecision(3))),
    series: liveLossSeries(o.live),
    style: o.style,
    idPrefix: o.idPrefix,
    legend: o.legend,
  });
}
