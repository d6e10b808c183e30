/** File helpers: atomic writes (a crash never leaves half a checkpoint), checkpoint discovery. */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createModel } from '../compute/models';
import { decodeCheckpoint } from '../compute/train/checkpoint';
import type { Checkpoint } from '../compute/train/checkpoint';

/** Write to a temporary file beside the target, then rename over it (atomic on POSIX). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
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
