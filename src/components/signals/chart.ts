/**
 * The signal figures' charts as SVG strings (what the page shows is what the
 * SVG and PNG exports contain, as in the training chart): a variance against
 * layer on a log axis, with the band over draws and the theory dashed, and a
 * stack of per-layer histograms. Values that are null, not finite or ≤ 0
 * (overflow, underflow) leave gaps.
 *
 *   ┌ title ───────────────────────────┐
 *   │ 10^k │ band ░░, measured ──,     │
 *   │      │ theory - - -              │
 *   │      └───────────────────────────│
 *   │        layer t                   │
 *   └──────────────────────────────────┘
 */
import { niceTicks } from '../../compute/ticks';
import { escapeXml } from '../training/chart';

export interface ChartStyle {
  /** Measured line and band. */
  measured: string;
  /** Theory line. */
  theory: string;
  text: string;
  grid: string;
  background: string | null;
  font: string;
}

export interface VarianceChartOptions {
  width: number;
  height: number;
  title: string;
  description: string;
  xLabel: string;
  yLabel: string;
  t: readonly number[];
  measured: readonly (number | null)[];
  /** Per layer: the smallest and largest value over draws. */
  band: readonly [number | null, number | null][];
  theory: readonly (number | null)[];
  style: ChartStyle;
  idPrefix: string;
  /** Labels of the measured and theory lines (drawn as a legend under the plot). */
  legend: { measured: string; band: string; theory: string };
}

const MARGIN = { top: 26, right: 14, bottom: 38 };

const usable = (v: number | null | undefined): v is number =>
  v !== null && v !== undefined && Number.isFinite(v) && v > 0;

/** Powers of ten covering [lo, hi], at most `max` of them (every k-th when the range is wide). */
export function decadeTicks(lo: number, hi: number, max = 6): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const stride = Math.max(1, Math.ceil((b - a) / (max - 1)));
  const ticks: number[] = [];
  for (let k = b; k >= a; k -= stride) ticks.unshift(k);
  return ticks.map((k) => 10 ** k);
}

/** 10^k as text: 1, 10, 0.1 near one, 1e-15 far from it. */
export function formatPower(v: number): string {
  const k = Math.round(Math.log10(v));
  if (k >= -2 && k <= 3) return String(Number(v.toPrecision(1)));
  return `1e${k}`;
}

