/**
 * A small line chart as an SVG string: what the figure shows on screen and
 * what its SVG and PNG exports contain are the same markup, and drawing it
 * needs no chart library (the figure's JavaScript stays within the page's
 * budget). Lines break at null values, which is how missing and non-finite
 * points show.
 *
 *   ┌ title ──────────────────────┐
 *   │ y ticks │  lines, dots      │
 *   │         └───────────────────│
 *   │            x ticks, label   │
 *   │ legend (exports only)       │
 *   └─────────────────────────────┘
 */
import { logTicks, niceTicks } from '../../compute/ticks';
import { LIVE_DASH } from '../figure/colours';
import type { RunName, Series } from './history';

/**
 * Line styles: one colour per network (figure/colours.ts); a shipped run's
 * training curve solid and its test curve dotted, both at full strength; a
 * live run's lines dashed.
 */
export const TEST_DASH = '1.5 4.5';

/** The stroke-dasharray of a series, or null for a solid line. */
export function dashOf(s: Pick<Series, 'source' | 'split'>): string | null {
  if (s.source === 'live') return LIVE_DASH;
  return s.split === 'test' ? TEST_DASH : null;
}

export interface ChartStyle {
  /** Colour of each run's lines. */
  colours: Record<RunName, string>;
  /** Text and axis colour ('currentColor' on screen, a fixed colour in exports). */
  text: string;
  /** Gridline colour. */
  grid: string;
  /** Filled behind everything, or null for transparent. */
  background: string | null;
  font: string;
}

export interface ChartOptions {
  width: number;
  height: number;
  title: string;
  /** What the chart shows, for screen readers. */
  description: string;
  xLabel: string;
  yLabel: string;
  /** The x axis runs from 0 to xMax. */
  xMax: number;
  /**
   * A fixed y range, or null for the values shown: [0, the largest, rounded
   * up] on a linear axis, whole decades around them on a log axis.
   */
  yDomain: [number, number] | null;
  /** 'log' spreads losses that span decades (a plain net's early test loss); values ≤ 0 become gaps. */
  yScale?: 'linear' | 'log';
  yFormat: (value: number) => string;
  series: Series[];
  style: ChartStyle;
  /** Unique per chart on a page: ids of its title and description. */
  idPrefix: string;
  /** Draw a legend under the plot (for exports; the page has its own). */
  legend?: boolean;
  /**
   * Without a yDomain on a linear axis: fit the range to the values shown
   * (from a tick below the smallest to one above the largest) instead of
   * starting at 0, for curves that all lie in a narrow band (a live run's
   * first minute of losses, between about 1.5 and 3).
   */
  yFit?: boolean;
}

const MARGIN = { top: 28, right: 16, bottom: 40, left: 48 };
const LEGEND_ROW = 18;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Whole decades around the positive values: [10^⌊log₁₀ min⌋, 10^⌈log₁₀ max⌉]. */
export function logDomain(values: readonly number[]): [number, number] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return [0.1, 10];
  const lo = 10 ** Math.floor(Math.log10(Math.min(...positive)));
  let hi = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
  if (hi <= lo) hi = lo * 10;
  return [lo, hi];
}

/** A linear range around the values that starts and ends on ticks. */
export function fitDomain(values: readonly number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const spread = hi - lo || Math.abs(hi) || 1;
  const ticks = niceTicks(lo - 0.05 * spread, hi + 0.05 * spread, 5);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : spread;
  const from = ticks[0]! > lo ? ticks[0]! - step : ticks[0]!;
  const to = ticks.at(-1)! < hi ? ticks.at(-1)! + step : ticks.at(-1)!;
  return [from, to];
}

/** The smallest tick at or above `value` (for a y range that ends on a gridline). */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const ticks = niceTicks(0, value, 5);
  const last = ticks.at(-1)!;
  if (last >= value) return last;
  return last + (ticks.length > 1 ? ticks[1]! - ticks[0]! : value);
}

