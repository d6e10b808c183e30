/**
 * The path figures' charts as SVG strings: what the page shows and what the
 * SVG and PNG exports contain are the same markup, with no chart library.
 * One function draws every chart of the article: bars, lines and points
 * (with whiskers for a spread) over a linear or log y axis, an x interval
 * shaded (the effective range), a highlighted x (the length or block the
 * reader points at, shared by linked charts) and a reference level (chance).
 */
import { logTicks, niceTicks } from '../../compute/ticks';
import { escapeXml } from '../training/chart';

export interface PlotSeries {
  kind: 'bars' | 'line' | 'points';
  label: string;
  colour: string;
  xs: readonly number[];
  ys: readonly (number | null)[];
  /** ± this around each y (a standard deviation), drawn as whiskers. */
  errors?: readonly (number | null)[];
  /** Points drawn hollow (downsampling blocks). */
  hollow?: readonly boolean[];
  dashed?: boolean;
  /** Grouped bars: this series' share of each x's slot and its offset in it (−0.5 … 0.5). */
  barWidth?: number;
  barOffset?: number;
}

export interface PlotStyle {
  text: string;
  grid: string;
  background: string | null;
  font: string;
  band: string;
}

export interface PlotOptions {
  width: number;
  height: number;
  title: string;
  /** What the chart shows, for screen readers. */
  description: string;
  xLabel: string;
  yLabel: string;
  xDomain: [number, number];
  yDomain: [number, number];
  yScale?: 'linear' | 'log';
  xTicks?: readonly number[];
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  series: readonly PlotSeries[];
  band?: { lo: number; hi: number; label: string } | null;
  highlight?: number | null;
  reference?: { y: number; label: string } | null;
  style: PlotStyle;
  idPrefix: string;
  legend?: boolean;
}

const MARGIN = { top: 28, right: 14, bottom: 40, left: 54 };

/** A number with up to 3 significant digits, exponent form outside 1e-3 … 1e4. */
export function shortNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e4) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

