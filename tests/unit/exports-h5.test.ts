/**
 * Li et al.'s HDF5 surface files: ours → HDF5 → ours is the same surface, and
 * files written by h5py the way their plot_surface.py writes them
 * (scripts/make-li-h5-fixtures.py) read as the analytic surface the script
 * computed, with x and y the right way round (5 × 4: a swap cannot pass).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportSurfaceBinary } from '../../src/compute/landscape/exports';
import {
  isHdf5,
  parseHdf5Surface,
  readLiFile,
  surfaceToHdf5,
  writeLiFile,
  type LiSurfaceFile,
} from '../../src/compute/landscape/hdf5';
import type { Surface } from '../../src/compute/landscape/surface';
import { analyticSurface, linspace } from './exports-fixtures';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));

/** The script's stand-in loss and accuracy (percent), as in make-li-h5-fixtures.py. */
const f = (x: number, y: number, split: 'train' | 'test') =>
  0.5 + x * x + 3 * y * y + 0.25 * x + (split === 'test' ? 0.125 : 0);

/** Everything but accuracy exactly; accuracy to within the rounding of ×100 then ÷100. */
function expectSameSurface(back: Surface, surface: Surface): void {
  expect(back.xs).toEqual(surface.xs);
  expect(back.ys).toEqual(surface.ys);
  expect(back.loss).toEqual(surface.loss);
  expect(back.mask).toEqual(surface.mask);
  expect(back.meta).toEqual(surface.meta);
  back.accuracy.forEach((a, k) => {
    const want = surface.accuracy[k];
    if (want === null || want === undefined) expect(a).toBeNull();
    else expect(Math.abs((a as number) - want)).toBeLessThanOrEqual(2 ** -50);
  });
}

describe('ours → HDF5 → ours', () => {
  it('gives back the same 2-D surface, gaps included (9 × 7, a diverged and a missing point)', async () => {
    const surface = analyticSurface();
    const bytes = await surfaceToHdf5(surface);
    expect(isHdf5(bytes)).toBe(true);
    expectSameSurface(await parseHdf5Surface(bytes, 'x.h5'), surface);
  });

  it('gives back a 1-D curve, and a test-split surface under test_loss', async () => {
    const curve = analyticSurface({ nx: 11, ny: 1, diverged: [[3, 0]], missing: [[10, 0]] });
    expectSameSurface(await parseHdf5Surface(await surfaceToHdf5(curve), 'c.h5'), curve);
    const test = analyticSurface({ nx: 4, ny: 6 });
    test.meta.split = 'test';
    const bytes = await exportSurfaceBinary(test, 'h5');
    const file = await readLiFile(bytes, 't.h5');
    expect(Object.keys(file.datasets).sort()).toEqual(['test_acc', 'test_loss']);
    expectSameSurface(await parseHdf5Surface(bytes, 't.h5'), test);
  });

  it('writes their layout: [nx, ny] float64, accuracy in percent, -1 where not computed, NaN where diverged', async () => {
    const surface = analyticSurface({ nx: 5, ny: 3 });
    const file = await readLiFile(await surfaceToHdf5(surface), 'x.h5');
    expect(Array.from(file.xcoordinates)).toEqual(linspace(-1, 1, 5));
    expect(Array.from(file.ycoordinates ?? [])).toEqual(linspace(-1, 1, 3));
    const loss = file.datasets.train_loss!;
    const acc = file.datasets.train_acc!;
    expect(loss.shape).toEqual([5, 3]);
    expect(acc.shape).toEqual([5, 3]);
    // Flat C order is x fastest, as crunch() fills losses.ravel()[ind] from meshgrid(x, y).
    expect(loss.values[1 * 5 + 2]).toBeNaN(); // diverged (2, 1)
    expect(loss.values[2 * 5 + 4]).toBe(-1); // not computed (4, 2)
    expect(acc.values[2 * 5 + 4]).toBe(-1);
    expect(loss.values[1 * 5 + 3]).toBe(surface.loss[1 * 5 + 3]);
    expect(acc.values[0]).toBeCloseTo(100 * (surface.accuracy[0] as number), 12);
  });
});

