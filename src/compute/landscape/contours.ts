/**
 * The maths of the contour view, shared by the explorer (2-D and 3-D views)
 * and the exports: the loss colour scale (viridis, linear or log10), contour
 * levels, and isolines by marching squares.
 *
 * Why our own marching squares rather than d3-contour (which @observablehq/plot
 * uses): d3-contour returns filled, closed polygons in pixel coordinates and
 * treats missing samples as −∞, so its rings run along the grid's border and
 * around every diverged point. A loss surface needs open isolines in (α, β)
 * that simply stop where a sample is missing, and the 3-D view needs the same
 * lines as segments to lift onto the mesh. Isolines of a grid are 100 lines.
 */

/**
 * Viridis (van der Walt and Smith, matplotlib; CC0) as 256 sRGB colours,
 * 6 hex digits each: the table d3-scale-chromatic's interpolateViridis
 * samples, which a unit test checks entry by entry. It is inlined because
 * the explorer's first paint needs it: importing d3-scale-chromatic there
 * would pull in every colour scheme, as @observablehq/plot (loaded later, for
 * the 1-D view) shares that module.
 */
const VIRIDIS =
  '44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668' +
  '48176948186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979' +
  '472a7a472c7a472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84' +
  '433d84433e85423f854240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a' +
  '3d4e8a3c4f8a3c508b3b518b3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d' +
  '355e8d355f8d34608d34618d33628d33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e' +
  '2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e' +
  '297b8e287c8e287d8e277e8e277f8e27808e26818e26828e26828e25838e25848e25858e24868e24878e23888e' +
  '23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d21918c20928c20928c20938c1f948c1f958b1f968b' +
  '1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f881fa0881fa1881fa1871fa28720a38620a486' +
  '21a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad8128ae8029af7f2ab07f2cb17e2db27d' +
  '2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc743fbc7340bd7242be7144bf70' +
  '46c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc8635ec96260ca6063cb5f' +
  '65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d84d44b86d549' +
  '89d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32addc30' +
  'b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a' +
  'd8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723' +
  'fde725';

/** How loss values map to colour and height: `lo` and `hi` in loss units. */
export interface LossScale {
  /** Map through log10 before scaling (Li et al. plot contours of the loss itself; log shows deep valleys). */
  log: boolean;
  /** Loss at the bottom of the scale (colour 0); lower values clip. */
  lo: number;
  /** Loss at the top of the scale (colour 1); higher values clip. */
  hi: number;
}

/** Losses are means of cross-entropy, ≥ 0; log10 needs a floor. */
const LOG_FLOOR = 1e-12;

/** The scale's transform T: loss ↦ loss or log10(loss). */
export function transformLoss(scale: Pick<LossScale, 'log'>, loss: number): number {
  return scale.log ? Math.log10(Math.max(loss, LOG_FLOOR)) : loss;
}

/** Inverse of {@link transformLoss}. */
export function untransformLoss(scale: Pick<LossScale, 'log'>, t: number): number {
  return scale.log ? 10 ** t : t;
}

/** (T(loss) − T(lo)) / (T(hi) − T(lo)) clipped to [0, 1]; NaN for a non-finite loss. */
export function scaleUnit(scale: LossScale, loss: number): number {
  if (!Number.isFinite(loss)) return Number.NaN;
  const t0 = transformLoss(scale, scale.lo);
  const t1 = transformLoss(scale, scale.hi);
  if (!(t1 > t0)) return 0.5;
  const u = (transformLoss(scale, loss) - t0) / (t1 - t0);
  return Math.min(1, Math.max(0, u));
}

/** Index of the viridis entry for u ∈ [0, 1] (clipped), as d3's ramp picks it: ⌊256·u⌋. */
function viridisIndex(u: number): number {
  return Math.max(0, Math.min(255, Math.floor((Number.isNaN(u) ? 0 : u) * 256)));
}

/** Viridis at u ∈ [0, 1] as sRGB bytes [r, g, b]. */
export function viridisRgb(u: number): [number, number, number] {
  const at = 6 * viridisIndex(u);
  return [
    Number.parseInt(VIRIDIS.slice(at, at + 2), 16),
    Number.parseInt(VIRIDIS.slice(at + 2, at + 4), 16),
    Number.parseInt(VIRIDIS.slice(at + 4, at + 6), 16),
  ];
}