export function plotSvg(o: PlotOptions): string {
  const { style } = o;
  const legendRows = o.legend ? o.series.length : 0;
  const height = o.height + legendRows * 16;
  const left = MARGIN.left;
  const right = o.width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = o.height - MARGIN.bottom;
  const [x0, x1] = o.xDomain;
  const [y0, y1] = o.yDomain;
  const log = o.yScale === 'log';
  const slot = (right - left) / Math.max(1, x1 - x0 + 1);
  // x values are categories centred in slots (lengths, blocks) when bars are drawn, else continuous.
  const categorical = o.series.some((s) => s.kind === 'bars');
  const x = (v: number) =>
    categorical
      ? left + (v - x0 + 0.5) * slot
      : left + ((v - x0) / (x1 - x0 || 1)) * (right - left);
  const y = (v: number) => {
    const t = log
      ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))
      : (v - y0) / (y1 - y0);
    return bottom - Math.min(1.02, Math.max(-0.02, t)) * (bottom - top);
  };
  const xFormat = o.xFormat ?? shortNumber;
  const yFormat = o.yFormat ?? shortNumber;
  const yTicks = log ? logTicks(y0, y1, 6) : niceTicks(y0, y1, 5);
  const xTicks =
    o.xTicks ?? niceTicks(x0, x1, 6).filter((t) => Number.isInteger(t) || !categorical);
  const parts: string[] = [];
  const id = o.idPrefix;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${height}" viewBox="0 0 ${o.width} ${height}" role="img" aria-labelledby="${id}-title ${id}-desc" font-family="${escapeXml(style.font)}" font-size="11">`,
    `<title id="${id}-title">${escapeXml(o.title)}</title>`,
    `<desc id="${id}-desc">${escapeXml(o.description)}</desc>`,
  );
  if (style.background) {
    parts.push(`<rect width="${o.width}" height="${height}" fill="${style.background}"/>`);
  }
  parts.push(
    `<text x="${left}" y="16" fill="${style.text}" font-size="12" font-weight="600">${escapeXml(o.title)}</text>`,
  );
  if (o.band) {
    const bx0 = categorical ? x(o.band.lo) - slot / 2 : x(o.band.lo);
    const bx1 = categorical ? x(o.band.hi) + slot / 2 : x(o.band.hi);
    parts.push(
      `<rect class="plot-band" x="${bx0.toFixed(1)}" y="${top}" width="${(bx1 - bx0).toFixed(1)}" height="${bottom - top}" fill="${style.band}"><title>${escapeXml(o.band.label)}</title></rect>`,
    );
  }
  for (const t of yTicks) {
    if (t < Math.min(y0, y1) || t > Math.max(y0, y1)) continue;
    const ty = y(t).toFixed(1);
    parts.push(
      `<line x1="${left}" x2="${right}" y1="${ty}" y2="${ty}" stroke="${style.grid}" stroke-width="0.5"/>`,
      `<text x="${left - 5}" y="${ty}" dy="0.32em" text-anchor="end" fill="${style.text}">${escapeXml(yFormat(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    if (t < x0 || t > x1) continue;
    const tx = x(t).toFixed(1);
    parts.push(
      `<line x1="${tx}" x2="${tx}" y1="${bottom}" y2="${bottom + 4}" stroke="${style.text}"/>`,
      `<text x="${tx}" y="${bottom + 15}" text-anchor="middle" fill="${style.text}">${escapeXml(xFormat(t))}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="${style.text}"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="${style.text}"/>`,
    `<text x="${(left + right) / 2}" y="${o.height - 6}" text-anchor="middle" fill="${style.text}">${escapeXml(o.xLabel)}</text>`,
    `<text transform="translate(12 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" fill="${style.text}">${escapeXml(o.yLabel)}</text>`,
  );
  if (o.reference) {
    const ry = y(o.reference.y).toFixed(1);
    parts.push(
      `<line x1="${left}" x2="${right}" y1="${ry}" y2="${ry}" stroke="${style.text}" stroke-dasharray="2 3" stroke-width="1"/>`,
    );
    if (o.reference.label) {
      parts.push(
        `<text x="${right - 2}" y="${ry}" dy="-0.4em" text-anchor="end" fill="${style.text}">${escapeXml(o.reference.label)}</text>`,
      );
    }
  }
  const valid = (v: number | null | undefined): v is number =>
    v !== null && v !== undefined && Number.isFinite(v) && (!log || v > 0);
  for (const s of o.series) {
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    if (s.kind === 'bars') {
      const w = slot * (s.barWidth ?? 0.8);
      const base = log ? y0 : Math.max(y0, 0);
      s.xs.forEach((xv, i) => {
        const v = s.ys[i];
        if (!valid(v)) return;
        const cx = x(xv) + (s.barOffset ?? 0) * slot;
        const top2 = Math.min(y(v), y(base));
        const h = Math.abs(y(base) - y(v));
        const hollow = s.hollow?.[i];
        parts.push(
          `<rect x="${(cx - w / 2).toFixed(1)}" y="${top2.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${hollow ? 'none' : s.colour}" stroke="${s.colour}" stroke-width="${hollow ? 1.5 : 0}"><title>${escapeXml(`${s.label}, ${o.xLabel.toLowerCase()} ${xFormat(xv)}: ${yFormat(v)}${hollow ? ' (downsampling)' : ''}`)}</title></rect>`,
        );
      });
    }
    if (s.kind === 'line') {
      let d = '';
      let pen = false;
      s.xs.forEach((xv, i) => {
        const v = s.ys[i];
        if (!valid(v)) {
          pen = false;
          return;
        }
        d += `${pen ? 'L' : 'M'}${x(xv).toFixed(1)} ${y(v).toFixed(1)}`;
        pen = true;
      });
      if (d)
        parts.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="1.75"${dash}/>`);
    }
    if (s.kind === 'line' || s.kind === 'points') {
      s.xs.forEach((xv, i) => {
        const v = s.ys[i];
        if (!valid(v)) return;
        const e = s.errors?.[i];
        const cx = x(xv).toFixed(1);
        if (valid(e) && e > 0) {
          const lo = log ? Math.max(v - e, y0) : v - e;
          parts.push(
            `<line x1="${cx}" x2="${cx}" y1="${y(lo).toFixed(1)}" y2="${y(v + e).toFixed(1)}" stroke="${s.colour}" stroke-width="1" opacity="0.7"/>`,
          );
        }
        parts.push(
          `<circle cx="${cx}" cy="${y(v).toFixed(1)}" r="${s.kind === 'points' ? 3 : 2.2}" fill="${s.hollow?.[i] ? 'none' : s.colour}" stroke="${s.colour}"><title>${escapeXml(`${s.label}, ${o.xLabel.toLowerCase()} ${xFormat(xv)}: ${yFormat(v)}${valid(e) ? ` ± ${yFormat(e)}` : ''}`)}</title></circle>`,
        );
      });
    }
  }
  if (o.highlight !== null && o.highlight !== undefined && o.highlight >= x0 && o.highlight <= x1) {
    const hx = x(o.highlight).toFixed(1);
    parts.push(
      `<line class="plot-highlight" x1="${hx}" x2="${hx}" y1="${top}" y2="${bottom}" stroke="${style.text}" stroke-width="1" opacity="0.6"/>`,
    );
  }
  o.series.forEach((s, i) => {
    if (!o.legend) return;
    const ly = o.height + i * 16;
    parts.push(
      `<rect x="${left}" y="${ly - 8}" width="12" height="8" fill="${s.colour}"/>`,
      `<text x="${left + 18}" y="${ly}" fill="${style.text}">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Where, in data x, a pointer at `px` (CSS pixels from the chart's left) falls. */
export function xAtPixel(
  o: Pick<PlotOptions, 'width' | 'xDomain'>,
  px: number,
  categorical: boolean,
): number {
  const left = MARGIN.left;
  const right = o.width - MARGIN.right;
  const [x0, x1] = o.xDomain;
  if (categorical) {
    const slot = (right - left) / Math.max(1, x1 - x0 + 1);
    return Math.round(x0 + (px - left) / slot - 0.5);
  }
  return x0 + ((px - left) / (right - left)) * (x1 - x0);
}

/** Rows as CSV, values quoted where needed. */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | null | boolean)[])[],
): string {
  const cell = (v: string | number | null | boolean) => {
    if (v === null) return '';
    const t = String(v);
    return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}
