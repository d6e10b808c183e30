/**
 * `skipscape signals`, `gsc`, `effective-depth` and `responses` on real worker threads (the esbuild
 * bundle, one job runner and wasm instance per thread): --workers 2 prints
 * what --workers 1 prints, bit for bit but for the timings; Ctrl-C keeps
 * every draw finished, each equal to the one-thread run's; no thread leaves
 * tensors behind (the command names any that does).
 */
import { execFile, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

// A bundle of our own, so others editing src/ cannot change the code between compared runs.
const pinned = join(ROOT, '.cache', 'skipscape', `cli-signals-workers-test-${process.pid}.mjs`);
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

beforeAll(async () => {
  const { ensureCliBundle } = (await import('../../bin/build-cli.mjs')) as {
    ensureCliBundle(o: { force: boolean; outfile: string }): Promise<string>;
  };
  await ensureCliBundle({ force: true, outfile: pinned });
}, 180_000);

afterAll(async () => {
  await rm(pinned, { force: true });
});

const LEAK = /left -?\d+ tensors behind/;

interface SignalsJson {
  draws: number;
  elapsedMs: number;
  forwardVarianceDraws: (number | null)[][];
  backwardVarianceDraws: (number | null)[][];
}

describe('signals, gsc, effective-depth and responses on worker threads', () => {
  const signalsArgs = ['signals', '--depth', '20', '--width', '24', '--batch', '16'];

  it('signals --workers 2 equals --workers 1 (5 draws, residual with BN)', async () => {
    const args = [...signalsArgs, '--residual', '--alpha', '0.5', '--bn', '--draws', '5'];
    const one = await skipscape(...args, '--workers', '1', '--json');
    const two = await skipscape(...args, '--workers', '2', '--json');
    expect(one.code, one.err).toBe(0);
    expect(two.code, two.err).toBe(0);
    expect(two.err).not.toMatch(LEAK);
    const a = JSON.parse(one.out) as SignalsJson;
    const b = JSON.parse(two.out) as SignalsJson;
    expect(b.draws).toBe(5);
    expect({ ...b, elapsedMs: 0 }).toEqual({ ...a, elapsedMs: 0 });
  }, 120_000);

  it('gsc --all --pairs --workers 2 prints what --workers 1 prints', async () => {
    const args = ['gsc', '--all', '--depth', '3', '--width', '6', '--inputs', '8'];
    const more = ['--projections', '2', '--draws', '2', '--pairs', '--json'];
    const one = await skipscape(...args, ...more, '--workers', '1');
    const two = await skipscape(...args, ...more, '--workers', '2');
    expect(one.code, one.err).toBe(0);
    expect(two.code, two.err).toBe(0);
    expect(two.err).not.toMatch(LEAK);
    expect(JSON.parse(two.out).networks).toHaveLength(24);
    expect(two.out).toBe(one.out);
  }, 300_000);

  it('effective-depth --workers 2 (a network per thread) equals --workers 1 but for timings', async () => {
    const args = ['effective-depth', '--depth', '3', '--width', '8', '--epochs', '1'];
    const more = ['--limit', '192', '--images', '32', '--json'];
    const one = await skipscape(...args, ...more, '--workers', '1');
    const two = await skipscape(...args, ...more, '--workers', '2');
    expect(one.code, one.err).toBe(0);
    expect(two.code, two.err).toBe(0);
    expect(two.err).not.toMatch(LEAK);
    type Report = { networks: { history: { seconds: number; imagesPerSecond: number }[] }[] };
    const untimed = (text: string) => {
      const r = JSON.parse(text) as Report;
      for (const n of r.networks) for (const h of n.history) h.seconds = h.imagesPerSecond = 0;
      return r;
    };
    expect(untimed(two.out).networks).toHaveLength(2);
    expect(untimed(two.out)).toEqual(untimed(one.out));
  }, 300_000);

  it('responses --workers 2 (batches dealt out) equals --workers 1', async () => {
    const checkpoint = join(
      ROOT,
      'public',
      'artifacts',
      'runs',
      'resnet20-skip',
      'epoch-016.safetensors',
    );
    const args = ['responses', '--checkpoint', checkpoint, '--subset', '40', '--batch', '16'];
    const one = await skipscape(...args, '--json', '--workers', '1');
    const two = await skipscape(...args, '--json', '--workers', '2');
    expect(one.code, one.err).toBe(0);
    expect(two.code, two.err).toBe(0);
    expect(two.err).not.toMatch(LEAK);
    expect(JSON.parse(two.out).images).toBe(40);
    expect(two.out).toBe(one.out);
  }, 300_000);

  it('Ctrl-C keeps every draw finished, each equal to the one-thread run', async () => {
    // Draws of 10–20 ms, so the run outlasts the second before the first progress line.
    const args = ['signals', '--depth', '50', '--width', '64', '--batch', '64', '--draws', '256'];
    args.push('--json');
    const child = spawn(process.execPath, [pinned, ...args, '--workers', '2'], {
      cwd: tmpdir(),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
    // The progress line appears once a draw is done and a second has passed.
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (/signals .*\/256/.test(err) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, err).toBe(130);
    expect(err).toMatch(/stopping after the draws in progress/);
    expect(err).not.toMatch(LEAK);
    const partial = JSON.parse(out) as SignalsJson;
    expect(partial.draws).toBeGreaterThanOrEqual(1);
    expect(partial.draws).toBeLessThan(256);
    const whole = await skipscape(...args, '--workers', '1');
    expect(whole.code, whole.err).toBe(0);
    const all = JSON.parse(whole.out) as SignalsJson;
    // Each kept draw's per-layer variances are one of the whole run's draws.
    const key = (f: (number | null)[], b: (number | null)[]) => JSON.stringify([f, b]);
    const known = new Set(
      all.forwardVarianceDraws.map((f, k) => key(f, all.backwardVarianceDraws[k]!)),
    );
    partial.forwardVarianceDraws.forEach((f, k) =>
      expect(known.has(key(f, partial.backwardVarianceDraws[k]!))).toBe(true),
    );
  }, 300_000);
});
