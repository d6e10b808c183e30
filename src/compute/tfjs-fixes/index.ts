/**
 * Every workaround for tfjs 4.22 (no release since October 2024) lives here,
 * each tested against the cpu backend in tests/unit/fixes*.test.ts:
 *
 * - tfjs-core registers no gradients by itself: importing this module imports
 *   register_all_gradients first, then overrides what needs overriding.
 * - Conv2D's gradient needs Conv2DBackpropFilter, which the wasm backend lacks
 *   (tensorflow/tfjs#8474), and its Conv2DBackpropInput is slow:
 *   conv2d-gradient.ts rewrites both with forward convolutions.
 * - MatMul's gradient uses transposeA/transposeB, a slow path on wasm (36× for
 *   a dense layer's weight gradient): matmul-gradient.ts transposes explicitly.
 * - tf.batchNorm's gradient spends a third of a step in Tile: batch-norm.ts.
 * - tf.stridedSlice has no gradient: shortcut.ts builds option A from avgPool.
 * - wasm's Identity (every tf.clone, so every tensor saved for a gradient)
 *   copies its buffer: wasm-kernels.ts shares it, installed by backend.ts.
 * - Fused ops under a gradient tape call Conv2DBackpropFilter: fused.ts fuses
 *   only when nothing is recorded.
 * - Elsewhere, by convention: chained ops (t.sum()) are not registered with the
 *   ESM build, so src/compute uses functional ops (tf.sum(t)); dataSync throws
 *   in Node and stalls browsers, so results are read with `await t.data()`;
 *   tf.Variable names are global, so parameters live in explicit maps.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { conv2dForwardGradConfig } from './conv2d-gradient';
import { batchMatMulExplicitGradConfig } from './matmul-gradient';

export {
  conv2dFilterGradient,
  conv2dForwardGradConfig,
  conv2dInputGradient,
  convGeometry,
  insertZeros,
  rotate180,
  type ConvGeometry,
} from './conv2d-gradient';
export {
  BATCH_NORM_EPSILON,
  batchNormInference,
  batchNormTraining,
  channelMean,
  channelSum,
  foldBatchNorm,
  type BatchNormTrainingResult,
} from './batch-norm';
export { batchMatMulExplicitGradConfig, transposeMatrices } from './matmul-gradient';
export { subsampleAndPadChannels } from './shortcut';
export { installWasmKernelFixes } from './wasm-kernels';
export { registerSecondOrderGradients, secondOrderGradients } from './second-order';
export {
  conv2dBiasActivation,
  isRecordingGradients,
  matMulBiasActivation,
  type FusedActivation,
} from './fused';

/** tfjs's own Conv2D gradient, kept so tests can compare against it. */
export const tfjsConv2dGradConfig: tf.GradConfig = tf.getGradient(tf.Conv2D);
/** tfjs's own BatchMatMul gradient, likewise. */
export const tfjsBatchMatMulGradConfig: tf.GradConfig = tf.getGradient(tf.BatchMatMul);

/**
 * Register our gradient overrides (idempotent). Runs when this module is
 * first imported, after register_all_gradients, so ours win.
 */
export function installTfjsFixes(): void {
  if (tf.getGradient(tf.Conv2D) !== conv2dForwardGradConfig) {
    tf.registerGradient(conv2dForwardGradConfig);
  }
  if (tf.getGradient(tf.BatchMatMul) !== batchMatMulExplicitGradConfig) {
    tf.registerGradient(batchMatMulExplicitGradConfig);
  }
}

installTfjsFixes();
