/**
 * Faults below the command line (issue 16): a disk that fills up mid-run (an
 * injected failing write: a full tmpfs needs privileges this test may not
 * have), a gzip bomb given as IDX, training that explodes while its loss is
 * still finite, and metadata that would break out of its comment line.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resultFile } from '../../src/cli/landscape-io';
import { OutputError } from '../../src/cli/files';
import { DataFormatError, parseIdx } from '../../src/compute/data/idx';
import {
  checkUploadSize,
  exportSurface,
  EXPORT_FORMATS,
  parseSurface,
  parseUploadedSurface,
  UPLOAD_LIMITS,
} from '../../src/compute/landscape/exports';
import { train } from '../../src/compute/train/loop';
import { analyticSurface } from './exports-fixtures';
import { stripesDataset, tinyModel } from './train-helpers';

/** Paths whose writes fail as on a full disk (ENOSPC), by prefix. */
const fullDisk = { prefix: null as string | null, after: 0 };

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeFileSync = (...args: Parameters<typeof fs.writeFileSync>) => {
    const [path] = args;
    if (fullDisk.prefix !== null && typeof path === 'string' && path.startsWith(fullDisk.prefix)) {
      if (fullDisk.after <= 0) {
        // What a full disk does: part of the data lands, then ENOSPC.
        fs.writeFileSync(path, 'half a fi');
        throw Object.assign(new Error(`ENOSPC: no space left on device, write`), {
          code: 'ENOSPC',
        });
      }
      fullDisk.after--;
    }
    return fs.writeFileSync(...args);
  };
  return { ...fs, writeFileSync, default: { ...fs, writeFileSync } };
});

const dir = join(tmpdir(), `skipscape-faults-io-${process.pid}`);

