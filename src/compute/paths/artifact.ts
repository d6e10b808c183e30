/**
 * The shipped files of the path studies (public/artifacts/paths/ and
 * lesion/), written by `skipscape paths|lesion --out` and read by the
 * article's figures: the result and what it was computed from and with.
 */
import type { PathGradientSamples } from './gradient';
import type { LesionResult } from './lesion';
import type { PathsResult } from './summary';

export const PATHS_FORMAT = 'skipscape-paths-1';
export const LESION_FORMAT = 'skipscape-lesion-1';

/** Where a result came from. */
export interface StudyMeta {
  /** Manifest model name, e.g. 'resnet56'. */
  model: string;
  skip: boolean;
  /** sha256 of the checkpoint file. */
  checkpointSha256: string;
  /** The checkpoint's epoch (its run's last one for shipped results). */
  epoch: number;
  dataset: string;
  split: 'test';
  /** The first `subset` test images. */
  subset: number;
  seed: number;
  /** Images per forward pass (lesions) or per gradient sample. */
  batchSize: number;
  backend: string;
  version: string;
  /** Seconds spent computing, over every resumed run. */
  seconds: number;
  /** false while some samples or lesions are still missing. */
  complete: boolean;
}

export interface PathsArtifact {
  format: typeof PATHS_FORMAT;
  meta: StudyMeta & { samplesPerLength: number };
  result: PathsResult;
  /** Every sample, so a run can resume and a reader can check the spread. */
  raw: PathGradientSamples;
}

export interface LesionArtifact {
  format: typeof LESION_FORMAT;
  meta: StudyMeta & { draws: number };
  result: LesionResult;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what}: expected an object`);
  }
  return value as Record<string, unknown>;
}

function checkMeta(meta: Record<string, unknown>, what: string): void {
  for (const key of ['model', 'checkpointSha256']) {
    if (typeof meta[key] !== 'string') throw new Error(`${what}: meta.${key} is missing`);
  }
  for (const key of ['subset', 'seed', 'seconds']) {
    if (typeof meta[key] !== 'number') throw new Error(`${what}: meta.${key} is missing`);
  }
}

/** Parse a paths file, checking the fields the figures use. */
export function parsePathsArtifact(text: string, what = 'paths file'): PathsArtifact {
  const json = object(JSON.parse(text), what);
  if (json.format !== PATHS_FORMAT) throw new Error(`${what}: not a ${PATHS_FORMAT} file`);
  const meta = object(json.meta, what);
  checkMeta(meta, what);
  const r = object(json.result, what);
  const n = r.blocks;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new Error(`${what}: result.blocks is not a block count`);
  }
  for (const key of ['lengths', 'distribution', 'gradientMagnitude', 'spread', 'contribution']) {
    const a = r[key];
    if (!Array.isArray(a) || a.length !== n + 1) {
      throw new Error(`${what}: result.${key} must have ${n + 1} entries`);
    }
  }
  const range = r.effectiveRange;
  if (!Array.isArray(range) || range.length !== 2) {
    throw new Error(`${what}: result.effectiveRange must be [lo, hi]`);
  }
  return json as unknown as PathsArtifact;
}

/** Parse a lesion file, checking the fields the figures use. */
export function parseLesionArtifact(text: string, what = 'lesion file'): LesionArtifact {
  const json = object(JSON.parse(text), what);
  if (json.format !== LESION_FORMAT) throw new Error(`${what}: not a ${LESION_FORMAT} file`);
  const meta = object(json.meta, what);
  checkMeta(meta, what);
  const r = object(json.result, what);
  for (const key of ['blocks', 'deleteOne', 'deleteK', 'deleteKDraws', 'reorder']) {
    if (!Array.isArray(r[key])) throw new Error(`${what}: result.${key} must be a list`);
  }
  if ((r.deleteOne as unknown[]).length !== (r.blocks as unknown[]).length) {
    throw new Error(`${what}: one single deletion per block expected`);
  }
  return json as unknown as LesionArtifact;
}
