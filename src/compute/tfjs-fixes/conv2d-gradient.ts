/**
 * The gradient of Conv2D written with forward convolutions and matrix
 * products only.
 *
 * Why: tfjs 4.22's own Conv2D gradient calls the Conv2DBackpropFilter and
 * Conv2DBackpropInput kernels. The wasm backend has no Conv2DBackpropFilter
 * kernel at all (tensorflow/tfjs#8474), so no conv net can train on wasm, and
 * its Conv2DBackpropInput is a plain loop about eight times slower than its
 * XNNPACK forward convolution. Forward convolutions are the fastest kernel
 * every backend has, and every op used here has a gradient of its own, so the
 * result can be differentiated again (Hessian-vector products).
 *
 * Notation (NHWC, filter [kh, kw, in, out]): the forward convolution with
 * stride s, dilation d and top/left padding p is
 *
 *   y[n, i, j, o] = Σ_{a, b, c} x[n, i·s + a·d − p, j·s + b·d − p, c] · w[a, b, c, o].   (1)
 *
 * Differentiating (1):
 *
 *   ∂L/∂w[a, b, c, o] = Σ_{n, i, j} x[n, a·d + i·s − p, b·d + j·s − p, c] · dy[n, i, j, o]   (2)
 *   ∂L/∂x[n, h, w, c] = Σ_{a, b, o} dy[n, (h + p − a·d)/s, …, o] · w[a, b, c, o]           (3)
 *
 * where (3) sums only over the taps for which (h + p − a·d)/s is an integer
 * inside the output.
 */
import * as tf from '@tensorflow/tfjs-core';

/** What the gradient needs to know about one forward Conv2D. */
export interface ConvGeometry {
  /** Input shape [n, h, w, c]. */
  xShape: [number, number, number, number];
  /** Filter shape [kh, kw, in, out]. */
  filterShape: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  /** Rows and columns of zeros added before and after the input. */
  pad: { top: number; bottom: number; left: number; right: number };
  /** Output height and width. */
  outHeight: number;
  outWidth: number;
}

type Pair = [number, number];
type ExplicitPad = [[number, number], [number, number], [number, number], [number, number]];

/** The geometry of conv2d(x, filter, attrs), with tfjs's own padding rules. */
export function convGeometry(
  xShape: number[],
  filterShape: number[],
  attrs: Pick<tf.Conv2DAttrs, 'strides' | 'pad' | 'dilations' | 'dimRoundingMode'>,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return {
    xShape: info.inShape,
    filterShape: info.filterShape,
    strides: [info.strideHeight, info.strideWidth],
    dilations: [info.dilationHeight, info.dilationWidth],
    pad: {
      top: info.padInfo.top,
      bottom: info.padInfo.bottom,
      left: info.padInfo.left,
      right: info.padInfo.right,
    },
    outHeight: info.outHeight,
    outWidth: info.outWidth,
  };
}

function isPointwise(g: ConvGeometry): boolean {
  const { pad } = g;
  return (
    g.filterShape[0] === 1 &&
    g.filterShape[1] === 1 &&
    pad.top === 0 &&
    pad.bottom === 0 &&
    pad.left === 0 &&
    pad.right === 0
  );
}

/**
 * Spread t [n, h, w, c] onto a grid s times finer, zeros between, then crop or
 * zero-pad it to [n, outH, outW, c]: t[n, i, j] lands on (i·sh, j·sw). Built
 * from rank-4 pads and reshapes, which every backend has and which
 * differentiate to slices and reshapes.
 */
export function insertZeros(
  t: tf.Tensor4D,
  strides: Pair,
  outH: number,
  outW: number,
): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  const [sh, sw] = strides;
  let r: tf.Tensor4D = t;
  if (sh > 1) {
    r = tf.reshape(
      tf.pad(tf.reshape(r, [n, h, 1, w * c]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
      ]),
      [n, h * sh, w, c],
    );
  }
  const rows = h * sh;
  if (sw > 1) {
    r = tf.reshape(
      tf.pad(tf.reshape(r, [n * rows, w, 1, c]), [
        [0, 0],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]),
      [n, rows, w * sw, c],
    );
  }
  return fitSpatial(r, outH, outW);
}

/** Crop or zero-pad the end of the spatial axes so t is [n, outH, outW, c]. */
function fitSpatial(t: tf.Tensor4D, outH: number, outW: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  let r = t;
  if (h > outH || w > outW)
    r = tf.slice(r, [0, 0, 0, 0], [n, Math.min(h, outH), Math.min(w, outW), c]);
  if (h < outH || w < outW)
    r = tf.pad(r, [
      [0, 0],
      [0, Math.max(0, outH - h)],
      [0, Math.max(0, outW - w)],
      [0, 0],
    ]);
  return r;
}

