/**
 * The responses figure's data logic: epochs from the manifest (only 0 and 16
 * as shipped today, or all 17), the reader's epoch resolved among them, the
 * per-block reports for each comparison with live ones in place of shipped
 * ones, the across-training lines from each file's summary, the estimate,
 * and the shipped files themselves parsed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acrossTraining,
  blockReports,
  liveSeconds,
  parseShippedReport,
  resolveEpoch,
  shippedEpochs,
  type ResponsesReport,
} from './responses-data';

/** A synthetic report whose numbers encode its network and epoch. */
function report(skip: boolean, epoch: number, source: 'shipped' | 'live' = 'shipped') {
  const base = (skip ? 1 : 2) * 100 + epoch;
  return {
    skip,
    epoch,
    blocks: [0, 1, 2].map((index) => ({
      block: `layer1.${index}`,
      stage: 1,
      index,
      outputStd: base + index,
      gradientNorm: 1 / (base + index),
      responseStd: base / 100,
    })),
    images: source === 'live' ? 16 : 512,
    batchSize: 128,
    loss: 1,
    accuracy: 0.5,
    summary: {
      outputStdFirstOverLast: base,
      gradientNormFirstOverLast: 1000 - epoch,
      meanResponseStd: base / 100,
    },
    source,
    seed: 0,
  } satisfies ResponsesReport;
}

const FILES_TODAY = [0, 16].flatMap((epoch) => [true, false].map((skip) => ({ skip, epoch })));
const FILES_ALL = Array.from({ length: 17 }, (_, epoch) => epoch).flatMap((epoch) =>
  [true, false].map((skip) => ({ skip, epoch })),
);
const reportsOf = (files: { skip: boolean; epoch: number }[]) =>
  files.map((f) => report(f.skip, f.epoch));

describe('shipped epochs and the reader’s epoch', () => {
  it('lists each shipped epoch once, ascending, in manifest order or not', () => {
    expect(shippedEpochs(FILES_TODAY)).toEqual([0, 16]);
    expect(shippedEpochs([...FILES_ALL].reverse())).toEqual(
      Array.from({ length: 17 }, (_, e) => e),
    );
    expect(shippedEpochs([])).toEqual([]);
  });

  it('resolves −1 to the last epoch, a shipped epoch to itself, any other to the nearest with a notice', () => {
    expect(resolveEpoch([0, 16], -1)).toEqual({ epoch: 16, notice: null });
    expect(resolveEpoch([0, 16], 0)).toEqual({ epoch: 0, notice: null });
    const far = resolveEpoch([0, 16], 11);
    expect(far.epoch).toBe(16);
    expect(far.notice).toMatch(/Epoch 11 is not shipped \(shipped: 0, 16\); showing epoch 16/);
    expect(resolveEpoch([0, 16], 8).epoch).toBe(0); // a tie goes to the earlier epoch
    expect(resolveEpoch(shippedEpochs(FILES_ALL), 11)).toEqual({ epoch: 11, notice: null });
    expect(resolveEpoch(shippedEpochs(FILES_ALL), 40).epoch).toBe(16);
    expect(resolveEpoch([], -1)).toEqual({ epoch: null, notice: null });
  });
});

describe('per-block reports', () => {
  const key = (r: { report: ResponsesReport; dashed: boolean }) =>
    `${r.report.skip ? 'skip' : 'noskip'}@${r.report.epoch}${r.dashed ? ' dashed' : ''}${r.report.source === 'live' ? ' live' : ''}`;

  it('with only epochs 0 and 16: both, initial, final', () => {
    const shipped = reportsOf(FILES_TODAY);
    const shown = (show: 'both' | 'initial' | 'final', epoch: number) =>
      blockReports({ shipped, live: [], show, epoch }).map(key);
    expect(shown('both', 16)).toEqual(['skip@0 dashed', 'skip@16', 'noskip@0 dashed', 'noskip@16']);
    expect(shown('initial', 16)).toEqual(['skip@0', 'noskip@0']);
    expect(shown('final', 16)).toEqual(['skip@16', 'noskip@16']);
    // The chosen epoch 0 beside the initial state is one line, not two.
    expect(shown('both', 0)).toEqual(['skip@0', 'noskip@0']);
  });

  it('with all 17 epochs, each chosen epoch draws its own files', () => {
    const shipped = reportsOf(FILES_ALL);
    for (const epoch of [1, 7, 15]) {
      const shown = blockReports({ shipped, live: [], show: 'final', epoch });
      expect(shown.map((s) => s.report.epoch)).toEqual([epoch, epoch]);
      expect(shown[0]!.report.blocks[0]!.outputStd).toBe(100 + epoch);
    }
    expect(blockReports({ shipped, live: [], show: 'both', epoch: 9 }).map(key)).toEqual([
      'skip@0 dashed',
      'skip@9',
      'noskip@0 dashed',
      'noskip@9',
    ]);
  });

  it('a network with no file at an epoch is simply absent; no epoch draws nothing', () => {
    const shipped = reportsOf(FILES_TODAY).filter((r) => !(r.skip && r.epoch === 16));
    expect(blockReports({ shipped, live: [], show: 'final', epoch: 16 }).map(key)).toEqual([
      'noskip@16',
    ]);
    expect(blockReports({ shipped, live: [], show: 'final', epoch: null })).toEqual([]);
  });

  it('live reports replace the shipped ones of their network and epoch, and only those', () => {
    const shipped = reportsOf(FILES_ALL);
    const live = [report(true, 0, 'live'), report(true, 16, 'live')];
    expect(blockReports({ shipped, live, show: 'both', epoch: 16 }).map(key)).toEqual([
      'skip@0 dashed live',
      'skip@16 live',
      'noskip@0 dashed',
      'noskip@16',
    ]);
    // An epoch the live run did not measure stays shipped.
    expect(blockReports({ shipped, live, show: 'final', epoch: 5 }).map(key)).toEqual([
      'skip@5',
      'noskip@5',
    ]);
  });
});

