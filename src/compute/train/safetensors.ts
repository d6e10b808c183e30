/**
 * The safetensors format (https://github.com/huggingface/safetensors), written
 * by hand because it is small and its npm readers pull in far more than it:
 *
 *   bytes 0..8        N, the header length, an unsigned 64-bit little-endian integer
 *   bytes 8..8+N      a JSON object, UTF-8: for every tensor
 *                       name → { dtype, shape, data_offsets: [begin, end] }
 *                     and optionally "__metadata__" → { string: string }
 *   bytes 8+N..       the data buffer; offsets are relative to its start
 *
 * Tensors are row-major and little-endian. The writer pads the header with
 * spaces so the data buffer starts on an 8-byte boundary (as the reference
 * implementation does), and lays tensors out in name order with no gaps. The
 * reader accepts anything the specification allows and rejects, with the file
 * name and the problem in the message, anything it forbids: a header that is
 * too long or not a JSON object, unknown dtypes, shapes that disagree with
 * their byte ranges, ranges that overlap, leave holes or run past the file.
 */

/** Element types the reader understands, with their sizes in bytes. */
const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BYTES;

/** What the writer stores: 32-bit floats or 32-bit integers. */
export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** One tensor as read: its raw little-endian bytes, decoded on request. */
export interface ReadTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** A view into the file's bytes (not a copy). */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, ReadTensor>;
  metadata: Record<string, string>;
}

/** A malformed safetensors file; `source` names the file, `problem` says what is wrong. */
export class SafetensorsError extends Error {
  readonly source: string;
  readonly problem: string;
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = 'SafetensorsError';
    this.source = source;
    this.problem = problem;
  }
}

/** The reference implementation refuses headers over 100 MB; so do we. */
const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Raw little-endian bytes of a typed array. */
function littleEndianBytes(data: Float32Array | Int32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i]!, true);
    else view.setInt32(i * 4, data[i]!, true);
  }
  return out;
}

/** Encode tensors (in name order) and string metadata as one safetensors file. */
export function encodeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new Error('a tensor may not be named __metadata__');
    const t = tensors[name]!;
    if (elementCount(t.shape) !== t.data.length) {
      throw new Error(
        `tensor ${name}: shape [${t.shape.join(', ')}] holds ${elementCount(t.shape)} values, data has ${t.data.length}`,
      );
    }
    const dtype = t.data instanceof Float32Array ? 'F32' : 'I32';
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  // Pad with spaces (valid JSON whitespace) so the data starts 8-byte aligned.
  const padding = (8 - (headerBytes.length % 8)) % 8;
  if (padding > 0) {
    json += ' '.repeat(padding);
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const bytes = littleEndianBytes(tensors[name]!.data);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/**
 * Parse and validate a safetensors file. `source` (a path or a name) appears
 * in every error message.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const fail = (problem: string): never => {
    throw new SafetensorsError(source, problem);
  };
  if (bytes.length < 8) {
    fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength64 = view.getBigUint64(0, true);
  if (headerLength64 > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${headerLength64} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLength = Number(headerLength64);
  if (8 + headerLength > bytes.length) {
    fail(`header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    );
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isRecord(header)) return fail('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const rawMetadata = header['__metadata__'];
  if (rawMetadata !== undefined) {
    if (!isRecord(rawMetadata)) fail('__metadata__ is not an object of strings');
    for (const [k, v] of Object.entries(rawMetadata as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
      metadata[k] = v as string;
    }
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, ReadTensor>();
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isRecord(entry)) fail(`tensor ${name}: entry is not an object`);
    const e = entry as Record<string, unknown>;
    const dtype = e['dtype'];
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
      fail(
        `tensor ${name}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`,
      );
    }
    const shape = e['shape'];
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
      fail(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    const offsets = e['data_offsets'];
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isNonNegativeInteger) ||
      (offsets[0] as number) > (offsets[1] as number)
    ) {
      fail(`tensor ${name}: data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const size = DTYPE_BYTES[dtype as SafetensorsDtype];
    const expected = elementCount(shape as number[]) * size;
    if (end - begin !== expected) {
      fail(
        `tensor ${name}: shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${expected} bytes, data_offsets give ${end - begin}`,
      );
    }
    if (end > dataLength) {
      fail(
        `tensor ${name}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data buffer (file truncated?)`,
      );
    }
    ranges.push({ name, begin, end });
    tensors.set(name, {
      dtype: dtype as SafetensorsDtype,
      shape: shape as number[],
      bytes: bytes.subarray(dataStart + begin, dataStart + end),
    });
  }
  // The specification asks for a contiguous buffer: no overlaps and no holes.
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const r of ranges) {
    if (r.begin < covered) fail(`tensor ${r.name}: data_offsets overlap another tensor's`);
    if (r.begin > covered) fail(`tensor ${r.name}: a hole of ${r.begin - covered} bytes before it`);
    covered = r.end;
  }
  if (covered !== dataLength) {
    fail(`data buffer is ${dataLength} bytes but the tensors cover ${covered}`);
  }
  return { tensors, metadata };
}

/** Decode a floating-point tensor (F32, F64, F16, BF16) into 32-bit floats. */
export function toFloat32(t: ReadTensor, name: string, source: string): Float32Array {
  const n = elementCount(t.shape);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      if (LITTLE_ENDIAN_HOST && t.bytes.byteOffset % 4 === 0) {
        out.set(new Float32Array(t.bytes.buffer, t.bytes.byteOffset, n));
      } else {
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      }
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case 'BF16':
      // bfloat16 is the top half of a float32.
      {
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      }
      return out;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    default:
      throw new SafetensorsError(source, `tensor ${name}: dtype ${t.dtype} is not a float type`);
  }
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
