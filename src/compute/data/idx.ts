/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/):
 *
 *   bytes 0–1   zero
 *   byte  2     type code: 0x08 unsigned byte (the only one these datasets use)
 *   byte  3     number of dimensions d
 *   then d      big-endian uint32 sizes, outermost first
 *   then        the values, row-major (last dimension fastest)
 *
 * Images are d = 3 ([n, rows, cols], magic 0x00000803), labels d = 1 ([n], magic
 * 0x00000801). Files may be gzipped; the reader tells by gzip's 1f 8b magic rather
 * than the name, because servers sometimes decompress a `.gz` file on the way
 * (Content-Encoding) and sometimes do not.
 *
 * Pure: bytes in, typed arrays out. No fs, no fetch.
 */

/** A data file that is not what it should be. `message` names the file and says what is wrong. */
export class DataFormatError extends Error {
  /** The file's name or path, as the caller gave it. */
  readonly file: string;
  /** What is wrong, without the file name. */
  readonly problem: string;

  constructor({ file, problem }: { file: string; problem: string }) {
    super(`${file}: ${problem}`);
    this.name = 'DataFormatError';
    this.file = file;
    this.problem = problem;
  }
}

/** True when the bytes start with gzip's magic number 1f 8b (RFC 1952, section 2.3.1). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The most bytes a gzipped data file may decompress to: 256 MiB, five times
 * the full MNIST training images (47 MB). A gzip bomb (1 GB of zeros in 1 MB)
 * is stopped here, as it streams, instead of being held whole.
 */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

const TRAILING_SLACK = 1024 * 1024;

/** Compressed bytes handed to the decompressor at a time. */
const GUNZIP_SLICE = 64 * 1024;

/**
 * The bytes, gunzipped when they start with gzip's magic number, else unchanged.
 * Uses the web-standard DecompressionStream, present in browsers, workers and Node 22.
 * Decompression stops with a DataFormatError once the output passes
 * `maxBytes` (default {@link MAX_DECOMPRESSED_BYTES}) or, as soon as the first
 * bytes are out, the size `sizeFromHeader` reads from them (the file's own
 * header: an IDX file says how many values follow). With `wanted`, it stops
 * early, once it has the bytes `wanted` reads from the first ones (at least
 * that many, or the whole file when shorter): a caller that needs a file's
 * first examples does not decompress the rest.
 */
export async function gunzipIfNeeded({
  bytes,
  file,
  maxBytes = MAX_DECOMPRESSED_BYTES,
  sizeFromHeader,
  wanted,
}: {
  bytes: Uint8Array;
  file: string;
  maxBytes?: number;
  /** The whole decompressed size its first bytes declare, or null when they are too few to tell. */
  sizeFromHeader?: (head: Uint8Array) => number | null;
  /** How many of the decompressed bytes are needed, from the first ones, or null when they are too few to tell. */
  wanted?: (head: Uint8Array) => number | null;
}): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  // Streams take ArrayBuffer-backed chunks; copy only a (rare) SharedArrayBuffer view.
  const chunk =
    bytes.buffer instanceof ArrayBuffer
      ? (bytes as Uint8Array<ArrayBuffer>)
      : new Uint8Array(bytes);
  // Fed in slices, as the decompressor asks for them: a browser inflates each chunk it is
  // given whole, so a single chunk would be decompressed to its end however early we stop.
  let offset = 0;
  const source = new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      pull(controller) {
        controller.enqueue(chunk.subarray(offset, offset + GUNZIP_SLICE));
        offset += GUNZIP_SLICE;
        if (offset >= chunk.length) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  const reader = source.pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let limit = maxBytes;
  let declared: number | null = null;
  let enough: number | null = null;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
      if (enough === null && wanted !== undefined) {
        enough = wanted(chunks.length === 1 ? value : concat(chunks, length));
      }
      if (enough !== null && length >= enough) {
        await reader.cancel();
        break;
      }
      if (declared === null && sizeFromHeader !== undefined) {
        const head = chunks.length === 1 ? value : concat(chunks, length);
        declared = sizeFromHeader(head);
        // A little slack past the declared size, so that a few stray bytes
        // get the reader's precise "bytes after the data" message.
        if (declared !== null) limit = Math.min(limit, declared + TRAILING_SLACK);
      }
      if (length > limit) {
        await reader.cancel();
        throw new DataFormatError({
          file,
          problem:
            declared !== null && limit === declared + TRAILING_SLACK
              ? `decompresses to more than the ${declared} bytes its header declares; stopped after ${length}`
              : `decompresses to more than ${maxBytes} bytes (the limit for a data file); stopped there`,
        });
      }
    }
  } catch (cause) {
    if (cause instanceof DataFormatError) throw cause;
    // Node reports a truncated stream as Z_BUF_ERROR with an empty message; keep whatever we get.
    const detail =
      cause instanceof Error
        ? cause.message || String((cause as Error & { code?: unknown }).code ?? cause.name)
        : String(cause);
    throw new DataFormatError({
      file,
      problem: `starts with the gzip magic number but is not a valid gzip stream (truncated or corrupt: ${detail})`,
    });
  }
  return concat(chunks, length);
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Names of the IDX type codes, for messages. */
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

