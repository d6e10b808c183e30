/** Philipp et al.'s measures (src/compute/signals/gsc.ts): GSC, pre-activation std, sign diversity. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli';
import { onThisThread } from './in-process';
import type { CommandIo } from '../../src/cli/commands/types';
import type { FromWorker } from '../../src/compute/jobs/protocol';
import { createJobRunner } from '../../src/compute/jobs/runner';
import { JOB_TABLE } from '../../src/compute/jobs/table';
import { createModel } from '../../src/compute/models';
import { initialValues } from '../../src/compute/models/init';
import { createRng, deriveSeed, normalArray } from '../../src/compute/random';
import { labNetwork } from '../../src/compute/signals/depth-lab';
import { gradientScaleCoefficients, signDiversity, unitStd } from '../../src/compute/signals/gsc';
import { combineGscDraws, depthLayers, type GscResult } from '../../src/compute/signals/gsc-draws';
import { splitDraws } from '../../src/compute/signals/summary';
import { drawSeed, drawWeights, mlpSpec } from '../../src/compute/signals/network';
import { propagate } from '../../src/compute/signals/propagate';
import type { SignalNetwork } from '../../src/compute/signals/network';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

type LabOptions = Parameters<typeof labNetwork>[0];
const net = (over: Partial<LabOptions> = {}): SignalNetwork =>
  labNetwork({
    activation: 'relu',
    init: 'gaussian',
    batchNorm: false,
    residual: false,
    depth: 6,
    width: 8,
    ...over,
  });

async function gsc(
  network: SignalNetwork,
  edit?: (p: Record<string, tf.Tensor>) => void,
  pairs = false,
): Promise<GscResult> {
  const model = createModel(mlpSpec(network));
  const { params, state } = model.init(drawSeed(3, 0));
  edit?.(params);
  const before = tf.memory().numTensors;
  const r = (await gradientScaleCoefficients({
    network,
    seed: 3,
    inputs: 32,
    projections: 3,
    params,
    pairs,
  })) as GscResult;
  expect(tf.memory().numTensors).toBe(before);
  for (const t of [...Object.values(params), ...Object.values(state)]) t.dispose();
  return r;
}

describe('gradient scale coefficient', () => {
  it('is unchanged when a layer’s output is rescaled (ReLU: W_m × c, W_{m+1} ÷ c)', async () => {
    const network = net();
    const base = await gsc(network);
    const scaled = await gsc(network, (p) => {
      const c = 7.5;
      for (const [name, factor] of [
        ['layers.2.weight', c],
        ['layers.3.weight', 1 / c],
      ] as const) {
        const t = p[name]!;
        p[name] = tf.mul(t, factor);
        t.dispose();
      }
    });
    // Layer 2's pre-activations are 7.5 times larger, its GSC the same.
    expect(scaled.layerNorm[2]! / base.layerNorm[2]!).toBeCloseTo(7.5, 3);
    for (let k = 0; k < base.gscToTop.length; k++) {
      expect(scaled.gscToTop[k]! / base.gscToTop[k]!).toBeCloseTo(1, 4);
    }
  });

  it('is 1 between every pair of layers of an identity network', async () => {
    const network = net({ activation: 'linear' });
    const r = await gsc(
      network,
      (p) => {
        for (const [name, t] of Object.entries(p)) {
          if (!name.endsWith('.weight') || name === 'output.weight') continue;
          t.dispose();
          p[name] = tf.eye(8);
        }
      },
      true,
    );
    for (const g of r.gscToTop) expect(g).toBeCloseTo(1, 5);
    for (const row of r.gscPairs!) for (const g of row) if (g !== null) expect(g).toBeCloseTo(1, 5);
  });

  it('pairs end in the curve to the top, for plain and residual networks with BN', async () => {
    for (const residual of [false, true]) {
      const r = await gsc(net({ residual, batchNorm: true, activation: 'tanh' }), undefined, true);
      const n = r.layers.length;
      expect(r.gscPairs).toHaveLength(n);
      // The plain network's top is the last activation output, not a listed layer; compare
      // GSC(k, n−1) · GSC(n−1, L) ≈ GSC(k, L) only for the residual one, whose top is listed.
      if (residual) {
        for (let k = 0; k < n - 1; k++)
          expect(r.gscPairs![n - 1]![k]! / r.gscToTop[k]!).toBeCloseTo(1, 5);
      }
      expect(r.gscPairs![0]![0]).toBe(1);
      expect(r.gscPairs![0]![1]).toBeNull();
      for (const s of r.gscToTopSpread) expect(s).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('against the signal labs’ per-layer pass', () => {
  it('GSC(k, L) equals the one from propagate() with the same weights, inputs and projection', async () => {
    for (const residual of [false, true]) {
      for (const batchNorm of [false, true]) {
        const network = net({ activation: 'tanh', residual, batchNorm });
        const r = (await gradientScaleCoefficients({
          network,
          seed: 5,
          inputs: 24,
          projections: 1,
        })) as GscResult;
        const { top } = depthLayers(network);
        const expected = tf.tidy(() => {
          const d = network.width;
          const weights = drawWeights({ network, seed: 5, draw: 0 }).map(
            (w) => tf.tensor2d(w, [d, d]) as tf.Tensor2D,
          );
          const input = tf.tensor2d(normalArray(24 * d, createRng(deriveSeed(5, 'gsc/inputs'))), [
            24,
            d,
          ]);
          const u = tf.tensor2d(
            normalArray(24 * d, createRng(deriveSeed(5, `gsc/projection ${top} 0`))),
            [24, d],
          );
          const pass = propagate({ network, weights, input, topGradient: u });
          const h = residual ? pass.signals.at(-1)! : pass.activations.at(-1)!;
          const norm = (t: tf.Tensor) => Math.sqrt(tf.sum(tf.square(t)).dataSync()[0]! / 24);
          const uu = tf.sum(tf.square(u)).dataSync()[0]!;
          return pass.gradients.map(
            (g, k) =>
              (Math.sqrt(tf.sum(tf.square(g)).dataSync()[0]! / uu) * norm(pass.signals[k]!)) /
              norm(h),
          );
        });
        expect(r.gscToTop).toHaveLength(expected.length);
        for (let k = 0; k < expected.length; k++)
          expect(r.gscToTop[k]! / expected[k]!).toBeCloseTo(1, 3);
      }
    }
  });
});

describe('orthogonal initial state', () => {
  it('draws WᵀW = σ_w² I', () => {
    const d = 16;
    const w = initialValues({
      init: { kind: 'orthogonal', gain: Math.SQRT2 },
      shape: [d, d],
      seed: 1,
      name: 'layers.0.weight',
    });
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let dot = 0;
        for (let r = 0; r < d; r++) dot += w[r * d + i]! * w[r * d + j]!;
        expect(dot).toBeCloseTo(i === j ? 2 : 0, 4);
      }
    }
  });

  it('is what the lab builds for init "orthogonal"', () => {
    const spec = mlpSpec(net({ init: 'orthogonal', activation: 'tanh' }));
    expect(spec).toMatchObject({ init: 'orthogonal', sigmaW: 1, residualAlpha: null });
    expect(mlpSpec(net({ init: 'orthogonal', residual: true }))).toMatchObject({
      sigmaW: Math.SQRT2,
      residualAlpha: 1,
    });
  });
});

describe('collapsing domain measures', () => {
  it('sign diversity is 0.5 for a symmetric sample and 0 for a one-signed one', () => {
    // Two units over four inputs: unit 0 symmetric, unit 1 symmetric.
    expect(signDiversity(new Float32Array([1, -2, -1, 2, 3, -3, -3, 3]), 4, 2)).toBe(0.5);
    expect(signDiversity(new Float32Array([1, 2, 3, 4, 5, 6]), 3, 2)).toBe(0);
    expect(signDiversity(new Float32Array([-1, -2, -3, -4]), 2, 2)).toBe(0);
    expect(signDiversity(new Float32Array([1, -1, 1, 2]), 4, 1)).toBe(0.25);
  });

  it('unit std is the mean over units of the std over inputs', () => {
    expect(unitStd(new Float32Array([1, 10, 3, 10]), 2, 2)).toBeCloseTo(0.5, 6);
  });

  it('a plain ReLU network collapses: sign diversity falls with depth', async () => {
    const r = await gsc(net({ depth: 30, width: 16 }));
    expect(r.signDiversity.at(-1)!).toBeLessThan(r.signDiversity[0]! / 2);
  });
});

describe('skipscape gsc', () => {
  it('prints what the compute module computes', async () => {
    let out = '';
    const io: CommandIo = {
      out: (t) => void (out += t),
      err: () => undefined,
      progressStream: process.stderr,
    };
    const argv = ['gsc', '--activation', 'tanh', '--depth', '5', '--width', '6', '--inputs', '16'];
    const more = ['--projections', '2', '--draws', '2', '--backend', 'cpu', '--json'];
    expect(await runCli(onThisThread([...argv, ...more]), io)).toBe(0);
    const json = JSON.parse(out);
    const direct = await gradientScaleCoefficients({
      network: net({ activation: 'tanh', depth: 5, width: 6 }),
      seed: 0,
      inputs: 16,
      projections: 2,
      draws: 2,
    });
    expect(json.networks).toEqual([direct]);
  });
});

describe('gsc-draws job', () => {
  it('runs slices in the job runner whose draws merge to the one-thread result bit for bit, leaving no tensor', async () => {
    const messages: FromWorker[] = [];
    const runner = createJobRunner({
      post: (m) => void messages.push(m),
      jobs: JOB_TABLE,
      startBackend: async () => ({ name: 'cpu', reason: 'test' }),
    });
    const network = net({ activation: 'selu', residual: true, batchNorm: true });
    const run = { network, seed: 4, inputs: 16, projections: 2, draws: 3 };
    const before = tf.memory().numTensors;
    // As the GSC lab splits one network over two workers: draws [0, 1) and [1, 3).
    for (const [from, to] of splitDraws(run.draws, 2)) {
      runner.handle({
        type: 'start',
        jobId: `g${from}`,
        kind: 'gsc-draws',
        params: { ...run, pairs: false, from, to },
      });
      await runner.idle();
    }
    expect(tf.memory().numTensors).toBe(before);
    const draws = messages.flatMap((m) =>
      m.type === 'partial' && m.kind === 'gsc-draws' ? [m.partial] : [],
    );
    expect(draws.map((d) => d.draw)).toEqual([0, 1, 2]);
    const done = messages.filter((m) => m.type === 'done');
    expect(done.map((m) => m.type === 'done' && m.kind === 'gsc-draws' && m.result)).toEqual([
      { draws: 1 },
      { draws: 2 },
    ]);
    // Merged in the other order, as a page may receive them.
    expect(combineGscDraws(run, [...draws].reverse())).toEqual(
      await gradientScaleCoefficients(run),
    );
    expect(messages.some((m) => m.type === 'progress')).toBe(true);
  });
});
