/**
 * The contour view as SVG text: per panel a heatmap of the loss on the shared
 * viridis scale, isolines, θ* and axes, and a colour bar. The explorer draws
 * its 2-D view with it and the SVG export writes it to a file, so what a
 * reader saves is what they saw. Pure: no DOM, text in and out.
 */
import {
  contourLevels,
  finiteRange,
  formatNumber,
  isolines,
  scaleUnit,
  transformLoss,
  viridisHex,
  type LossScale,
} from './contours';
import type { Surface } from './surface';
import { logTicks, niceTicks } from '../ticks';

/** Escape text for XML character data and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** One panel of the contour figure. */
export interface ContourPanel {
  /** The values drawn are `surface.loss` (another quantity on a grid can take its place there). */
  surface: Surface;
  /** Title above the panel, e.g. "ResNet-56, with skips". */
  title: string;
  /** A path drawn over the plane, e.g. a training trajectory projected on it (in α, β). */
  path?: { x: readonly number[]; y: readonly number[] };
}

export interface ContourSvgOptions {
  panels: ContourPanel[];
  /** The shared colour scale of every panel. */
  scale: LossScale;
  /** Number of contour levels inside the scale. */
  levels: number;
  /** Side of each square panel in px. */
  panelSize?: number;
  /** Prefix for element ids (hatch pattern, title), unique per page. */
  idPrefix?: string;
  /** Draw the colour bar (the explorer shows one per panel when panels stack). */
  colourBar?: boolean;
  /** Draw each panel's title above it (the explorer shows its own titles). Default true. */
  titles?: boolean;
  /** Fill behind the cells, where points are not computed; default a translucent grey. */
  plotBackground?: string;
  /** What the colours show, for the colour bar and the description; default 'loss'. */
  quantity?: string;
  /** The accessible description's first sentence; default: the loss over a plane of two directions. */
  description?: string;
  /** Text for a <metadata> element (escaped here), e.g. each panel's metadata and command as JSON. */
  metadata?: string;
}

/** Where things are in the SVG, so a pointer position maps back to (α, β). */
export interface ContourSvgLayout {
  width: number;
  height: number;
  /** Plot rectangle of each panel in SVG px, and the α, β range it spans. */
  panels: {
    x: number;
    y: number;
    size: number;
    xDomain: [number, number];
    yDomain: [number, number];
  }[];
}

/**
 * Text at 14 SVG px: the view is drawn 320 px a panel and shown at about a
 * column's width, so on the page it reads at some 12 px (11 at the old size
 * read as 9 px beside the article's text); margins leave room for it.
 */
const MARGIN = { left: 54, top: 30, bottom: 44, gap: 32, bar: 80 };
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="14"';

/** Cell edges around grid values: midpoints between neighbours, the end values at the ends. */
function cellEdges(values: readonly number[]): number[] {
  const edges = [values[0] as number];
  for (let k = 0; k + 1 < values.length; k++) {
    edges.push(((values[k] as number) + (values[k + 1] as number)) / 2);
  }
  edges.push(values[values.length - 1] as number);
  return edges;
}

/** Round a coordinate for compact SVG. */
const r2 = (x: number): string => String(Math.round(x * 100) / 100);

/**
 * The contour view as a standalone SVG: per panel a heatmap of the loss on
 * the shared viridis scale (cells centred on the grid points), isolines at
 * the contour levels, θ* marked at the origin, α and β axes; a colour bar
 * with the contour levels; diverged points hatched, uncomputed points left
 * grey. Accessible: role="img" with a <title> and <desc>.
 */