/**
 * Equation (2) as a forward convolution. Swap batch and channel axes so the
 * input's channels become the batch and the batch becomes the channels to sum
 * over: X'[c, h, w, n] = x[n, h, w, c] and F'[i, j, n, o] = dy[n, i, j, o].
 * Then (2) reads Z[c, a, b, o] = Σ_{i, j, n} X'[c, a·d + i·s − p, …, n] F'[i, j, n, o]:
 * a convolution with stride d and dilation s, the forward's roles exchanged.
 * For a 1×1 convolution without padding, (2) is one matrix product of the
 * (subsampled) input with dy.
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  g: ConvGeometry,
): tf.Tensor4D {
  const [kh, kw, cin, cout] = g.filterShape;
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilations;
  if (isPointwise(g)) {
    const sampled = sh > 1 || sw > 1 ? tf.avgPool(x, 1, [sh, sw], 'valid') : x;
    const fitted = fitSpatial(sampled, g.outHeight, g.outWidth);
    // An explicit transpose: wasm's matMul with transposeA is ten times slower.
    const grad = tf.matMul(tf.transpose(tf.reshape(fitted, [-1, cin])), tf.reshape(dy, [-1, cout]));
    return tf.reshape(grad, [1, 1, cin, cout]);
  }
  if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) {
    throw new Error('conv2d gradient: strides and dilations both above 1 are not supported');
  }
  const xT = tf.transpose(x, [3, 1, 2, 0]);
  const dyT = tf.transpose(dy, [1, 2, 0, 3]);
  const padding: ExplicitPad = [
    [0, 0],
    [g.pad.top, g.pad.bottom],
    [g.pad.left, g.pad.right],
    [0, 0],
  ];
  const z = tf.conv2d(xT, dyT, [dh, dw], padding, 'NHWC', [sh, sw]);
  // Rows the forward convolution dropped (input not divisible by the stride)
  // can make z a little larger than the filter; (2) needs only the first kh×kw.
  const cropped =
    z.shape[1] === kh && z.shape[2] === kw ? z : tf.slice(z, [0, 0, 0, 0], [cin, kh, kw, cout]);
  return tf.transpose(cropped, [1, 2, 0, 3]);
}

/**
 * The filter turned by 180° in its two spatial axes, w[kh−1−a, kw−1−b]. Since
 * (kh−1−a)·kw + (kw−1−b) = kh·kw − 1 − (a·kw + b), that reverses the order of
 * the kh·kw taps, i.e. multiplies the [taps, in·out] matrix by the exchange
 * matrix J (ones on the anti-diagonal). The product is exact (each entry is
 * 1·w plus zeros) and runs as one matrix product, where wasm's Reverse kernel
 * is a slow generic loop (3.7 ms against 0.13 ms for a 3×3×128×128 filter).
 */
export function rotate180(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, cin, cout] = filter.shape;
  const taps = kh * kw;
  const exchange = new Float32Array(taps * taps);
  for (let i = 0; i < taps; i++) exchange[i * taps + (taps - 1 - i)] = 1;
  const reversed = tf.matMul(
    tf.tensor2d(exchange, [taps, taps]),
    tf.reshape(filter, [taps, cin * cout]),
  );
  return tf.reshape(reversed, [kh, kw, cin, cout]);
}

/**
 * Equation (3) as a forward convolution. At stride 1, substituting a' = kh−1−a
 * turns (3) into a convolution of dy with the filter rotated by 180° and its
 * in/out axes swapped, W'[a', b', o, c] = w[kh−1−a', kw−1−b', c, o], dilation d,
 * padding (kh−1)·d − p before and (kh−1)·d − p_after after. At stride s > 1,
 * first spread dy onto the input grid with s−1 zeros between entries; then
 * (3) is the same stride-1 convolution. For a 1×1 convolution without
 * padding, (3) is dy·wᵀ put back on the strided grid.
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  g: ConvGeometry,
): tf.Tensor4D {
  const [, h, w] = g.xShape;
  const [kh, kw, cin, cout] = g.filterShape;
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilations;
  if (isPointwise(g)) {
    const [n, oh, ow] = dy.shape;
    const wT = tf.transpose(tf.reshape(filter, [cin, cout]));
    const dxs = tf.reshape(tf.matMul(tf.reshape(dy, [-1, cout]), wT), [
      n,
      oh,
      ow,
      cin,
    ]) as tf.Tensor4D;
    return insertZeros(dxs, [sh, sw], h, w);
  }
  if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) {
    throw new Error('conv2d gradient: strides and dilations both above 1 are not supported');
  }
  // dy spread onto the input grid: entry (i, j) at (i·sh, j·sw). Its last
  // sh−1 rows (sw−1 columns) are zeros; they are kept when the padding below
  // can absorb them, which saves cropping a full-size tensor.
  let spread = dy;
  if (sh > 1 || sw > 1) {
    const fitH = Math.min(g.outHeight * sh, h + g.pad.top);
    const fitW = Math.min(g.outWidth * sw, w + g.pad.left);
    if (fitH < (g.outHeight - 1) * sh + 1 || fitW < (g.outWidth - 1) * sw + 1) {
      throw new Error('conv2d gradient: padding larger than the filter reach is not supported');
    }
    spread = insertZeros(dy, [sh, sw], fitH, fitW);
  }
  const [, spreadH, spreadW] = spread.shape;
  const rotated = tf.transpose(rotate180(filter), [0, 1, 3, 2]) as tf.Tensor4D;
  // Padding that makes the stride-1 convolution of the spread dy exactly
  // h × w: before, the filter's reach minus the forward padding; after, what
  // is left to reach h rows (it absorbs rows the forward stride dropped).
  const top = (kh - 1) * dh - g.pad.top;
  const left = (kw - 1) * dw - g.pad.left;
  const bottom = h + g.pad.top - spreadH;
  const right = w + g.pad.left - spreadW;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    throw new Error('conv2d gradient: padding larger than the filter reach is not supported');
  }
  return tf.conv2d(
    spread,
    rotated,
    1,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    'NHWC',
    [dh, dw],
  );
}

/**
 * The Conv2D gradient config that replaces tfjs's own: same inputs saved, same
 * results, forward convolutions only.
 */
export const conv2dForwardGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as tf.Conv2DAttrs;
    if (a.dataFormat === 'NCHW') throw new Error('conv2d gradient: only NHWC is supported');
    const g = convGeometry(x.shape, filter.shape, a);
    const dy4 = dy as tf.Tensor4D;
    return {
      x: () => conv2dInputGradient(dy4, filter, g),
      filter: () => conv2dFilterGradient(x, dy4, g),
    };
  },
};
