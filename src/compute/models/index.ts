/**
 * Build any model from its spec, and read the model names the command line
 * and URLs use ('resnet56', 'resnet20-noshort', 'bmenet32', 'mlp').
 */
import * as tf from '@tensorflow/tfjs-core';
import { bmenetArchitecture } from './bmenet';
import { initialTensors, TensorRunner, traceArchitecture } from './graph';
import type { Architecture } from './graph';
import { mlpArchitecture } from './mlp';
import { resnetArchitecture } from './resnet';
import type { BMEnetSpec, MlpSpec, Model, ModelSpec, ResNetSpec, SummaryRow } from './types';

export type * from './types';
export { BMENET_DEPTHS } from './bmenet';
export { blocksPerStage } from './resnet';

function architectureFor(spec: ModelSpec): Architecture {
  switch (spec.kind) {
    case 'resnet':
      return resnetArchitecture(spec);
    case 'bmenet':
      return bmenetArchitecture(spec);
    case 'mlp':
      return mlpArchitecture(spec);
  }
}

/** The batch-free input shape in tfjs layout: [h, w, c] for images, [features] for the MLP. */
export function inputShapeOf(spec: ModelSpec): number[] {
  if (spec.kind === 'mlp') return [spec.inputSize];
  const [c, h, w] = spec.inputShape;
  return [h, w, c];
}

/**
 * Limits on a spec, checked before anything is built: the deepest ResNet of He
 * et al. (1202 layers), MLPs up to 1000 layers of width 8192, inputs up to
 * 3 × 512 × 512, up to 10,000 classes. A spec read from a file is untrusted: a
 * crafted checkpoint asking for depth 600,002 used to take 1.7 GB before its
 * tensors were compared with the model's.
 */
export const MODEL_LIMITS = {
  resnetDepth: 1202,
  mlpDepth: 1000,
  mlpWidth: 8192,
  inputSide: 512,
  inputChannels: 16,
  classes: 10_000,
} as const;

/** Throw an Error naming the field unless `spec` is a model spec within {@link MODEL_LIMITS}. */
export function checkModelSpec(spec: ModelSpec): void {
  const whole = (name: string, v: unknown, min: number, max: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new Error(
        `model spec: ${name} must be a whole number in ${min}…${max}, got ${JSON.stringify(v)}`,
      );
  };
  const s = spec as unknown as Record<string, unknown>;
  whole('classes', s['classes'], 1, MODEL_LIMITS.classes);
  if (spec.kind === 'mlp') {
    whole('depth', s['depth'], 0, MODEL_LIMITS.mlpDepth);
    whole('width', s['width'], 1, MODEL_LIMITS.mlpWidth);
    const maxInput = MODEL_LIMITS.inputChannels * MODEL_LIMITS.inputSide ** 2;
    whole('inputSize', s['inputSize'], 1, maxInput);
    return;
  }
  const shape = s['inputShape'];
  if (!Array.isArray(shape) || shape.length !== 3)
    throw new Error('model spec: inputShape must be [channels, height, width]');
  whole('inputShape[0] (channels)', shape[0], 1, MODEL_LIMITS.inputChannels);
  whole('inputShape[1] (height)', shape[1], 1, MODEL_LIMITS.inputSide);
  whole('inputShape[2] (width)', shape[2], 1, MODEL_LIMITS.inputSide);
  if (spec.kind === 'resnet') {
    whole('depth', s['depth'], 8, MODEL_LIMITS.resnetDepth);
    if (typeof s['residualScale'] !== 'number' || !Number.isFinite(s['residualScale']))
      throw new Error('model spec: residualScale must be a finite number');
  }
}

