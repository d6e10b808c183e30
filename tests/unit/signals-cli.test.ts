/**
 * `skipscape signals --json` prints what src/compute/signals computes, under
 * the names the issue gives, and `--out` writes a signals file the figures read.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli';
import { onThisThread } from './in-process';
import type { CommandIo } from '../../src/cli/commands/types';
import {
  inverseSqrtAlpha,
  measureSignals,
  parseSignalsFile,
  sampleChain,
  signalLayerRows,
} from '../../src/compute/signals';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    progressStream: process.stderr,
  };
  const code = await runCli(onThisThread(argv), io);
  return { code, out, err };
}

describe('skipscape signals', () => {
  it('--json layers equal the compute module, residual with α = 1/√T', async () => {
    const { code, out } = await cli(
      'signals',
      '--depth',
      '6',
      '--width',
      '16',
      '--activation',
      'tanh',
      '--init',
      'gaussian',
      '--sigma-w2',
      '1.5',
      '--residual',
      '--alpha',
      'invsqrt',
      '--batch',
      '10',
      '--draws',
      '3',
      '--seed',
      '7',
      '--chain',
      '500',
      '--chain-activation',
      'relu',
      '--gamma2',
      '2',
      '--json',
    );
    expect(code).toBe(0);
    const json = JSON.parse(out) as {
      layers: Record<string, unknown>[];
      network: unknown;
      chain: { meanSquareRate: number };
    };
    const network = {
      width: 16,
      depth: 6,
      activation: 'tanh' as const,
      init: 'gaussian' as const,
      sigmaW2: 1.5,
      residualAlpha: inverseSqrtAlpha(6),
      batchNorm: false,
    };
    expect(json.network).toEqual(network);
    const direct = await measureSignals({ network, batch: 10, draws: 3, seed: 7 });
    expect(json.layers).toEqual(JSON.parse(JSON.stringify(signalLayerRows(direct))));
    expect(json.layers[0]).toHaveProperty('forwardVariance');
    expect(json.layers[0]).toHaveProperty('backwardVariance');
    expect(json.layers[0]).toHaveProperty('theoryForward');
    expect(json.layers[0]).toHaveProperty('theoryBackward');
    const chain = sampleChain({ gamma2: 2, depth: 10, chains: 500, activation: 'relu', seed: 7 });
    expect(json.chain.meanSquareRate).toBe(chain.meanSquareRate);
  });

  it('--out writes a signals file; bad flags are usage errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signals-'));
    try {
      const path = join(dir, 's.json');
      const { code } = await cli(
        'signals',
        '--depth',
        '3',
        '--width',
        '8',
        '--batch',
        '4',
        '--draws',
        '1',
        '--out',
        path,
      );
      expect(code).toBe(0);
      const file = parseSignalsFile(await readFile(path, 'utf8'), path);
      expect(file.statistics.t).toEqual([1, 2, 3]);
      expect(file.meta.command).toContain('--depth 3');
      expect(file.meta.command).not.toContain(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect((await cli('signals', '--alpha', '2')).code).toBe(2);
    expect((await cli('signals', '--activation', 'gelu')).code).toBe(2);
  });
});
