import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, expect, test } from 'vitest';
import { imageNorms } from '../../src/compute/paths/gradient';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('imageNorms: per-image norms, exact where Σg² underflows float32, zero for a zero image', async () => {
  const before = tf.memory().numTensors;
  // Image 0: ordinary entries; image 1: entries of 1e-27 (squares 1e-54 underflow float32);
  // image 2: all zero.
  const a = [3, 4, 0, 12];
  const tiny = a.map((v) => v * 1e-27);
  const g = tf.tensor4d([...a, ...tiny, 0, 0, 0, 0], [3, 2, 2, 1]);
  const plainNorms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(g), [1, 2, 3])));
  expect((await plainNorms.data())[1]).toBe(0); // the failure imageNorms avoids
  const norms = imageNorms(g);
  const [n0, n1, n2] = await norms.data();
  expect(n0).toBeCloseTo(13, 5);
  expect(n1! / 13e-27).toBeCloseTo(1, 5);
  expect(n2).toBe(0);
  tf.dispose([g, norms, plainNorms]);
  expect(tf.memory().numTensors).toBe(before);
});
