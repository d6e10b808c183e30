/**
 * Files of the landscape commands: surfaces and Hessian maps (JSON, written
 * atomically, so a killed run leaves the last complete partial file),
 * directions (safetensors: `x.<name>` and `y.<name>` in the checkpoint's names
 * and layouts), checkpoints with their sha256, and the evaluation subset.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { firstExamples } from '../compute/data/dataset';
import type { Dataset } from '../compute/data/dataset';
import type { Direction, DirectionPair } from '../compute/landscape/directions';
import { parseSurface, surfaceToJson } from '../compute/landscape/exports';
import type { HessianMap } from '../compute/landscape/hessian';
import type { Surface } from '../compute/landscape/surface';
import type { ModelSpec } from '../compute/models/types';
import { decodeCheckpoint } from '../compute/train/checkpoint';
import type { Checkpoint } from '../compute/train/checkpoint';
import { decodeSafetensors, encodeSafetensors, toFloat32 } from '../compute/train/safetensors';
import type { TensorToWrite } from '../compute/train/safetensors';
import { createModel } from '../compute/models';
import { UsageError } from './args';
import type { FlagSpecs } from './args';
import { loadDataset, parseDataset } from './data';
import { writeFileAtomic } from './files';

export const DIRECTIONS_FORMAT = 'skipscape-directions-1';

/** A checkpoint read from disk, with the sha256 of its bytes (the surface's checkpointSha256). */
export interface LoadedCheckpoint extends Checkpoint {
  path: string;
  sha256: string;
}

