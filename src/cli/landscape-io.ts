/**
 * Files of the landscape commands: surfaces and Hessian maps (JSON, written
 * atomically, so a killed run leaves the last complete partial file),
 * directions (safetensors: `x.<name>` and `y.<name>` in the checkpoint's names
 * and layouts), checkpoints with their sha256, and the evaluation subset.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { firstExamples } from '../compute/data/dataset';
import type { Dataset } from '../compute/data/dataset';
import type { Direction, DirectionPair } from '../compute/landscape/directions';
import { checkGridAxes } from '../compute/landscape/axes';
import { parseSurface, surfaceToJson } from '../compute/landscape/exports';
import type { HessianMap } from '../compute/landscape/hessian';
import type { Surface } from '../compute/landscape/surface';
import type { ModelSpec } from '../compute/models/types';
import type { Checkpoint } from '../compute/train/checkpoint';
import { decodeSafetensors, encodeSafetensors, toFloat32 } from '../compute/train/safetensors';
import type { TensorToWrite } from '../compute/train/safetensors';
import { UsageError } from './args';
import { loadDataset, parseDataset } from './data';
import {
  OutputError,
  readCheckpointFile,
  readInputFile,
  readInputText,
  rescueCopy,
  writeFileAtomic,
  writeFileAtomicSync,
} from './files';

export const DIRECTIONS_FORMAT = 'skipscape-directions-1';

/** A checkpoint read from disk, with the sha256 of its bytes (the surface's checkpointSha256). */
export interface LoadedCheckpoint extends Checkpoint {
  path: string;
  sha256: string;
}

export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const { checkpoint, bytes } = await readCheckpointFile(path);
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
  return decodeDirections(await readInputFile(path), path);
}

export async function readSurfaceFile(path: string): Promise<Surface> {
  return parseSurface(await readInputText(path), path);
}

export async function writeSurfaceFile(path: string, surface: Surface): Promise<void> {
  await writeFileAtomic(path, surfaceToJson(surface, { outPath: path }));
}

/** A Hessian map file, checked for the fields and lengths the commands rely on. */
export async function readHessianMapFile(path: string): Promise<HessianMap> {
  const text = await readInputText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not JSON (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  const m = value as Partial<HessianMap>;
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw new Error(`${path}: not a Hessian map (a JSON ${Array.isArray(m) ? 'list' : typeof m})`);
  if (!('lambdaMax' in m) && 'loss' in m)
    throw new Error(`${path}: a loss surface (from skipscape landscape), not a Hessian map`);
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
  checkGridAxes({ xs: m.xs!, ys: m.ys!, source: path });
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

/**
 * The output file of a long run (a surface, a Hessian map): the partial
 * result written every `seconds` while it computes, and the whole at the end.
 * A write that fails mid-run (a full disk) does not crash the run: `stop` is
 * called so it ends after the point in progress, and `finish` tries the file
 * once more; when it still cannot be written, the result goes to a rescue copy
 * in the temporary folder and `finish` throws an {@link OutputError} that says
 * where. The file itself is only ever replaced whole (writeFileAtomic), so it
 * keeps the last partial result that did fit.
 */
export function resultFile<T>(options: {
  path: string;
  seconds: number;
  encode: (value: T) => string;
  /** Called once, on the first failed partial write. */
  stop: () => void;
}): { partial: (value: T) => void; finish: (value: T, summary: string) => void } {
  const { path, seconds, encode } = options;
  let last = 0;
  let failure: OutputError | null = null;
  return {
    partial(value) {
      const now = Date.now();
      if (failure !== null || now - last < seconds * 1000) return;
      last = now;
      try {
        writeFileAtomicSync(path, encode(value));
      } catch (e) {
        failure = e instanceof OutputError ? e : new OutputError(path, String(e));
        options.stop();
      }
    },
    finish(value, summary) {
      const text = encode(value);
      try {
        writeFileAtomicSync(path, text);
        return;
      } catch (e) {
        failure = e instanceof OutputError ? e : new OutputError(path, String(e));
      }
      const rescued = rescueCopy(path, text);
      const problem = failure.message.replace(/^cannot write [^:]*: /, '');
      throw new OutputError(
        path,
        rescued === null
          ? `${problem}; the result (${summary}) could not be kept anywhere else`
          : `${problem}; the result (${summary}) is kept in ${rescued} (move it to ${path} and add --resume to go on)`,
        { cause: failure },
      );
    },
  };
}

/**
 * Refuse to replace an existing result file unless told to: --resume
 * continues it, --force starts over. (A second run without --resume used to
 * replace 43 computed points of 81 with 1.)
 */
export function refuseToReplace(options: {
  command: string;
  path: string;
  resume: boolean;
  force: boolean;
}): void {
  if (options.resume || options.force || !existsSync(options.path)) return;
  throw new UsageError(
    `${options.command}: ${options.path} exists; continue it with --resume, or replace it with --force`,
  );
}

export { attachNegativeValues } from './args';
