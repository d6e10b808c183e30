/**
 * The CIFAR-10 binary format (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html),
 * files data_batch_1.bin … data_batch_5.bin and test_batch.bin of cifar-10-binary.tar.gz.
 * Each file is a run of 3073-byte records:
 *
 *   byte 0          the label, 0–9
 *   bytes 1–1024    the red plane, 32 × 32, row-major
 *   bytes 1025–2048 the green plane
 *   bytes 2049–3072 the blue plane
 *
 * That is CHW per image; tfjs convolutions want NHWC, so the reader interleaves the
 * planes: out[((n·32 + y)·32 + x)·3 + c] = record_n[1 + c·1024 + y·32 + x].
 *
 * Pure: bytes in, typed arrays out.
 */
import { DataFormatError, checkLabels } from './idx';

export const CIFAR10_SIZE = 32;
export const CIFAR10_CHANNELS = 3;
export const CIFAR10_CLASSES = 10;
/** Bytes per image: 3 planes of 32 × 32. */
export const CIFAR10_IMAGE_BYTES = CIFAR10_CHANNELS * CIFAR10_SIZE * CIFAR10_SIZE;
/** Bytes per record: the label byte and the image. */
export const CIFAR10_RECORD_BYTES = 1 + CIFAR10_IMAGE_BYTES;

/** batches.meta.txt of the binary distribution, in label order. */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** One CIFAR-10 batch file, converted to NHWC. */
export interface CifarBatch {
  count: number;
  /** count × 32 × 32 × 3 bytes, NHWC (channels red, green, blue fastest). */
  images: Uint8Array;
  labels: Uint8Array;
}

/**
 * Reads one CIFAR-10 binary batch. `limit` keeps only the first records (the file's
 * size is still checked as a whole). Throws DataFormatError when the file is empty,
 * its size is not a whole number of 3073-byte records, or a label is not 0–9.
 */
export function readCifar10Batch({
  bytes,
  file,
  limit,
}: {
  bytes: Uint8Array;
  file: string;
  limit?: number;
}): CifarBatch {
  if (bytes.length === 0) throw new DataFormatError({ file, problem: 'is empty' });
  const whole = Math.floor(bytes.length / CIFAR10_RECORD_BYTES);
  const extra = bytes.length - whole * CIFAR10_RECORD_BYTES;
  if (extra !== 0) {
    throw new DataFormatError({
      file,
      problem:
        `wrong size: ${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte records ` +
        `(1 label byte + 3 × 32 × 32 pixels): ${whole} records and ${extra} bytes over; ` +
        `truncated, or not a CIFAR-10 binary batch`,
    });
  }
  const count = limit === undefined ? whole : Math.min(whole, limit);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) labels[n] = bytes[n * CIFAR10_RECORD_BYTES]!;
  checkLabels({ labels, classes: CIFAR10_CLASSES, file, what: 'record' });

  const plane = CIFAR10_SIZE * CIFAR10_SIZE;
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  for (let n = 0; n < count; n++) {
    const src = n * CIFAR10_RECORD_BYTES + 1;
    const dst = n * CIFAR10_IMAGE_BYTES;
    for (let c = 0; c < CIFAR10_CHANNELS; c++) {
      const planeStart = src + c * plane;
      for (let p = 0; p < plane; p++)
        images[dst + p * CIFAR10_CHANNELS + c] = bytes[planeStart + p]!;
    }
  }
  return { count, images, labels };
}
