/**
 * Each architecture is written once, as a function over `LayerOps<T>`, and run
 * by two interpreters:
 *
 *   architecture(ops, x) ──► ShapeTracer  (T = shape)  : parameter list, BN state,
 *                        │                              torchsummary rows
 *                        └─► TensorRunner (T = tensor) : the forward pass
 *
 * so the table a reader sees, the parameters a checkpoint holds and the
 * network that trains cannot drift apart.
 *
 * Rows follow torchsummary's rules: a row is appended when a module's forward
 * ends (children before their container), numbered by its position; a module
 * that runs twice gets two rows and its parameters are counted twice; a
 * container's row counts only weights it holds directly (so SkipBlock shows 0);
 * functional ops (relu, avg_pool, view) get no row.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  batchNormTraining,
  conv2dBiasActivation,
  foldBatchNorm,
  isRecordingGradients,
  matMulBiasActivation,
  subsampleAndPadChannels,
} from '../tfjs-fixes';
import { initialValues } from './init';
import type { WeightInit } from './init';
import type {
  Activation,
  ForwardOptions,
  ParamInfo,
  ResidualBlockInfo,
  StateInfo,
  SummaryRow,
  TensorMap,
} from './types';

export interface ConvOptions {
  out: number;
  kernel: number;
  stride: number;
  /** Zero rows/columns on every side (PyTorch's `padding`). */
  pad: number;
  bias: boolean;
  init: WeightInit;
}

export interface LinearOptions {
  out: number;
  bias: boolean;
  init: WeightInit;
  activation?: 'linear' | 'relu';
}

/** The layer vocabulary the architectures are written in. */
export interface LayerOps<T> {
  /** nn.Conv2d: weight `${name}.weight` [k, k, in, out], bias `${name}.bias`. */
  conv2d(name: string, x: T, o: ConvOptions): T;
  /**
   * nn.Conv2d then nn.BatchNorm2d, the result times `scale` (α, default 1),
   * then the activation. At inference BN and α fold into the convolution.
   */
  convBatchNorm(
    names: { conv: string; bn: string },
    x: T,
    o: ConvOptions & { activation: 'linear' | 'relu'; scale?: number },
  ): T;
  /** nn.BatchNorm1d/2d over the last axis: `.gamma`, `.beta`, `.runningMean`, `.runningVar`. */
  batchNorm(name: string, x: T): T;
  /** nn.Linear: weight `${name}.weight` [in, out], bias `${name}.bias`. */
  linear(name: string, x: T, o: LinearOptions): T;
  activation(x: T, kind: Activation): T;
  /** nn.MaxPool2d(size, stride). */
  maxPool2d(x: T, size: number, stride: number): T;
  /** Mean over the spatial axes: [n, h, w, c] → [n, c]. */
  globalAvgPool(x: T): T;
  /** PyTorch's x.view(n, -1) of an NCHW tensor: channels outermost. */
  flattenChannelsFirst(x: T): T;
  add(a: T, b: T): T;
  scale(x: T, alpha: number): T;
  /** He et al.'s option-A shortcut: every `stride`-th pixel, zero channels to `outChannels`. */
  subsampleAndPad(x: T, stride: number, outChannels: number): T;
  /** [.., 2c] → [.., c]: the sum of the two channel halves. */
  foldChannelHalves(x: T): T;
  /** [.., c] → [.., 2c]: the channels twice, [x, x]. */
  duplicateChannels(x: T): T;
  /** A container module (torchsummary row `type-k` with 0 parameters) around `body`. */
  module(type: string, body: () => T): T;
  /** The join of a residual block; ForwardOptions.combine may replace the sum. */
  residual(block: string, residual: T, shortcut: T): T;
  /** Name an intermediate value for ForwardResult.trace. */
  probe(name: string, x: T): T;
}

export type Architecture = <T>(ops: LayerOps<T>, x: T) => T;

/**
 * Where the k-th run (from 1) of a BN layer in one forward pass keeps its
 * running statistics: `${bn}.runningMean` for the first, `${bn}.pass${k}.…`
 * for later runs. A shared block (BMEnet's arrays run twice) shares γ and β
 * but sees two different input distributions, normalised in training by two
 * different batch statistics; one running estimate for both would be their
 * mixture, right for neither pass. PyTorch keeps that mixture (a module
 * reused in forward() updates its buffers on every call), and BMEnet-32 then
 * scores at chance in eval mode on the very images it fits in training mode.
 * Keeping one estimate per run makes inference the deterministic version of
 * what was trained; the parameters, and the torchsummary table, do not change.
 */