export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new Error(`${path}: cannot be read (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  const checkpoint = decodeCheckpoint(bytes, { source: path, layout: createModel });
  return { ...checkpoint, path, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The manifest's model name: 'resnet56' (shortcut B), 'resnet56a' (shortcut A), 'bmenet32', 'mlp'. */
export function modelName(spec: ModelSpec): string {
  switch (spec.kind) {
    case 'resnet':
      return `resnet${spec.depth}${spec.shortcut === 'A' ? 'a' : ''}`;
    case 'bmenet':
      return `bmenet${spec.depth}`;
    case 'mlp':
      return 'mlp';
  }
}

export function hasSkips(spec: ModelSpec): boolean {
  return spec.kind === 'mlp' ? spec.residualAlpha !== null : spec.skip;
}

/**
 * The evaluation subset: the first `subset` images of the split of the
 * checkpoint's dataset (CIFAR-10 needs its directory in `datasetFlag`).
 */
export async function loadSubset(options: {
  command: string;
  checkpoint: Checkpoint;
  datasetFlag: string | undefined;
  split: 'train' | 'test';
  subset: number;
}): Promise<Dataset> {
  const name = options.datasetFlag ?? options.checkpoint.meta.dataset;
  if (name === 'cifar10') {
    throw new UsageError(
      `${options.command}: the checkpoint was trained on CIFAR-10: give its directory with --dataset cifar10:<dir>`,
    );
  }
  const data = await loadDataset(
    parseDataset(options.command, name),
    options.split,
    options.subset,
  );
  if (data.count < options.subset) {
    throw new UsageError(
      `${options.command}: the ${options.split} split has ${data.count} images, fewer than --subset ${options.subset}`,
    );
  }
  return firstExamples({ dataset: data, count: options.subset });
}

/** Directions as safetensors: x.<name>, y.<name>, with what made them in the metadata. */
export function encodeDirections(
  directions: DirectionPair,
  metadata: Record<string, string>,
): Uint8Array {
  const tensors: Record<string, TensorToWrite> = {};
  const add = (axis: 'x' | 'y', d: Direction | null) => {
    if (d === null) return;
    for (const [name, a] of Object.entries(d))
      tensors[`${axis}.${name}`] = { shape: a.shape, data: a.data };
  };
  add('x', directions.x);
  add('y', directions.y);
  return encodeSafetensors(tensors, { format: DIRECTIONS_FORMAT, ...metadata });
}

export function decodeDirections(
  bytes: Uint8Array,
  source: string,
): { directions: DirectionPair; metadata: Record<string, string> } {
  const file = decodeSafetensors(bytes, source);
  if (file.metadata['format'] !== DIRECTIONS_FORMAT) {
    throw new Error(
      `${source}: not a Skipscape directions file (metadata "format" is ${JSON.stringify(file.metadata['format'] ?? null)})`,
    );
  }
  const x: Direction = {};
  const y: Direction = {};
  for (const [key, t] of file.tensors) {
    const m = /^([xy])\.(.+)$/.exec(key);
    if (!m) throw new Error(`${source}: tensor ${key} is neither x.<name> nor y.<name>`);
    (m[1] === 'x' ? x : y)[m[2]!] = { shape: t.shape.slice(), data: toFloat32(t, key, source) };
  }
  return { directions: { x, y: Object.keys(y).length > 0 ? y : null }, metadata: file.metadata };
}

export async function writeDirections(
  path: string,
  directions: DirectionPair,
  metadata: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeDirections(directions, metadata));
}

export async function readDirections(
  path: string,
): Promise<{ directions: DirectionPair; metadata: Record<string, string> }> {
  return decodeDirections(new Uint8Array(await readFile(path)), path);
}

export async function readSurfaceFile(path: string): Promise<Surface> {
  return parseSurface(await readFile(path, 'utf8'), path);
}

export async function writeSurfaceFile(path: string, surface: Surface): Promise<void> {
  await writeFileAtomic(path, surfaceToJson(surface, { outPath: path }));
}

/** A Hessian map file, checked for the fields and lengths the commands rely on. */
export async function readHessianMapFile(path: string): Promise<HessianMap> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not JSON (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  const m = value as Partial<HessianMap>;
  if (Array.isArray(m.lambdaMax) && !Array.isArray(m.residualMin)) {
    throw new Error(
      `${path}: a Hessian map without residuals, written before each eigenvalue's convergence was ` +
        'recorded; compute it again (its λ_min may not have converged)',
    );
  }
  const arrays = [
    'xs',
    'ys',
    'lambdaMax',
    'lambdaMin',
    'ratio',
    'residualMax',
    'residualMin',
    'products',
    'mask',
  ] as const;
  for (const key of arrays) {
    if (!Array.isArray(m[key])) throw new Error(`${path}: ${key} is missing or not a list`);
  }
  if (typeof m.meta !== 'object' || m.meta === null || typeof m.meta.method !== 'string') {
    throw new Error(`${path}: meta is missing or not a Hessian map's`);
  }
  const n = m.xs!.length * m.ys!.length;
  for (const key of [
    'lambdaMax',
    'lambdaMin',
    'ratio',
    'residualMax',
    'residualMin',
    'products',
    'mask',
  ] as const) {
    if (m[key]!.length !== n)
      throw new Error(`${path}: ${key} has ${m[key]!.length} values, xs × ys = ${n}`);
  }
  return m as HessianMap;
}

export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value)}\n`);
}

/** Calls `write` at most every `seconds` (and always when forced), for partial results of long runs. */
export function throttled<T>(
  seconds: number,
  write: (value: T) => Promise<void>,
): (value: T, force?: boolean) => Promise<void> {
  let last = 0;
  let pending: Promise<void> = Promise.resolve();
  return async (value, force = false) => {
    const now = Date.now();
    if (!force && now - last < seconds * 1000) return;
    last = now;
    pending = pending.then(() => write(value));
    await pending;
  };
}

/**
 * node:util's parseArgs reads `--grid -1:1:51` as a flag without a value
 * followed by an unknown option. Join a string flag with a following value
 * that starts with a minus and a digit or point (a negative number), as
 * `--grid=-1:1:51`, so the documented syntax works.
 */
export function attachNegativeValues(argv: string[], specs: FlagSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : null;
    if (
      name !== null &&
      specs[name]?.type === 'string' &&
      next !== undefined &&
      /^-[\d.]/.test(next)
    ) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