export function createModel(spec: ModelSpec): Model {
  checkModelSpec(spec);
  const architecture = architectureFor(spec);
  const inputShape = inputShapeOf(spec);
  const traced = traceArchitecture(architecture, inputShape);
  if (traced.outputShape.join() !== [-1, spec.classes].join()) {
    throw new Error(`model output ${traced.outputShape} does not match ${spec.classes} classes`);
  }
  return {
    spec,
    params: traced.params,
    state: traced.state,
    init: (seed) => initialTensors(traced, seed),
    forward(params, state, input, options) {
      // The MLP takes images too (a batch of NHWC images, flattened), so the
      // image training loop trains it unchanged.
      const x =
        spec.kind === 'mlp' && input.rank === 4 && input.size / input.shape[0]! === spec.inputSize
          ? tf.reshape(input, [input.shape[0]!, spec.inputSize])
          : input;
      // With options.from the input is not read (the pass starts at a probe).
      if (!options.from && x.shape.slice(1).join() !== inputShape.join()) {
        throw new Error(
          `${spec.kind} expects inputs [batch, ${inputShape.join(', ')}], got [${x.shape.join(', ')}]`,
        );
      }
      const runner = new TensorRunner(params, state, options);
      const out = architecture(runner, x) as tf.Tensor2D;
      if (!runner.started) throw new Error(`the pass never reached probe ${options.from!.probe}`);
      if (options.to !== undefined && runner.at === null) {
        throw new Error(`the pass never reached probe ${options.to}`);
      }
      const logits = runner.at ? (tf.zeros([0, spec.classes]) as tf.Tensor2D) : out;
      const batchStats = options.training ? runner.batchStats() : {};
      return {
        logits,
        batchStats,
        ...(options.trace ? { trace: runner.trace } : {}),
        ...(runner.at ? { at: runner.at } : {}),
      };
    },
    summary: () => traced.rows.map((r) => ({ ...r, outputShape: [...r.outputShape] })),
  };
}

/** Distinct trainable parameters (each tensor once, however often it runs). */
export function countParams(model: Pick<Model, 'params'>): number {
  return model.params.reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** The sum of a summary's rows: torchsummary's "Total params". */
export function summaryTotal(rows: readonly SummaryRow[]): number {
  return rows.reduce((sum, r) => sum + r.params, 0);
}

/**
 * Multiply-adds of one image's forward pass through the convolutions and dense
 * layers (BN, activations and pooling are not counted); twice this is the
 * FLOP count used for GFLOP/s. A module that runs twice counts twice.
 */
export function forwardMultiplyAdds(spec: ModelSpec): number {
  return traceArchitecture(architectureFor(spec), inputShapeOf(spec)).multiplyAdds;
}

export interface ModelNameOptions {
  /** [channels, height, width]; default CIFAR's [3, 32, 32] (the MLP flattens it). */
  inputShape?: [number, number, number];
  classes?: number;
}

/**
 * 'resnet<n>' (shortcut B, skips, α = 1), 'resnet<n>-noshort', 'resnet<n>a'
 * (shortcut A), 'resnet<n>w<w>' (first stage w channels, e.g. 'resnet32w8-noshort'), 'bmenet<8|16|32|64>', 'bmenet<d>-noshort', 'mlp' (width 256,
 * 10 hidden ReLU layers, Kaiming init, no residual, no BN) → a full spec.
 */
export function parseModelName(name: string, options: ModelNameOptions = {}): ModelSpec {
  const inputShape = options.inputShape ?? [3, 32, 32];
  const classes = options.classes ?? 10;
  const m = /^(resnet|bmenet)(\d+)(a|b)?(?:w(\d+))?(-noshort)?$/i.exec(name.trim());
  if (m) {
    const depth = Number(m[2]);
    const skip = !m[5];
    const width = m[4] === undefined ? undefined : Number(m[4]);
    if (m[1]!.toLowerCase() === 'resnet') {
      const spec: ResNetSpec = {
        kind: 'resnet',
        depth,
        shortcut: m[3]?.toLowerCase() === 'a' ? 'A' : 'B',
        skip,
        residualScale: 1,
        ...(width !== undefined ? { width } : {}),
        inputShape,
        classes,
      };
      return spec;
    }
    if (m[3]) throw new Error(`BMEnet has no shortcut option: ${name}`);
    if (width !== undefined) throw new Error(`BMEnet has no width option: ${name}`);
    const spec: BMEnetSpec = {
      kind: 'bmenet',
      depth: depth as BMEnetSpec['depth'],
      skip,
      inputShape,
      classes,
    };
    createModel(spec); // validates the depth
    return spec;
  }
  if (name.trim().toLowerCase() === 'mlp') {
    const spec: MlpSpec = {
      kind: 'mlp',
      width: 256,
      depth: 10,
      activation: 'relu',
      init: 'kaiming',
      sigmaW: Math.SQRT2,
      residualAlpha: null,
      batchNorm: false,
      inputSize: inputShape[0] * inputShape[1] * inputShape[2],
      classes,
    };
    return spec;
  }
  throw new Error(
    `unknown model '${name}': try resnet20, resnet56, resnet110, resnet56-noshort, bmenet32 or mlp`,
  );
}
