/**
 * The Winograd F(2×2, 3×3) and F(4×4, 3×3) kernels (src/compute/winograd) against tfjs's own
 * wasm convolution (XNNPACK), one thread: each 3×3 stride-1 convolution shape
 * of ResNet-20/56 on 28×28×1 inputs, as inference runs it (FusedConv2D with
 * bias and ReLU, batch 128), then whole-model inference images/s with and
 * without the kernel.
 *
 *   npx esbuild bench/winograd-bench.ts --bundle --platform=node --format=esm \
 *     --main-fields=module,main --external:webgpu --outfile=.cache/winograd-bench.mjs \
 *     --banner:js="import{createRequire}from'module';import{fileURLToPath}from'url';
 *       import{dirname}from'path';const require=createRequire(import.meta.url);
 *       const __filename=fileURLToPath(import.meta.url);const __dirname=dirname(__filename);"
 *   node .cache/winograd-bench.mjs [--reps 10] [--batch 128] [--models resnet20,resnet56]
 *     [--sections conv3x3,strided]   (--models , for no whole-model timings)
 *
 * Every timing is the best of `reps` calls after one warm-up call (the machine
 * is shared: the best call is the least disturbed), and the two kernels are
 * timed alternately, twice each, so that a change in load hits both.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpus, loadavg } from 'node:os';
import { initBackend } from '../src/compute/backend';
import { createModel, forwardMultiplyAdds, parseModelName } from '../src/compute/models';
import {
  stopWinograd,
  tileFor,
  useWinograd,
  type UseWinogradOptions,
} from '../src/compute/winograd';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const reps = Number(arg('reps', '10'));
const batch = Number(arg('batch', '128'));
const models = arg('models', 'resnet20,resnet56').split(',').filter(Boolean);
const sections = arg('sections', 'conv3x3,strided').split(',');

/**
 * Best single-call time of f in ms over `reps` calls after one warm-up call.
 * The wasm backend runs a kernel when it is called, so the time of f() is the
 * time of the computation; reading the result back is left out.
 */
async function best(f: () => tf.Tensor): Promise<number> {
  const warm = f();
  await warm.data();
  warm.dispose();
  let bestMs = Infinity;
  for (let r = 0; r < reps; r++) {
    const start = performance.now();
    const y = f();
    bestMs = Math.min(bestMs, performance.now() - start);
    await y.data();
    y.dispose();
  }
  return bestMs;
}

/** Time f with tfjs's kernels and with ours (each tile in `tiles`), alternating. */
async function compare(
  f: () => tf.Tensor,
  options: UseWinogradOptions = {},
  tiles: NonNullable<UseWinogradOptions['tile']>[] = ['auto'],
): Promise<{ tfjs: number; winograd: number; byTile: number[] }> {
  let tfjs = Infinity;
  const byTile = tiles.map(() => Infinity);
  for (let round = 0; round < 2; round++) {
    stopWinograd();
    tfjs = Math.min(tfjs, await best(f));
    for (const [i, tile] of tiles.entries()) {
      await useWinograd({ ...options, tile });
      byTile[i] = Math.min(byTile[i]!, await best(f));
    }
  }
  return { tfjs, winograd: Math.min(...byTile), byTile };
}

const choice = await initBackend({ prefer: 'wasm' });
console.log(
  `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, ` +
    `load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )}, backend ${choice.name} (SIMD ${choice.wasm?.simd}), batch ${batch}, best of ${reps}`,
);

if (sections.includes('conv3x3')) {
  console.log(
    '\n3×3 stride-1 convolutions (FusedConv2D + bias + ReLU), ms per batch and GFLOP/s of the direct count',
  );
  console.log(
    'shape                 tfjs ms  GFLOP/s   F(2×2) ms  GFLOP/s  F(4×4) ms  GFLOP/s   best speed-up',
  );
  for (const [h, c, k] of [
    [28, 1, 16],
    [32, 3, 16],
    [28, 4, 4],
    [28, 8, 8],
    [28, 16, 16],
    [14, 32, 32],
    [7, 64, 64],
  ] as const) {
    const x = tf.randomNormal([batch, h, h, c]) as tf.Tensor4D;
    const filter = tf.randomNormal([3, 3, c, k]) as tf.Tensor4D;
    const bias = tf.randomNormal([k]) as tf.Tensor1D;
    const conv = (): tf.Tensor =>
      tf.fused.conv2d({ x, filter, bias, strides: 1, pad: 'same', activation: 'relu' });
    // Every channel count through our kernel, the default threshold aside.
    const { tfjs, winograd, byTile } = await compare(conv, { minInChannels: 1 }, [2, 4]);
    const flop = 2 * 9 * c * k * h * h * batch;
    const gf = (ms: number): string => (flop / ms / 1e6).toFixed(1).padStart(7);
    const [f2, f4] = byTile as [number, number];
    console.log(
      `${`${h}×${h}×${c} → ${k}`.padEnd(20)} ${tfjs.toFixed(2).padStart(8)} ${gf(tfjs)}   ` +
        `${f2.toFixed(2).padStart(9)} ${gf(f2)}  ${f4.toFixed(2).padStart(9)} ${gf(f4)}   ` +
        `${(tfjs / winograd).toFixed(2)}× (tileFor picks F(${tileFor(c, k)}×${tileFor(c, k)}))`,
    );
    tf.dispose([x, filter, bias]);
  }
}

