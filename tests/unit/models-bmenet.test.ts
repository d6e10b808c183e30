import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { countParams, createModel, parseModelName, summaryTotal } from '../../src/compute/models';
import type { BMEnetSpec } from '../../src/compute/models';
import { SEED_BMENET32_ROWS, SEED_BMENET32_TOTAL_PARAMS } from './models-fixtures';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

const bmenet = (
  depth: BMEnetSpec['depth'],
  inputShape: [number, number, number] = [3, 32, 32],
): BMEnetSpec => ({
  kind: 'bmenet',
  depth,
  skip: true,
  inputShape,
  classes: 10,
});

describe('BMEnet (seed 001)', () => {
  it('reproduces the seed table for depth 32 row by row', () => {
    const rows = createModel(bmenet(32)).summary();
    expect(rows).toHaveLength(103);
    rows.forEach((row, i) => {
      expect(row, `row ${i + 1}`).toEqual(SEED_BMENET32_ROWS[i]);
    });
  });

  it("sums its rows to the seed's printed total", () => {
    // The fixture itself sums to the printed total...
    expect(SEED_BMENET32_ROWS.reduce((s, r) => s + r.params, 0)).toBe(SEED_BMENET32_TOTAL_PARAMS);
    // ...and so do our rows.
    expect(summaryTotal(createModel(bmenet(32)).summary())).toBe(5_578_498);
  });

  it('counts 4,078,658 distinct trainable parameters for depth 32', () => {
    // By hand, each module once (conv 3×3: 9·in·out + out; BN: 2·C; 1×1: in·out + out):
    //   conv 3→64                       1,792
    //   skip64_arr, 4 × (2·36,928 + 2·128)      296,448
    //   skip64ds, 74,112 + 4,160               78,272
    //   skip64to128, 2·73,856 + 2·256          148,224
    //   skip128_arr, 4 × (2·147,584 + 2·256) 1,182,720
    //   skip128ds, 295,680 + 16,512           312,192
    //   fc1 2048·1000 + 1000               2,049,000
    //   fc2 1000·10 + 10                      10,010
    //   total                              4,078,658
    // The printed total adds what runs twice: skip64_arr (296,448), skip128_arr
    // (1,182,720) and one more pass of each downsampler (4,160 + 16,512):
    // 4,078,658 + 1,499,840 = 5,578,498.
    const model = createModel(bmenet(32));
    expect(countParams(model)).toBe(4_078_658);
    expect(SEED_BMENET32_TOTAL_PARAMS - countParams(model)).toBe(
      296_448 + 1_182_720 + 4_160 + 16_512,
    );
  });

  it('builds depth 8, 16 and 64 with 20·(depth/8) + 23 rows', () => {
    for (const depth of [8, 16, 64] as const) {
      const rows = createModel(bmenet(depth)).summary();
      expect(rows, `depth ${depth}`).toHaveLength(20 * (depth / 8) + 23);
      expect(rows.at(-2)).toEqual({
        name: `Linear-${rows.length - 1}`,
        outputShape: [-1, 1000],
        params: 2_049_000,
      });
    }
    expect(() => createModel({ ...bmenet(32), depth: 24 as BMEnetSpec['depth'] })).toThrow(
      /8, 16, 32, 64/,
    );
  });

  it('keeps running statistics per run of a shared block, so inference matches training', () => {
    // Inference with the running statistics set to one batch's own statistics must give
    // that batch's training-mode logits. One estimate shared by both runs of a reused
    // block (PyTorch's buffers) would mix the two runs' distributions and fail this.
    const model = createModel(bmenet(8, [1, 28, 28]));
    const { params, state } = model.init(11);
    expect(model.state.map((s) => s.name)).toContain('skip64_arr.0.bn2.pass2.runningVar');
    tf.tidy(() => {
      const x = tf.randomNormal([32, 28, 28, 1], 0, 1, 'float32', 4);
      const trained = model.forward(params, state, x, { training: true });
      // batchStats holds the unbiased variance; BN normalised with the biased one.
      // The smallest BN input here is 32·7·7 values per channel, so they differ by <0.1 %.
      const inferred = model.forward(params, trained.batchStats, x, { training: false }).logits;
      const scale = tf.max(tf.abs(trained.logits)).arraySync() as number;
      const gap = tf.max(tf.abs(tf.sub(trained.logits, inferred))).arraySync() as number;
      expect(gap / scale).toBeLessThan(1e-2);
    });
    tf.dispose([...Object.values(params), ...Object.values(state)]);
  });

  it('takes 1×28×28 inputs, sizing fc1 from the actual shape', () => {
    const model = createModel(bmenet(8, [1, 28, 28]));
    // 28 → maxpool 14 → downsample 7 → downsample 4: 128·4·4 = 2048 features.
    expect(model.params.find((p) => p.name === 'fc1.weight')!.shape).toEqual([2048, 1000]);
    expect(model.params.find((p) => p.name === 'conv.weight')!.shape).toEqual([3, 3, 1, 64]);
    const before = tf.memory().numTensors;
    const { params, state } = model.init(3);
    tf.tidy(() => {
      const out = model.forward(params, state, tf.randomNormal([2, 28, 28, 1]), { training: true });
      expect(out.logits.shape).toEqual([2, 10]);
      // Every BN run reports its own statistics, the shared blocks' second runs under .pass2.
      expect(Object.keys(out.batchStats).sort()).toEqual(model.state.map((s) => s.name).sort());
      expect(out.batchStats['skip64_arr.0.bn1.pass2.runningMean']!.shape).toEqual([64]);
    });
    tf.dispose([...Object.values(params), ...Object.values(state)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('adds the identity to both channel halves in the 64→128 block, and not at all without skips', () => {
    const spec = bmenet(8, [1, 8, 8]);
    const calls: string[] = [];
    const model = createModel(spec);
    const { params, state } = model.init(5);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 8, 8, 1]);
      model.forward(params, state, x, {
        training: false,
        combine: (block, residual, shortcut) => {
          calls.push(`${block.name}:${residual.shape[3]}:${shortcut.shape[3]}`);
          if (block.name === 'skip64to128') {
            // The shortcut is [x, x]: both halves equal.
            const [a, b] = tf.split(shortcut, 2, 3);
            expect(tf.max(tf.abs(tf.sub(a!, b!))).arraySync()).toBe(0);
          }
          return tf.add(residual, shortcut);
        },
      });
      const noSkip = createModel({ ...spec, skip: false });
      const before = calls.length;
      noSkip.forward(params, state, x, { training: false, combine: () => x });
      expect(calls.length).toBe(before);
    });
    // One block per array, each array run twice, plus the two ds blocks and 64to128.
    expect(calls).toEqual([
      'skip64_arr.0:64:64',
      'skip64ds:64:64',
      'skip64_arr.0:64:64',
      'skip64to128:128:128',
      'skip128_arr.0:128:128',
      'skip128ds:128:128',
      'skip128_arr.0:128:128',
    ]);
    tf.dispose([...Object.values(params), ...Object.values(state)]);
  });

  it('is named bmenet<depth> on the command line', () => {
    expect(parseModelName('bmenet32')).toEqual(bmenet(32));
    expect(parseModelName('bmenet16-noshort')).toEqual({ ...bmenet(16), skip: false });
    expect(() => parseModelName('bmenet12')).toThrow();
  });
});
