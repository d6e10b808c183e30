import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/compute/random';
import {
  augmentImage,
  batchCount,
  batches,
  cropWithPadding,
  defaultAugmentation,
  flipHorizontal,
  normalizeImages,
  shuffledOrder,
  type Dataset,
  type ImageShape,
} from '../../src/compute/data';

/** A small synthetic dataset whose every pixel is distinct enough to trace. */
function synthetic({
  count = 103,
  height = 6,
  width = 5,
  channels = 3,
}: { count?: number; height?: number; width?: number; channels?: number } = {}): Dataset {
  const rng = createRng(17);
  const images = new Uint8Array(count * height * width * channels).map(() => rng.int(256));
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10);
  return {
    name: 'synthetic',
    split: 'train',
    images,
    labels,
    count,
    height,
    width,
    channels,
    classes: 10,
    classNames: Array.from({ length: 10 }, (_, i) => `class ${i}`),
  };
}

const normalization = { mean: [0.5, 0.25, 0.75], std: [0.5, 0.25, 0.2] };
const concat = (arrays: Uint32Array[]): number[] => arrays.flatMap((a) => [...a]);

describe('shuffling', () => {
  it('is a permutation of 0 … n − 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer(), fc.nat(50), (n, seed, epoch) => {
        const order = [...shuffledOrder({ count: n, seed, epoch })];
        expect(order.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 50 },
    );
  });

  it('is reproducible by seed and epoch, and changes with either', () => {
    const a = shuffledOrder({ count: 1000, seed: 1, epoch: 0 });
    expect(shuffledOrder({ count: 1000, seed: 1, epoch: 0 })).toEqual(a);
    expect(shuffledOrder({ count: 1000, seed: 2, epoch: 0 })).not.toEqual(a);
    expect(shuffledOrder({ count: 1000, seed: 1, epoch: 1 })).not.toEqual(a);
    const identity = Uint32Array.from({ length: 1000 }, (_, i) => i);
    expect(a).not.toEqual(identity);
  });
});

describe('batches', () => {
  const dataset = synthetic();

  it('cover every example exactly once per epoch, in batches of batchSize and a remainder', () => {
    const all = [
      ...batches({ dataset, batchSize: 10, shuffle: true, seed: 3, epoch: 2, normalization }),
    ];
    expect(all.length).toBe(batchCount({ count: 103, batchSize: 10 }));
    expect(all.map((b) => b.size)).toEqual([...new Array<number>(10).fill(10), 3]);
    const seen = concat(all.map((b) => b.indices));
    expect(seen).toEqual([...shuffledOrder({ count: 103, seed: 3, epoch: 2 })]);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
  });

  it('without shuffling go in order; dropLast leaves out the partial batch', () => {
    const ordered = [...batches({ dataset, batchSize: 25, normalization })];
    expect(concat(ordered.map((b) => b.indices))).toEqual(Array.from({ length: 103 }, (_, i) => i));
    const dropped = [...batches({ dataset, batchSize: 25, normalization, dropLast: true })];
    expect(dropped.map((b) => b.size)).toEqual([25, 25, 25, 25]);
    expect(batchCount({ count: 103, batchSize: 25, dropLast: true })).toBe(4);
  });

  it('hold the normalised images (NHWC) and labels, plain and one-hot, of their indices', () => {
    const [batch] = batches({ dataset, batchSize: 8, shuffle: true, seed: 5, normalization });
    const size = 6 * 5 * 3;
    expect(batch!.x.length).toBe(8 * size);
    for (let i = 0; i < 8; i++) {
      const n = batch!.indices[i]!;
      const expected = normalizeImages({
        images: dataset.images.subarray(n * size, (n + 1) * size),
        channels: 3,
        normalization,
      });
      expect(batch!.x.subarray(i * size, (i + 1) * size)).toEqual(expected);
      expect(batch!.y[i]).toBe(dataset.labels[n]);
      const row = [...batch!.oneHot.subarray(i * 10, (i + 1) * 10)];
      expect(row).toEqual(Array.from({ length: 10 }, (_, k) => (k === dataset.labels[n] ? 1 : 0)));
    }
  });

  it('normalise each channel as (v/255 − mean_c)/std_c', () => {
    const x = normalizeImages({
      images: Uint8Array.from([0, 255, 51]),
      channels: 3,
      normalization,
    });
    expect(x[0]).toBeCloseTo((0 - 0.5) / 0.5, 6);
    expect(x[1]).toBeCloseTo((1 - 0.25) / 0.25, 6);
    expect(x[2]).toBeCloseTo((0.2 - 0.75) / 0.2, 6);
  });

  it('with augmentation: same seed, same batches; another seed, others; resumable mid-epoch', () => {
    const options = {
      dataset,
      batchSize: 16,
      shuffle: true,
      augmentation: { padding: 2, flip: true },
      seed: 11,
      epoch: 4,
      normalization,
    };
    const a = [...batches(options)];
    const b = [...batches(options)];
    expect(b.map((x) => x.x)).toEqual(a.map((x) => x.x));
    // With the order fixed, only the augmentation stream depends on the seed.
    const fixed = [...batches({ ...options, shuffle: false })];
    const other = [...batches({ ...options, shuffle: false, seed: 12 })];
    expect(other[0]!.indices).toEqual(fixed[0]!.indices);
    expect(other[0]!.x).not.toEqual(fixed[0]!.x);
    const resumed = [...batches({ ...options, firstBatch: 3 })];
    expect(resumed.map((x) => x.x)).toEqual(a.slice(3).map((x) => x.x));
    // Augmentation changed something: the same order without it gives other pixels.
    const plain = [...batches({ ...options, augmentation: null })];
    expect(plain[0]!.indices).toEqual(a[0]!.indices);
    expect(plain[0]!.x).not.toEqual(a[0]!.x);
  });

  it('refuse to shuffle or augment without a seed', () => {
    expect(() => [...batches({ dataset, batchSize: 4, shuffle: true, normalization })]).toThrow(
      /need a seed/,
    );
  });
});

