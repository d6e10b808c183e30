import { expect, test } from 'vitest';
import { downsampleDataset } from '../../src/compute/data/downsample';
import type { Dataset } from '../../src/compute/data/dataset';
import { countParams, createModel, parseModelName } from '../../src/compute/models';

test('downsampling averages each factor × factor block, rounding to a byte', () => {
  // One 4 × 4 grey image: blocks [0,1;4,5] → 2.5 → 3, [2,3;6,7] → 4.5 → 5 (round half up).
  const images = Uint8Array.from({ length: 16 }, (_, k) => k);
  const dataset: Dataset = {
    name: 'test',
    split: 'train',
    images,
    labels: Uint8Array.of(3),
    count: 1,
    height: 4,
    width: 4,
    channels: 1,
    classes: 10,
    classNames: [],
  };
  const small = downsampleDataset(dataset, 2);
  expect(small).toMatchObject({ height: 2, width: 2, count: 1 });
  expect(Array.from(small.images)).toEqual([3, 5, 11, 13]);
  expect(downsampleDataset(dataset, 1)).toBe(dataset);
  expect(() => downsampleDataset(dataset, 0)).toThrow(RangeError);
});

test("'resnet56w8' is ResNet-56 at half He et al.'s width: about a quarter of the parameters", () => {
  const spec = parseModelName('resnet56w8', { inputShape: [1, 14, 14] });
  expect(spec).toMatchObject({ kind: 'resnet', depth: 56, width: 8, skip: true });
  expect(parseModelName('resnet56w8-noshort')).toMatchObject({ width: 8, skip: false });
  const narrow = countParams(createModel(spec));
  const full = countParams(createModel(parseModelName('resnet56', { inputShape: [1, 14, 14] })));
  // Convolutions scale with width², BN and the dense layer with width.
  expect(narrow / full).toBeGreaterThan(0.24);
  expect(narrow / full).toBeLessThan(0.27);
  expect(() => parseModelName('bmenet32w8')).toThrow(/no width/);
});
