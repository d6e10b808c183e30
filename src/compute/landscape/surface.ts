/**
 * The surface file: what `skipscape landscape` writes, what the explorer
 * reads, what every export is made from. Values are row-major with y outer
 * and x inner: value (xs[i], ys[j]) sits at index j * xs.length + i. A 1-D
 * curve is a surface with ys = [0].
 */

export type Normalization = 'filter' | 'layer' | 'none';

export interface SurfaceMeta {
  /** Model name as in the artifact manifest: 'resnet20', 'resnet56', 'bmenet32', ... */
  model: string;
  /** Whether the network has its skip connections. */
  skip: boolean;
  /** sha256 (hex) of the checkpoint file θ* the directions start from. */
  checkpointSha256: string;
  /** For an interpolation θ(λ) = (1 − λ)θ_a + λθ_b: sha256 of θ_b; null otherwise. */
  checkpoint2Sha256: string | null;
  /** 'fashion-mnist' or 'cifar10'. */
  dataset: string;
  split: 'train' | 'test';
  /**
   * Images evaluated per point (the first `subset` of the split); 0 when
   * unknown (a file of Li et al.'s code, read by hdf5.ts).
   */
  subset: number;
  /** Seed of the Gaussian directions. */
  seed: number;
  normalization: Normalization;
  /** Whether 1-D tensors (biases, BN γ and β) move with the directions. */
  includeBiasBn: boolean;
  /**
   * 'direction' (θ* + αδ + βη, random directions), 'interpolation' (θ(λ), 1-D),
   * or 'pca' (θ_n + αe₁ + βe₂ on the plane of a training trajectory's top two
   * principal components; seed 0 and normalization 'none', as nothing is drawn
   * or rescaled).
   */
  kind: 'direction' | 'interpolation' | 'pca';
  /** tfjs backend that computed the values. */
  backend: string;
  /** Wall-clock seconds spent computing the points in `mask`. */
  seconds: number;
  /** Skipscape version that wrote the file. */
  version: string;
  /** ISO time the file was last written. */
  written: string;
}

export interface Surface {
  xs: number[];
  ys: number[];
  /** Mean cross-entropy at each point; null where not finite (diverged) or not computed. */
  loss: (number | null)[];
  /** Top-1 accuracy in [0, 1] at each point; null where not finite or not computed. */
  accuracy: (number | null)[];
  /** 1 where the point has been computed (finite or not), 0 where not yet. */
  mask: (0 | 1)[];
  meta: SurfaceMeta;
}

/**
 * The stride of {@link completeLattice}: 1 for a complete surface, else the
 * smallest power of two s ≥ `minStride` such that the points 0, s, 2s, … on
 * each axis are all computed (the levels pointSchedule (grid.ts) computes
 * first, so a progressive run that stopped part-way has one); null when no
 * such sub-grid has two or more points per axis.
 */
export function latticeStride(surface: Surface, minStride = 1): number | null {
  const nx = surface.xs.length;
  const ny = surface.ys.length;
  if (minStride <= 1 && surface.mask.every((m) => m === 1)) return 1;
  for (let s = 2; s < Math.max(nx, ny); s *= 2) {
    if (s < minStride) continue;
    const is = latticeIndices(nx, s);
    const js = ny === 1 ? [0] : latticeIndices(ny, s);
    if (is.length < 2 || (ny > 1 && js.length < 2)) break;
    if (js.every((j) => is.every((i) => surface.mask[j * nx + i] === 1))) return s;
  }
  return null;
}

function latticeIndices(n: number, stride: number): number[] {
  return Array.from({ length: Math.floor((n - 1) / stride) + 1 }, (_, k) => k * stride);
}

/**
 * What a partly computed surface can draw as a whole: the finest complete
 * sub-grid, indices 0, s, 2s, … along each axis with s = {@link latticeStride}
 * (at least `minStride`, so that two surfaces can be compared on one grid).
 * Its values are the surface's own, taken as they are. The surface itself
 * when it is complete; null when there is no such sub-grid.
 */
export function completeLattice(surface: Surface, minStride = 1): Surface | null {
  const stride = latticeStride(surface, minStride);
  if (stride === null) return null;
  if (stride === 1) return surface;
  const nx = surface.xs.length;
  const is = latticeIndices(nx, stride);
  const js = surface.ys.length === 1 ? [0] : latticeIndices(surface.ys.length, stride);
  const points = js.flatMap((j) => is.map((i) => j * nx + i));
  return {
    ...surface,
    xs: is.map((i) => surface.xs[i]!),
    ys: js.map((j) => surface.ys[j]!),
    loss: points.map((p) => surface.loss[p]!),
    accuracy: points.map((p) => surface.accuracy[p]!),
    mask: points.map(() => 1 as const),
  };
}

/** Grid cells (2-D) or segments (1-D) whose corners are all computed. */
function completeCells(s: Surface): number {
  const nx = s.xs.length;
  const ny = s.ys.length;
  const done = (i: number, j: number): boolean => s.mask[j * nx + i] === 1;
  let cells = 0;
  if (ny === 1) {
    for (let i = 0; i + 1 < nx; i++) if (done(i, 0) && done(i + 1, 0)) cells++;
    return cells;
  }
  for (let j = 0; j + 1 < ny; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      if (done(i, j) && done(i + 1, j) && done(i, j + 1) && done(i + 1, j + 1)) cells++;
    }
  }
  return cells;
}

/**
 * What a view draws of a surface: the surface itself, unless its
 * {@link completeLattice} covers more than twice as much of the plane as the
 * surface's own complete cells, as when a progressive run stopped after its
 * coarse levels (full resolution wins whenever it is close).
 * A surface with scattered gaps (diverged points, a missing shard) is drawn
 * as it is, gaps included.
 */
export function drawableSurface(surface: Surface): Surface {
  const lattice = completeLattice(surface);
  if (!lattice || lattice === surface) return surface;
  // Lattice stride in grid steps: each of its cells spans stride^dims of the surface's cells.
  const stride = Math.round((lattice.xs[1]! - lattice.xs[0]!) / (surface.xs[1]! - surface.xs[0]!));
  const dims = surface.ys.length === 1 ? 1 : 2;
  return completeCells(lattice) * stride ** dims > 2 * completeCells(surface) ? lattice : surface;
}
