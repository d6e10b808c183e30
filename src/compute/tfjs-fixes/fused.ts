/**
 * Fused convolution and dense layers (op + bias + activation in one kernel),
 * used only where it is safe.
 *
 * tfjs fuses under a gradient tape whenever the activation is linear, and the
 * fused op's gradient then calls Conv2DBackpropFilter, which the wasm backend
 * does not have (tensorflow/tfjs#8474), and bypasses our forward-convolution
 * gradient (conv2d-gradient.ts), which second derivatives rely on. So we fuse
 * only when nothing is being recorded for differentiation; under a tape the
 * same maths runs as separate ops. Both give the same values.
 */
import * as tf from '@tensorflow/tfjs-core';

export type FusedActivation = 'linear' | 'relu';

/** True while a tf.grad / tf.variableGrads / tf.valueAndGrads is recording. */
export function isRecordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

type ConvPad =
  | 'valid'
  | 'same'
  | number
  | [[number, number], [number, number], [number, number], [number, number]];

/** activation(conv2d(x, filter) + bias), NHWC, dilation 1. */
export function conv2dBiasActivation(options: {
  x: tf.Tensor4D;
  filter: tf.Tensor4D;
  bias?: tf.Tensor1D | null;
  strides: number;
  pad: ConvPad;
  activation: FusedActivation;
}): tf.Tensor4D {
  const { x, filter, strides, pad, activation } = options;
  const bias = options.bias ?? null;
  if (!isRecordingGradients()) {
    return tf.fused.conv2d({ x, filter, strides, pad, activation, ...(bias ? { bias } : {}) });
  }
  let y = tf.conv2d(x, filter, strides, pad);
  if (bias) y = tf.add(y, bias);
  return activation === 'relu' ? tf.relu(y) : y;
}

/** activation(a·b + bias) for a [batch, in], b [in, out]. */
export function matMulBiasActivation(options: {
  a: tf.Tensor2D;
  b: tf.Tensor2D;
  bias?: tf.Tensor1D | null;
  activation: FusedActivation;
}): tf.Tensor2D {
  const { a, b, activation } = options;
  const bias = options.bias ?? null;
  if (!isRecordingGradients()) {
    return tf.fused.matMul({ a, b, activation, ...(bias ? { bias } : {}) }) as tf.Tensor2D;
  }
  let y: tf.Tensor2D = tf.matMul(a, b);
  if (bias) y = tf.add(y, bias);
  return activation === 'relu' ? tf.relu(y) : y;
}