if (sections.includes('strided')) {
  console.log(
    "\nStrided convolutions of the ResNets' downsampling blocks (FusedConv2D + bias + ReLU): tfjs's against our direct kernel (im2col + the products' micro-kernel)",
  );
  console.log('shape                        tfjs ms  GFLOP/s   ours ms  GFLOP/s   speed-up');
  for (const [h, c, k, f] of [
    [28, 16, 32, 3],
    [14, 32, 64, 3],
    [28, 16, 32, 1],
    [14, 32, 64, 1],
  ] as const) {
    const x = tf.randomNormal([batch, h, h, c]) as tf.Tensor4D;
    const filter = tf.randomNormal([f, f, c, k]) as tf.Tensor4D;
    const bias = tf.randomNormal([k]) as tf.Tensor1D;
    // As the ResNets pad them: 1 for 3×3, none for 1×1.
    const pad = f === 3 ? 1 : 0;
    const conv = (): tf.Tensor =>
      tf.fused.conv2d({ x, filter, bias, strides: 2, pad, activation: 'relu' });
    const { tfjs, winograd: ours } = await compare(conv);
    const o = Math.floor((h + 2 * pad - f) / 2) + 1;
    const flop = 2 * f * f * c * k * o * o * batch;
    const gf = (ms: number): string => (flop / ms / 1e6).toFixed(1).padStart(7);
    console.log(
      `${`${h}×${h}×${c} → ${k}, ${f}×${f} stride 2`.padEnd(27)} ${tfjs.toFixed(2).padStart(8)} ${gf(tfjs)}  ` +
        `${ours.toFixed(2).padStart(8)} ${gf(ours)}   ${(tfjs / ours).toFixed(2)}×`,
    );
    tf.dispose([x, filter, bias]);
  }
}

console.log(
  '\nInference (forward in inference mode, loss included), images/s, default threshold (≥ 4 input channels)',
);
for (const name of models) {
  const spec = parseModelName(name, { inputShape: [1, 28, 28] });
  const model = createModel(spec);
  const { params, state } = model.init(1);
  const x = tf.randomNormal([batch, 28, 28, 1]);
  const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
  const forward = (): tf.Tensor =>
    tf.tidy(() =>
      tf.losses.softmaxCrossEntropy(
        labels,
        model.forward(params, state, x, { training: false }).logits,
      ),
    );
  const { tfjs, winograd } = await compare(forward);
  const mflop = (2 * forwardMultiplyAdds(spec)) / 1e6;
  const rate = (ms: number): string => ((batch * 1000) / ms).toFixed(1);
  console.log(
    `${name.padEnd(10)} inference: tfjs ${rate(tfjs)} images/s, winograd ${rate(winograd)} images/s ` +
      `(${(tfjs / winograd).toFixed(2)}×; ${mflop.toFixed(1)} MFLOP/image)`,
  );
  // The gradient of the loss in training mode (BN batch statistics) with
  // respect to every parameter: the forward and input-gradient convolutions
  // are Conv2D (ours where 3×3 stride 1), the filter gradients tfjs's.
  const names = Object.keys(params);
  const gradient = (): tf.Tensor =>
    tf.tidy(() => {
      const grads = tf.grads((...ps: tf.Tensor[]) => {
        const p = Object.fromEntries(names.map((n, i) => [n, ps[i]!]));
        return tf.losses.softmaxCrossEntropy(
          labels,
          model.forward(p, state, x, { training: true }).logits,
        );
      })(names.map((n) => params[n]!));
      return tf.addN(grads.map((g) => tf.sum(g)));
    });
  const train = await compare(gradient);
  console.log(
    `${name.padEnd(10)} training gradient: tfjs ${rate(train.tfjs)} images/s, winograd ${rate(
      train.winograd,
    )} images/s (${(train.tfjs / train.winograd).toFixed(2)}×)`,
  );
  tf.dispose([x, labels, ...Object.values(params), ...Object.values(state)]);
}
console.log(
  `\nload at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