export function contourSvg(options: ContourSvgOptions): { svg: string; layout: ContourSvgLayout } {
  const size = options.panelSize ?? 320;
  const id = options.idPrefix ?? 'skipscape-contour';
  const withBar = options.colourBar ?? true;
  const { scale } = options;
  const quantity = options.quantity ?? 'loss';
  const levels = contourLevels(scale, options.levels);
  const n = options.panels.length;
  const width = MARGIN.left + n * size + (n - 1) * MARGIN.gap + (withBar ? MARGIN.bar : 12);
  const height = MARGIN.top + size + MARGIN.bottom;
  const layout: ContourSvgLayout = { width, height, panels: [] };
  const body: string[] = [];

  options.panels.forEach((panel, p) => {
    const { surface } = panel;
    const { xs, ys } = surface;
    const x0 = MARGIN.left + p * (size + MARGIN.gap);
    const y0 = MARGIN.top;
    const xDomain: [number, number] = [xs[0] as number, xs[xs.length - 1] as number];
    const yDomain: [number, number] =
      ys.length > 1 ? [ys[0] as number, ys[ys.length - 1] as number] : [-0.5, 0.5];
    layout.panels.push({ x: x0, y: y0, size, xDomain, yDomain });
    const sx = (a: number): number =>
      x0 +
      (xDomain[1] > xDomain[0] ? ((a - xDomain[0]) / (xDomain[1] - xDomain[0])) * size : size / 2);
    const sy = (b: number): number =>
      y0 + size - ((b - yDomain[0]) / (yDomain[1] - yDomain[0])) * size;
    const xe = cellEdges(xs);
    const ye = ys.length > 1 ? cellEdges(ys) : [yDomain[0], yDomain[1]];
    const nx = xs.length;
    const cells: string[] = [];
    const hatched: string[] = [];
    for (let j = 0; j < ys.length; j++) {
      for (let i = 0; i < nx; i++) {
        const k = j * nx + i;
        const left = sx(xe[i] as number);
        const right = sx(xe[i + 1] as number);
        const top = sy(ye[j + 1] as number);
        const bottom = sy(ye[j] as number);
        const rect = `x="${r2(left)}" y="${r2(top)}" width="${r2(right - left)}" height="${r2(bottom - top)}"`;
        const loss = surface.loss[k];
        if (loss !== null && loss !== undefined && Number.isFinite(loss)) {
          cells.push(`<rect ${rect} fill="${viridisHex(scaleUnit(scale, loss))}"/>`);
        } else if (surface.mask[k] === 1) {
          hatched.push(`<rect ${rect}/>`);
        }
      }
    }
    const field = {
      xs,
      ys,
      values: Float64Array.from(surface.loss, (v) =>
        v === null || !Number.isFinite(v) ? Number.NaN : transformLoss(scale, v),
      ),
    };
    const paths = isolines(
      field,
      levels.map((l) => transformLoss(scale, l)),
    ).flatMap((iso) =>
      iso.polylines.map((line) => {
        let d = '';
        for (let q = 0; q < line.length; q += 2) {
          d += `${q === 0 ? 'M' : 'L'}${r2(sx(line[q] as number))} ${r2(sy(line[q + 1] as number))}`;
        }
        return `<path d="${d}"/>`;
      }),
    );
    const xTicks = niceTicks(xDomain[0], xDomain[1], 4);
    const yTicks = ys.length > 1 ? niceTicks(yDomain[0], yDomain[1], 4) : [];
    const axis: string[] = [];
    for (const t of xTicks) {
      const x = r2(sx(t));
      axis.push(
        `<line x1="${x}" x2="${x}" y1="${y0 + size}" y2="${y0 + size + 4}" stroke="currentColor"/>`,
        `<text x="${x}" y="${y0 + size + 18}" text-anchor="middle">${formatNumber(t)}</text>`,
      );
    }
    for (const t of yTicks) {
      const y = r2(sy(t));
      axis.push(
        `<line x1="${x0 - 4}" x2="${x0}" y1="${y}" y2="${y}" stroke="currentColor"/>`,
        `<text x="${x0 - 6}" y="${y}" dy="0.32em" text-anchor="end">${formatNumber(t)}</text>`,
      );
    }
    axis.push(
      `<text x="${x0 + size / 2}" y="${y0 + size + 37}" text-anchor="middle">α</text>`,
      `<text x="${x0 - 42}" y="${y0 + size / 2}" dy="0.32em" text-anchor="middle">β</text>`,
    );
    // θ* in white over the colours, in the text colour on a bare plane.
    const mark = options.plotBackground === 'none' ? 'currentColor' : '#fff';
    const origin =
      xDomain[0] <= 0 && xDomain[1] >= 0 && yDomain[0] <= 0 && yDomain[1] >= 0
        ? `<g stroke="${mark}" stroke-width="1.5"><line x1="${r2(sx(0) - 5)}" x2="${r2(sx(0) + 5)}" y1="${r2(sy(0))}" y2="${r2(sy(0))}"/><line x1="${r2(sx(0))}" x2="${r2(sx(0))}" y1="${r2(sy(0) - 5)}" y2="${r2(sy(0) + 5)}"/></g><text x="${r2(sx(0) + 6)}" y="${r2(sy(0) - 6)}" fill="${mark}">θ*</text>`
        : '';
    const path = panel.path;
    const overlay =
      path && path.x.length > 0
        ? `<clipPath id="${id}-clip-${p}"><rect x="${x0}" y="${y0}" width="${size}" height="${size}"/></clipPath><g class="path" clip-path="url(#${id}-clip-${p})"><polyline points="${path.x.map((x, q) => `${r2(sx(x))},${r2(sy(path.y[q] ?? 0))}`).join(' ')}" fill="none" stroke="#000" stroke-opacity="0.5" stroke-width="3.5"/><polyline points="${path.x.map((x, q) => `${r2(sx(x))},${r2(sy(path.y[q] ?? 0))}`).join(' ')}" fill="none" stroke="#fff" stroke-width="1.5"/>${path.x.map((x, q) => `<circle cx="${r2(sx(x))}" cy="${r2(sy(path.y[q] ?? 0))}" r="2.5" fill="#fff" stroke="#000" stroke-opacity="0.5"/>`).join('')}</g>`
        : '';
    body.push(
      `<g class="panel">`,
      options.titles === false
        ? ''
        : `<text x="${x0}" y="${y0 - 10}" font-weight="600">${escapeXml(panel.title)}</text>`,
      `<rect x="${x0}" y="${y0}" width="${size}" height="${size}" fill="${options.plotBackground ?? '#8888'}"/>`,
      `<g shape-rendering="crispEdges">${cells.join('')}</g>`,
      hatched.length > 0 ? `<g fill="url(#${id}-nan)">${hatched.join('')}</g>` : '',
      `<g fill="none" stroke="#fff" stroke-opacity="0.6" stroke-width="0.8">${paths.join('')}</g>`,
      overlay,
      origin,
      `<rect x="${x0}" y="${y0}" width="${size}" height="${size}" fill="none" stroke="currentColor" stroke-opacity="0.5"/>`,
      axis.join(''),
      `</g>`,
    );
  });

  if (withBar) {
    const bx = MARGIN.left + n * size + (n - 1) * MARGIN.gap + 14;
    const by = MARGIN.top;
    const stops: string[] = [];
    for (let k = 0; k <= 16; k++) {
      stops.push(`<stop offset="${k / 16}" stop-color="${viridisHex(k / 16)}"/>`);
    }
    const t0 = transformLoss(scale, scale.lo);
    const t1 = transformLoss(scale, scale.hi);
    const barY = (loss: number): number =>
      by + size - ((transformLoss(scale, loss) - t0) / (t1 - t0)) * size;
    const ticks = scale.log ? logTicks(scale.lo, scale.hi) : niceTicks(scale.lo, scale.hi, 5);
    const tickMarks = ticks
      .map(
        (t) =>
          `<line x1="${bx + 10}" x2="${bx + 14}" y1="${r2(barY(t))}" y2="${r2(barY(t))}" stroke="currentColor"/><text x="${bx + 16}" y="${r2(barY(t))}" dy="0.32em">${formatNumber(t)}</text>`,
      )
      .join('');
    const levelMarks = levels
      .map((l) => `<line x1="${bx}" x2="${bx + 10}" y1="${r2(barY(l))}" y2="${r2(barY(l))}"/>`)
      .join('');
    body.push(
      `<g class="colour-bar">`,
      // Right-aligned over the bar, so a long label runs back over the empty end of the title row.
      `<text x="${bx + 48}" y="${by - 10}" text-anchor="end">${escapeXml(quantity)}</text>`,
      `<rect x="${bx}" y="${by}" width="10" height="${size}" fill="url(#${id}-bar)"/>`,
      `<g stroke="#fff" stroke-opacity="0.7">${levelMarks}</g>`,
      tickMarks,
      `</g>`,
    );
    body.unshift(
      `<defs><linearGradient id="${id}-bar" x1="0" x2="0" y1="1" y2="0">${stops.join('')}</linearGradient></defs>`,
    );
  }

  const names = options.panels.map((panel) => panel.title).join('; ');
  const description =
    `${options.description ?? 'Loss f(α, β) = L(θ* + αδ + βη) over the plane of two filter-normalised directions.'} ` +
    `Coloured by ${quantity} (${scale.log ? 'log' : 'linear'} scale from ${formatNumber(scale.lo)} to ${formatNumber(scale.hi)}) ` +
    `with ${levels.length} contour lines. ` +
    options.panels
      .map((panel) => {
        const range = finiteRange([panel.surface.loss]);
        return range
          ? `${panel.title}: ${quantity} from ${formatNumber(range.min)} to ${formatNumber(range.max)}.`
          : `${panel.title}: no finite values.`;
      })
      .join(' ');
  const metadata =
    options.metadata === undefined ? '' : `<metadata>${escapeXml(options.metadata)}</metadata>`;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${id}-title ${id}-desc" ${FONT} fill="currentColor">` +
    `<title id="${id}-title">${escapeXml(names)}</title>` +
    `<desc id="${id}-desc">${escapeXml(description)}</desc>` +
    metadata +
    `<defs><pattern id="${id}-nan" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c0392b" stroke-width="2"/></pattern></defs>` +
    body.join('') +
    `</svg>`;
  return { svg, layout };
}
