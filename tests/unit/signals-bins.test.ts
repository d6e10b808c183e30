/**
 * The histograms binned where the samples are (summary.ts: histogramRanges,
 * binSamples in each worker, addBins) against the page-side binning they
 * replaced, kept here as it was (every draw's samples over one range taken
 * from all of them): the same counts, bit for bit, and the same ranges (the
 * activation range's Σf(h)² is now added per draw, so it may differ in its
 * last bits; here it is compared to 1e-14 and the counts must still agree).
 * Cases: every activation, BN, the residual form, a network whose deep
 * layers overflow float32 (samples that are ±∞ or NaN), the draws split over
 * one, two and three workers in any order.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import {
  addBins,
  assembleSignals,
  binSamples,
  histogramRanges,
  measureSignalDraws,
  signalLayout,
  splitDraws,
  summariseSignals,
  type Histograms,
  type SignalDraw,
  type SignalLayout,
  type SignalNetwork,
} from '../../src/compute/signals';

// Orthogonal weights take tfjs's QR; a loaded machine can take a while to start it.
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
}, 60_000);

// ---------------------------------------------------------------- the page-side binning as it was
function oldHistogram(layers: Float32Array[][], lo: number, hi: number, bins: number): Histograms {
  const width = (hi - lo) / bins;
  const counts: number[][] = [];
  const outside: number[] = [];
  for (const parts of layers) {
    const c = new Array<number>(bins).fill(0);
    let out = 0;
    for (const values of parts) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        const b = Math.floor((v - lo) / width);
        if (b >= 0 && b < bins) c[b]!++;
        else if (v === hi) c[bins - 1]!++;
        else out++;
      }
    }
    counts.push(c);
    outside.push(out);
  }
  return { lo, hi, counts, outside };
}

function oldHistogramRange(meanSquare: (number | null)[], layers: number[]): number {
  const rms = layers.map((l) => Math.sqrt(meanSquare[l] ?? 0)).filter(Number.isFinite);
  const r = 4 * Math.max(0, ...rms);
  return r > 0 ? r : 1;
}

function oldSampleRange(layers: Float32Array[][]): { lo: number; hi: number } {
  let largest = 0;
  let extreme = 0;
  let negative = false;
  for (const parts of layers) {
    let sumSq = 0;
    let n = 0;
    for (const values of parts) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (!Number.isFinite(v)) continue;
        sumSq += v * v;
        n++;
        if (v < 0) negative = true;
        const a = Math.abs(v);
        if (a > extreme) extreme = a;
      }
    }
    if (n > 0) largest = Math.max(largest, Math.sqrt(sumSq / n));
  }
  const r = largest > 0 ? Math.min(4 * largest, extreme) : 1;
  return { lo: negative ? -r : 0, hi: r };
}

/** The old summary's three histograms, from every draw's samples. */
function oldHistograms(layout: SignalLayout, measured: SignalDraw[]) {
  const draws = [...measured].sort((a, b) => a.draw - b.draw);
  // The pooled moments are unchanged (the same code): taken from the new summary.
  const moments = summariseSignals(layout, draws, 0);
  const layers = layout.histogramLayers;
  const perLayer = (pick: (d: SignalDraw) => Float32Array[]) =>
    layers.map((_, i) => draws.map((d) => pick(d)[i]!));
  const rs = oldHistogramRange(moments.forwardMeanSquare, layers);
  const rg = oldHistogramRange(moments.backwardVariance, layers);
  const activation = perLayer((d) => d.activation);
  const ra = oldSampleRange(activation);
  const bins = layout.histogramBins;
  return {
    signal: oldHistogram(
      perLayer((d) => d.signal),
      -rs,
      rs,
      bins,
    ),
    gradient: oldHistogram(
      perLayer((d) => d.gradient),
      -rg,
      rg,
      bins,
    ),
    activation: oldHistogram(activation, ra.lo, ra.hi, bins),
  };
}

