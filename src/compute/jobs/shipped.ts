/**
 * What the live jobs that start from a shipped checkpoint share: read the
 * file, check it against the manifest's sha256 before any compute (a stale
 * cache or a half-written file fails with both sums named), decode it and
 * build its model. Plain arrays out; each job makes the tensors it needs.
 */
import { createModel } from '../models';
import type { Model } from '../models';
import { decodeCheckpoint } from '../train/checkpoint';
import type { Checkpoint } from '../train/checkpoint';

/** Hex sha256 with Web Crypto (workers and Node 22 have it). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A checkpoint by URL, its sha256 checked, decoded, with its model and its (checked) sum. */
export async function readShippedCheckpoint(options: {
  readBytes: (path: string) => Promise<Uint8Array>;
  /** URL or path of the safetensors file. */
  checkpoint: string;
  /** The manifest's sha256 of that file. */
  sha256: string;
}): Promise<{ checkpoint: Checkpoint; model: Model; sha256: string }> {
  const bytes = await options.readBytes(options.checkpoint);
  const sum = await sha256Hex(bytes);
  if (sum !== options.sha256.toLowerCase()) {
    throw new Error(
      `${options.checkpoint}: sha256 ${sum.slice(0, 12)}… does not match the manifest's ${options.sha256.slice(0, 12)}…`,
    );
  }
  const checkpoint = decodeCheckpoint(bytes, { source: options.checkpoint, layout: createModel });
  return { checkpoint, model: createModel(checkpoint.meta.spec), sha256: sum };
}
