/**
 * What the benchmark measures: the floating-point work of a model's forward
 * pass, counted from the kernels it runs, and the rate of a dense matrix
 * multiply on the current backend, the yardstick the model's rate is read
 * against.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../models/types';
import { createRng, normalArray } from '../random';

const CONV_KERNELS = new Set(['Conv2D', 'FusedConv2D']);
const MATMUL_KERNELS = new Set(['BatchMatMul', '_FusedMatMul', 'MatMul']);

/**
 * Multiply-add FLOPs of one image's forward pass: 2·k_h·k_w·c_in·c_out·H·W
 * per convolution (H×W its output) and 2·m·k·n per matrix product; BN,
 * ReLU, additions and pooling are not counted (they are memory-bound and a
 * few percent of the total). Read from the kernels tfjs actually runs, in
 * inference mode on one image.
 */
export async function forwardFlopsPerImage(model: Model, inputShape: number[]): Promise<number> {
  const { params, state } = model.init(0);
  try {
    // tf.profile runs the function outside any tidy and keeps its result:
    // tidy inside, dispose the result after.
    const profile = await tf.profile(() =>
      tf.tidy(
        () =>
          model.forward(params, state, tf.zeros([1, ...inputShape]), { training: false }).logits,
      ),
    );
    tf.dispose(profile.result);
    let flops = 0;
    for (const k of profile.kernels) {
      if (CONV_KERNELS.has(k.name)) {
        const [kh, kw, cin, cout] = k.inputShapes[1]!;
        const [n, h, w] = k.outputShapes[0]!;
        flops += 2 * kh! * kw! * cin! * cout! * h! * w! * n!;
      } else if (MATMUL_KERNELS.has(k.name)) {
        // a is [..., m, k] (or transposed), out [..., m, n]: k = |a| / (|out| / n).
        const size = (shape: (number | undefined)[]) => shape.reduce((p: number, d) => p * d!, 1);
        const out = k.outputShapes[0]!;
        const inner = size(k.inputShapes[0]!) / (size(out) / out.at(-1)!);
        flops += 2 * size(out) * inner;
      }
    }
    return flops;
  } finally {
    tf.dispose([...Object.values(params), ...Object.values(state)]);
  }
}

/**
 * GFLOP/s of an n×n by n×n matrix product on the current backend (2n³ FLOPs
 * each), repeated for at least `minSeconds` after one warm-up.
 */
export async function measureMatMul(options: {
  size: number;
  minSeconds: number;
}): Promise<{ gflops: number; reps: number; seconds: number }> {
  const { size, minSeconds } = options;
  const rng = createRng(1);
  const a = tf.tensor2d(normalArray(size * size, rng), [size, size]);
  const b = tf.tensor2d(normalArray(size * size, rng), [size, size]);
  try {
    const once = async () => {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    };
    await once();
    let reps = 0;
    const t0 = performance.now();
    let seconds = 0;
    while (seconds < minSeconds || reps < 2) {
      await once();
      reps++;
      seconds = (performance.now() - t0) / 1000;
    }
    return { gflops: (2 * size ** 3 * reps) / seconds / 1e9, reps, seconds };
  } finally {
    a.dispose();
    b.dispose();
  }
}
