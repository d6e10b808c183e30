/**
 * Checkpoints: a TrainingState and the run's metadata in one safetensors file.
 *
 *   <parameter name>                   θ, e.g. `stage1.block0.conv1.weight`
 *   <running statistic name>           BN running mean / variance
 *   optim.momentum.<parameter name>    SGD momentum buffers
 *   __metadata__                       format, spec (JSON), dataset, epoch, step,
 *                                      seed, config (JSON), history (JSON),
 *                                      backend, written
 *
 * Names and layouts are the model's (tfjs layouts: conv [kh, kw, in, out]),
 * so landscape directions and trajectories line up with checkpoints by name.
 * This module turns bytes into state and back; writing files (atomically) is
 * the command line's job.
 */
import type { ModelSpec } from '../models/types';
import { MOMENTUM_PREFIX } from './optimizer';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, toFloat32 } from './safetensors';
import type { TensorToWrite } from './safetensors';
import { firstNonFinite } from './state';
import type { ArrayMap, TrainingState } from './state';
import type { EpochRecord, TrainConfig } from './types';

export const CHECKPOINT_FORMAT = 'skipscape-checkpoint-1';

export interface CheckpointMeta {
  spec: ModelSpec;
  /** e.g. 'fashion-mnist' or 'cifar10'. */
  dataset: string;
  /** Epochs completed. */
  epoch: number;
  /** Optimisation steps completed. */
  step: number;
  seed: number;
  config: TrainConfig;
  history: EpochRecord[];
  backend: string;
  /** ISO time of writing. */
  written: string;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  /** `momentum` is empty for checkpoints saved without optimiser state. */
  training: TrainingState;
}

/**
 * The names and shapes a model expects. A Model satisfies this, so
 * `createModel` can be passed where a `(spec) => CheckpointLayout` is asked for.
 */
export interface CheckpointLayout {
  params: { name: string; shape: number[] }[];
  state: { name: string; shape: number[] }[];
}

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const tensors: Record<string, TensorToWrite> = {};
  const add = (prefix: string, map: ArrayMap) => {
    for (const [name, a] of Object.entries(map)) {
      const key = prefix + name;
      if (key in tensors) throw new Error(`checkpoint: two tensors named ${key}`);
      tensors[key] = { shape: a.shape, data: a.data };
    }
  };
  add('', checkpoint.training.params);
  add('', checkpoint.training.state);
  add(MOMENTUM_PREFIX, checkpoint.training.momentum);
  const m = checkpoint.meta;
  return encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    spec: JSON.stringify(m.spec),
    dataset: m.dataset,
    epoch: String(m.epoch),
    step: String(m.step),
    seed: String(m.seed),
    config: JSON.stringify(m.config),
    history: JSON.stringify(m.history),
    backend: m.backend,
    written: m.written,
  });
}

function parseJson(source: string, key: string, text: string | undefined): unknown {
  if (text === undefined) throw new SafetensorsError(source, `metadata has no "${key}"`);
  try {
    return JSON.parse(text);
  } catch {
    throw new SafetensorsError(source, `metadata "${key}" is not valid JSON`);
  }
}

function parseCount(source: string, key: string, text: string | undefined): number {
  const v = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(v) || v < 0) {
    throw new SafetensorsError(
      source,
      `metadata "${key}" is ${JSON.stringify(text)}, not a non-negative integer`,
    );
  }
  return v;
}

/** Read the metadata only (cheap: no tensor is decoded). */
export function readCheckpointMeta(
  metadata: Record<string, string>,
  source: string,
): CheckpointMeta {
  if (metadata['format'] !== CHECKPOINT_FORMAT) {
    throw new SafetensorsError(
      source,
      `not a Skipscape checkpoint: metadata "format" is ${JSON.stringify(metadata['format'] ?? null)}, expected "${CHECKPOINT_FORMAT}"`,
    );
  }
  const spec = parseJson(source, 'spec', metadata['spec']);
  if (
    typeof spec !== 'object' ||
    spec === null ||
    !['resnet', 'bmenet', 'mlp'].includes((spec as { kind?: unknown }).kind as string)
  ) {
    throw new SafetensorsError(source, 'metadata "spec" is not a model spec (resnet, bmenet, mlp)');
  }
  const history = parseJson(source, 'history', metadata['history']);
  if (!Array.isArray(history)) {
    throw new SafetensorsError(source, 'metadata "history" is not a list of epochs');
  }
  const config = parseJson(source, 'config', metadata['config']);
  if (typeof config !== 'object' || config === null) {
    throw new SafetensorsError(source, 'metadata "config" is not an object');
  }
  return {
    spec: spec as ModelSpec,
    dataset: metadata['dataset'] ?? 'unknown',
    epoch: parseCount(source, 'epoch', metadata['epoch']),
    step: parseCount(source, 'step', metadata['step']),
    seed: parseCount(source, 'seed', metadata['seed']),
    config: config as TrainConfig,
    history: history as EpochRecord[],
    backend: metadata['backend'] ?? 'unknown',
    written: metadata['written'] ?? '',
  };
}

