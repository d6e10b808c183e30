import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import {
  trainingComparison,
  type ComparisonEvent,
  type RunName,
} from '../../src/compute/jobs/training-comparison';
import { defaults } from '../../src/components/figure/urlState';
import { smoothedLosses } from '../../src/components/training/history';
import { comparisonParams, formatDuration } from '../../src/components/training/live-plan';
import { QUICK_RUN, settingsFor } from '../../src/components/training/settings';

/**
 * The claim of the training figure's quick live run, checked where it is
 * cheap: on its default settings (the narrow ResNet-56 on 14 × 14 images,
 * seed 0) and the wasm backend the browser falls back to, the plain
 * network's training loss, smoothed as the live chart draws it, is above the
 * residual network's from the first third of the run to its end, and clearly
 * so at the end. This is the same job the browser's worker runs.
 */

const readBytes = async (path: string) => new Uint8Array(await readFile(join('public', path)));

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

test(
  'quick live run, default settings: without skips the training loss stays above',
  { timeout: 900_000 },
  async () => {
    const settings = defaults(settingsFor('quick'));
    expect(settings.live).toBe('quick');
    const params = comparisonParams(settings, '/');
    expect(params).toMatchObject({ model: QUICK_RUN.network, downsample: 2, seed: 0 });

    const before = tf.memory().numTensors;
    const steps: Record<RunName, { step: number; batchLoss: number }[]> = { skip: [], noskip: [] };
    const result = await trainingComparison({
      params,
      readBytes,
      onEvent: (e: ComparisonEvent) => {
        if (e.type === 'step') steps[e.run].push({ step: e.step, batchLoss: e.batchLoss });
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.skip.status).toBe('completed');
    expect(result.noskip.status).toBe('completed');

    const total = steps.skip.length;
    expect(total).toBe(
      QUICK_RUN.size.epochs * Math.floor(QUICK_RUN.size.images / QUICK_RUN.size.batch),
    );
    const skip = smoothedLosses(steps.skip).map((p) => p.loss!);
    const noskip = smoothedLosses(steps.noskip).map((p) => p.loss!);
    // Above from the first third on: the chart shows the gap for most of the run.
    for (let i = Math.floor(total / 3); i < total; i++) {
      expect(noskip[i]!, `step ${i + 1}`).toBeGreaterThan(skip[i]!);
    }
    // And visibly at the end: more than a quarter of a nat apart.
    expect(noskip.at(-1)! - skip.at(-1)!).toBeGreaterThan(0.25);
    // The epoch's mean training loss says the same.
    expect(result.noskip.history.at(-1)!.trainLoss).toBeGreaterThan(
      result.skip.history.at(-1)!.trainLoss,
    );
  },
);

test('durations read as a reader would say them: seconds, then fives of seconds, then minutes', () => {
  expect([0.2, 1.4, 2.4, 2.6, 9.4].map(formatDuration)).toEqual([
    'about 1 s',
    'about 1 s',
    'about 2 s',
    'about 3 s',
    'about 9 s',
  ]);
  expect([9.6, 12.4, 13, 88].map(formatDuration)).toEqual([
    'about 10 s',
    'about 10 s',
    'about 15 s',
    'about 90 s',
  ]);
  expect([90, 5400, 6000].map(formatDuration)).toEqual([
    'about 2 min',
    'about 1 h 30 min',
    'about 1 h 40 min',
  ]);
  expect(formatDuration(NaN)).toBe('unknown');
});
