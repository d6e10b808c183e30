import { describe, expect, test } from 'vitest';
import {
  lineChartSvg,
  niceCeiling,
  stackSvgs,
  svgHeight,
} from '../../src/components/training/chart';
import {
  chartSeries,
  CSV_COLUMNS,
  curvesCsv,
  parseHistory,
  type LiveRun,
} from '../../src/components/training/history';
import { initialLiveState, isActive, liveReducer } from '../../src/components/training/live';
import { QUICK_RUN, settingsFor, trainingSettings } from '../../src/components/training/settings';
import { readState, writeState } from '../../src/components/figure/urlState';
import type { ComparisonProgress } from '../../src/compute/jobs/training-comparison';

/** A history.json as `skipscape train --out DIR` writes it (src/cli/commands/train.ts). */
function historyJson(options: { epochs: number; diverged?: boolean }): string {
  return JSON.stringify({
    model: 'bmenet32',
    spec: { kind: 'bmenet', depth: 32, skip: true, inputShape: [1, 28, 28], classes: 10 },
    dataset: 'fashion-mnist',
    backend: 'wasm',
    workers: 2,
    config: {
      epochs: options.epochs,
      lr: 0.01,
      batchSize: 128,
      schedule: { kind: 'cosine' },
      sgd: { momentum: 0.9, weightDecay: 5e-4, nesterov: true },
      augment: true,
      seed: 0,
      trainImages: 12000,
    },
    epochs: Array.from({ length: options.epochs }, (_, i) => ({
      epoch: i + 1,
      step: 93 * (i + 1),
      trainLoss: options.diverged && i === options.epochs - 1 ? null : 1 / (i + 1),
      trainAccuracy: 0.5 + i / 20,
      testLoss: 1.2 / (i + 1),
      testAccuracy: 0.45 + i / 20,
      lr: 0.01,
      seconds: 100,
      imagesPerSecond: 120,
      backend: 'wasm×2',
    })),
  });
}

describe('shipped histories', () => {
  test('parse the command line’s history.json, with what made it', () => {
    const run = parseHistory(historyJson({ epochs: 6 }), 'h.json');
    expect(run.epochs).toHaveLength(6);
    expect(run.epochs[5]).toMatchObject({ epoch: 6, step: 558, testAccuracy: 0.7 });
    expect(run.description).toEqual({
      model: 'bmenet32',
      dataset: 'fashion-mnist',
      backend: 'wasm',
      epochs: 6,
      lr: 0.01,
      batchSize: 128,
      trainImages: 12000,
      seed: 0,
      schedule: 'cosine',
    });
  });

  test('a non-finite loss (null in JSON) becomes a gap, not a number', () => {
    const run = parseHistory(historyJson({ epochs: 3, diverged: true }), 'h.json');
    const series = chartSeries({ metric: 'loss', shipped: { skip: run }, live: {} });
    const train = series.find((s) => s.key === 'shipped-skip-train')!;
    expect(train.points.map((p) => p.y)).toEqual([1, 0.5, null]);
    const svg = lineChartSvg({
      ...chartOptions(),
      series,
    });
    // Two points then a gap: one subpath of two points.
    expect(svg).toMatch(/d="M[\d.]+ [\d.]+L[\d.]+ [\d.]+"/);
  });

  test('files that are not histories are refused with the file name and the problem', () => {
    expect(() => parseHistory('{', 'a.json')).toThrow(/a\.json: not JSON/);
    expect(() =>
      parseHistory(JSON.stringify({ model: 'x', dataset: 'y', epochs: [] }), 'b.json'),
    ).toThrow(/b\.json: not a training history: epochs/);
    const shuffled = JSON.parse(historyJson({ epochs: 2 })) as { epochs: unknown[] };
    shuffled.epochs.reverse();
    expect(() => parseHistory(JSON.stringify(shuffled), 'c.json')).toThrow(/increasing order/);
  });
});

function progress(
  run: 'skip' | 'noskip',
  epoch: number,
  epochStep: number,
  loss: number,
): ComparisonProgress {
  return {
    type: 'step',
    run,
    step: (epoch - 1) * 4 + epochStep,
    totalSteps: 8,
    epoch,
    epochs: 2,
    epochStep,
    stepsPerEpoch: 4,
    loss,
    accuracy: 0.5,
    batchLoss: loss,
    lr: 0.1,
    imagesPerSecond: 10,
    etaSeconds: 1,
  };
}

