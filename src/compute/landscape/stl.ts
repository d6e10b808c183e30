/**
 * Binary STL of a loss surface, closed into a solid that a slicer prints as
 * it is: the height field on top, a side wall down from every border segment,
 * and a flat base. Pure: a Surface in, bytes out (no DOM, no three).
 *
 * Scale, in millimetres (STL has no unit; slicers read millimetres):
 *   - footprint: α and β keep their proportions, and the longer of the two
 *     axis spans is {@link STL_FOOTPRINT_MM} (100 mm);
 *   - relief: the surface's lowest height sits {@link STL_BASE_MM} (5 mm)
 *     above the base (z = 0), its highest {@link STL_RELIEF_RATIO} × 100 mm
 *     = 50 mm higher still, linearly in between; `heightScale` multiplies that
 *     50 mm, so `--height-scale 0.5` prints a relief of 25 mm;
 *   - height = loss, or log10(loss) with `log` (as for OBJ and glTF).
 * The scale is fixed by the surface's own range so any surface prints at a
 * size a desktop printer takes, whatever its loss units; the header says
 * which loss range the relief spans.
 *
 * A diverged point (computed, loss NaN or ±∞) stands at the top of the
 * relief: its loss is at least as high as anything measured. A point not yet
 * computed has no height at all, so a partial surface is refused (finish the
 * run with `--resume`). A 1-D curve has no surface to print.
 *
 * Triangles, with outward normals and counter-clockwise winding seen from
 * outside (the STL convention), for an nx × ny grid:
 *   top    2 (nx−1)(ny−1)   base 2 (nx−1)(ny−1)   walls 4 (nx−1) + 4 (ny−1)
 * Every vertex of the top's border has its own copy on the base, and the base
 * is triangulated on the same grid, so each edge is shared by exactly two
 * triangles: the solid is closed (watertight) and manifold.
 */
import { transformLoss } from './contours';
import type { Surface } from './surface';

/** The longer side of the printed footprint, in mm. */
export const STL_FOOTPRINT_MM = 100;
/** Thickness of the solid under the surface's lowest point, in mm. */
export const STL_BASE_MM = 5;
/** Relief (highest − lowest point) as a fraction of the footprint, at heightScale 1. */
export const STL_RELIEF_RATIO = 0.5;

export interface StlOptions {
  /** Heights from log10(loss) instead of the loss. */
  log?: boolean;
  /** Multiplies the relief (default 1: 50 mm for a 100 mm footprint). */
  heightScale?: number;
}

/** Triangles of the closed solid on an nx × ny grid. */
export function stlTriangleCount(nx: number, ny: number): number {
  return 4 * (nx - 1) * (ny - 1) + 4 * (nx - 1) + 4 * (ny - 1);
}

/** The relief's heights in mm above the base for each grid point, and the loss range they span. */
function printHeights(
  surface: Surface,
  options: StlOptions,
): { z: Float64Array; lo: number; hi: number } {
  const log = options.log ?? false;
  const finite: number[] = [];
  const t = surface.loss.map((v, k) => {
    if (surface.mask[k] !== 1) {
      throw new Error(
        'STL: the surface is not fully computed; finish it (skipscape landscape --resume) before printing it',
      );
    }
    if (v === null || !Number.isFinite(v)) return Number.NaN;
    const h = transformLoss({ log }, v);
    finite.push(h);
    return h;
  });
  if (finite.length === 0) throw new Error('STL: no point of the surface has a finite loss');
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const relief = STL_RELIEF_RATIO * STL_FOOTPRINT_MM * (options.heightScale ?? 1);
  const z = Float64Array.from(t, (h) =>
    // Diverged points stand at the top; a flat surface prints as a slab.
    hi > lo ? STL_BASE_MM + (relief * ((Number.isNaN(h) ? hi : h) - lo)) / (hi - lo) : STL_BASE_MM,
  );
  return { z, lo, hi };
}