/**
 * Decode a checkpoint and check it against the model its metadata describes:
 * `layout(spec)` gives the names and shapes of that model's parameters and
 * running statistics. Every one must be present with its shape; every other
 * tensor must be the momentum buffer of a parameter. Momentum may be absent
 * altogether (a checkpoint saved without optimiser state evaluates but cannot
 * resume).
 */
export function decodeCheckpoint(
  bytes: Uint8Array,
  options: { source: string; layout: (spec: ModelSpec) => CheckpointLayout },
): Checkpoint {
  const { source } = options;
  const fail = (problem: string): never => {
    throw new SafetensorsError(source, problem);
  };
  const file = decodeSafetensors(bytes, source);
  const meta = readCheckpointMeta(file.metadata, source);
  let layout: CheckpointLayout;
  try {
    layout = options.layout(meta.spec);
  } catch (e) {
    return fail(`metadata "spec" does not build a model: ${e instanceof Error ? e.message : e}`);
  }
  const shapes = new Map<string, { group: 'params' | 'state'; shape: number[] }>();
  for (const p of layout.params) shapes.set(p.name, { group: 'params', shape: p.shape });
  for (const s of layout.state) shapes.set(s.name, { group: 'state', shape: s.shape });

  const training: TrainingState = { params: {}, state: {}, momentum: {} };
  for (const [name, t] of file.tensors) {
    const momentumOf = name.startsWith(MOMENTUM_PREFIX) ? name.slice(MOMENTUM_PREFIX.length) : null;
    const expected = shapes.get(momentumOf ?? name);
    if (expected === undefined || (momentumOf !== null && expected.group !== 'params')) {
      fail(
        momentumOf !== null
          ? `momentum buffer ${name} belongs to no parameter of the ${meta.spec.kind} model`
          : `tensor ${name} is not a parameter or running statistic of the ${meta.spec.kind} model`,
      );
    }
    if (t.shape.join('x') !== expected!.shape.join('x')) {
      fail(
        `tensor ${name} has shape [${t.shape.join(', ')}], the model needs [${expected!.shape.join(', ')}]`,
      );
    }
    const a = { shape: t.shape.slice(), data: toFloat32(t, name, source) };
    if (momentumOf !== null) training.momentum[momentumOf] = a;
    else training[expected!.group][name] = a;
  }
  for (const p of layout.params) {
    if (!(p.name in training.params)) fail(`missing parameter ${p.name}`);
  }
  for (const s of layout.state) {
    if (!(s.name in training.state)) fail(`missing running statistic ${s.name}`);
  }
  const momentumCount = Object.keys(training.momentum).length;
  if (momentumCount > 0 && momentumCount !== layout.params.length) {
    const missing = layout.params.find((p) => !(p.name in training.momentum))!;
    fail(`missing momentum buffer ${MOMENTUM_PREFIX}${missing.name}`);
  }
  return { meta, training };
}

/**
 * Why a decoded checkpoint cannot be evaluated, or null when it can: a
 * parameter, running statistic or momentum buffer holding NaN or ±∞, or a BN
 * running variance below zero (its √(var + ε) is NaN, so every output would
 * be). Such files come from a diverged run saved by something else, or from
 * damage the format's checks cannot see.
 */
export function checkpointProblem(training: TrainingState): string | null {
  const bad = firstNonFinite(training);
  if (bad !== null) return `${bad} holds NaN or an infinite value`;
  for (const [name, a] of Object.entries(training.state)) {
    if (!name.endsWith('.runningVar')) continue;
    const i = a.data.findIndex((v) => v < 0);
    if (i >= 0) return `BN running variance ${name}[${i}] is ${a.data[i]}, below zero`;
  }
  return null;
}

/** The checkpoint file name for an epoch: epoch-003.safetensors. */
export function checkpointFileName(epoch: number): string {
  return `epoch-${String(epoch).padStart(3, '0')}.safetensors`;
}