describe('live state', () => {
  test('start → started → steps and epochs → done, curves growing', () => {
    let s = liveReducer(initialLiveState(), { type: 'start' });
    expect(s.phase).toBe('starting');
    s = liveReducer(s, { type: 'started', backend: 'webgpu', reason: 'WebGPU runs on the GPU' });
    expect(s.phase).toBe('running');
    s = liveReducer(s, { type: 'progress', progress: progress('skip', 1, 1, 2) });
    s = liveReducer(s, { type: 'progress', progress: progress('skip', 1, 2, 1.5) });
    expect(s.runs.skip).toMatchObject({ step: 2, totalSteps: 8, loss: 1.5 });
    expect(s.curves.skip.steps.map((p) => p.x)).toEqual([0.25, 0.5]);
    s = liveReducer(s, { type: 'done', cancelled: false });
    expect(s.phase).toBe('done');
    expect(isActive(s)).toBe(false);
  });

  test('after Cancel, a late step changes nothing and the end reads as cancelled', () => {
    let s = liveReducer(initialLiveState(), { type: 'start' });
    s = liveReducer(s, { type: 'started', backend: 'wasm', reason: 'r' });
    s = liveReducer(s, { type: 'cancel' });
    expect(s.phase).toBe('cancelling');
    const late = liveReducer(s, { type: 'progress', progress: progress('noskip', 1, 1, 2) });
    expect(late.curves.noskip.steps).toHaveLength(0);
    expect(liveReducer(late, { type: 'done', cancelled: true }).phase).toBe('cancelled');
    // A job that finished before the cancel reached it says so, and is done.
    expect(liveReducer(late, { type: 'done', cancelled: false }).phase).toBe('done');
  });

  test('pause and resume only while running; an error ends any active phase', () => {
    let s = liveReducer(initialLiveState(), { type: 'pause' });
    expect(s.phase).toBe('idle');
    s = liveReducer(liveReducer(s, { type: 'start' }), {
      type: 'started',
      backend: 'wasm',
      reason: '',
    });
    s = liveReducer(s, { type: 'pause' });
    expect(s.phase).toBe('paused');
    expect(liveReducer(s, { type: 'resume' }).phase).toBe('running');
    const failed = liveReducer(s, { type: 'error', message: 'device lost' });
    expect(failed).toMatchObject({ phase: 'error', message: 'device lost' });
  });
});

describe('chart series', () => {
  test('live training restarts its running mean each epoch: a gap between epochs', () => {
    const live: LiveRun = {
      steps: [
        { x: 0.5, epoch: 1, step: 1, loss: 2, accuracy: 0.2, batchLoss: 2, lr: 0.1 },
        { x: 1, epoch: 1, step: 2, loss: 1.8, accuracy: 0.3, batchLoss: 1.6, lr: 0.1 },
        { x: 1.5, epoch: 2, step: 3, loss: 1.2, accuracy: 0.5, batchLoss: 1.2, lr: 0.1 },
      ],
      epochs: [
        {
          epoch: 1,
          step: 2,
          trainLoss: 1.8,
          trainAccuracy: 0.3,
          testLoss: 1.9,
          testAccuracy: 0.25,
          lr: 0.1,
          backend: 'webgpu',
        },
      ],
    };
    const series = chartSeries({ metric: 'accuracy', shipped: {}, live: { noskip: live } });
    expect(series.map((s) => s.key)).toEqual(['live-noskip-train', 'live-noskip-test']);
    expect(series[0]!.points).toEqual([
      { x: 0.5, y: 0.2 },
      { x: 1, y: 0.3 },
      { x: 1.5, y: null },
      { x: 1.5, y: 0.5 },
    ]);
    expect(series[1]!.points).toEqual([{ x: 1, y: 0.25 }]);
    expect(series[1]!.dots).toBe(true);
  });
});

function chartOptions() {
  return {
    width: 400,
    height: 240,
    title: 'Loss <of> "runs"',
    description: 'desc & more',
    xLabel: 'epoch',
    yLabel: 'loss',
    xMax: 3,
    yDomain: null,
    yFormat: (v: number) => String(v),
    series: [],
    style: {
      colours: { skip: '#d6372c', noskip: '#2f6fd6' },
      text: '#111',
      grid: '#ddd',
      background: '#fff',
      font: 'system-ui',
    },
    idPrefix: 'c',
  };
}

