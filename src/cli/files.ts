/**
 * File helpers: atomic writes (a crash never leaves half a checkpoint), a
 * check that an output can be written before hours are spent computing it,
 * write failures as one-line errors that name the file, and checkpoint
 * discovery.
 */
import {
  existsSync,
  mkdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createModel } from '../compute/models';
import { checkpointProblem, decodeCheckpoint } from '../compute/train/checkpoint';
import { SafetensorsError } from '../compute/train/safetensors';
import type { Checkpoint } from '../compute/train/checkpoint';

/** A file that could not be written: printed as one line naming it, exit code 1. */
export class OutputError extends Error {
  /** The file (or folder) that could not be written. */
  readonly path: string;

  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(`cannot write ${path}: ${problem}`, options);
    this.name = 'OutputError';
    this.path = path;
  }
}

/** What an errno means for someone writing a file, in words. */
function writeProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EROFS':
      return 'the file system is read-only';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a folder on its path is a file';
    case 'EISDIR':
      return 'it is a folder';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'EEXIST':
      return 'a file is in the way of a folder on its path';
    case 'ENOENT':
      return 'its folder cannot be created there';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
}

/**
 * Write to a temporary file beside the target, then rename over it (atomic on
 * POSIX): the file is either its old self or the new one, never half of
 * either, so a full disk mid-write leaves the previous partial result intact.
 * Synchronous underneath: a long job computes between rare awaits (a Hessian
 * point is minutes of wasm), and an asynchronous write needs an event-loop
 * turn per step, so a partial result written that way could take minutes to
 * land, or be lost to a kill in between. Failures are {@link OutputError}s.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  writeFileAtomicSync(path, data);
}

export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = temporaryName(path);
  try {
    if (isFolder(path)) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    makeFolders(dirname(path));
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw new OutputError(path, writeProblem(e), { cause: e });
  }
}

/**
 * mkdir -p, one level at a time. (Node's recursive mkdirSync loops for ever
 * under /proc, where mkdir keeps answering ENOENT.)
 */
function makeFolders(dir: string, made: string[] = []): string[] {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.push(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const folder of missing.reverse()) {
    mkdirSync(folder);
    made.push(folder);
  }
  return made;
}

/** Remove a file if it is there; a path that cannot hold one (under a file) is fine too. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // nothing was written there
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Check, before computing, that `path` can be written: its folder exists or
 * can be made, and a file can be created there. Writes and removes a probe
 * file; leaves an existing `path` alone. With `folder`, `path` is itself the
 * folder the files go in (train's --out).
 */
export function assertWritable(path: string, options: { folder?: boolean } = {}): void {
  const dir = options.folder ? path : dirname(path);
  if (!options.folder && isFolder(path)) throw new OutputError(path, 'it is a folder');
  const probe = join(dir, `.skipscape-probe.${process.pid}.tmp`);
  const made: string[] = [];
  try {
    makeFolders(dir, made);
    writeFileSync(probe, '');
  } catch (e) {
    throw new OutputError(path, writeProblem(e), { cause: e });
  } finally {
    removeQuietly(probe);
    // Leave no trace: the folders are made again when the result is written.
    for (const folder of made.reverse()) {
      try {
        rmdirSync(folder);
      } catch {
        // not empty after all: keep it
      }
    }
  }
}

/**
 * Where a result goes when its own file cannot be written: the system's
 * temporary folder, under the same name (and the process id, so two runs do
 * not collide). Returns the path, or null when that fails too.
 */
export function rescueCopy(path: string, data: Uint8Array | string): string | null {
  const target = join(tmpdir(), `skipscape-rescued-${process.pid}-${basename(path)}`);
  if (resolve(target) === resolve(path)) return null;
  try {
    writeFileAtomicSync(target, data);
    return target;
  } catch {
    return null;
  }
}

/** Why a file cannot be read, in words. */
function readProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a folder on its path is a file';
  return e instanceof Error ? e.message : String(e);
}

/** A file that could not be read: one line naming it. */
export class InputError extends Error {
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(`${path}: cannot be read (${problem})`, options);
    this.name = 'InputError';
  }
}

/** The bytes of an input file; an {@link InputError} naming it when it cannot be read. */
export async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InputError(path, readProblem(e), { cause: e });
  }
}

/** The text of an input file (UTF-8). */
export async function readInputText(path: string): Promise<string> {
  return new TextDecoder().decode(await readInputFile(path));
}

/** The epoch-NNN.safetensors files of a run directory, in epoch order. */
export async function checkpointFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^epoch-\d+\.safetensors$/.test(n))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))
    .map((n) => join(dir, n));
}

/**
 * Read and validate a checkpoint against the model its metadata names, and
 * refuse one that cannot be evaluated (NaN or infinite values, a negative BN
 * running variance): every loss computed from it would be NaN. Returns the
 * file's bytes too, for its sha256.
 */
export async function readCheckpointFile(
  path: string,
): Promise<{ checkpoint: Checkpoint; bytes: Uint8Array }> {
  const bytes = await readInputFile(path);
  const checkpoint = decodeCheckpoint(bytes, { source: path, layout: createModel });
  const problem = checkpointProblem(checkpoint.training);
  if (problem !== null) throw new SafetensorsError(path, `unusable checkpoint: ${problem}`);
  return { checkpoint, bytes };
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  return (await readCheckpointFile(path)).checkpoint;
}