describe('augmentation', () => {
  const imageArb = fc
    .record({
      height: fc.integer({ min: 1, max: 9 }),
      width: fc.integer({ min: 1, max: 9 }),
      channels: fc.integer({ min: 1, max: 3 }),
    })
    .chain((shape) =>
      fc.record({
        shape: fc.constant<ImageShape>(shape),
        image: fc.uint8Array({
          minLength: shape.height * shape.width * shape.channels,
          maxLength: shape.height * shape.width * shape.channels,
        }),
      }),
    );

  it('flip is its own inverse, and mirrors columns', () => {
    fc.assert(
      fc.property(imageArb, ({ shape, image }) => {
        const once = flipHorizontal({ image, shape });
        expect(flipHorizontal({ image: once, shape })).toEqual(image);
        const { width, channels } = shape;
        for (let p = 0; p < image.length; p++) {
          const c = p % channels;
          const x = Math.floor(p / channels) % width;
          const rowStart = p - c - x * channels;
          expect(once[p]).toBe(image[rowStart + (width - 1 - x) * channels + c]);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('crop with padding keeps the shape, and every pixel is the shifted image or zero', () => {
    fc.assert(
      fc.property(
        imageArb,
        fc.integer({ min: 0, max: 4 }),
        fc.nat(),
        fc.nat(),
        ({ shape, image }, padding, t, l) => {
          const top = t % (2 * padding + 1);
          const left = l % (2 * padding + 1);
          // A dirty output buffer (as when batches reuse one) must be fully overwritten.
          const out = cropWithPadding({
            image,
            shape,
            padding,
            top,
            left,
            out: new Uint8Array(image.length).fill(255),
          });
          expect(out.length).toBe(image.length);
          const { height, width, channels } = shape;
          for (let y = 0; y < height; y++)
            for (let x = 0; x < width; x++)
              for (let c = 0; c < channels; c++) {
                const sy = y + top - padding;
                const sx = x + left - padding;
                const inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
                const expected = inside ? image[(sy * width + sx) * channels + c] : 0;
                expect(out[(y * width + x) * channels + c]).toBe(expected);
              }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('crop at the centre is the identity; at a corner it shifts by the padding', () => {
    const shape = { height: 4, width: 4, channels: 1 };
    const image = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    expect(cropWithPadding({ image, shape, padding: 2, top: 2, left: 2 })).toEqual(image);
    expect([...cropWithPadding({ image, shape, padding: 1, top: 0, left: 0 })]).toEqual([
      0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11,
    ]);
    expect(() => cropWithPadding({ image, shape, padding: 1, top: 3, left: 0 })).toThrow(
      RangeError,
    );
  });

  it('same seed, same augmented image; all outputs come from the image or zeros', () => {
    const shape = { height: 28, width: 28, channels: 1 };
    const rng0 = createRng(99);
    const image = new Uint8Array(784).map(() => 1 + rng0.int(255));
    const run = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 20 }, () =>
        augmentImage({
          image,
          shape,
          augmentation: defaultAugmentation(shape),
          rng,
          out: new Uint8Array(784),
          scratch: new Uint8Array(784),
        }),
      );
    };
    const a = run(5);
    expect(run(5)).toEqual(a);
    expect(run(6)).not.toEqual(a);
    const values = new Set(image);
    for (const out of a) for (const v of out) expect(v === 0 || values.has(v)).toBe(true);
    // 20 draws of 25 crops × 2 flips: not all the same.
    expect(new Set(a.map((o) => o.join())).size).toBeGreaterThan(1);
  });

  it('flips about half the time, and never when flip is off', () => {
    const shape = { height: 3, width: 4, channels: 2 };
    const image = Uint8Array.from({ length: 24 }, (_, i) => i + 1);
    const mirrored = flipHorizontal({ image, shape });
    const draw = (flip: boolean, rng = createRng(8)) =>
      Array.from({ length: 400 }, () =>
        augmentImage({
          image,
          shape,
          augmentation: { padding: 0, flip },
          rng,
          out: new Uint8Array(24),
          scratch: new Uint8Array(24),
        }),
      );
    const flipped = draw(true).filter((out) => out.join() === mirrored.join()).length;
    const kept = draw(true).filter((out) => out.join() === image.join()).length;
    expect(flipped + kept).toBe(400);
    // Binomial(400, 1/2): mean 200, sd 10.
    expect(flipped).toBeGreaterThan(160);
    expect(flipped).toBeLessThan(240);
    expect(draw(false).every((out) => out.join() === image.join())).toBe(true);
  });

  it('pads 4 pixels for 32 × 32 images and 2 for 28 × 28, and flips', () => {
    expect(defaultAugmentation({ height: 32 })).toEqual({ padding: 4, flip: true });
    expect(defaultAugmentation({ height: 28 })).toEqual({ padding: 2, flip: true });
  });
});