describe('the SVG chart', () => {
  test('the y range ends on a round tick', () => {
    expect(niceCeiling(2.3)).toBe(2.5);
    expect(niceCeiling(0.83)).toBe(1);
    expect(niceCeiling(3)).toBe(3);
  });

  test('a standalone, escaped, accessible SVG; the legend adds height', () => {
    const run = parseHistory(historyJson({ epochs: 3 }), 'h.json');
    const series = chartSeries({ metric: 'loss', shipped: { skip: run, noskip: run }, live: {} });
    const plain = lineChartSvg({ ...chartOptions(), series });
    expect(plain.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(plain).toContain('role="img" aria-labelledby="c-title c-desc"');
    expect(plain).toContain('<title id="c-title">Loss &lt;of&gt; &quot;runs&quot;</title>');
    expect(plain).toContain('desc &amp; more');
    expect(plain.match(/<path /g)).toHaveLength(4);
    expect(plain.match(/stroke-dasharray/g)).toHaveLength(2);
    const withLegend = lineChartSvg({ ...chartOptions(), series, legend: true });
    expect(svgHeight(withLegend)).toBeGreaterThan(svgHeight(plain));
    expect(withLegend).toContain('shipped run, with skips');
    const stacked = stackSvgs([
      { svg: plain, width: 400, height: svgHeight(plain) },
      { svg: withLegend, width: 400, height: svgHeight(withLegend) },
    ]);
    expect(stacked.height).toBe(svgHeight(plain) + svgHeight(withLegend));
    expect(stacked.svg).toContain(`<svg x="0" y="${svgHeight(plain)}"`);
    expect(() => new DOMParserLike(stacked.svg)).not.toThrow();
  });
});

/** A minimal well-formedness check: every opened tag is closed in order. */
class DOMParserLike {
  constructor(xml: string) {
    const stack: string[] = [];
    for (const m of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
      const [, closing, name, selfClosing] = m;
      if (selfClosing) continue;
      if (closing) {
        if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
      } else stack.push(name!);
    }
    if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  }
}

describe('CSV export', () => {
  test('one row per shipped epoch, live step and live epoch, and it reads back', () => {
    const run = parseHistory(historyJson({ epochs: 2 }), 'h.json');
    const live: LiveRun = {
      steps: [{ x: 0.5, epoch: 1, step: 1, loss: 2.25, accuracy: 0.125, batchLoss: 2.25, lr: 0.1 }],
      epochs: [],
    };
    const csv = curvesCsv({
      model: 'bmenet32',
      shipped: { skip: run },
      live: { noskip: live },
      liveBackend: 'webgpu',
      liveSetup: { batchSize: 8, trainImages: 16, seed: 3 },
    });
    const [header, ...rows] = csv.trimEnd().split('\n');
    expect(header).toBe(CSV_COLUMNS.join(','));
    expect(rows).toHaveLength(3);
    const records = rows.map((r) =>
      Object.fromEntries(r.split(',').map((v, i) => [CSV_COLUMNS[i], v])),
    );
    expect(records[0]).toMatchObject({
      source: 'shipped',
      skip: 'true',
      kind: 'epoch',
      epoch: '1',
      train_loss: '1',
    });
    expect(records[2]).toMatchObject({
      source: 'live',
      skip: 'false',
      kind: 'step',
      train_loss: '2.25',
      test_loss: '',
      backend: 'webgpu',
      batch_size: '8',
      train_images: '16',
      seed: '3',
    });
    expect(records[0]).toMatchObject({ batch_size: '128', train_images: '12000', seed: '0' });
  });
});

describe('settings', () => {
  test('the quick preset: a setting the URL leaves out takes its default, and links stay short', () => {
    const table = settingsFor('quick');
    const { state } = readState(table, 'training', new URLSearchParams('training.epochs=4'));
    expect(state.epochs).toBe(4);
    expect(state.live).toBe('quick');
    expect(state.images).toBe(QUICK_RUN.size.images);
    expect(state.batch).toBe(QUICK_RUN.size.batch);
    expect(state.model).toBe(trainingSettings.model.default);
    const written = writeState(table, 'training', state, new URLSearchParams());
    expect(written.toString()).toBe('training.epochs=4');
    expect(settingsFor('lecture')).toBe(trainingSettings);
  });
});

describe('log-scale loss', () => {
  test('whole decades around the values', async () => {
    const { logDomain } = await import('../../src/components/training/chart');
    expect(logDomain([0.23, 84])).toEqual([0.1, 100]);
  });

  test('values a log axis cannot show (≤ 0) are gaps', () => {
    const svg = lineChartSvg({
      ...chartOptions(),
      yScale: 'log',
      series: [
        {
          key: 'k',
          label: 'l',
          run: 'skip',
          source: 'live',
          split: 'train',
          dots: false,
          points: [
            { x: 0, y: 1 },
            { x: 1, y: 0 },
            { x: 2, y: 2 },
            { x: 3, y: 3 },
          ],
        },
      ],
    });
    // The lone first point becomes a dot; after the gap, the last two a line.
    expect(svg.match(/<circle /g)).toHaveLength(1);
    expect(svg).toMatch(/d="M[\d.]+ [\d.]+M[\d.]+ [\d.]+L[\d.]+ [\d.]+"/);
  });
});

describe('one colour per network, shipped at full strength, live dashed', () => {
  test('shipped lines are opaque and solid (training) or dotted (test); live lines dashed', async () => {
    const { NETWORK_COLOURS, LIVE_DASH } = await import('../../src/components/figure/colours');
    const run = parseHistory(historyJson({ epochs: 3 }), 'h.json');
    const live: LiveRun = {
      steps: [
        { x: 0.5, epoch: 1, step: 1, loss: 2, accuracy: 0.2, batchLoss: 2, lr: 0.1 },
        { x: 1, epoch: 1, step: 2, loss: 1.8, accuracy: 0.3, batchLoss: 1.6, lr: 0.1 },
      ],
      epochs: [],
    };
    const { liveLossSeries } = await import('../../src/components/training/history');
    const svg = lineChartSvg({
      ...chartOptions(),
      style: { ...chartOptions().style, colours: NETWORK_COLOURS },
      series: [
        ...chartSeries({ metric: 'loss', shipped: { skip: run, noskip: run }, live: {} }),
        ...liveLossSeries({ skip: live }),
      ],
    });
    expect(svg).not.toMatch(/stroke-opacity|fill-opacity/);
    const paths = [...svg.matchAll(/<path [^>]*>/g)].map((m) => m[0]);
    const shippedTrain = paths.filter((p) => /data-source="shipped" data-split="train"/.test(p));
    expect(shippedTrain).toHaveLength(2);
    for (const p of shippedTrain) expect(p).not.toContain('dasharray');
    const livePaths = paths.filter((p) => p.includes('data-source="live"'));
    expect(livePaths).toHaveLength(1);
    expect(livePaths[0]).toContain(`stroke-dasharray="${LIVE_DASH}"`);
    expect(livePaths[0]).toContain(`stroke="${NETWORK_COLOURS.skip}"`);
  });

  test('the loss landscape draws its networks in the same colours', async () => {
    const { readFile } = await import('node:fs/promises');
    // The explorer's charts part draws the 1-D curves.
    const explorer = await readFile('src/components/landscape/LandscapeCharts.svelte', 'utf8');
    expect(explorer).toContain('networkColour(panel.skip)');
    expect(explorer).not.toMatch(/#1f77b4|#d95f02/);
  });
});

describe('the live chart', () => {
  test('smoothed losses: bias-corrected moving average, restarting after a non-finite loss', async () => {
    const { smoothedLosses } = await import('../../src/components/training/history');
    const out = smoothedLosses(
      [
        { step: 1, batchLoss: 2 },
        { step: 2, batchLoss: 1 },
        { step: 3, batchLoss: Number.NaN },
        { step: 4, batchLoss: 3 },
      ],
      0.5,
    );
    expect(out[0]!.loss).toBeCloseTo(2);
    // (0.5·0.5·2 + 0.5·1) / (1 − 0.25) = 1.5 / 1.5 · … = 4/3
    expect(out[1]!.loss).toBeCloseTo((0.25 * 2 + 0.5 * 1) / 0.75);
    expect(out[2]!.loss).toBeNull();
    expect(out[3]!.loss).toBeCloseTo(3);
  });

  test('its own axes: x in steps up to the run, y fitted around the losses', async () => {
    const { fitDomain } = await import('../../src/components/training/chart');
    const [lo, hi] = fitDomain([1.42, 2.31]);
    expect(lo).toBeLessThanOrEqual(1.42);
    expect(lo).toBeGreaterThan(0.9);
    expect(hi).toBeGreaterThanOrEqual(2.31);
    expect(hi).toBeLessThan(2.8);
  });
});

describe('live plan', () => {
  test('the quick run is estimated under a minute on wasm; the lecture run on wasm far longer', async () => {
    const { estimateBefore } = await import('../../src/components/training/live-plan');
    const { defaults } = await import('../../src/components/figure/urlState');
    const quick = defaults(settingsFor('quick'));
    // The preset itself stays 'quick' by default in both tables, so a link to the lecture run says so.
    const lecture = { ...defaults(settingsFor('lecture')), live: 'lecture' as const };
    expect(estimateBefore(quick, 'wasm')!.seconds).toBeLessThan(60);
    expect(estimateBefore(lecture, 'wasm')!.seconds).toBeGreaterThan(20 * 60);
    expect(estimateBefore(quick, 'webgl')).toBeNull();
  });
});
