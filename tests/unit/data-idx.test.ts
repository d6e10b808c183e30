import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DataFormatError,
  FASHION_MNIST_NORMALIZATION,
  channelStatistics,
  gunzipIfNeeded,
  loadFashionMnist,
  readIdxImages,
  readIdxLabels,
  type ReadBytes,
} from '../../src/compute/data';

const publicDir = join(import.meta.dirname, '../../public');
const readShipped: ReadBytes = async (path) =>
  new Uint8Array(await readFile(join(publicDir, path)));

/** An unsigned-byte IDX file: magic 0x0000 08 d, big-endian dims, then the values. */
function idx({ dims, data, type = 0x08 }: { dims: number[]; data: Uint8Array; type?: number }) {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

const gz = (bytes: Uint8Array): Uint8Array => new Uint8Array(gzipSync(bytes));

/** Runs `f`, expecting a DataFormatError; returns its message. */
async function formatError(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (error) {
    expect(error).toBeInstanceOf(DataFormatError);
    return (error as Error).message;
  }
  throw new Error('expected a DataFormatError, got none');
}

/** A readBytes over an in-memory directory of synthetic Fashion-MNIST-shaped files. */
function memoryFiles(files: Record<string, Uint8Array>): ReadBytes {
  return async (path) => {
    const bytes = files[path];
    if (bytes === undefined) throw new Error(`ENOENT: no such file '${path}'`);
    return bytes;
  };
}

function syntheticFashion({
  count = 5,
  labelCount = count,
  rows = 28,
  cols = 28,
  labels = Array.from({ length: labelCount }, (_, i) => i % 10),
}: {
  count?: number;
  labelCount?: number;
  rows?: number;
  cols?: number;
  labels?: number[];
}): ReadBytes {
  const pixels = new Uint8Array(count * rows * cols).map((_, i) => (i * 37) % 256);
  return memoryFiles({
    'fm/train-images-idx3-ubyte.gz': gz(idx({ dims: [count, rows, cols], data: pixels })),
    'fm/train-labels-idx1-ubyte.gz': gz(
      idx({ dims: [labels.length], data: Uint8Array.from(labels) }),
    ),
  });
}

describe('the shipped Fashion-MNIST subset', () => {
  it('parses: 12,000 training and 2,000 test images, 28 × 28 × 1, labels 0–9', async () => {
    const train = await loadFashionMnist({ readBytes: readShipped, split: 'train' });
    const test = await loadFashionMnist({ readBytes: readShipped, split: 'test' });
    for (const [data, count] of [
      [train, 12_000],
      [test, 2_000],
    ] as const) {
      expect(data.count).toBe(count);
      expect([data.height, data.width, data.channels, data.classes]).toEqual([28, 28, 1, 10]);
      expect(data.images.length).toBe(count * 784);
      expect(data.labels.length).toBe(count);
      expect(Math.max(...data.labels)).toBe(9);
      expect(Math.min(...data.labels)).toBe(0);
    }
    expect(train.name).toBe('fashion-mnist');
    expect(train.classNames[9]).toBe('Ankle boot');
  });

  it('holds the real data: first labels and per-class counts of the upstream files', async () => {
    const train = await loadFashionMnist({ readBytes: readShipped, split: 'train' });
    const test = await loadFashionMnist({ readBytes: readShipped, split: 'test' });
    // The first labels of Fashion-MNIST's train and t10k label files.
    expect([...train.labels.subarray(0, 10)]).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect([...test.labels.subarray(0, 10)]).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    const counts = (labels: Uint8Array) => {
      const c = new Array<number>(10).fill(0);
      for (const l of labels) c[l]!++;
      return c;
    };
    expect(counts(train.labels)).toEqual([
      1122, 1220, 1201, 1212, 1181, 1204, 1244, 1192, 1195, 1229,
    ]);
    expect(counts(test.labels)).toEqual([200, 203, 214, 190, 219, 195, 197, 200, 194, 188]);
  });

  it('decompresses to the IDX bytes whose sha256 the README lists', async () => {
    const readme = await readFile(join(publicDir, 'data/fashion-mnist/README.md'), 'utf8');
    for (const name of [
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
    ]) {
      const file = await readShipped(`data/fashion-mnist/${name}`);
      const raw = await gunzipIfNeeded({ bytes: file, file: name });
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      expect(row).toBeDefined();
      expect(row).toContain(createHash('sha256').update(file).digest('hex'));
      expect(row).toContain(createHash('sha256').update(raw).digest('hex'));
    }
  });

  it('has the documented normalisation constants (mean and std of the training subset)', async () => {
    const train = await loadFashionMnist({ readBytes: readShipped, split: 'train' });
    const { mean, std } = channelStatistics(train);
    expect(mean[0]).toBeCloseTo(FASHION_MNIST_NORMALIZATION.mean[0]!, 5);
    expect(std[0]).toBeCloseTo(FASHION_MNIST_NORMALIZATION.std[0]!, 5);
  });

  it('limit keeps the first examples, and refuses more than there are', async () => {
    const full = await loadFashionMnist({ readBytes: readShipped, split: 'test' });
    const first = await loadFashionMnist({ readBytes: readShipped, split: 'test', limit: 100 });
    expect(first.count).toBe(100);
    expect(first.images).toEqual(full.images.subarray(0, 100 * 784));
    expect(first.labels).toEqual(full.labels.subarray(0, 100));
    await expect(
      loadFashionMnist({ readBytes: readShipped, split: 'test', limit: 2001 }),
    ).rejects.toThrow(/limit 2001 is more than the 2000 images in .*t10k-images-idx3-ubyte\.gz/);
  });
});

describe('IDX reader', () => {
  const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10);

  it('reads plain and gzipped files alike, telling them apart by the magic bytes', async () => {
    const plain = idx({ dims: [2, 3, 4], data: pixels });
    for (const bytes of [plain, gz(plain)]) {
      const images = await readIdxImages({ bytes, file: 'x.gz' });
      expect([images.count, images.rows, images.cols]).toEqual([2, 3, 4]);
      expect(images.pixels).toEqual(pixels);
    }
  });

  it('wrong magic number: says expected and found, and names the file', async () => {
    const labelsFile = idx({ dims: [24], data: pixels });
    const message = await formatError(() =>
      readIdxImages({ bytes: labelsFile, file: 'train-images-idx3-ubyte.gz' }),
    );
    expect(message).toMatch(/^train-images-idx3-ubyte\.gz: wrong magic number/);
    expect(message).toContain('expected 0x00000803');
    expect(message).toContain('found 0x00000801');

    const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]);
    const notIdx = await formatError(() => readIdxLabels({ bytes: zip, file: 'labels.bin' }));
    expect(notIdx).toMatch(
      /^labels\.bin: wrong magic number: expected 0x00000801.*found 0x504b0304/,
    );
  });

  it('unsupported type code: names the code', async () => {
    const floats = idx({ dims: [2, 3, 4], data: new Uint8Array(96), type: 0x0d });
    const message = await formatError(() => readIdxImages({ bytes: floats, file: 'f.idx' }));
    expect(message).toMatch(/^f\.idx: unsupported IDX type code 0x0d \(float32\)/);
  });

  it('truncated: expected N bytes, got M', async () => {
    const whole = idx({ dims: [2, 3, 4], data: pixels });
    const cut = whole.subarray(0, whole.length - 5);
    const message = await formatError(() => readIdxImages({ bytes: gz(cut), file: 'cut.gz' }));
    expect(message).toBe(
      'cut.gz: truncated: expected 40 bytes (16-byte header + 2 × 3 × 4), got 35',
    );
    const header = await formatError(() =>
      readIdxImages({ bytes: whole.subarray(0, 9), file: 'h' }),
    );
    expect(header).toBe('h: truncated: expected at least 16 bytes of header, got 9');
  });

  it('bytes after the data: wrong size', async () => {
    const long = new Uint8Array(41);
    long.set(idx({ dims: [2, 3, 4], data: pixels }));
    const message = await formatError(() => readIdxImages({ bytes: long, file: 'long' }));
    expect(message).toMatch(
      /^long: wrong size: expected 40 bytes .* got 41 \(1 bytes after the data\)/,
    );
  });

  it('images of the wrong size for the dataset', async () => {
    const message = await formatError(() =>
      loadFashionMnist({
        readBytes: syntheticFashion({ rows: 32, cols: 32 }),
        baseDir: 'fm',
        split: 'train',
      }),
    );
    expect(message).toBe(
      'fm/train-images-idx3-ubyte.gz: wrong image size: images are 32 × 32, expected 28 × 28',
    );
  });

  it('label count not matching the image count: names both files and both counts', async () => {
    const message = await formatError(() =>
      loadFashionMnist({
        readBytes: syntheticFashion({ count: 5, labelCount: 4 }),
        baseDir: 'fm',
        split: 'train',
      }),
    );
    expect(message).toBe(
      'fm/train-labels-idx1-ubyte.gz: label count does not match: 4 labels, but fm/train-images-idx3-ubyte.gz holds 5 images',
    );
  });

  it('a label outside 0–9: names the label and where it is', async () => {
    const message = await formatError(() =>
      loadFashionMnist({
        readBytes: syntheticFashion({ count: 5, labels: [0, 1, 2, 12, 4] }),
        baseDir: 'fm',
        split: 'train',
      }),
    );
    expect(message).toBe(
      'fm/train-labels-idx1-ubyte.gz: label 12 at index 3 is outside the classes 0–9',
    );
  });

  it('a corrupt or truncated gzip stream', async () => {
    const good = gz(idx({ dims: [2, 3, 4], data: pixels }));
    const corrupt = good.slice();
    for (let i = 12; i < corrupt.length - 8; i++) corrupt[i]! ^= 0x5a;
    const message = await formatError(() => readIdxImages({ bytes: corrupt, file: 'bad.gz' }));
    expect(message).toMatch(
      /^bad\.gz: starts with the gzip magic number but is not a valid gzip stream/,
    );
    const short = await formatError(() =>
      readIdxImages({ bytes: good.subarray(0, good.length - 12), file: 'short.gz' }),
    );
    expect(short).toMatch(/^short\.gz: .*not a valid gzip stream \(truncated or corrupt/);
  });

  it('with a limit, a gzipped file is decompressed only as far as the images wanted', async () => {
    // 1000 images of noise, which gzip cannot shrink, cut off halfway through the stream.
    let seed = 7;
    const noise = Uint8Array.from({ length: 1000 * 28 * 28 }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    });
    const whole = gz(idx({ dims: [1000, 28, 28], data: noise }));
    const half = whole.subarray(0, whole.length >> 1);
    const first = await readIdxImages({ bytes: half, file: 'half.gz', limit: 10 });
    expect(first.count).toBe(1000);
    expect(first.pixels).toEqual(noise.subarray(0, 10 * 784));
    // Without a limit, or wanting images past the cut, the stream is read to its broken end.
    expect(await formatError(() => readIdxImages({ bytes: half, file: 'half.gz' }))).toMatch(
      /not a valid gzip stream/,
    );
    expect(
      await formatError(() => readIdxImages({ bytes: half, file: 'half.gz', limit: 990 })),
    ).toMatch(/not a valid gzip stream/);
    // A whole file with a limit: the same first images, the header's count.
    const kept = await readIdxImages({ bytes: whole, file: 'whole.gz', limit: 750 });
    expect(kept.pixels).toEqual(noise.subarray(0, 750 * 784));
    // A plain file cut short keeps its check for the images wanted.
    const plain = idx({ dims: [200, 28, 28], data: noise }).subarray(0, 16 + 5 * 784);
    expect(await formatError(() => readIdxImages({ bytes: plain, file: 'p', limit: 6 }))).toBe(
      'p: truncated: expected at least 4720 bytes (16-byte header + the first 6 of 200 × 28 × 28), got 3936',
    );
    expect((await readIdxImages({ bytes: plain, file: 'p', limit: 5 })).pixels.length).toBe(
      5 * 784,
    );
  });

  it('a file that cannot be read: names the path and passes the reason on', async () => {
    await expect(
      loadFashionMnist({ readBytes: memoryFiles({}), baseDir: 'nowhere/', split: 'test' }),
    ).rejects.toThrow(
      /^nowhere\/t10k-images-idx3-ubyte\.gz: could not be read \(ENOENT: no such file/,
    );
  });
});