/** Viridis at u ∈ [0, 1] as a CSS hex colour. */
export function viridisHex(u: number): string {
  const at = 6 * viridisIndex(u);
  return `#${VIRIDIS.slice(at, at + 6)}`;
}

/** Smallest and largest finite value over several value arrays; null when none is finite. */
export function finiteRange(
  arrays: readonly (readonly (number | null)[])[],
): { min: number; max: number } | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const values of arrays) {
    for (const v of values) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? { min, max } : null;
}

/**
 * `count` contour levels in loss units, evenly spaced in T-space strictly
 * inside (lo, hi): level k = T⁻¹(T(lo) + k/(count + 1)·(T(hi) − T(lo))).
 * Evenly spaced in log10 when the scale is log, as a topographic map of a
 * quantity that spans decades.
 */
export function contourLevels(scale: LossScale, count: number): number[] {
  const t0 = transformLoss(scale, scale.lo);
  const t1 = transformLoss(scale, scale.hi);
  if (!(t1 > t0) || count < 1) return [];
  const levels: number[] = [];
  for (let k = 1; k <= count; k++) {
    levels.push(untransformLoss(scale, t0 + (k / (count + 1)) * (t1 - t0)));
  }
  return levels;
}

/** A scalar field sampled on a rectilinear grid, row-major (y outer, x inner), NaN where missing. */
export interface GridField {
  xs: readonly number[];
  ys: readonly number[];
  values: ArrayLike<number>;
}

/** One isoline level: its polylines as flat [x0, y0, x1, y1, ...] coordinate lists in grid units (α, β). */
export interface Isoline {
  level: number;
  polylines: number[][];
}

/**
 * Marching squares. For each cell whose four corners are finite, the level
 * crosses an edge where its two corners lie on opposite sides; the crossing
 * is linearly interpolated along the edge. Two crossings make one segment;
 * four (a saddle) are paired by the mean of the corners, which decides
 * whether the cell's centre is above or below the level. A cell with a
 * missing corner draws nothing, so lines stop at diverged or uncomputed
 * points instead of wrapping around them.
 *
 * Each edge's crossing is computed from its corners in one fixed order, so
 * the two cells sharing an edge produce bit-identical endpoints and segments
 * join exactly into polylines.
 */
export function isolines(field: GridField, levels: readonly number[]): Isoline[] {
  const nx = field.xs.length;
  const ny = field.ys.length;
  if (field.values.length !== nx * ny) {
    throw new Error(`isolines: ${field.values.length} values for a ${nx} × ${ny} grid`);
  }
  return levels.map((level) => ({
    level,
    polylines: linkSegments(isolineSegments(field, level)),
  }));
}

