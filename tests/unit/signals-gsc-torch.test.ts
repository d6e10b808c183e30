/**
 * GSC(k, L) against an independent implementation: PyTorch in float64, with
 * tr(JᵀJ) summed exactly over every output coordinate (scripts/cross-check/
 * gsc_torch.py), where skipscape estimates it with random projections. The
 * fixture holds draw 0 of three lab networks (50 layers, width 100, seed 0):
 * exploding plain ReLU, plain ReLU with BN (the batch's inputs coupled), and a
 * residual tanh network with BN.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradientScaleCoefficients } from '../../src/compute/signals/gsc';
import type { GscResult } from '../../src/compute/signals/gsc-draws';
import type { SignalNetwork } from '../../src/compute/signals/network';

interface TorchGsc {
  network: SignalNetwork;
  seed: number;
  inputs: number;
  draw: number;
  gscToTop: number[];
  layerNorm: number[];
  topNorm: number;
}

const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/gsc-torch.json', import.meta.url), 'utf8'),
) as TorchGsc[];
const PROJECTIONS = 32;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

const label = (n: SignalNetwork) =>
  `${n.residualAlpha === null ? 'plain' : 'residual'} ${n.activation}${n.batchNorm ? ' + BN' : ''}`;

describe('GSC(k, L) equals PyTorch’s exact value (float64, every output coordinate)', () => {
  it('covers the networks that matter: exploding, BN-coupled, residual', () => {
    expect(fixtures.map((f) => label(f.network))).toEqual([
      'plain relu',
      'plain relu + BN',
      'residual tanh + BN',
    ]);
  });

  it.each(fixtures.map((f) => [label(f.network), f] as const))(
    '%s',
    async (_name, f) => {
      const before = tf.memory().numTensors;
      const r = (await gradientScaleCoefficients({
        network: f.network,
        seed: f.seed,
        inputs: f.inputs,
        projections: PROJECTIONS,
        draws: 1,
      })) as GscResult;
      expect(tf.memory().numTensors).toBe(before);
      expect(r.gscToTop).toHaveLength(f.gscToTop.length);
      // The forward pass is deterministic: float32 against float64.
      r.layerNorm.forEach((v, k) => expect(v / f.layerNorm[k]!).toBeCloseTo(1, 4));
      // The projections' mean is a random estimate of the exact value: it must lie
      // within four standard errors (the spread over projections / √P) of it.
      r.gscToTop.forEach((g, k) => {
        const exact = f.gscToTop[k]!;
        const standardError = r.gscToTopSpread[k]! / Math.sqrt(PROJECTIONS);
        expect(Math.abs(g - exact), `layer ${k}: ${g} vs ${exact}`).toBeLessThanOrEqual(
          4 * standardError + 1e-4 * exact,
        );
      });
      // And the estimate is informative: the errors are a few per cent at most.
      const worst = Math.max(...r.gscToTop.map((g, k) => Math.abs(g / f.gscToTop[k]! - 1)));
      expect(worst).toBeLessThan(0.05);
    },
    600_000,
  );
});
