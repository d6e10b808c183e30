/**
 * A real, short training run: ResNet-8 on 512 images of the shipped
 * Fashion-MNIST subset, three epochs on the wasm backend. It must clearly
 * learn: chance is a loss of ln 10 ≈ 2.30 and 10 % accuracy.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import { loadFashionMnist } from '../../src/compute/data/dataset';
import { createModel, parseModelName } from '../../src/compute/models';
import { train } from '../../src/compute/train/loop';

const PUBLIC = join(import.meta.dirname, '..', '..', 'public');
const readBytes = async (p: string) => new Uint8Array(await readFile(join(PUBLIC, p)));

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

it('ResNet-8 learns Fashion-MNIST in three short epochs', async () => {
  const [trainSet, testSet] = await Promise.all([
    loadFashionMnist({ readBytes, split: 'train', limit: 512 }),
    loadFashionMnist({ readBytes, split: 'test', limit: 500 }),
  ]);
  const model = createModel(parseModelName('resnet8', { inputShape: [1, 28, 28], classes: 10 }));
  const before = tf.memory().numTensors;
  const result = await train({
    model,
    data: { train: trainSet, test: testSet },
    epochs: 3,
    batchSize: 32,
    augment: false,
    seed: 0,
  });
  expect(result.status).toBe('completed');
  const [first, , last] = result.history;
  expect(first!.backend).toBe('wasm');
  expect(last!.trainLoss).toBeLessThan(1.4);
  expect(last!.trainLoss).toBeLessThan(first!.trainLoss - 0.5);
  expect(last!.testLoss!).toBeLessThan(1.5);
  expect(last!.testAccuracy!).toBeGreaterThan(0.5);
  expect(tf.memory().numTensors).toBe(before);
});
