/**
 * The compute commands on real worker threads (the esbuild bundle, one wasm
 * instance per thread), on a ResNet-8 checkpoint and the first Fashion-MNIST
 * training images: --workers 2 equals --workers 1 (landscape bit for bit,
 * hessian and eval within 1e-6 relative), Ctrl-C keeps every finished point
 * and --resume completes the surface of an uninterrupted run, and no worker
 * leaves tensors behind (each reports its count when it started and after it
 * was disposed; the command names any that differ).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HessianMap } from '../../src/compute/landscape/hessian';
import type { Surface } from '../../src/compute/landscape/surface';
import { createModel } from '../../src/compute/models';
import type { ResNetSpec } from '../../src/compute/models';
import { encodeCheckpoint } from '../../src/compute/train/checkpoint';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import { initialTrainingState } from '../../src/compute/train/state';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

// A bundle of our own, so others editing src/ cannot change the code between compared runs.
const pinned = join(ROOT, '.cache', 'skipscape', `cli-workers-test-${process.pid}.mjs`);
async function skipscape(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [pinned, ...argv], {
      cwd: tmpdir(),
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const spec: ResNetSpec = {
  kind: 'resnet',
  depth: 8,
  shortcut: 'B',
  skip: true,
  residualScale: 1,
  inputShape: [1, 28, 28],
  classes: 10,
};
let dir: string;
let checkpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skipscape-workers-'));
  const { ensureCliBundle } = (await import('../../bin/build-cli.mjs')) as {
    ensureCliBundle(o: { force: boolean; outfile: string }): Promise<string>;
  };
  await ensureCliBundle({ force: true, outfile: pinned });
  await tf.setBackend('cpu');
  const training = await initialTrainingState(createModel(spec), 4);
  checkpoint = join(dir, 'epoch-001.safetensors');
  await writeFile(
    checkpoint,
    encodeCheckpoint({
      meta: {
        spec,
        dataset: 'fashion-mnist',
        epoch: 1,
        step: 1,
        seed: 4,
        config: {
          epochs: 1,
          lr: 0.1,
          batchSize: 128,
          schedule: { kind: 'constant' },
          sgd: LI_ET_AL_SGD,
          augment: false,
          seed: 4,
          trainImages: 100,
          testImages: 0,
        },
        history: [],
        backend: 'cpu',
        written: new Date(0).toISOString(),
      },
      training,
    }),
  );
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(pinned, { force: true });
});

const LEAK = /left -?\d+ tensors behind/;
const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

describe('compute commands on worker threads', () => {
  const landscapeArgs = (out: string, workers: number) => [
    'landscape',
    '--checkpoint',
    checkpoint,
    '--grid',
    '-1:1:7,-1:1:7',
    '--subset',
    '48',
    '--batch',
    '16',
    '--workers',
    String(workers),
    '--out',
    out,
  ];

  it('landscape: two workers give the one-worker surface bit for bit', async () => {
    const one = await skipscape(...landscapeArgs(join(dir, 'one.json'), 1));
    expect(one.code, one.err).toBe(0);
    const two = await skipscape(...landscapeArgs(join(dir, 'two.json'), 2));
    expect(two.code, two.err).toBe(0);
    expect(two.err).toMatch(/wasm × 2 worker threads/);
    expect(two.err).not.toMatch(LEAK);
    const a = JSON.parse(await readFile(join(dir, 'one.json'), 'utf8')) as Surface;
    const b = JSON.parse(await readFile(join(dir, 'two.json'), 'utf8')) as Surface;
    expect(b.mask.every((m) => m === 1)).toBe(true);
    expect(b.loss).toEqual(a.loss);
    expect(b.accuracy).toEqual(a.accuracy);
    expect(b.meta.backend).toBe(a.meta.backend);
  });

  it('landscape: Ctrl-C keeps every finished point; --resume completes the same surface', async () => {
    const out = join(dir, 'cancelled.json');
    const child = spawn(process.execPath, [pinned, ...landscapeArgs(out, 2)], { cwd: tmpdir() });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => void (err += chunk.toString()));
    // Interrupt when the first partial surface is written (after the first
    // point), with the other worker's point in flight.
    const poll = setInterval(() => {
      if (existsSync(out) && !child.killed) child.kill('SIGINT');
    }, 10);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(poll);
    expect(code, err).toBe(130);
    expect(err).toMatch(/stopping after the points in progress/);
    expect(err).not.toMatch(LEAK);
    const whole = JSON.parse(await readFile(join(dir, 'one.json'), 'utf8')) as Surface;
    const partial = JSON.parse(await readFile(out, 'utf8')) as Surface;
    const kept = partial.mask.filter((m) => m === 1).length;
    expect(kept).toBeGreaterThanOrEqual(1);
    expect(kept).toBeLessThan(49);
    // The file holds every point the run finished, the one in flight at Ctrl-C included.
    expect(err).toMatch(new RegExp(`landscape: ${kept}/49 points in`));
    partial.mask.forEach((m, p) => m === 1 && expect(partial.loss[p]).toBe(whole.loss[p]));

    const resumed = await skipscape(...landscapeArgs(out, 2), '--resume');
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(new RegExp(`resuming with ${kept} points done`));
    const done = JSON.parse(await readFile(out, 'utf8')) as Surface;
    expect(done.loss).toEqual(whole.loss);
    expect(done.accuracy).toEqual(whole.accuracy);
  });

  it('hessian: each product split over two workers equals one worker within 1e-6', async () => {
    const args = (out: string, workers: number) => [
      'hessian',
      '--checkpoint',
      checkpoint,
      '--grid',
      '0.5:0.5:1',
      '--subset',
      // Batches of 8: shares of 16 and 8 images, unequal, so the mean's weights matter.
      '24',
      '--batch',
      '8',
      '--iters',
      '4',
      '--workers',
      String(workers),
      '--out',
      out,
    ];
    const one = await skipscape(...args(join(dir, 'h1.json'), 1));
    expect(one.code, one.err).toBe(0);
    const two = await skipscape(...args(join(dir, 'h2.json'), 2));
    expect(two.code, two.err).toBe(0);
    expect(two.err).not.toMatch(LEAK);
    const a = JSON.parse(await readFile(join(dir, 'h1.json'), 'utf8')) as HessianMap;
    const b = JSON.parse(await readFile(join(dir, 'h2.json'), 'utf8')) as HessianMap;
    expect(b.mask).toEqual([1]);
    for (const key of ['lambdaMax', 'lambdaMin', 'residualMax', 'residualMin'] as const) {
      b[key].forEach((v, p) => expect(relative(v!, a[key][p]!)).toBeLessThan(1e-6));
    }
    expect(b.products).toEqual(a.products);
  }, 300_000);

  it('eval: the batches split over two workers give the one-worker loss within 1e-6', async () => {
    const args = (workers: number) => [
      'eval',
      '--checkpoint',
      checkpoint,
      '--split',
      'train',
      '--limit',
      '50',
      '--batch',
      '25',
      '--workers',
      String(workers),
      '--json',
    ];
    const one = await skipscape(...args(1));
    const two = await skipscape(...args(2));
    expect(one.code, one.err).toBe(0);
    expect(two.code, two.err).toBe(0);
    expect(two.err).not.toMatch(LEAK);
    const a = JSON.parse(one.out) as { loss: number; accuracy: number; images: number };
    const b = JSON.parse(two.out) as { loss: number; accuracy: number; images: number };
    expect(b.images).toBe(50);
    expect(relative(b.loss, a.loss)).toBeLessThan(1e-6);
    expect(b.accuracy).toBe(a.accuracy);
  });
});
