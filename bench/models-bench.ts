/**
 * Single-thread speed of the models on one backend (default wasm): dense
 * matMul GFLOP/s, then per model inference and training-step images/s on
 * 1×28×28 batches of 128, the kernels that dominate a training step, and the
 * before/after of each tfjs fix measured layer by layer.
 *
 *   npx esbuild bench/models-bench.ts --bundle --platform=node --format=esm \
 *     --main-fields=module,main --external:webgpu --outfile=.cache/models-bench.mjs \
 *     --banner:js="import{createRequire}from'module';import{fileURLToPath}from'url';
 *       import{dirname}from'path';const require=createRequire(import.meta.url);
 *       const __filename=fileURLToPath(import.meta.url);const __dirname=dirname(__filename);"
 *   node .cache/models-bench.mjs [--backend wasm] [--models resnet20,resnet56] [--reps 5] [--profile]
 *
 * Every timing is the best of `reps` runs after one warm-up run, because the
 * machine is shared: the best run is the one least disturbed by other work.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { initBackend } from '../src/compute/backend';
import type { BackendName } from '../src/compute/backend';
import { createModel, forwardMultiplyAdds, parseModelName } from '../src/compute/models';
import type { Model, TensorMap } from '../src/compute/models';
import {
  batchNormTraining,
  conv2dFilterGradient,
  conv2dInputGradient,
  convGeometry,
  installTfjsFixes,
  tfjsConv2dGradConfig,
} from '../src/compute/tfjs-fixes';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const backend = option('backend', 'wasm') as BackendName;
const models = option('models', 'resnet20').split(',');
const reps = Number(option('reps', '5'));
const batch = Number(option('batch', '128'));

/** Best wall time in ms of f (which returns a tensor to read back). */
async function best(f: () => tf.Tensor, n = reps): Promise<number> {
  const warm = f();
  await warm.data();
  warm.dispose();
  let ms = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = f();
    await r.data();
    ms = Math.min(ms, performance.now() - t0);
    r.dispose();
  }
  return ms;
}

function trainStep(
  model: Model,
  params: TensorMap,
  state: TensorMap,
  x: tf.Tensor,
  labels: tf.Tensor,
): () => tf.Tensor {
  const names = model.params.map((p) => p.name);
  return () =>
    tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
        const p: TensorMap = {};
        names.forEach((n, i) => (p[n] = ps[i]!));
        const { logits } = model.forward(p, state, x, { training: true });
        return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1))) as tf.Scalar;
      })(names.map((n) => params[n]!));
      // Read one number that depends on every gradient, so all of them run.
      return tf.addN([value, ...grads.map((g) => tf.sum(g))]);
    });
}

/**
 * The same ResNet's inference written the plain tfjs way, as a baseline:
 * tf.conv2d, then tf.batchNorm, then tf.relu, each its own kernel.
 */
function naiveResNetInference(
  model: Model,
  params: TensorMap,
  state: TensorMap,
  x: tf.Tensor,
): tf.Tensor {
  if (model.spec.kind !== 'resnet') throw new Error('naive inference is written for ResNets');
  const spec = model.spec;
  const p = (n: string) => params[n]!;
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ];
  const convBn = (
    conv: string,
    bn: string,
    h: tf.Tensor,
    stride: number,
    padding: typeof pad | 'valid',
  ) =>
    tf.batchNorm(
      tf.conv2d(h as tf.Tensor4D, p(`${conv}.weight`) as tf.Tensor4D, stride, padding),
      state[`${bn}.runningMean`]!,
      state[`${bn}.runningVar`]!,
      p(`${bn}.beta`),
      p(`${bn}.gamma`),
      1e-5,
    );
  return tf.tidy(() => {
    let h = tf.relu(convBn('conv1', 'bn1', x, 1, pad));
    const k = (spec.depth - 2) / 6;
    for (let stage = 1; stage <= 3; stage++) {
      for (let b = 0; b < k; b++) {
        const n = `layer${stage}.${b}`;
        const stride = stage > 1 && b === 0 ? 2 : 1;
        const out = convBn(
          `${n}.conv2`,
          `${n}.bn2`,
          tf.relu(convBn(`${n}.conv1`, `${n}.bn1`, h, stride, pad)),
          1,
          pad,
        );
        const shortcut = params[`${n}.shortcut.0.weight`]
          ? convBn(`${n}.shortcut.0`, `${n}.shortcut.1`, h, stride, 'valid')
          : h;
        h = tf.relu(tf.add(out, shortcut));
      }
    }
    return tf.add(tf.matMul(tf.mean(h, [1, 2]), p('linear.weight')), p('linear.bias'));
  });
}