/** The segments of one level, flat [x0, y0, x1, y1, ...]: what the 3-D view lifts onto the mesh. */
export function isolineSegments(field: GridField, level: number): number[] {
  const { xs, ys, values } = field;
  const nx = xs.length;
  const ny = ys.length;
  const out: number[] = [];
  const v = (i: number, j: number): number => values[j * nx + i] as number;
  // Crossing on the horizontal edge (i, j)–(i + 1, j) and the vertical edge (i, j)–(i, j + 1).
  const hx = (i: number, j: number): [number, number] => {
    const a = v(i, j);
    const t = (level - a) / (v(i + 1, j) - a);
    const x0 = xs[i] as number;
    return [x0 + t * ((xs[i + 1] as number) - x0), ys[j] as number];
  };
  const vy = (i: number, j: number): [number, number] => {
    const a = v(i, j);
    const t = (level - a) / (v(i, j + 1) - a);
    const y0 = ys[j] as number;
    return [xs[i] as number, y0 + t * ((ys[j + 1] as number) - y0)];
  };
  for (let j = 0; j + 1 < ny; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      // Corners: a (i, j) bottom-left, b (i+1, j), c (i+1, j+1), d (i, j+1).
      const a = v(i, j);
      const b = v(i + 1, j);
      const c = v(i + 1, j + 1);
      const d = v(i, j + 1);
      if (!(Number.isFinite(a) && Number.isFinite(b) && Number.isFinite(c) && Number.isFinite(d))) {
        continue;
      }
      const above = [a > level, b > level, c > level, d > level];
      // Edges in order bottom (a-b), right (b-c), top (d-c), left (a-d).
      const crosses = [
        above[0] !== above[1],
        above[1] !== above[2],
        above[3] !== above[2],
        above[0] !== above[3],
      ];
      const n = crosses.filter(Boolean).length;
      if (n === 0) continue;
      const point = (edge: number): [number, number] => {
        if (edge === 0) return hx(i, j);
        if (edge === 1) return vy(i + 1, j);
        if (edge === 2) return hx(i, j + 1);
        return vy(i, j);
      };
      const push = (e0: number, e1: number): void => {
        const p = point(e0);
        const q = point(e1);
        // A corner exactly at the level puts both crossings on that corner: no segment.
        if (p[0] !== q[0] || p[1] !== q[1]) out.push(p[0], p[1], q[0], q[1]);
      };
      if (n === 2) {
        const edges = [0, 1, 2, 3].filter((e) => crosses[e]);
        push(edges[0] as number, edges[1] as number);
        continue;
      }
      // Saddle: isolate the two corners on the other side of the centre from it.
      // The edges around corner a are (left, bottom); b: (bottom, right); c: (right, top); d: (top, left).
      const centreAbove = (a + b + c + d) / 4 > level;
      const around: [number, number][] = [
        [3, 0],
        [0, 1],
        [1, 2],
        [2, 3],
      ];
      for (let k = 0; k < 4; k++) {
        if (above[k] !== centreAbove) {
          const [e0, e1] = around[k] as [number, number];
          push(e0, e1);
        }
      }
    }
  }
  return out;
}

/** Join segments with bit-identical endpoints into polylines. */
function linkSegments(segments: readonly number[]): number[][] {
  const count = segments.length / 4;
  const key = (x: number, y: number): string => `${x},${y}`;
  const byEnd = new Map<string, number[]>();
  const add = (k: string, s: number): void => {
    const list = byEnd.get(k);
    if (list) list.push(s);
    else byEnd.set(k, [s]);
  };
  for (let s = 0; s < count; s++) {
    add(key(segments[4 * s] as number, segments[4 * s + 1] as number), s);
    add(key(segments[4 * s + 2] as number, segments[4 * s + 3] as number), s);
  }
  const used = new Uint8Array(count);
  // Walk from (x, y) along unused segments, appending points to `line`.
  const walk = (x: number, y: number, line: number[]): void => {
    let cx = x;
    let cy = y;
    for (;;) {
      const next = (byEnd.get(key(cx, cy)) ?? []).find((s) => used[s] === 0);
      if (next === undefined) return;
      used[next] = 1;
      const x0 = segments[4 * next] as number;
      const y0 = segments[4 * next + 1] as number;
      const x1 = segments[4 * next + 2] as number;
      const y1 = segments[4 * next + 3] as number;
      const forward = x0 === cx && y0 === cy;
      cx = forward ? x1 : x0;
      cy = forward ? y1 : y0;
      line.push(cx, cy);
    }
  };
  const lines: number[][] = [];
  for (let s = 0; s < count; s++) {
    if (used[s]) continue;
    used[s] = 1;
    const x0 = segments[4 * s] as number;
    const y0 = segments[4 * s + 1] as number;
    const x1 = segments[4 * s + 2] as number;
    const y1 = segments[4 * s + 3] as number;
    const ahead = [x1, y1];
    walk(x1, y1, ahead);
    const behind: number[] = [];
    walk(x0, y0, behind);
    const line: number[] = [];
    for (let k = behind.length - 2; k >= 0; k -= 2)
      line.push(behind[k] as number, behind[k + 1] as number);
    line.push(x0, y0, ...ahead);
    lines.push(line);
  }
  return lines;
}

/** A short label for a number: at most 4 significant digits, no trailing zeros. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1e4 || abs < 1e-3)
    return x
      .toExponential(2)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
  return String(Number(x.toPrecision(4)));
}