beforeAll(async () => {
  await tf.setBackend('cpu');
  mkdirSync(dir, { recursive: true });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a disk that fills up mid-run', () => {
  it('keeps the last partial result that fit, stops the run, and rescues the rest', () => {
    const path = join(dir, 'surface.json');
    const stop = vi.fn();
    const file = resultFile({
      path,
      seconds: 0,
      encode: (points: number) => `${JSON.stringify({ points })}\n`,
      stop,
    });
    fullDisk.prefix = dir;
    fullDisk.after = 1; // the first partial write fits, the second does not
    file.partial(1);
    expect(readFileSync(path, 'utf8')).toBe('{"points":1}\n');
    expect(() => file.partial(2)).not.toThrow();
    expect(stop).toHaveBeenCalledTimes(1);
    // The file is whole: the first partial result, not half of the second.
    expect(readFileSync(path, 'utf8')).toBe('{"points":1}\n');
    let error: unknown;
    try {
      file.finish(3, '3/9 points');
    } catch (e) {
      error = e;
    }
    fullDisk.prefix = null;
    expect(error).toBeInstanceOf(OutputError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(
      /^cannot write .*surface\.json: no space left on the device; the result \(3\/9 points\) is kept in (\S+) \(move it to .*surface\.json and add --resume to go on\)$/,
    );
    const rescued = /is kept in (\S+) /.exec(message)![1]!;
    expect(readFileSync(rescued, 'utf8')).toBe('{"points":3}\n');
    rmSync(rescued);
    expect(readFileSync(path, 'utf8')).toBe('{"points":1}\n');
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('says so when the result cannot be kept anywhere', () => {
    const path = join(dir, 'map.json');
    const file = resultFile({ path, seconds: 0, encode: String, stop: () => {} });
    fullDisk.prefix = '/';
    fullDisk.after = 0;
    let message = '';
    try {
      file.finish(1, '1/1 points');
    } catch (e) {
      message = (e as Error).message;
    }
    fullDisk.prefix = null;
    expect(message).toMatch(
      /^cannot write .*map\.json: no space left on the device; the result \(1\/1 points\) could not be kept anywhere else$/,
    );
    expect(existsSync(path)).toBe(false);
  });
});

describe('a gzip bomb given as IDX', () => {
  it('stops decompressing at the size the header declares', async () => {
    // One 28×28 image declared (16-byte header + 784 bytes), 64 MB of zeros following.
    const header = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]);
    const body = new Uint8Array(64 * 1024 * 1024);
    body.set(header);
    const bomb = gzipSync(body, { level: 9 });
    expect(bomb.length).toBeLessThan(200_000);
    const before = process.memoryUsage().arrayBuffers;
    let error: unknown;
    try {
      await parseIdx({ bytes: bomb, file: 'bomb.gz', ndim: 3 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataFormatError);
    expect((error as Error).message).toMatch(
      /^bomb\.gz: decompresses to more than the 800 bytes its header declares; stopped after \d+$/,
    );
    // Nowhere near the 64 MB it would have held (the old reader held it twice).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a gzipped file that is not IDX after its first bytes', async () => {
    const body = new Uint8Array(8 * 1024 * 1024).fill(0x41);
    await expect(parseIdx({ bytes: gzipSync(body), file: 'text.gz', ndim: 1 })).rejects.toThrow(
      /^text\.gz: wrong magic number: .*not an IDX file$/,
    );
  });

  it('still reads a valid gzipped IDX file, and names a few stray bytes after it', async () => {
    const labels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]);
    const read = await parseIdx({ bytes: gzipSync(labels), file: 'l.gz', ndim: 1 });
    expect([...read.data]).toEqual([7, 8, 9]);
    const stray = new Uint8Array([...labels, 1, 2]);
    await expect(parseIdx({ bytes: gzipSync(stray), file: 's.gz', ndim: 1 })).rejects.toThrow(
      /2 bytes after the data/,
    );
  });
});

describe('training that explodes while its loss is finite', () => {
  it('stops as divergence at lr 50, before checkpointing the epoch', async () => {
    const epochs: number[] = [];
    const result = await train({
      model: tinyModel(),
      data: { train: stripesDataset({ count: 64, seed: 1 }) },
      epochs: 2,
      lr: 50,
      batchSize: 16,
      augment: false,
      onEpoch: async ({ record }) => void epochs.push(record.epoch),
    });
    expect(result.status).toBe('diverged');
    if (result.status !== 'diverged') return;
    expect(result.divergence.message).toMatch(
      /loss (exploded to .* above 139 = 100·ln\(4 classes\)|became (NaN|Infinity))/,
    );
    expect(epochs).toEqual([]);
    expect(result.history).toEqual([]);
  });

  it('does not cry wolf at a sane learning rate', async () => {
    const result = await train({
      model: tinyModel(),
      data: { train: stripesDataset({ count: 64, seed: 1 }) },
      epochs: 2,
      lr: 0.1,
      batchSize: 16,
      augment: false,
    });
    expect(result.status).toBe('completed');
  });
});

describe('metadata that would break out of its line', () => {
  it('stays on one line in every export format of a surface made in memory', () => {
    const s = analyticSurface({ nx: 3, ny: 2, diverged: [], missing: [] });
    s.meta.model = 'resnet8\n1,2,3,1,1\nv 0 0 0\r\u2028';
    for (const format of EXPORT_FORMATS) {
      const text = exportSurface(s, format.id, {});
      if (format.id === 'csv') {
        const rows = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
        expect(rows).toHaveLength(1 + 6);
      }
      if (format.id === 'obj') {
        expect(text.split('\n').filter((l) => l.startsWith('v '))).toHaveLength(6);
      }
      if (format.id === 'json') {
        // Escaped by JSON itself; and parseSurface refuses it on the way back in.
        expect(() => parseSurface(text, 'x.json')).toThrow(/meta\.model contains a line break/);
      }
      expect(text, format.id).not.toMatch(/resnet8\n/);
      // The line-based formats escape every line separator; JSON (in .json,
      // glTF and the SVG's <metadata>) keeps the value as data, which JSON may.
      if (['csv', 'obj', 'vts'].includes(format.id))
        expect(text, format.id).not.toContain('\u2028');
    }
  });
});

describe('surfaces opened in the explorer', () => {
  it('are refused over 4 MiB before parsing, and over 301 × 301 points before the schema', () => {
    expect(() => checkUploadSize({ name: 'big.json', bytes: 18_000_000 })).toThrow(
      /^big\.json: 17\.2 MB, more than the 4\.0 MB this page opens; export a coarser grid/,
    );
    expect(() => checkUploadSize({ name: 'ok.json', bytes: UPLOAD_LIMITS.bytes })).not.toThrow();
    const axis = Array.from({ length: 302 }, (_, i) => i);
    // Arrays of the wrong length, even: the grid's size is checked first.
    const text = JSON.stringify({ xs: axis, ys: axis, loss: [], accuracy: [], mask: [] });
    expect(() => parseUploadedSurface(text, 'many.json')).toThrow(
      /^many\.json: 302 × 302 = 91,204 points, more than the 90,601 \(301 × 301\) this page opens/,
    );
    // The command line reads the same file up to its own maximum (and then finds no metadata).
    expect(() => parseSurface(text, 'many.json')).toThrow(/^many\.json: meta: /);
    const s = analyticSurface({ nx: 301, ny: 301, diverged: [], missing: [] });
    expect(parseUploadedSurface(exportSurface(s, 'json'), 'fits.json').xs).toHaveLength(301);
  });
});
