/**
 * Smaller images for quicker training: each factor × factor block of pixels
 * becomes their mean (rounded to the nearest byte), channel by channel, the
 * same average pooling as torch.nn.functional.avg_pool2d(x, factor) on the
 * raw 0–255 values. Rows or columns left over at the right and bottom edges
 * (when the side is not a multiple of the factor) are dropped, as pooling
 * without padding does.
 *
 * The training figure's live demo trains on Fashion-MNIST at 14 × 14: a
 * quarter of the pixels, so a quarter of every convolution's work, and the
 * garments stay recognisable.
 */
import type { Dataset } from './dataset';

export function downsampleDataset(dataset: Dataset, factor: number): Dataset {
  if (!Number.isInteger(factor) || factor < 1) {
    throw new RangeError(`the downsampling factor must be a whole number ≥ 1, got ${factor}`);
  }
  if (factor === 1) return dataset;
  const { count, height, width, channels } = dataset;
  const h = Math.floor(height / factor);
  const w = Math.floor(width / factor);
  if (h < 1 || w < 1) {
    throw new RangeError(`${height} × ${width} images cannot be downsampled by ${factor}`);
  }
  const images = new Uint8Array(count * h * w * channels);
  const area = factor * factor;
  const inImage = height * width * channels;
  const outImage = h * w * channels;
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (let dy = 0; dy < factor; dy++) {
            const row = n * inImage + ((y * factor + dy) * width + x * factor) * channels + c;
            for (let dx = 0; dx < factor; dx++) sum += dataset.images[row + dx * channels]!;
          }
          images[n * outImage + (y * w + x) * channels + c] = Math.round(sum / area);
        }
      }
    }
  }
  return { ...dataset, images, height: h, width: w };
}
