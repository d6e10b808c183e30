/**
 * He et al.'s option-A shortcut (2016, section 4.2): where a stage halves the
 * resolution and doubles the channels, the identity is subsampled by 2 and
 * padded with zero channels, so the shortcut adds no parameters.
 *
 * Why not x[:, ::2, ::2]: tf.stridedSlice has no gradient in tfjs 4.22. An
 * average pool of size 1 and stride 2 picks exactly the same entries
 * (x[n, 2i, 2j, c]) and its gradient is registered on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * x [n, h, w, c] → [n, ⌈h/s⌉, ⌈w/s⌉, outChannels]: every s-th row and column,
 * the new channels split into zeros before and after the old ones
 * ((outChannels − c)/2 each, the CIFAR convention of zero-padding planes/4 on
 * each side when channels double).
 */
export function subsampleAndPadChannels(options: {
  x: tf.Tensor4D;
  stride: number;
  outChannels: number;
}): tf.Tensor4D {
  const { x, stride, outChannels } = options;
  const c = x.shape[3];
  const extra = outChannels - c;
  if (extra < 0)
    throw new Error(`option-A shortcut cannot reduce channels (${c} → ${outChannels})`);
  const sampled = stride > 1 ? tf.avgPool(x, 1, stride, 'valid') : x;
  if (extra === 0) return sampled;
  const before = Math.floor(extra / 2);
  return tf.pad(sampled, [
    [0, 0],
    [0, 0],
    [0, 0],
    [before, extra - before],
  ]);
}