const UNSIGNED_BYTE = 0x08;

const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

const describeMagic = (bytes: Uint8Array): string => {
  const type = TYPE_NAMES[bytes[2]!] ?? 'no known type';
  return `${type}, ${bytes[3]} dimension${bytes[3] === 1 ? '' : 's'}`;
};

/** An IDX array of unsigned bytes: its sizes and its values, row-major. */
export interface IdxArray {
  /** Sizes, outermost first: [n, rows, cols] for images, [n] for labels. */
  dims: number[];
  /** The values, a view into the (decompressed) file. */
  data: Uint8Array;
}

/**
 * Parses an unsigned-byte IDX file with `ndim` dimensions (gzipped or not). Throws
 * DataFormatError on a wrong magic number, an unsupported type code, a truncated
 * file or bytes left over after the data.
 */
export async function parseIdx({
  bytes,
  file,
  ndim,
  limit,
}: {
  bytes: Uint8Array;
  file: string;
  ndim: number;
  /**
   * Only the first `limit` entries along the first dimension are wanted: a
   * gzipped file is decompressed that far and no further, and its size past
   * them is not checked (its header still is). `data` then holds those
   * entries; `dims` is still the header's. Default: every entry, every check.
   */
  limit?: number;
}): Promise<IdxArray> {
  const fail = (problem: string): never => {
    throw new DataFormatError({ file, problem });
  };
  const expectedMagic = (UNSIGNED_BYTE << 8) | ndim;
  const expectedText = `${hex32(expectedMagic)} (unsigned byte, ${ndim} dimension${ndim === 1 ? '' : 's'})`;
  /** Check the magic number of `head` (at least 4 bytes). */
  const checkMagic = (head: Uint8Array): void => {
    const magic = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
    if (head[0] !== 0 || head[1] !== 0) {
      fail(`wrong magic number: expected ${expectedText}, found ${hex32(magic)}; not an IDX file`);
    }
    if (head[2] !== UNSIGNED_BYTE) {
      const name = TYPE_NAMES[head[2]!];
      fail(
        `unsupported IDX type code 0x${head[2]!.toString(16).padStart(2, '0')}` +
          `${name === undefined ? ' (not a valid IDX type)' : ` (${name})`}; only 0x08 (unsigned byte) is supported`,
      );
    }
    if (head[3] !== ndim) {
      fail(
        `wrong magic number: expected ${expectedText}, found ${hex32(magic)} (${describeMagic(head)})`,
      );
    }
  };
  // The header says how many bytes follow, so a gzipped file is not
  // decompressed past that (a 1 GB gzip bomb used to take 2.2 GB first), nor
  // past its first bytes when they are not an IDX header at all.
  const headerBytes = 4 + 4 * ndim;
  const sizeFromHeader = (head: Uint8Array): number | null => {
    if (head.length >= 4) checkMagic(head);
    if (head.length < headerBytes) return null;
    const view = new DataView(head.buffer, head.byteOffset, headerBytes);
    let values = 1;
    for (let d = 0; d < ndim; d++) values *= view.getUint32(4 + 4 * d);
    return headerBytes + values;
  };
  /** Bytes in one entry along the first dimension. */
  const entryBytes = (view: DataView): number => {
    let values = 1;
    for (let d = 1; d < ndim; d++) values *= view.getUint32(4 + 4 * d);
    return values;
  };
  const wanted =
    limit === undefined
      ? undefined
      : (head: Uint8Array): number | null => {
          if (head.length < headerBytes) return null;
          const view = new DataView(head.buffer, head.byteOffset, headerBytes);
          return headerBytes + Math.min(limit, view.getUint32(4)) * entryBytes(view);
        };
  const raw = await gunzipIfNeeded({
    bytes,
    file,
    sizeFromHeader,
    ...(wanted ? { wanted } : {}),
  });
  if (raw.length < 4) {
    fail(`truncated: expected at least 4 bytes (the magic number), got ${raw.length}`);
  }
  checkMagic(raw);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.length < headerBytes) {
    fail(`truncated: expected at least ${headerBytes} bytes of header, got ${raw.length}`);
  }
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d));
  const valueCount = dims.reduce((a, b) => a * b, 1);
  const shape = dims.join(' × ');
  if (limit !== undefined && raw.length < headerBytes + valueCount) {
    // Stopped early (or truncated): the entries wanted must all be there.
    const entries = Math.min(limit, dims[0]!);
    const end = headerBytes + entries * entryBytes(view);
    if (raw.length < end) {
      fail(
        `truncated: expected at least ${end} bytes (${headerBytes}-byte header + the first ${entries} of ${shape}), got ${raw.length}`,
      );
    }
    return { dims, data: raw.subarray(headerBytes, end) };
  }
  const expected = headerBytes + valueCount;
  if (raw.length < expected) {
    fail(
      `truncated: expected ${expected} bytes (${headerBytes}-byte header + ${shape}), got ${raw.length}`,
    );
  }
  if (raw.length > expected) {
    fail(
      `wrong size: expected ${expected} bytes (${headerBytes}-byte header + ${shape}), got ${raw.length}` +
        ` (${raw.length - expected} bytes after the data)`,
    );
  }
  return { dims, data: raw.subarray(headerBytes, expected) };
}