export function bnStatisticsPrefix(bn: string, run: number): string {
  return run === 1 ? bn : `${bn}.pass${run}`;
}

// ---------------------------------------------------------------------------
// Shapes

/** A batch-free shape in tfjs order, batch first as -1: [-1, h, w, c] or [-1, f]. */
type Shape = number[];

function convOut(size: number, o: ConvOptions): number {
  return Math.floor((size + 2 * o.pad - o.kernel) / o.stride) + 1;
}

/** PyTorch order for a table row: [-1, c, h, w] or [-1, f]. */
function torchShape(s: Shape): number[] {
  return s.length === 4 ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
}

interface ParamRecord {
  info: ParamInfo;
  init: WeightInit;
  /** fan_in of the layer, for bias initialisations that depend on it. */
  fanIn: number;
}

/** Walks an architecture with shapes only: parameters, state and summary rows. */
export class ShapeTracer implements LayerOps<Shape> {
  readonly rows: SummaryRow[] = [];
  readonly params = new Map<string, ParamRecord>();
  readonly state: StateInfo[] = [];
  /** Runs of each BN layer so far (see bnStatisticsPrefix). */
  private readonly bnRuns = new Map<string, number>();
  /** Multiply-adds of one image's forward pass through convolutions and dense layers. */
  multiplyAdds = 0;

  private row(type: string, out: Shape, params: number): void {
    this.rows.push({
      name: `${type}-${this.rows.length + 1}`,
      outputShape: torchShape(out),
      params,
    });
  }

  private param(
    name: string,
    shape: number[],
    role: ParamInfo['role'],
    init: WeightInit,
    fanIn: number,
  ): void {
    const existing = this.params.get(name);
    if (existing) {
      if (existing.info.shape.join() !== shape.join()) {
        throw new Error(`parameter ${name} used with shapes ${existing.info.shape} and ${shape}`);
      }
      return;
    }
    this.params.set(name, { info: { name, shape, role }, init, fanIn });
  }

  conv2d(name: string, x: Shape, o: ConvOptions): Shape {
    const [, h, w, c] = x as [number, number, number, number];
    const fanIn = o.kernel * o.kernel * c;
    this.param(`${name}.weight`, [o.kernel, o.kernel, c, o.out], 'conv', o.init, fanIn);
    if (o.bias) this.param(`${name}.bias`, [o.out], 'bias', o.init, fanIn);
    const out = [-1, convOut(h, o), convOut(w, o), o.out];
    this.row('Conv2d', out, fanIn * o.out + (o.bias ? o.out : 0));
    this.multiplyAdds += fanIn * o.out * out[1]! * out[2]!;
    return out;
  }

  convBatchNorm(names: { conv: string; bn: string }, x: Shape, o: ConvOptions): Shape {
    return this.batchNorm(names.bn, this.conv2d(names.conv, x, o));
  }

  batchNorm(name: string, x: Shape): Shape {
    const c = x[x.length - 1]!;
    const run = (this.bnRuns.get(name) ?? 0) + 1;
    this.bnRuns.set(name, run);
    const stats = bnStatisticsPrefix(name, run);
    this.state.push({ name: `${stats}.runningMean`, shape: [c], role: 'runningMean' });
    this.state.push({ name: `${stats}.runningVar`, shape: [c], role: 'runningVar' });
    this.param(`${name}.gamma`, [c], 'bnGamma', { kind: 'ones' }, c);
    this.param(`${name}.beta`, [c], 'bnBeta', { kind: 'zeros' }, c);
    this.row(x.length === 4 ? 'BatchNorm2d' : 'BatchNorm1d', x, 2 * c);
    return x;
  }

  linear(name: string, x: Shape, o: LinearOptions): Shape {
    if (x.length !== 2) throw new Error(`linear ${name} needs [n, features], got ${x}`);
    const fanIn = x[1]!;
    this.param(`${name}.weight`, [fanIn, o.out], 'dense', o.init, fanIn);
    if (o.bias) this.param(`${name}.bias`, [o.out], 'bias', o.init, fanIn);
    const out = [-1, o.out];
    this.row('Linear', out, fanIn * o.out + (o.bias ? o.out : 0));
    this.multiplyAdds += fanIn * o.out;
    return out;
  }