/** Legend entries for the series shown: one per run and source, and one per split. */
export function legendEntries(
  series: readonly Series[],
): { label: string; run: RunName | null; source: Series['source']; dash: string | null }[] {
  const entries: {
    label: string;
    run: RunName | null;
    source: Series['source'];
    dash: string | null;
  }[] = [];
  for (const source of ['shipped', 'live'] as const) {
    for (const run of ['skip', 'noskip'] as const) {
      if (series.some((s) => s.run === run && s.source === source)) {
        entries.push({
          label: `${source === 'shipped' ? 'shipped run' : 'live run'}, ${run === 'skip' ? 'with skips' : 'without skips'}`,
          run,
          source,
          dash: source === 'live' ? LIVE_DASH : null,
        });
      }
    }
  }
  if (series.some((s) => s.source === 'shipped')) {
    entries.push({ label: 'training', run: null, source: 'shipped', dash: null });
    entries.push({ label: 'test', run: null, source: 'shipped', dash: TEST_DASH });
  }
  return entries;
}

/** The path data of a series: one subpath per run of non-null points. */
function pathData(
  points: Series['points'],
  x: (v: number) => number,
  y: (v: number) => number,
): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.y === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(p.x).toFixed(1)} ${y(p.y).toFixed(1)}`;
    pen = true;
  }
  return d;
}

export function lineChartSvg(o: ChartOptions): string {
  const { style } = o;
  const entries = o.legend ? legendEntries(o.series) : [];
  // Legend rows: entries flow left to right and wrap.
  const legendItems: { x: number; row: number; entry: (typeof entries)[number] }[] = [];
  let cursor = MARGIN.left;
  let row = 0;
  for (const entry of entries) {
    const w = 34 + entry.label.length * 6.4;
    if (cursor + w > o.width - MARGIN.right && cursor > MARGIN.left) {
      row++;
      cursor = MARGIN.left;
    }
    legendItems.push({ x: cursor, row, entry });
    cursor += w + 12;
  }
  const legendHeight = entries.length > 0 ? (row + 1) * LEGEND_ROW + 6 : 0;
  const height = o.height + legendHeight;
  const plotH = Math.max(10, o.height - MARGIN.top - MARGIN.bottom);
  const log = o.yScale === 'log';
  const shown = (v: number | null): v is number => v !== null && (!log || v > 0);
  const values = o.series.flatMap((s) => s.points.flatMap((p) => (shown(p.y) ? [p.y] : [])));
  const [y0, y1] =
    o.yDomain ??
    (log
      ? logDomain(values)
      : o.yFit && values.length > 0
        ? fitDomain(values)
        : [0, niceCeiling(values.length > 0 ? Math.max(...values) : 1)]);
  const yTicks = log ? logTicks(y0, y1) : niceTicks(y0, y1, Math.max(2, Math.round(plotH / 45)));
  // Room on the left for the widest tick label (about 7 px a character at 12 px) and the axis label.
  const left = 26 + Math.max(...yTicks.map((t) => o.yFormat(t).length)) * 7;
  const plotW = Math.max(10, o.width - left - MARGIN.right);
  const xMax = o.xMax > 0 ? o.xMax : 1;
  const x = (v: number) => left + (v / xMax) * plotW;
  const unit = (v: number) =>
    log ? Math.log(v / y0) / Math.log(y1 / y0 || 10) : (v - y0) / (y1 - y0 || 1);
  const y = (v: number) => MARGIN.top + plotH - unit(v) * plotH;
  // Points a log axis cannot show are gaps, like non-finite ones.
  const series = o.series.map((s) =>
    log ? { ...s, points: s.points.map((p) => (shown(p.y) ? p : { x: p.x, y: null })) } : s,
  );

  const parts: string[] = [];
  const titleId = `${o.idPrefix}-title`;
  const descId = `${o.idPrefix}-desc`;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${height}" viewBox="0 0 ${o.width} ${height}" ` +
      `role="img" aria-labelledby="${titleId} ${descId}" font-family="${escapeXml(style.font)}" font-size="12">`,
  );
  parts.push(`<title id="${titleId}">${escapeXml(o.title)}</title>`);
  parts.push(`<desc id="${descId}">${escapeXml(o.description)}</desc>`);
  if (style.background !== null) {
    parts.push(`<rect width="${o.width}" height="${height}" fill="${style.background}"/>`);
  }
  parts.push(
    `<text x="${left}" y="16" fill="${style.text}" font-weight="700">${escapeXml(o.title)}</text>`,
  );

  // Grid and ticks.
  for (const t of yTicks) {
    const ty = y(t).toFixed(1);
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${ty}" y2="${ty}" stroke="${style.grid}" stroke-width="1"/>`,
    );
    parts.push(
      `<text x="${left - 6}" y="${ty}" dy="0.32em" text-anchor="end" fill="${style.text}">${escapeXml(o.yFormat(t))}</text>`,
    );
  }
  // Whole epochs once there are two or more.
  const xTicks = niceTicks(0, xMax, Math.max(2, Math.round(plotW / 60))).filter(
    (t) => Number.isInteger(t) || xMax < 2,
  );
  for (const t of xTicks) {
    const tx = x(t).toFixed(1);
    parts.push(
      `<line x1="${tx}" x2="${tx}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 5}" stroke="${style.text}"/>`,
    );
    parts.push(
      `<text x="${tx}" y="${MARGIN.top + plotH + 17}" text-anchor="middle" fill="${style.text}">${t}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="${style.text}"/>`,
  );
  parts.push(
    `<text x="${left + plotW / 2}" y="${MARGIN.top + plotH + 34}" text-anchor="middle" fill="${style.text}">${escapeXml(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(12 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="${style.text}">${escapeXml(o.yLabel)}</text>`,
  );

  // Shipped lines under live ones.
  const ordered = [...series].sort(
    (a, b) => Number(a.source === 'live') - Number(b.source === 'live'),
  );
  for (const s of ordered) {
    const d = pathData(s.points, x, y);
    const colour = style.colours[s.run];
    if (d !== '') {
      const dash = dashOf(s);
      parts.push(
        `<path d="${d}" fill="none" stroke="${colour}" stroke-width="2.25" ` +
          `stroke-linejoin="round" stroke-linecap="round" data-source="${s.source}" data-split="${s.split}"` +
          `${dash ? ` stroke-dasharray="${dash}"` : ''}><title>${escapeXml(s.label)}</title></path>`,
      );
    }
    // Dots where asked for, and wherever a point has no neighbour to draw a line to.
    const lone = (i: number) =>
      (s.points[i - 1]?.y ?? null) === null && (s.points[i + 1]?.y ?? null) === null;
    for (const [i, p] of s.points.entries()) {
      if (p.y === null || !(s.dots || lone(i))) continue;
      parts.push(
        `<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3.5" fill="${colour}" data-source="${s.source}"/>`,
      );
    }
  }
  if (o.series.length === 0) {
    parts.push(
      `<text x="${left + plotW / 2}" y="${MARGIN.top + plotH / 2}" text-anchor="middle" fill="${style.text}">no curves yet</text>`,
    );
  }

  for (const item of legendItems) {
    const ly = o.height + item.row * LEGEND_ROW + 10;
    const colour = item.entry.run ? style.colours[item.entry.run] : style.text;
    parts.push(
      `<line x1="${item.x}" x2="${item.x + 26}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2.25" stroke-linecap="round"` +
        `${item.entry.dash ? ` stroke-dasharray="${item.entry.dash}"` : ''}/>`,
    );
    parts.push(
      `<text x="${item.x + 32}" y="${ly}" dy="0.32em" fill="${style.text}">${escapeXml(item.entry.label)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Several charts stacked into one standalone SVG document (the SVG and PNG exports). */
export function stackSvgs(charts: { svg: string; width: number; height: number }[]): {
  svg: string;
  width: number;
  height: number;
} {
  const width = Math.max(...charts.map((c) => c.width));
  let offset = 0;
  const inner = charts.map((c) => {
    const placed = c.svg.replace('<svg ', `<svg x="0" y="${offset}" `);
    offset += c.height;
    return placed;
  });
  return {
    svg:
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${offset}" viewBox="0 0 ${width} ${offset}">` +
      inner.join('') +
      '</svg>\n',
    width,
    height: offset,
  };
}

/** The height lineChartSvg gives a chart of `height` plus its legend, from its markup. */
export function svgHeight(svg: string): number {
  const m = /height="(\d+(?:\.\d+)?)"/.exec(svg);
  return m ? Number(m[1]) : 0;
}
