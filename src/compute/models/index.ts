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

export function createModel(spec: ModelSpec): Model {
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
    forward(params, state, x, options) {
      if (x.shape.slice(1).join() !== inputShape.join()) {
        throw new Error(
          `${spec.kind} expects inputs [batch, ${inputShape.join(', ')}], got [${x.shape.join(', ')}]`,
        );
      }
      const runner = new TensorRunner(params, state, options);
      const logits = architecture(runner, x) as tf.Tensor2D;
      const batchStats = options.training ? runner.batchStats() : {};
      return options.trace ? { logits, batchStats, trace: runner.trace } : { logits, batchStats };
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