  activation(x: Shape): Shape {
    return x;
  }

  maxPool2d(x: Shape, size: number, stride: number): Shape {
    const [, h, w, c] = x as [number, number, number, number];
    const out = [-1, Math.floor((h - size) / stride) + 1, Math.floor((w - size) / stride) + 1, c];
    this.row('MaxPool2d', out, 0);
    return out;
  }

  globalAvgPool(x: Shape): Shape {
    return [-1, x[3]!];
  }

  flattenChannelsFirst(x: Shape): Shape {
    return [-1, x.slice(1).reduce((a, b) => a * b, 1)];
  }

  add(a: Shape, b: Shape): Shape {
    if (a.join() !== b.join()) throw new Error(`cannot add shapes ${a} and ${b}`);
    return a;
  }

  scale(x: Shape): Shape {
    return x;
  }

  subsampleAndPad(x: Shape, stride: number, outChannels: number): Shape {
    const [, h, w] = x as [number, number, number, number];
    return [-1, Math.ceil(h / stride), Math.ceil(w / stride), outChannels];
  }

  foldChannelHalves(x: Shape): Shape {
    return [...x.slice(0, -1), x[x.length - 1]! / 2];
  }

  duplicateChannels(x: Shape): Shape {
    return [...x.slice(0, -1), x[x.length - 1]! * 2];
  }

  module(type: string, body: () => Shape): Shape {
    const out = body();
    this.row(type, out, 0);
    return out;
  }

  residual(_block: string, residual: Shape, shortcut: Shape): Shape {
    return this.add(residual, shortcut);
  }

  probe(_name: string, x: Shape): Shape {
    return x;
  }
}

/** What an architecture declares, found by tracing it on a batch-free input shape. */
export interface TracedArchitecture {
  params: ParamInfo[];
  state: StateInfo[];
  rows: SummaryRow[];
  inits: Map<string, { init: WeightInit; fanIn: number }>;
  /** Output shape, tfjs order with batch -1. */
  outputShape: number[];
  /** Multiply-adds per image in convolutions and dense layers (each run of a shared module counted). */
  multiplyAdds: number;
}

export function traceArchitecture(
  architecture: Architecture,
  inputShape: number[],
): TracedArchitecture {
  const tracer = new ShapeTracer();
  const out = architecture(tracer, [-1, ...inputShape]);
  const inits = new Map<string, { init: WeightInit; fanIn: number }>();
  for (const [name, r] of tracer.params) inits.set(name, { init: r.init, fanIn: r.fanIn });
  return {
    params: [...tracer.params.values()].map((r) => r.info),
    state: tracer.state,
    rows: tracer.rows,
    inits,
    outputShape: out,
    multiplyAdds: tracer.multiplyAdds,
  };
}

/** Fresh parameters (from their declared initialisations) and BN state (μ = 0, σ² = 1). */
export function initialTensors(
  traced: TracedArchitecture,
  seed: number,
): { params: TensorMap; state: TensorMap } {
  const params: TensorMap = {};
  for (const p of traced.params) {
    const { init, fanIn } = traced.inits.get(p.name)!;
    // Biases are zero except where the library being followed draws them
    // (PyTorch's default draws biases from U(±1/√fan_in)).
    const biasInit: WeightInit = init.kind === 'torchDefault' ? init : { kind: 'zeros' };
    params[p.name] = tf.tensor(
      initialValues({
        init: p.role === 'bias' ? biasInit : init,
        shape: p.shape,
        seed,
        name: p.name,
        fanIn,
      }),
      p.shape,
    );
  }
  const state: TensorMap = {};
  for (const s of traced.state)
    state[s.name] = s.role === 'runningVar' ? tf.ones(s.shape) : tf.zeros(s.shape);
  return { params, state };
}

// ---------------------------------------------------------------------------
// Tensors

function explicitPad(
  p: number,
): 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  return p === 0
    ? 'valid'
    : [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ];
}

/**
 * Runs an architecture on tensors. Training mode normalises with batch
 * statistics and collects them; inference mode folds BN into the preceding
 * convolution (s·(W∗x + b) + t = (s·W)∗x + (s·b + t)) so convolution, bias and
 * ReLU run as one fused kernel when no gradient is being recorded.
 */