function path(
  xs: readonly number[],
  ys: readonly (number | null)[],
  x: (v: number) => number,
  y: (v: number) => number,
): string {
  let d = '';
  let pen = false;
  xs.forEach((xv, i) => {
    const yv = ys[i];
    if (!usable(yv)) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${x(xv).toFixed(1)} ${y(yv).toFixed(1)}`;
    pen = true;
  });
  return d;
}

/** The band between per-draw extremes: one closed polygon per run of usable layers. */
function bandPath(
  xs: readonly number[],
  band: readonly [number | null, number | null][],
  x: (v: number) => number,
  y: (v: number) => number,
): string {
  let d = '';
  let run: number[] = [];
  const flush = () => {
    if (run.length > 0) {
      const top = run.map((i) => `${x(xs[i]!).toFixed(1)} ${y(band[i]![1]!).toFixed(1)}`);
      const bottom = run
        .map((i) => `${x(xs[i]!).toFixed(1)} ${y(band[i]![0]!).toFixed(1)}`)
        .reverse();
      d += `M${top.join('L')}L${bottom.join('L')}Z`;
    }
    run = [];
  };
  xs.forEach((_, i) => {
    const [lo, hi] = band[i] ?? [null, null];
    if (usable(lo) && usable(hi)) run.push(i);
    else flush();
  });
  flush();
  return d;
}

/** The y range: whole decades around every usable value. */
function yRange(o: VarianceChartOptions): [number, number] {
  const values = [...o.measured, ...o.theory, ...o.band.flatMap(([lo, hi]) => [lo, hi])].filter(
    usable,
  );
  const lo0 = values.length > 0 ? Math.min(...values) : 0.1;
  const hi0 = values.length > 0 ? Math.max(...values) : 10;
  const y0 = 10 ** Math.floor(Math.log10(lo0));
  let y1 = 10 ** Math.ceil(Math.log10(hi0));
  if (y1 <= y0) y1 = y0 * 10;
  return [y0, y1];
}

export function varianceChartSvg(o: VarianceChartOptions): string {
  const { style } = o;
  const [y0, y1] = yRange(o);
  const yTicks = decadeTicks(y0, y1);
  // Legend entries flow left to right and wrap (a phone-width chart takes two rows).
  const legendItems = [o.legend.measured, o.legend.band, o.legend.theory].map((label) => ({
    label,
    width: 34 + label.length * 6.4,
  }));
  const legendLeft = 30 + Math.max(...yTicks.map((t) => formatPower(t).length)) * 7;
  let rows = 1;
  let cursor = legendLeft;
  const placed = legendItems.map((item) => {
    if (cursor + item.width > o.width - MARGIN.right && cursor > legendLeft) {
      rows++;
      cursor = legendLeft;
    }
    const at = { ...item, x: cursor, row: rows - 1 };
    cursor += item.width + 10;
    return at;
  });
  const legendHeight = 18 * rows + 2;
  const plotH = Math.max(10, o.height - MARGIN.top - MARGIN.bottom - legendHeight);
  const left = 30 + Math.max(...yTicks.map((t) => formatPower(t).length)) * 7;
  const plotW = Math.max(10, o.width - left - MARGIN.right);
  const tMin = o.t[0] ?? 0;
  const tMax = Math.max(tMin + 1, o.t.at(-1) ?? 1);
  const x = (v: number) => left + ((v - tMin) / (tMax - tMin)) * plotW;
  const y = (v: number) => MARGIN.top + plotH - (Math.log(v / y0) / Math.log(y1 / y0)) * plotH;
  const titleId = `${o.idPrefix}-title`;
  const descId = `${o.idPrefix}-desc`;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${o.height}" viewBox="0 0 ${o.width} ${o.height}" ` +
      `role="img" aria-labelledby="${titleId} ${descId}" font-family="${escapeXml(style.font)}" font-size="12">`,
  );
  parts.push(`<title id="${titleId}">${escapeXml(o.title)}</title>`);
  parts.push(`<desc id="${descId}">${escapeXml(o.description)}</desc>`);
  if (style.background !== null)
    parts.push(`<rect width="${o.width}" height="${o.height}" fill="${style.background}"/>`);
  parts.push(
    `<text x="${left}" y="16" fill="${style.text}" font-weight="700">${escapeXml(o.title)}</text>`,
  );
  for (const t of yTicks) {
    const ty = y(t).toFixed(1);
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${ty}" y2="${ty}" stroke="${style.grid}"/>`,
    );
    parts.push(
      `<text x="${left - 6}" y="${ty}" dy="0.32em" text-anchor="end" fill="${style.text}">${formatPower(t)}</text>`,
    );
  }
  const bottom = MARGIN.top + plotH;
  for (const t of niceTicks(tMin, tMax, Math.max(2, Math.round(plotW / 70))).filter(
    (v) => Number.isInteger(v) && v >= tMin && v <= tMax,
  )) {
    const tx = x(t).toFixed(1);
    parts.push(
      `<line x1="${tx}" x2="${tx}" y1="${bottom}" y2="${bottom + 5}" stroke="${style.text}"/>`,
    );
    parts.push(
      `<text x="${tx}" y="${bottom + 17}" text-anchor="middle" fill="${style.text}">${t}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${bottom}" y2="${bottom}" stroke="${style.text}"/>`,
  );
  parts.push(
    `<text x="${left + plotW / 2}" y="${bottom + 32}" text-anchor="middle" fill="${style.text}">${escapeXml(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(12 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="${style.text}">${escapeXml(o.yLabel)}</text>`,
  );
  const band = bandPath(o.t, o.band, x, y);
  if (band)
    parts.push(
      `<path d="${band}" fill="${style.measured}" fill-opacity="0.18" stroke="none"><title>${escapeXml(o.legend.band)}</title></path>`,
    );
  const theory = path(o.t, o.theory, x, y);
  if (theory)
    parts.push(
      `<path class="theory" d="${theory}" fill="none" stroke="${style.theory}" stroke-width="2" stroke-dasharray="6 4"><title>${escapeXml(o.legend.theory)}</title></path>`,
    );
  const measured = path(o.t, o.measured, x, y);
  if (measured)
    parts.push(
      `<path class="measured" d="${measured}" fill="none" stroke="${style.measured}" stroke-width="2.25" stroke-linejoin="round"><title>${escapeXml(o.legend.measured)}</title></path>`,
    );
  // Legend: measured, band, theory.
  const swatch = [
    (lx: number, ly: number) =>
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${style.measured}" stroke-width="2.25"/>`,
    (lx: number, ly: number) =>
      `<rect x="${lx}" y="${ly - 5}" width="22" height="10" fill="${style.measured}" fill-opacity="0.18"/>`,
    (lx: number, ly: number) =>
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${style.theory}" stroke-width="2" stroke-dasharray="6 4"/>`,
  ];
  placed.forEach((item, i) => {
    const ly = o.height - legendHeight + 9 + item.row * 18;
    parts.push(swatch[i]!(item.x, ly));
    parts.push(
      `<text x="${item.x + 27}" y="${ly}" dy="0.32em" fill="${style.text}">${escapeXml(item.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface HistogramChartOptions {
  width: number;
  /** Height of each layer's row. */
  rowHeight: number;
  title: string;
  description: string;
  xLabel: string;
  lo: number;
  hi: number;
  /** One row per layer: its label and bin counts. */
  rows: { label: string; counts: readonly number[]; outside: number }[];
  colour: string;
  style: ChartStyle;
  idPrefix: string;
}

/**
 * Histograms of one quantity, one row per layer on a shared value axis
 * (Glorot & Bengio's figures 6–7 stacked): each row scaled to its own
 * tallest bin, so a layer whose values have shrunk to a spike shows as one.
 */
export function histogramChartSvg(o: HistogramChartOptions): string {
  const { style } = o;
  const top = 26;
  const left = 64;
  const right = 12;
  const height = top + o.rows.length * o.rowHeight + 40;
  const plotW = Math.max(10, o.width - left - right);
  const titleId = `${o.idPrefix}-title`;
  const descId = `${o.idPrefix}-desc`;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${height}" viewBox="0 0 ${o.width} ${height}" ` +
      `role="img" aria-labelledby="${titleId} ${descId}" font-family="${escapeXml(style.font)}" font-size="12">`,
  );
  parts.push(`<title id="${titleId}">${escapeXml(o.title)}</title>`);
  parts.push(`<desc id="${descId}">${escapeXml(o.description)}</desc>`);
  if (style.background !== null)
    parts.push(`<rect width="${o.width}" height="${height}" fill="${style.background}"/>`);
  parts.push(
    `<text x="${left}" y="16" fill="${style.text}" font-weight="700">${escapeXml(o.title)}</text>`,
  );
  const x = (v: number) => left + ((v - o.lo) / (o.hi - o.lo)) * plotW;
  o.rows.forEach((row, r) => {
    const base = top + (r + 1) * o.rowHeight;
    const peak = Math.max(1, ...row.counts);
    const bins = row.counts.length;
    const w = plotW / bins;
    let d = `M${left} ${base}`;
    row.counts.forEach((c, i) => {
      const h = (c / peak) * (o.rowHeight - 3);
      d += `L${(left + i * w).toFixed(1)} ${(base - h).toFixed(1)}L${(left + (i + 1) * w).toFixed(1)} ${(base - h).toFixed(1)}`;
    });
    d += `L${left + plotW} ${base}Z`;
    parts.push(
      `<path d="${d}" fill="${o.colour}" fill-opacity="0.55" stroke="${o.colour}" stroke-width="1"/>`,
    );
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${base}" y2="${base}" stroke="${style.grid}"/>`,
    );
    parts.push(
      `<text x="${left - 6}" y="${base - 3}" text-anchor="end" fill="${style.text}">${escapeXml(row.label)}</text>`,
    );
  });
  const bottom = top + o.rows.length * o.rowHeight;
  for (const t of niceTicks(o.lo, o.hi, Math.max(2, Math.round(plotW / 80)))) {
    if (t < o.lo || t > o.hi) continue;
    const tx = x(t).toFixed(1);
    parts.push(
      `<line x1="${tx}" x2="${tx}" y1="${bottom}" y2="${bottom + 5}" stroke="${style.text}"/>`,
    );
    parts.push(
      `<text x="${tx}" y="${bottom + 17}" text-anchor="middle" fill="${style.text}">${Number(t.toPrecision(3))}</text>`,
    );
  }
  parts.push(
    `<text x="${left + plotW / 2}" y="${bottom + 33}" text-anchor="middle" fill="${style.text}">${escapeXml(o.xLabel)}</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}
