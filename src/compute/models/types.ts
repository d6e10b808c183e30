/**
 * The contract every model in src/compute/models follows. Models are
 * functional: parameters in, tensors out. Nothing here holds tf.Variables
 * (their names are global in tfjs); parameters live in explicit maps whose keys
 * are stable, because they are checkpoint keys and direction keys.
 *
 * Layouts are tfjs's: images NHWC, conv weights [kh, kw, in, out], dense
 * weights [in, out]. Input shapes in specs are written [channels, height,
 * width], as the papers and the command line (`--input 3x32x32`) write them.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Tensors by stable name, e.g. `stage1.block0.conv1.weight`. */
export type TensorMap = Record<string, tf.Tensor>;

/** A CIFAR ResNet-n of He et al. 2016, section 4.2 (n = 6k + 2). */
export interface ResNetSpec {
  kind: 'resnet';
  /** n = 6k + 2: 20, 32, 44, 56, 110, ... */
  depth: number;
  /** Where the shape changes: 'B' = 1x1 stride-2 conv + BN (Li et al.), 'A' = zero-padding. */
  shortcut: 'A' | 'B';
  /** false removes the shortcut addition altogether (Li et al.'s "noshort"). */
  skip: boolean;
  /** Residual scale α: block output relu(α·F(x) + shortcut(x)). 1 is the plain ResNet. */
  residualScale: number;
  /**
   * Channels of the first stage; the stages have w, 2w, 4w. He et al.'s is 16
   * (the default); the training figure's live demo uses 8, a quarter of the
   * multiply-adds, so a reader's CPU can train two deep networks in a minute.
   */
  width?: number;
  /** [channels, height, width]. */
  inputShape: [number, number, number];
  classes: number;
}

/** Kak & Bouman's BMEnet built from SkipBlocks (seed 001). */
export interface BMEnetSpec {
  kind: 'bmenet';
  depth: 8 | 16 | 32 | 64;
  skip: boolean;
  inputShape: [number, number, number];
  classes: number;
}

export type Activation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'selu';
export type MlpInit = 'gaussian' | 'glorot' | 'kaiming' | 'orthogonal';

/** The theory labs' MLP (DESIGN.md, "Models"). */
export interface MlpSpec {
  kind: 'mlp';
  width: number;
  depth: number;
  activation: Activation;
  init: MlpInit;
  /** For init 'gaussian': Var[w] = sigmaW² / fan-in. */
  sigmaW: number;
  /** Residual form x_{t+1} = x_t + α·W_t σ(x_t) (seed 003) when set; plain when null. */
  residualAlpha: number | null;
  batchNorm: boolean;
  inputSize: number;
  classes: number;
}

export type ModelSpec = ResNetSpec | BMEnetSpec | MlpSpec;

/** One trainable tensor. */
export interface ParamInfo {
  name: string;
  shape: number[];
  /** What the tensor is; filter normalisation and weight decay depend on it. */
  role: 'conv' | 'dense' | 'bias' | 'bnGamma' | 'bnBeta';
}

/** One non-trainable tensor (BN running mean or variance). */
export interface StateInfo {
  name: string;
  shape: number[];
  role: 'runningMean' | 'runningVar';
}

/** One row of a torchsummary-style table, in forward order. */
export interface SummaryRow {
  /** e.g. `Conv2d-3`, `SkipBlock-7`, `Linear-102`. */
  name: string;
  /** PyTorch order, batch as -1: [-1, 64, 16, 16]. */
  outputShape: number[];
  /** Parameters of the module that produced the row (counted again if the module runs again). */
  params: number;
}

/** One run of a residual block, as seen by ForwardOptions.combine. */
export interface ResidualBlockInfo {
  /** The block's parameter prefix, e.g. `layer2.0`, `skip64_arr.3`, `layers.5`. */
  name: string;
  /** Position among the residual additions of this forward pass, from 0. */
  index: number;
}

export interface ForwardOptions {
  /** BN uses batch statistics (true) or stored running statistics (false). */
  training: boolean;
  /**
   * How a residual block joins its branch α·F(x) and its shortcut; their sum
   * when absent. Lesion studies return the shortcut alone; path-length
   * studies gate what flows backward through each. Not called when the
   * model has no skips.
   */
  combine?: (block: ResidualBlockInfo, residual: tf.Tensor, shortcut: tf.Tensor) => tf.Tensor;
  /** Record intermediate tensors in ForwardResult.trace (per-layer signal statistics). */
  trace?: boolean;
  /**
   * Replace a probed value (`layer2.1.input`, `layer2.1.response`, `layers.3.output`, ...) by what
   * this returns; the network goes on from the replacement, and the trace records it. Uses: start
   * the pass at a block's input, or delete a block (its output becomes its input), for the path
   * studies; add a zero tensor ε_l and differentiate with respect to it, for a gradient at an
   * intermediate value (∂L/∂x_l = ∂L/∂ε_l at ε_l = 0) without rewriting the model; cut a network
   * to replace its top by a Taylor expansion.
   */
  tap?: (name: string, x: tf.Tensor) => tf.Tensor;
  /**
   * Start the pass at a probe: nothing before `from.probe` is computed, and the probe's value is
   * `from.x` (then `tap` sees it). The lesion study uses it to run a changed network only from its
   * first changed block, on the intact network's activation there: the layers before it are the
   * same with and without the change, so their result is the same tensor.
   */
  from?: { probe: string; x: tf.Tensor };
  /**
   * End the pass at this probe: nothing after it is computed; ForwardResult.at holds its value
   * (after `tap`), and logits is empty ([0, classes]).
   */
  to?: string;
}

export interface ForwardResult {
  /** [batch, classes]. */
  logits: tf.Tensor2D;
  /**
   * In training mode, each BN layer's batch mean and (unbiased) variance under
   * the running-statistic names of `state`; the trainer folds them into the
   * running statistics. Empty in inference mode.
   */
  batchStats: TensorMap;
  /**
   * With options.trace: named intermediate tensors in forward order, e.g.
   * `layers.3.preActivation` (s^i of Glorot & Bengio's eq. (1)) or
   * `layer2.1.output`. They belong to the caller, like logits.
   */
  trace?: TensorMap;
  /** With options.to: the value at that probe. */
  at?: tf.Tensor;
}

export interface Model {
  spec: ModelSpec;
  params: ParamInfo[];
  state: StateInfo[];
  /** Fresh parameters and running statistics from a seeded generator. */
  init(seed: number): { params: TensorMap; state: TensorMap };
  /** x is NHWC for conv nets, [batch, features] for the MLP. */
  forward(
    params: TensorMap,
    state: TensorMap,
    x: tf.Tensor,
    options: ForwardOptions,
  ): ForwardResult;
  /** torchsummary rows for a given batch-free input shape. */
  summary(): SummaryRow[];
}