export class TensorRunner implements LayerOps<tf.Tensor> {
  /** Batch statistics of this pass, under their running-statistic prefixes. */
  private readonly stats = new Map<string, { mean: tf.Tensor; variance: tf.Tensor }>();
  private readonly bnRuns = new Map<string, number>();
  private residualIndex = 0;
  readonly trace: TensorMap = {};
  /**
   * 'before' until the probe options.from names, 'after' once past options.to. Outside
   * 'running' every op hands back its first input as a placeholder and computes nothing; the
   * BN runs and residual joins are still counted, so the layers after the start keep their
   * statistics' names and their block indices.
   */
  private phase: 'before' | 'running' | 'after';
  /** The value at options.to, once reached. */
  at: tf.Tensor | null = null;

  constructor(
    private readonly params: TensorMap,
    private readonly state: TensorMap,
    private readonly options: ForwardOptions,
  ) {
    this.phase = options.from ? 'before' : 'running';
  }

  /** Whether the pass reached options.from (or had none). */
  get started(): boolean {
    return this.phase !== 'before';
  }

  private get idle(): boolean {
    return this.phase !== 'running';
  }

  private p(name: string): tf.Tensor {
    const t = this.params[name];
    if (!t) throw new Error(`missing parameter ${name}`);
    return t;
  }

  /** Count a run of BN layer `bn`; the prefix of this run's statistics. */
  private nextRun(bn: string): string {
    const run = (this.bnRuns.get(bn) ?? 0) + 1;
    this.bnRuns.set(bn, run);
    return bnStatisticsPrefix(bn, run);
  }

  private s(name: string): tf.Tensor {
    const t = this.state[name];
    if (!t) throw new Error(`missing BN statistic ${name}`);
    return t;
  }

  conv2d(name: string, x: tf.Tensor, o: ConvOptions): tf.Tensor {
    if (this.idle) return x;
    return conv2dBiasActivation({
      x: x as tf.Tensor4D,
      filter: this.p(`${name}.weight`) as tf.Tensor4D,
      bias: o.bias ? (this.p(`${name}.bias`) as tf.Tensor1D) : null,
      strides: o.stride,
      pad: explicitPad(o.pad),
      activation: 'linear',
    });
  }

  convBatchNorm(
    names: { conv: string; bn: string },
    x: tf.Tensor,
    o: ConvOptions & { activation: 'linear' | 'relu'; scale?: number },
  ): tf.Tensor {
    const alpha = o.scale ?? 1;
    if (this.idle) {
      this.nextRun(names.bn);
      return x;
    }
    if (this.options.training) {
      let y = this.batchNorm(names.bn, this.conv2d(names.conv, x, o));
      if (alpha !== 1) y = tf.mul(y, alpha);
      return o.activation === 'relu' ? tf.relu(y) : y;
    }
    const stats = this.nextRun(names.bn);
    const { scale, shift } = foldBatchNorm({
      gamma: this.p(`${names.bn}.gamma`) as tf.Tensor1D,
      beta: this.p(`${names.bn}.beta`) as tf.Tensor1D,
      mean: this.s(`${stats}.runningMean`) as tf.Tensor1D,
      variance: this.s(`${stats}.runningVar`) as tf.Tensor1D,
    });
    const s = alpha === 1 ? scale : tf.mul(scale, alpha);
    let t: tf.Tensor = alpha === 1 ? shift : tf.mul(shift, alpha);
    if (o.bias) t = tf.add(t, tf.mul(s, this.p(`${names.conv}.bias`)));
    return conv2dBiasActivation({
      x: x as tf.Tensor4D,
      filter: tf.mul(this.p(`${names.conv}.weight`), s) as tf.Tensor4D,
      bias: t as tf.Tensor1D,
      strides: o.stride,
      pad: explicitPad(o.pad),
      activation: o.activation,
    });
  }

  batchNorm(name: string, x: tf.Tensor): tf.Tensor {
    const gamma = this.p(`${name}.gamma`) as tf.Tensor1D;
    const beta = this.p(`${name}.beta`) as tf.Tensor1D;
    const stats = this.nextRun(name);
    if (this.idle) return x;
    if (this.options.training) {
      const { y, mean, variance } = batchNormTraining({ x, gamma, beta });
      this.stats.set(stats, { mean, variance });
      return y;
    }
    const { scale, shift } = foldBatchNorm({
      gamma,
      beta,
      mean: this.s(`${stats}.runningMean`) as tf.Tensor1D,
      variance: this.s(`${stats}.runningVar`) as tf.Tensor1D,
    });
    return tf.add(tf.mul(x, scale), shift);
  }