describe('across training', () => {
  it('one line per network through every shipped epoch, a dot at the chosen one', () => {
    const series = acrossTraining({
      shipped: reportsOf(FILES_ALL).reverse(),
      live: [],
      quantity: 'gradientNormFirstOverLast',
      epoch: 4,
    });
    expect(series.map((s) => s.key)).toEqual([
      'gradientNormFirstOverLast-skip',
      'gradientNormFirstOverLast-skip-chosen',
      'gradientNormFirstOverLast-noskip',
      'gradientNormFirstOverLast-noskip-chosen',
    ]);
    const line = series[0]!;
    expect(line.points.map((p) => p.x)).toEqual(Array.from({ length: 17 }, (_, e) => e));
    expect(line.points.map((p) => p.y)).toEqual(Array.from({ length: 17 }, (_, e) => 1000 - e));
    expect(line.dots).toBe(false);
    expect(series[1]!.points).toEqual([{ x: 4, y: 996 }]);
    expect(series[1]!.dots).toBe(true);
  });

  it('with only epochs 0 and 16: two points per network, drawn as dots too', () => {
    const series = acrossTraining({
      shipped: reportsOf(FILES_TODAY),
      live: [],
      quantity: 'meanResponseStd',
      epoch: 16,
    });
    const skip = series.find((s) => s.key === 'meanResponseStd-skip')!;
    expect(skip.points).toEqual([
      { x: 0, y: 1 },
      { x: 16, y: 1.16 },
    ]);
    expect(skip.dots).toBe(true);
  });

  it('live results are separate dots, not joined to each other, marked live', () => {
    const series = acrossTraining({
      shipped: reportsOf(FILES_TODAY),
      live: [report(false, 16, 'live'), report(false, 0, 'live')],
      quantity: 'outputStdFirstOverLast',
      epoch: 16,
    });
    const live = series.find((s) => s.source === 'live')!;
    expect(live.run).toBe('noskip');
    expect(live.points).toEqual([
      { x: 0, y: 200 },
      { x: 8, y: null },
      { x: 16, y: 216 },
    ]);
    expect(live.dots).toBe(true);
  });

  it('a non-finite summary is a gap', () => {
    const r = report(true, 0);
    r.summary.gradientNormFirstOverLast = Infinity;
    const [line] = acrossTraining({
      shipped: [r, report(true, 16)],
      live: [],
      quantity: 'gradientNormFirstOverLast',
      epoch: null,
    });
    expect(line!.points[0]!.y).toBeNull();
  });
});

describe('live estimate', () => {
  it('networks over workers, two states each, plus the start; none without a speed', () => {
    const base = { images: 100, states: 2, networks: 2, imagesPerSecond: 10, startupSeconds: 5 };
    expect(liveSeconds({ ...base, lanes: 2 })).toBe(25);
    expect(liveSeconds({ ...base, lanes: 1 })).toBe(45);
    expect(liveSeconds({ ...base, lanes: 4 })).toBe(25);
    expect(liveSeconds({ ...base, lanes: 2, imagesPerSecond: null })).toBeNull();
  });
});

describe('the shipped files', () => {
  it('parse with their network, epoch, blocks and summary', async () => {
    for (const [run, skip] of [
      ['resnet56-skip', true],
      ['resnet56-noskip', false],
    ] as const) {
      for (const epoch of [0, 16]) {
        const path = `artifacts/responses/${run}/epoch-${String(epoch).padStart(3, '0')}.json`;
        const text = await readFile(join(process.cwd(), 'public', path), 'utf8');
        const r = parseShippedReport(text, path);
        expect(r).toMatchObject({ skip, epoch, source: 'shipped' });
        expect(r.blocks).toHaveLength(27);
        const json = JSON.parse(text) as { summary: unknown };
        expect(r.summary).toEqual(json.summary);
      }
    }
    expect(() => parseShippedReport('{"model":"resnet56"}', 'x.json')).toThrow(
      /x.json: not a responses file/,
    );
    const skip16 = await readFile(
      join(process.cwd(), 'public/artifacts/responses/resnet56-skip/epoch-016.json'),
      'utf8',
    );
    expect(parseShippedReport(skip16, 'a.json', 16).epoch).toBe(16);
    expect(() => parseShippedReport(skip16, 'epoch-008.json', 8)).toThrow(
      /epoch-008.json: the file measures epoch 16, the manifest lists epoch 8/,
    );
  });
});
