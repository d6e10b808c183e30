import { describe, expect, it } from 'vitest';
import {
  CIFAR10_RECORD_BYTES,
  DataFormatError,
  loadCifar10,
  readCifar10Batch,
  type ReadBytes,
} from '../../src/compute/data';

/** A distinct value for every (record, channel, row, column), so a misplaced byte shows. */
const pixel = (n: number, c: number, y: number, x: number): number =>
  (n * 101 + c * 67 + y * 13 + x * 7) % 256;

/** A CIFAR-10 binary batch: per record, the label then the R, G, B planes (CHW). */
function cifarBatch(labels: number[], first = 0): Uint8Array {
  const out = new Uint8Array(labels.length * CIFAR10_RECORD_BYTES);
  labels.forEach((label, r) => {
    const base = r * CIFAR10_RECORD_BYTES;
    out[base] = label;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++)
          out[base + 1 + c * 1024 + y * 32 + x] = pixel(first + r, c, y, x);
  });
  return out;
}

function formatError(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(DataFormatError);
    return (error as Error).message;
  }
  throw new Error('expected a DataFormatError, got none');
}

describe('CIFAR-10 binary reader', () => {
  it('converts CHW records to NHWC, and back to the same bytes', () => {
    const bytes = cifarBatch([3, 0, 9]);
    const { count, images, labels } = readCifar10Batch({ bytes, file: 'data_batch_1.bin' });
    expect(count).toBe(3);
    expect([...labels]).toEqual([3, 0, 9]);
    expect(images.length).toBe(3 * 32 * 32 * 3);
    for (let n = 0; n < 3; n++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++)
          for (let c = 0; c < 3; c++)
            expect(images[((n * 32 + y) * 32 + x) * 3 + c]).toBe(pixel(n, c, y, x));
    // NHWC → CHW records again gives the original file, byte for byte.
    const back = new Uint8Array(bytes.length);
    for (let n = 0; n < count; n++) {
      back[n * CIFAR10_RECORD_BYTES] = labels[n]!;
      for (let p = 0; p < 1024; p++)
        for (let c = 0; c < 3; c++)
          back[n * CIFAR10_RECORD_BYTES + 1 + c * 1024 + p] = images[(n * 1024 + p) * 3 + c]!;
    }
    expect(back).toEqual(bytes);
  });

  it('limit keeps the first records', () => {
    const { count, images, labels } = readCifar10Batch({
      bytes: cifarBatch([1, 2, 3]),
      file: 'b',
      limit: 2,
    });
    expect(count).toBe(2);
    expect([...labels]).toEqual([1, 2]);
    expect(images.length).toBe(2 * 3072);
  });

  it('rejects a size that is not a whole number of 3073-byte records, naming the file', () => {
    const two = cifarBatch([1, 2]);
    const cut = formatError(() =>
      readCifar10Batch({ bytes: two.subarray(0, two.length - 1), file: 'cifar/test_batch.bin' }),
    );
    expect(cut).toMatch(
      /^cifar\/test_batch\.bin: wrong size: 6145 bytes is not a whole number of 3073-byte records/,
    );
    expect(cut).toContain('1 records and 3072 bytes over');
    const long = new Uint8Array(two.length + 5);
    long.set(two);
    expect(formatError(() => readCifar10Batch({ bytes: long, file: 'x.bin' }))).toContain(
      '2 records and 5 bytes over',
    );
    expect(formatError(() => readCifar10Batch({ bytes: new Uint8Array(0), file: 'e.bin' }))).toBe(
      'e.bin: is empty',
    );
  });

  it('rejects a label outside 0–9, naming the record', () => {
    const message = formatError(() =>
      readCifar10Batch({ bytes: cifarBatch([0, 1, 10]), file: 'data_batch_2.bin' }),
    );
    expect(message).toBe('data_batch_2.bin: label 10 at record 2 is outside the classes 0–9');
  });
});

describe('loadCifar10', () => {
  /** Five training batches of two records and a test batch of three, recording what is read. */
  function fakeDir() {
    const files = new Map<string, Uint8Array>();
    for (let i = 1; i <= 5; i++)
      files.set(`c/data_batch_${i}.bin`, cifarBatch([i, i + 1], 2 * (i - 1)));
    files.set('c/test_batch.bin', cifarBatch([7, 8, 9], 100));
    const read: string[] = [];
    const readBytes: ReadBytes = async (path) => {
      read.push(path);
      const bytes = files.get(path);
      if (bytes === undefined) throw new Error('ENOENT');
      return bytes;
    };
    return { readBytes, read };
  }

  it('joins the five training batches in order into one NHWC dataset', async () => {
    const { readBytes } = fakeDir();
    const train = await loadCifar10({ readBytes, dir: 'c', split: 'train' });
    expect(train.count).toBe(10);
    expect([train.height, train.width, train.channels, train.classes]).toEqual([32, 32, 3, 10]);
    expect([...train.labels]).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    // Example 7 is record 1 of data_batch_4.bin; its pixel (y 5, x 9, blue) lands in NHWC.
    expect(train.images[((7 * 32 + 5) * 32 + 9) * 3 + 2]).toBe(pixel(7, 2, 5, 9));
    expect(train.classNames[0]).toBe('airplane');
  });

  it('reads only the batches a limit needs, and the test split from test_batch.bin', async () => {
    const { readBytes, read } = fakeDir();
    const some = await loadCifar10({ readBytes, dir: 'c/', split: 'train', limit: 3 });
    expect(some.count).toBe(3);
    expect(read).toEqual(['c/data_batch_1.bin', 'c/data_batch_2.bin']);
    const test = await loadCifar10({ readBytes, dir: 'c', split: 'test' });
    expect([...test.labels]).toEqual([7, 8, 9]);
    await expect(loadCifar10({ readBytes, dir: 'c', split: 'test', limit: 4 })).rejects.toThrow(
      /limit 4 is more than the 3 images in c\/test_batch\.bin/,
    );
  });

  it('a missing batch file: names the path', async () => {
    const { readBytes } = fakeDir();
    await expect(loadCifar10({ readBytes, dir: 'elsewhere', split: 'test' })).rejects.toThrow(
      /^elsewhere\/test_batch\.bin: could not be read/,
    );
  });
});