async function main(): Promise<void> {
  const choice = await initBackend({ prefer: [backend] });
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`backend ${choice.name} (${choice.reason}); ${JSON.stringify(choice.wasm ?? {})}`);
  console.log(
    `machine: ${cpu}, ${cpus().length} cores; Node ${process.version}; tfjs ${tf.version_core}`,
  );

  for (const n of [256, 512, 1024]) {
    const a = tf.randomNormal([n, n]);
    const b = tf.randomNormal([n, n]);
    const ms = await best(() => tf.matMul(a, b));
    console.log(
      `matMul ${n}×${n}×${n}: ${ms.toFixed(1)} ms, ${((2 * n ** 3) / ms / 1e6).toFixed(1)} GFLOP/s`,
    );
    tf.dispose([a, b]);
  }

  for (const name of models) {
    const model = createModel(parseModelName(name, { inputShape: [1, 28, 28] }));
    const { params, state } = model.init(1);
    const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 2);
    const labels = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % 10),
        'int32',
      ),
      10,
    );
    const before = tf.memory().numTensors;
    if (model.spec.kind === 'resnet' && model.spec.shortcut === 'B') {
      const naiveMs = await best(() => naiveResNetInference(model, params, state, x));
      console.log(
        `${name} plain tfjs inference (conv2d, batchNorm, relu): ${naiveMs.toFixed(0)} ms = ${((batch / naiveMs) * 1000).toFixed(0)} img/s`,
      );
    }
    const inferMs = await best(() =>
      tf.tidy(() => model.forward(params, state, x, { training: false }).logits),
    );
    const trainMs = await best(
      trainStep(model, params, state, x, labels),
      Math.max(2, Math.floor(reps / 2)),
    );
    console.log(
      `${name} 1×28×28 batch ${batch}: inference ${inferMs.toFixed(0)} ms = ${((batch / inferMs) * 1000).toFixed(0)} img/s; ` +
        `training step ${trainMs.toFixed(0)} ms = ${((batch / trainMs) * 1000).toFixed(0)} img/s`,
    );
    // A training step is about three forward passes of multiply-adds (forward,
    // input gradient, weight gradient).
    const flops = 2 * forwardMultiplyAdds(model.spec) * batch;
    console.log(
      `  ${(flops / inferMs / 1e6).toFixed(1)} GFLOP/s inference, ${((3 * flops) / trainMs / 1e6).toFixed(1)} GFLOP/s training`,
    );
    if (tf.memory().numTensors !== before)
      console.log(`  LEAK: ${tf.memory().numTensors - before} tensors`);
    if (args.includes('--profile')) {
      const profile = await tf.profile(() => trainStep(model, params, state, x, labels)());
      const byKernel = new Map<string, number>();
      for (const k of profile.kernels)
        byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
      const rows = [...byKernel].filter(([k]) => k !== 'forward').sort((p, q) => q[1] - p[1]);
      const total = rows.reduce((s, [, ms]) => s + ms, 0);
      console.log(`  training-step kernels (total ${total.toFixed(0)} ms):`);
      for (const [k, ms] of rows.slice(0, 12))
        console.log(
          `    ${k.padEnd(22)} ${ms.toFixed(1).padStart(7)} ms ${((100 * ms) / total).toFixed(0).padStart(3)} %`,
        );
      tf.dispose(profile.result as tf.Tensor);
    }
    tf.dispose([...Object.values(params), ...Object.values(state), x, labels]);
  }

  // Each fix against what tfjs does without it, on ResNet-20's first-stage shapes.
  const x = tf.randomNormal([batch, 28, 28, 16]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 16, 16], 0, 0.1) as tf.Tensor4D;
  const w2 = tf.randomNormal([3, 3, 16, 32], 0, 0.1) as tf.Tensor4D;
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ];
  const dy = tf.randomNormal([batch, 28, 28, 16]) as tf.Tensor4D;
  const dy2 = tf.randomNormal([batch, 14, 14, 32]) as tf.Tensor4D;
  const g1 = convGeometry(x.shape, w.shape, { strides: 1, pad, dilations: 1 });
  const g2 = convGeometry(x.shape, w2.shape, { strides: 2, pad, dilations: 1 });
  const line = (what: string, ms: number): void =>
    console.log(`  ${what.padEnd(58)} ${ms.toFixed(1).padStart(7)} ms`);
  console.log(`layers at ${batch}×28×28×16:`);
  line('conv2d 3×3 16→16 forward', await best(() => tf.conv2d(x, w, 1, pad)));
  line(
    'input gradient, ours (forward conv, rotated filter)',
    await best(() => tf.tidy(() => conv2dInputGradient(dy, w, g1))),
  );
  line(
    'input gradient, tfjs (Conv2DBackpropInput kernel)',
    await best(() => tf.conv2dTranspose(dy, w, x.shape, 1, pad)),
  );
  line(
    'filter gradient, ours (forward conv, batch↔channel)',
    await best(() => tf.tidy(() => conv2dFilterGradient(x, dy, g1))),
  );
  // tfjs's own Conv2D gradient, registered for this one attempt.
  tf.registerGradient(tfjsConv2dGradConfig);
  try {
    const t0 = performance.now();
    tf.dispose(
      tf.tidy(() => tf.grad((ww: tf.Tensor) => tf.sum(tf.conv2d(x, ww as tf.Tensor4D, 1, pad)))(w)),
    );
    line('filter gradient, tfjs (Conv2DBackpropFilter kernel)', performance.now() - t0);
  } catch (e) {
    console.log(`  filter gradient, tfjs: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    installTfjsFixes();
  }
  line(
    'stride-2 input gradient, ours (zeros spread, forward conv)',
    await best(() => tf.tidy(() => conv2dInputGradient(dy2, w2, g2))),
  );
  line(
    'stride-2 input gradient, tfjs (Conv2DBackpropInput)',
    await best(() => tf.conv2dTranspose(dy2, w2, x.shape, 2, pad)),
  );
  const gamma = tf.ones([16]) as tf.Tensor1D;
  const beta = tf.zeros([16]) as tf.Tensor1D;
  const bnGrad = (f: (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => () =>
    tf.tidy(() =>
      tf.addN(
        tf
          .grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xx, g, b), dy)))([
            x,
            gamma,
            beta,
          ])
          .map((t) => tf.sum(t)),
      ),
    );
  line(
    'BN training forward+backward, ours (closed form)',
    await best(
      bnGrad(
        (xx, g, b) =>
          batchNormTraining({ x: xx, gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }).y,
      ),
    ),
  );
  line(
    'BN training forward+backward, tf.batchNorm + tf.moments',
    await best(
      bnGrad((xx, g, b) => {
        const { mean, variance } = tf.moments(xx, [0, 1, 2]);
        return tf.batchNorm(xx, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5);
      }),
    ),
  );
  tf.dispose([x, w, w2, dy, dy2, gamma, beta]);
}

await main();
