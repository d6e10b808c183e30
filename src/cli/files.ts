/** File helpers: atomic writes (a crash never leaves half a checkpoint), checkpoint discovery. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createModel } from '../compute/models';
import { decodeCheckpoint } from '../compute/train/checkpoint';
import type { Checkpoint } from '../compute/train/checkpoint';

/**
 * Write to a temporary file beside the target, then rename over it (atomic on
 * POSIX). Synchronous underneath: a long job computes between rare awaits
 * (a Hessian point is minutes of wasm), and an asynchronous write needs an
 * event-loop turn per step, so a partial result written that way could take
 * minutes to land, or be lost to a kill in between.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
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

/** Read and validate a checkpoint against the model its metadata names. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new Error(`${path}: cannot be read (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  return decodeCheckpoint(bytes, { source: path, layout: createModel });
}