describe("files written as Li et al.'s plot_surface.py writes them (h5py)", () => {
  it('reads the 5 × 4 fixture with x and y the right way round', async () => {
    const s = await parseHdf5Surface(fixture('li-2d-5x4.h5'), 'li-2d-5x4.h5');
    expect(s.xs).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(s.ys).toEqual([-0.5, 0, 0.5, 1]);
    expect(s.meta.split).toBe('train');
    s.ys.forEach((y, j) =>
      s.xs.forEach((x, i) => {
        const k = j * 5 + i;
        // The 7th point computed (flat index 6: i = 1, j = 1) diverged.
        if (k === 6) {
          expect([s.loss[k], s.accuracy[k], s.mask[k]]).toEqual([null, null, 1]);
          return;
        }
        expect(s.loss[k]).toBeCloseTo(f(x, y, 'train'), 12);
        expect(s.accuracy[k]).toBeCloseTo(Math.exp(-f(x, y, 'train')), 12);
        expect(s.mask[k]).toBe(1);
      }),
    );
  });

  it('reads the test split of a run stopped part-way: the points left at -1 are not computed', async () => {
    const s = await parseHdf5Surface(fixture('li-2d-5x4.h5'), 'li-2d-5x4.h5', { split: 'test' });
    expect(s.meta.split).toBe('test');
    expect(s.mask).toEqual([...Array<number>(17).fill(1), 0, 0, 0]);
    expect(s.loss.slice(17)).toEqual([null, null, null]);
    // Flat index 16 is i = 1, j = 3: (x, y) = (-0.5, 1).
    expect(s.loss[16]).toBeCloseTo(f(-0.5, 1, 'test'), 12);
  });

  it("takes model, skips, normalisation and biases from the direction file's name", async () => {
    const s = await parseHdf5Surface(fixture('li-2d-5x4.h5'), 'li-2d-5x4.h5');
    expect(s.meta).toMatchObject({
      model: 'resnet56',
      skip: false,
      normalization: 'filter',
      includeBiasBn: false,
      dataset: 'cifar10',
      kind: 'direction',
    });
  });

  it('reads the 1-D fixture as a curve (ys = [0])', async () => {
    const s = await parseHdf5Surface(fixture('li-1d-7.h5'), 'li-1d-7.h5');
    expect(s.ys).toEqual([0]);
    expect(s.xs).toHaveLength(7);
    s.xs.forEach((x, i) => expect(s.loss[i]).toBeCloseTo(f(x, 0, 'train'), 12));
  });

  it('writes the fixture back so that it reads the same', async () => {
    const s = await parseHdf5Surface(fixture('li-2d-5x4.h5'), 'li-2d-5x4.h5');
    expectSameSurface(await parseHdf5Surface(await surfaceToHdf5(s), 'again.h5'), s);
  });
});

describe('files that are not surfaces', () => {
  const base = (): LiSurfaceFile => ({
    xcoordinates: Float64Array.from([0, 1, 2]),
    ycoordinates: Float64Array.from([0, 1]),
    datasets: {
      train_loss: { shape: [3, 2], values: new Float64Array(6).fill(1) },
      train_acc: { shape: [3, 2], values: new Float64Array(6).fill(50) },
    },
    dirFile: null,
    skipscapeMeta: null,
    skipscapeCommand: null,
  });

  it('refuses a file that is not HDF5, by its signature', async () => {
    await expect(parseHdf5Surface(new TextEncoder().encode('{"xs": []}'), 'a.h5')).rejects.toThrow(
      /^a\.h5: not an HDF5 file/,
    );
  });

  it('names a missing dataset', async () => {
    const noLoss = base();
    noLoss.datasets = {};
    await expect(parseHdf5Surface(await writeLiFile(noLoss), 'n.h5')).rejects.toThrow(
      /^n\.h5: no train_loss dataset \(nor any loss/,
    );
    const noAcc = base();
    delete noAcc.datasets.train_acc;
    await expect(parseHdf5Surface(await writeLiFile(noAcc), 'n.h5')).rejects.toThrow(
      /train_loss has no train_acc beside it/,
    );
    const testOnly = base();
    await expect(
      parseHdf5Surface(await writeLiFile(testOnly), 'n.h5', { split: 'test' }),
    ).rejects.toThrow(/no test_loss dataset \(it has train_loss: choose it with --split train\)/);
  });

  it('names a shape that does not match the coordinates', async () => {
    const wrong = base();
    wrong.datasets.train_loss = { shape: [2, 2], values: new Float64Array(4) };
    await expect(parseHdf5Surface(await writeLiFile(wrong), 's.h5')).rejects.toThrow(
      /^s\.h5: train_loss has shape \[2, 2\]; expected \[3, 2\]/,
    );
  });

  it('accepts a loss stored [ny, nx] (meshgrid-shaped), in the same memory order', async () => {
    const file = base();
    file.datasets.train_loss = { shape: [2, 3], values: Float64Array.from([1, 2, 3, 4, 5, 6]) };
    const s = await parseHdf5Surface(await writeLiFile(file), 't.h5');
    expect(s.loss).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('applies the explorer’s point cap before reading any loss', async () => {
    await expect(
      parseHdf5Surface(await writeLiFile(base()), 'big.h5', {
        limit: { points: 4, why: 'here' },
      }),
    ).rejects.toThrow(/big\.h5: 3 × 2 = 6 points, more than the 4 here/);
  });
});