/** Greyscale images from an IDX file: count × rows × cols unsigned bytes, row-major. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count·rows·cols pixel values 0–255 (only the first `limit` images' when read with one), image after image, row-major within each. */
  pixels: Uint8Array;
}

/**
 * Reads an IDX images file (magic 0x00000803). When `rows` and `cols` are given the
 * images must be that size (28 × 28 for MNIST and Fashion-MNIST).
 */
export async function readIdxImages({
  bytes,
  file,
  rows,
  cols,
  limit,
}: {
  bytes: Uint8Array;
  file: string;
  rows?: number;
  cols?: number;
  /** Read only the first `limit` images (parseIdx). */
  limit?: number;
}): Promise<IdxImages> {
  const { dims, data } = await parseIdx({
    bytes,
    file,
    ndim: 3,
    ...(limit !== undefined ? { limit } : {}),
  });
  const [count, r, c] = dims as [number, number, number];
  if (count === 0) throw new DataFormatError({ file, problem: 'holds no images' });
  if ((rows !== undefined && r !== rows) || (cols !== undefined && c !== cols) || r * c === 0) {
    const want = rows !== undefined && cols !== undefined ? `, expected ${rows} × ${cols}` : '';
    throw new DataFormatError({ file, problem: `wrong image size: images are ${r} × ${c}${want}` });
  }
  return { count, rows: r, cols: c, pixels: data };
}

/** Class labels from an IDX file: one unsigned byte per example. */
export interface IdxLabels {
  count: number;
  /** The class index of each example (of the first `limit`, when read with one). */
  labels: Uint8Array;
}

/**
 * Reads an IDX labels file (magic 0x00000801). When `classes` is given every label
 * must lie in 0 … classes − 1; the first one outside is named.
 */
export async function readIdxLabels({
  bytes,
  file,
  classes,
  limit,
}: {
  bytes: Uint8Array;
  file: string;
  classes?: number;
  /** Read only the first `limit` labels (parseIdx). */
  limit?: number;
}): Promise<IdxLabels> {
  const { dims, data } = await parseIdx({
    bytes,
    file,
    ndim: 1,
    ...(limit !== undefined ? { limit } : {}),
  });
  if (classes !== undefined) checkLabels({ labels: data, classes, file, what: 'index' });
  return { count: dims[0]!, labels: data };
}

/** Throws DataFormatError naming the first label outside 0 … classes − 1. */
export function checkLabels({
  labels,
  classes,
  file,
  what,
}: {
  labels: Uint8Array;
  classes: number;
  file: string;
  /** How to name a position in messages: 'index' for IDX, 'record' for CIFAR. */
  what: string;
}): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= classes) {
      throw new DataFormatError({
        file,
        problem: `label ${labels[i]} at ${what} ${i} is outside the classes 0–${classes - 1}`,
      });
    }
  }
}
