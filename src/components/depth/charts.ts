/**
 * The depth figures' charts: panels of lines against a layer or block index,
 * drawn by the training figure's SVG line chart (one markup for screen and
 * exports), their stacked SVG export and a long-format CSV. Red is the
 * network with skips (residual), blue the one without, as everywhere on the
 * site; a dashed line is the second state shown (e.g. the initial one).
 */
import { lineChartSvg, stackSvgs, svgHeight, type ChartStyle } from '../training/chart';
import type { RunName, Series } from '../training/history';

export const COLOURS: Record<RunName, string> = { skip: '#d6372c', noskip: '#2f6fd6' };

export const SCREEN_STYLE: ChartStyle = {
  colours: COLOURS,
  text: 'currentColor',
  grid: 'rgba(128, 128, 128, 0.28)',
  background: null,
  font: 'system-ui, sans-serif',
};

export const EXPORT_STYLE: ChartStyle = {
  colours: COLOURS,
  text: '#1b1d20',
  grid: '#d6d8d2',
  background: '#ffffff',
  font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
};

/** One chart: its lines and axes. */
export interface Panel {
  key: string;
  title: string;
  xLabel: string;
  yLabel: string;
  log: boolean;
  /** Fixed y range, or null to fit the values. */
  yDomain: [number, number] | null;
  series: Series[];
}

/** A line: y against its index (x = 0, 1, …), non-finite values as gaps. */
export function indexLine(options: {
  key: string;
  label: string;
  run: RunName;
  values: readonly (number | null)[];
  /** Dashed (the chart's 'test' style): the second state shown. */
  dashed?: boolean;
  live?: boolean;
}): Series {
  return {
    key: options.key,
    label: options.label,
    run: options.run,
    source: options.live ? 'live' : 'shipped',
    split: options.dashed ? 'test' : 'train',
    points: options.values.map((y, x) => ({
      x,
      y: y !== null && Number.isFinite(y) ? y : null,
    })),
    dots: false,
  };
}

/** A tick label: 3 significant digits, powers of ten as 1e4. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace('+', '');
  return String(Number(v.toPrecision(3)));
}

function describe(panel: Panel): string {
  const parts = panel.series.map((s) => {
    const ys = s.points.flatMap((p) => (p.y === null ? [] : [p.y]));
    if (ys.length === 0) return `${s.label}: no values.`;
    const xs = s.points.flatMap((p) => (p.y === null ? [] : [p.x]));
    return `${s.label}: from ${formatValue(ys[0]!)} at ${panel.xLabel} ${xs[0]} to ${formatValue(ys.at(-1)!)} at ${panel.xLabel} ${xs.at(-1)}.`;
  });
  return parts.length > 0 ? parts.join(' ') : 'No lines yet.';
}

export function panelSvg(panel: Panel, width: number, style: ChartStyle, prefix: string): string {
  const xMax = Math.max(1, ...panel.series.flatMap((s) => s.points.map((p) => p.x)));
  return lineChartSvg({
    width,
    height: Math.round(Math.min(280, Math.max(200, width * 0.6))),
    title: panel.title,
    description: describe(panel),
    xLabel: panel.xLabel,
    yLabel: panel.yLabel,
    xMax,
    yDomain: panel.yDomain,
    yScale: panel.log ? 'log' : 'linear',
    yFormat: formatValue,
    series: panel.series,
    style,
    idPrefix: `${prefix}-${panel.key}`,
  });
}

/** Every panel stacked into one standalone SVG (the SVG and PNG exports). */
export function exportPanels(
  panels: readonly Panel[],
  prefix: string,
): { svg: string; width: number; height: number } {
  const width = 640;
  return stackSvgs(
    panels.map((p) => {
      const svg = panelSvg(p, width, EXPORT_STYLE, `${prefix}-export`);
      return { svg, width, height: svgHeight(svg) };
    }),
  );
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Long-format CSV: one row per point, with the provenance lines first (as # comments). */
export function panelsCsv(panels: readonly Panel[], provenance: readonly string[]): string {
  const rows = provenance.map((line) => `# ${line}`);
  rows.push('chart,line,x,value');
  for (const panel of panels) {
    for (const s of panel.series) {
      for (const p of s.points) {
        rows.push(
          [
            csvField(panel.title),
            csvField(s.label),
            String(p.x),
            p.y === null ? '' : String(p.y),
          ].join(','),
        );
      }
    }
  }
  return `${rows.join('\n')}\n`;
}
