/**
 * Training state as plain arrays: what crosses module, worker and file
 * boundaries. Tensors stay inside the engines; a TrainingState is a copy.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model, TensorMap } from '../models/types';

/** One tensor's values, row-major, in tfjs layout. */
export interface ArrayTensor {
  shape: number[];
  data: Float32Array;
}

export type ArrayMap = Record<string, ArrayTensor>;

export interface TrainingState {
  /** Trainable parameters θ, under the model's names. */
  params: ArrayMap;
  /** BN running means and variances, under the model's state names. */
  state: ArrayMap;
  /** SGD momentum buffers b, under the parameters' names (no prefix here). */
  momentum: ArrayMap;
}

/** Copy tensors out (awaiting each; never dataSync). */
export async function toArrayMap(tensors: TensorMap): Promise<ArrayMap> {
  const names = Object.keys(tensors);
  const values = await Promise.all(names.map((n) => tensors[n]!.data<'float32'>()));
  const out: ArrayMap = {};
  names.forEach((n, i) => {
    out[n] = { shape: tensors[n]!.shape.slice(), data: Float32Array.from(values[i]!) };
  });
  return out;
}

/** New tensors from arrays; the caller owns them. */
export function toTensorMap(arrays: ArrayMap): TensorMap {
  const out: TensorMap = {};
  for (const [n, a] of Object.entries(arrays)) out[n] = tf.tensor(a.data, a.shape, 'float32');
  return out;
}

export function disposeMap(map: TensorMap): void {
  for (const t of Object.values(map)) t.dispose();
}

/** The first tensor holding a NaN or an infinity, or null when all are finite. */
export function firstNonFinite(state: TrainingState): string | null {
  for (const [group, map] of [
    ['params', state.params],
    ['state', state.state],
    ['momentum', state.momentum],
  ] as const) {
    for (const [name, a] of Object.entries(map)) {
      for (let i = 0; i < a.data.length; i++) {
        if (!Number.isFinite(a.data[i]!)) return `${group} ${name}`;
      }
    }
  }
  return null;
}

/** The model's fresh initialisation with zero momentum, as arrays. */
export async function initialTrainingState(model: Model, seed: number): Promise<TrainingState> {
  const { params, state } = model.init(seed);
  try {
    const p = await toArrayMap(params);
    const momentum: ArrayMap = {};
    for (const [n, a] of Object.entries(p)) {
      momentum[n] = { shape: a.shape.slice(), data: new Float32Array(a.data.length) };
    }
    return { params: p, state: await toArrayMap(state), momentum };
  } finally {
    disposeMap(params);
    disposeMap(state);
  }
}

/**
 * Check that a state fits a model: every parameter and running statistic
 * present with the model's shape. Returns the problems, empty when it fits.
 */
export function stateMismatches(model: Model, state: TrainingState): string[] {
  const problems: string[] = [];
  const check = (kind: string, map: ArrayMap, infos: { name: string; shape: number[] }[]) => {
    for (const info of infos) {
      const a = map[info.name];
      if (a === undefined) problems.push(`missing ${kind} ${info.name}`);
      else if (a.shape.join('x') !== info.shape.join('x')) {
        problems.push(
          `${kind} ${info.name} has shape [${a.shape.join(', ')}], the model needs [${info.shape.join(', ')}]`,
        );
      }
    }
    const known = new Set(infos.map((i) => i.name));
    for (const name of Object.keys(map)) {
      if (!known.has(name)) problems.push(`unexpected ${kind} ${name}`);
    }
  };
  check('parameter', state.params, model.params);
  check('running statistic', state.state, model.state);
  check('momentum buffer', state.momentum, model.params);
  return problems;
}
