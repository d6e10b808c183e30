/**
 * Data augmentation on raw NHWC bytes, as in He et al. 2016 (section 4.2) and Li et
 * al.'s training code: pad each side with `padding` zeros, take a random crop of the
 * original size, then mirror left–right with probability 1/2. Padding comes before
 * normalisation, so the border is black (byte 0), exactly as torchvision's
 * RandomCrop(size, padding) followed by ToTensor and Normalize.
 */
import type { Rng } from '../random';

/** What to do to each training image. */
export interface Augmentation {
  /** Zero padding on each side before the random crop; 0 turns cropping off. */
  padding: number;
  /** Mirror left–right with probability 1/2. */
  flip: boolean;
}

/**
 * 4 pixels for 32 × 32 images (He et al. 2016, section 4.2; Li et al. 2018). For the
 * 28 × 28 Fashion-MNIST images, 2: unlike MNIST's digits, which sit in a 20 × 20 box
 * inside a 4-pixel margin, Fashion-MNIST's products were scaled so that their longer
 * side fills the frame (Xiao et al. 2017, section 2); in the shipped training subset
 * the object spans at least 27 of the 28 pixels along its longer side in 99.9 % of
 * the images. A shift of up to 4 pixels (1/7 of the frame) can cut off a sleeve, a heel
 * or a strap; up to 2 loses at most 1/14 and still gives 5 × 5 = 25 placements.
 * Flipping is label-preserving for both datasets (no class is defined by handedness).
 */
export function defaultAugmentation({ height }: { height: number }): Augmentation {
  return { padding: height >= 32 ? 4 : 2, flip: true };
}

/** An image's geometry: height × width × channels bytes, row-major, channels fastest. */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

/**
 * Crops height × width out of the image padded by `padding` zeros on each side, with
 * the crop's top-left corner at (top, left) of the padded image, 0 ≤ top, left ≤ 2·padding:
 * out(y, x) = in(y + top − padding, x + left − padding), or 0 outside the image.
 * top = left = padding returns the image unchanged.
 */
export function cropWithPadding({
  image,
  shape,
  padding,
  top,
  left,
  out = new Uint8Array(image.length),
}: {
  image: Uint8Array;
  shape: ImageShape;
  padding: number;
  top: number;
  left: number;
  out?: Uint8Array;
}): Uint8Array {
  const { height, width, channels } = shape;
  if (top < 0 || left < 0 || top > 2 * padding || left > 2 * padding) {
    throw new RangeError(`crop corner (${top}, ${left}) outside 0…${2 * padding}`);
  }
  const dy = top - padding;
  const dx = left - padding;
  const row = width * channels;
  out.fill(0);
  // Only the source columns that land inside the output are copied, a row at a time.
  const x0 = Math.max(0, -dx);
  const x1 = Math.min(width, width - dx);
  for (let y = 0; y < height; y++) {
    const sy = y + dy;
    if (sy < 0 || sy >= height || x1 <= x0) continue;
    const src = sy * row + (x0 + dx) * channels;
    out.set(image.subarray(src, src + (x1 - x0) * channels), y * row + x0 * channels);
  }
  return out;
}

/** Mirrors the image left–right: out(y, x) = in(y, width − 1 − x). Its own inverse. */
export function flipHorizontal({
  image,
  shape,
  out = new Uint8Array(image.length),
}: {
  image: Uint8Array;
  shape: ImageShape;
  out?: Uint8Array;
}): Uint8Array {
  const { height, width, channels } = shape;
  if (out === image) throw new RangeError('flipHorizontal cannot work in place');
  for (let y = 0; y < height; y++) {
    const rowStart = y * width * channels;
    for (let x = 0; x < width; x++) {
      const src = rowStart + (width - 1 - x) * channels;
      const dst = rowStart + x * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = image[src + c]!;
    }
  }
  return out;
}

/**
 * One random draw of the augmentation, written to `out`. Draws from `rng` in a fixed
 * order (top, left, then the flip), so the same stream gives the same images.
 * `scratch` is a buffer of the image's size, reused between calls.
 */
export function augmentImage({
  image,
  shape,
  augmentation,
  rng,
  out,
  scratch,
}: {
  image: Uint8Array;
  shape: ImageShape;
  augmentation: Augmentation;
  rng: Rng;
  out: Uint8Array;
  scratch: Uint8Array;
}): Uint8Array {
  const { padding, flip } = augmentation;
  const cropped =
    padding > 0
      ? cropWithPadding({
          image,
          shape,
          padding,
          top: rng.int(2 * padding + 1),
          left: rng.int(2 * padding + 1),
          out: scratch,
        })
      : image;
  if (flip && rng.uniform() < 0.5) return flipHorizontal({ image: cropped, shape, out });
  out.set(cropped);
  return out;
}
