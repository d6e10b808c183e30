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
  /** Images evaluated per point (the first `subset` of the split). */
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