/** The 80-byte header: ASCII, never starting with "solid" (readers would take the file for ASCII STL). */
function header(surface: Surface, options: StlOptions, lo: number, hi: number): Uint8Array {
  const what = options.log ? 'log10 loss' : 'loss';
  const text = `Skipscape ${surface.meta.model} ${surface.meta.skip ? 'skip' : 'noskip'} mm; ${what} ${lo.toPrecision(4)}..${hi.toPrecision(4)}`;
  const bytes = new Uint8Array(80).fill(0x20);
  // Model names may hold anything: keep printable ASCII only.
  for (let k = 0; k < Math.min(80, text.length); k++) {
    const c = text.charCodeAt(k);
    bytes[k] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  return bytes;
}

/**
 * The surface as a closed, printable binary STL (see the module comment for
 * the scale and the layout). Throws an Error for a 1-D or partial surface.
 */
export function surfaceToStl(surface: Surface, options: StlOptions = {}): Uint8Array {
  const nx = surface.xs.length;
  const ny = surface.ys.length;
  if (nx < 2 || ny < 2) {
    throw new Error(
      'STL: a 1-D curve has no surface to print; export a 2-D surface (or the curve as CSV or OBJ)',
    );
  }
  const { z, lo, hi } = printHeights(surface, options);
  const x0 = surface.xs[0] as number;
  const y0 = surface.ys[0] as number;
  const mmPerUnit =
    STL_FOOTPRINT_MM /
    Math.max((surface.xs[nx - 1] as number) - x0, (surface.ys[ny - 1] as number) - y0);
  // Vertices as float32, computed once each, so shared corners are bit-identical.
  const top = new Float32Array(3 * nx * ny);
  const bottom = new Float32Array(3 * nx * ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const k = j * nx + i;
      const x = ((surface.xs[i] as number) - x0) * mmPerUnit;
      const y = ((surface.ys[j] as number) - y0) * mmPerUnit;
      top.set([x, y, z[k] as number], 3 * k);
      bottom.set([x, y, 0], 3 * k);
    }
  }

  const count = stlTriangleCount(nx, ny);
  const bytes = new Uint8Array(84 + 50 * count);
  bytes.set(header(surface, options, lo, hi), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(80, count, true);
  let offset = 84;
  /** One triangle p → q → r (counter-clockwise seen from outside), its normal from the winding. */
  const put = (
    a: Float32Array,
    p: number,
    b: Float32Array,
    q: number,
    c: Float32Array,
    r: number,
  ) => {
    const ux = (b[3 * q] as number) - (a[3 * p] as number);
    const uy = (b[3 * q + 1] as number) - (a[3 * p + 1] as number);
    const uz = (b[3 * q + 2] as number) - (a[3 * p + 2] as number);
    const vx = (c[3 * r] as number) - (a[3 * p] as number);
    const vy = (c[3 * r + 1] as number) - (a[3 * p + 1] as number);
    const vz = (c[3 * r + 2] as number) - (a[3 * p + 2] as number);
    const nx_ = uy * vz - uz * vy;
    const ny_ = uz * vx - ux * vz;
    const nz_ = ux * vy - uy * vx;
    const norm = Math.hypot(nx_, ny_, nz_) || 1;
    for (const n of [nx_ / norm, ny_ / norm, nz_ / norm]) {
      view.setFloat32(offset, n, true);
      offset += 4;
    }
    for (const [arr, v] of [
      [a, p],
      [b, q],
      [c, r],
    ] as const) {
      for (let d = 0; d < 3; d++) {
        view.setFloat32(offset, arr[3 * v + d] as number, true);
        offset += 4;
      }
    }
    offset += 2; // attribute byte count: 0
  };

  const at = (i: number, j: number) => j * nx + i;
  for (let j = 0; j + 1 < ny; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      const a = at(i, j);
      const b = at(i + 1, j);
      const c = at(i + 1, j + 1);
      const d = at(i, j + 1);
      // Top: counter-clockwise seen from above (+z); base: the same cell seen from below.
      put(top, a, top, b, top, c);
      put(top, a, top, c, top, d);
      put(bottom, a, bottom, c, bottom, b);
      put(bottom, a, bottom, d, bottom, c);
    }
  }
  // Walls: walking the border counter-clockwise seen from above (+z), the
  // solid is on the left, so (top k, bottom k, bottom k+1) faces outward.
  const border: number[] = [];
  for (let i = 0; i < nx - 1; i++) border.push(at(i, 0));
  for (let j = 0; j < ny - 1; j++) border.push(at(nx - 1, j));
  for (let i = nx - 1; i > 0; i--) border.push(at(i, ny - 1));
  for (let j = ny - 1; j > 0; j--) border.push(at(0, j));
  border.forEach((k, n) => {
    const next = border[(n + 1) % border.length] as number;
    put(top, k, bottom, k, bottom, next);
    put(top, k, bottom, next, top, next);
  });
  return bytes;
}
