/**
 * The signal figures' pure parts: the shipped files are the settings tables'
 * default states (so the figure shows them for exactly those settings), the
 * CSV export, and the chart's log axis, band and gaps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSignalsFile } from '../../src/compute/signals';
import { decadeTicks, varianceChartSvg } from '../../src/components/signals/chart';
import {
  chainSettings,
  networkOf,
  residualSettings,
  vanishSettings,
} from '../../src/components/signals/settings';
import { signalsCsv } from '../../src/components/signals/view';
import { defaults } from '../../src/components/figure/urlState';

const ROOT = join(import.meta.dirname, '..', '..');
const shipped = (name: string) => {
  const path = join(ROOT, 'public', 'artifacts', 'signals', `${name}.json`);
  return parseSignalsFile(readFileSync(path, 'utf8'), path);
};

describe('shipped signal files', () => {
  it.each([
    ['vanish', vanishSettings],
    ['residual', residualSettings],
  ] as const)('%s.json is the default state of its settings table', (name, table) => {
    const file = shipped(name);
    const state = defaults(table);
    expect(file.statistics.network).toEqual(networkOf(state));
    expect(file.statistics.batch).toBe(state.batch);
    expect(file.statistics.draws).toBe(state.draws);
    expect(file.statistics.seed).toBe(state.seed);
  });

  it("vanish.json carries the chain figure's default run", () => {
    const { chain } = shipped('vanish');
    const state = defaults(chainSettings);
    expect(chain?.options).toEqual({
      gamma2: state.gamma2,
      depth: state.depth,
      chains: state.chains,
      activation: state.activation,
      seed: state.seed,
    });
  });
});

describe('views', () => {
  it('the CSV has one row per layer with the band and theory', () => {
    const { statistics } = shipped('vanish');
    const lines = signalsCsv(statistics).trim().split('\n');
    expect(lines[2]).toMatch(/^t,forwardVariance,/);
    expect(lines).toHaveLength(3 + statistics.t.length);
    const first = lines[3]!.split(',').map(Number);
    expect(first[0]).toBe(1);
    expect(first[1]).toBeCloseTo(statistics.forwardVariance[0]!, 12);
    expect(first[5]).toBe(statistics.theoryForward[0]);
  });

  it('decade ticks cover the range with at most six labels', () => {
    const wide = decadeTicks(1e-15, 10);
    expect(wide.length).toBeLessThanOrEqual(6);
    expect(wide[0]).toBeCloseTo(1e-15, 25);
    expect(wide.at(-1)).toBe(10);
    expect(decadeTicks(0.5, 3)).toEqual([0.1, 1, 10]);
  });

  it('the variance chart leaves gaps for overflowed layers', () => {
    const style = {
      measured: 'red',
      theory: 'black',
      text: 'black',
      grid: 'grey',
      background: null,
      font: 'sans-serif',
    };
    const svg = varianceChartSvg({
      width: 400,
      height: 240,
      title: 't',
      description: 'd',
      xLabel: 'x',
      yLabel: 'y',
      t: [0, 1, 2, 3, 4],
      measured: [1, 2, null, 8, 16],
      band: [
        [0.5, 2],
        [1, 3],
        [null, null],
        [4, 9],
        [8, 20],
      ],
      theory: [1, 2, 4, 8, 16],
      style,
      idPrefix: 'c',
      legend: { measured: 'm', band: 'b', theory: 'th' },
    });
    const measured = /class="measured" d="([^"]+)"/.exec(svg)![1]!;
    expect(measured.match(/M/g)).toHaveLength(2);
    const theory = /class="theory" d="([^"]+)"/.exec(svg)![1]!;
    expect(theory.match(/M/g)).toHaveLength(1);
  });
});