const net = (over: Partial<SignalNetwork>): SignalNetwork => ({
  width: 24,
  depth: 8,
  activation: 'relu',
  init: 'kaiming',
  sigmaW2: 2,
  residualAlpha: null,
  batchNorm: false,
  ...over,
});

const cases: [string, Partial<SignalNetwork>][] = [
  ['ReLU, Kaiming', {}],
  ['tanh, Glorot', { activation: 'tanh', init: 'glorot' }],
  ['sigmoid with BN', { activation: 'sigmoid', batchNorm: true }],
  ['SELU, σ_w² = 1', { activation: 'selu', init: 'gaussian', sigmaW2: 1 }],
  ['linear, orthogonal', { activation: 'linear', init: 'orthogonal', sigmaW2: 1.5 }],
  ['residual ReLU, α = 1', { residualAlpha: 1 }],
  ['residual tanh with BN, α = 0.3', { activation: 'tanh', residualAlpha: 0.3, batchNorm: true }],
  // x_t doubles per block: beyond about 128 blocks h_t overflows float32 (±∞, then NaN).
  ['residual ReLU, α = 1, 300 blocks (overflow)', { residualAlpha: 1, depth: 300, width: 8 }],
];

describe('histograms binned in the workers', () => {
  for (const [label, over] of cases) {
    it(`${label}: the same counts and ranges as the page-side binning`, async () => {
      const network = net(over);
      const layout = signalLayout({ network, batch: 10, draws: 5, seed: 17 });
      const draws = await measureSignalDraws({ layout, from: 0, to: 5 });
      const old = oldHistograms(layout, draws);
      const whole = summariseSignals(layout, draws, 0);
      for (const kind of ['signal', 'gradient', 'activation'] as const) {
        const h = whole.histograms[kind];
        if (kind === 'activation') {
          expect(h.lo).toBeCloseTo(old[kind].lo, 12);
          expect(Math.abs(h.hi - old[kind].hi)).toBeLessThanOrEqual(1e-14 * old[kind].hi);
        } else {
          expect(h.lo).toBe(old[kind].lo);
          expect(h.hi).toBe(old[kind].hi);
        }
        expect(h.counts).toEqual(old[kind].counts);
        expect(h.outside).toEqual(old[kind].outside);
      }
      if (label.includes('overflow'))
        expect(whole.histograms.signal.outside.at(-1)).toBeGreaterThan(0);
      // Split over one, two or three workers, each counting its own draws, in any order.
      const ranges = histogramRanges(layout, [...draws].reverse());
      for (const lanes of [1, 2, 3]) {
        const parts = splitDraws(5, lanes)
          .reverse()
          .map(([from, to]) => binSamples(draws.slice(from, to), ranges, layout.histogramBins));
        const split = assembleSignals(layout, draws, ranges, addBins(parts), 0);
        expect({ ...split, timing: null }).toEqual({ ...whole, timing: null });
      }
    });
  }

  it('counts of the draws so far (a partial picture) are those of a run of just them', async () => {
    const layout = signalLayout({
      network: net({ activation: 'tanh' }),
      batch: 8,
      draws: 6,
      seed: 2,
    });
    const draws = await measureSignalDraws({ layout, from: 0, to: 6 });
    const some = [draws[4]!, draws[1]!, draws[2]!];
    const ranges = histogramRanges(layout, some);
    const partial = assembleSignals(
      layout,
      some,
      ranges,
      addBins([
        binSamples([draws[4]!], ranges, 41),
        binSamples([draws[1]!, draws[2]!], ranges, 41),
      ]),
      0,
    );
    expect({ ...partial, timing: null }).toEqual({
      ...summariseSignals(layout, some, 0),
      timing: null,
    });
    expect(partial.draws).toBe(3);
    expect(() =>
      assembleSignals(layout, some, ranges, binSamples([draws[1]!], ranges, 41), 0),
    ).toThrow(/histograms of draws 1 for draws 1, 2, 4/);
    expect(() =>
      addBins([binSamples([draws[1]!], ranges, 41), binSamples([draws[1]!], ranges, 41)]),
    ).toThrow(/counted twice/);
  });
});