  linear(name: string, x: tf.Tensor, o: LinearOptions): tf.Tensor {
    if (this.idle) return x;
    return matMulBiasActivation({
      a: x as tf.Tensor2D,
      b: this.p(`${name}.weight`) as tf.Tensor2D,
      bias: o.bias ? (this.p(`${name}.bias`) as tf.Tensor1D) : null,
      activation: o.activation ?? 'linear',
    });
  }

  activation(x: tf.Tensor, kind: Activation): tf.Tensor {
    if (this.idle) return x;
    switch (kind) {
      case 'linear':
        return x;
      case 'relu':
        return tf.relu(x);
      case 'tanh':
        return tf.tanh(x);
      case 'sigmoid':
        return tf.sigmoid(x);
      case 'selu':
        return tf.selu(x);
    }
  }

  maxPool2d(x: tf.Tensor, size: number, stride: number): tf.Tensor {
    if (this.idle) return x;
    return tf.maxPool(x as tf.Tensor4D, size, stride, 'valid');
  }

  globalAvgPool(x: tf.Tensor): tf.Tensor {
    if (this.idle) return x;
    return tf.mean(x, [1, 2]);
  }

  flattenChannelsFirst(x: tf.Tensor): tf.Tensor {
    if (this.idle) return x;
    const n = x.shape[0]!;
    return tf.reshape(x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : x, [n, -1]);
  }

  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    if (this.idle) return a;
    return tf.add(a, b);
  }

  scale(x: tf.Tensor, alpha: number): tf.Tensor {
    if (this.idle) return x;
    return alpha === 1 ? x : tf.mul(x, alpha);
  }

  subsampleAndPad(x: tf.Tensor, stride: number, outChannels: number): tf.Tensor {
    if (this.idle) return x;
    return subsampleAndPadChannels({ x: x as tf.Tensor4D, stride, outChannels });
  }

  foldChannelHalves(x: tf.Tensor): tf.Tensor {
    if (this.idle) return x;
    const [first, second] = tf.split(x, 2, x.rank - 1);
    return tf.add(first!, second!);
  }

  duplicateChannels(x: tf.Tensor): tf.Tensor {
    if (this.idle) return x;
    return tf.concat([x, x], x.rank - 1);
  }

  /**
   * In inference with nothing recorded or watched (no gradient tape, trace,
   * tap, combine or end probe), each module's intermediate tensors are
   * released when it returns instead of when the whole pass ends: a
   * ResNet-56 batch of 128 otherwise holds about 400 MB of activations, every
   * layer writing to memory no earlier layer freed (page faults on the first
   * pass, cache misses on every one). The same operations, so the same
   * values.
   */
  module(_type: string, body: () => tf.Tensor): tf.Tensor {
    const { training, trace, tap, combine, to } = this.options;
    if (training || trace || tap || combine || to !== undefined || isRecordingGradients()) {
      return body();
    }
    return tf.tidy(body);
  }

  residual(block: string, residual: tf.Tensor, shortcut: tf.Tensor): tf.Tensor {
    const info: ResidualBlockInfo = { name: block, index: this.residualIndex++ };
    if (this.idle) return residual;
    return this.options.combine
      ? this.options.combine(info, residual, shortcut)
      : tf.add(residual, shortcut);
  }

  probe(name: string, x: tf.Tensor): tf.Tensor {
    if (this.phase === 'after') return x;
    if (this.phase === 'before') {
      if (name !== this.options.from!.probe) return x;
      this.phase = 'running';
      x = this.options.from!.x;
    }
    const y = this.options.tap ? this.options.tap(name, x) : x;
    if (this.options.trace) this.trace[name] = y;
    if (name === this.options.to) {
      this.at = y;
      this.phase = 'after';
    }
    return y;
  }

  /** The batch statistics of each BN run under its running-statistic names. */
  batchStats(): TensorMap {
    const out: TensorMap = {};
    for (const [prefix, { mean, variance }] of this.stats) {
      out[`${prefix}.runningMean`] = mean;
      out[`${prefix}.runningVar`] = variance;
    }
    return out;
  }
}
