/**
 * Weight initialisations, sampled in plain JavaScript from the seeded RNG so a
 * seed gives the same network on every backend.
 *
 * fan_in is the number of inputs feeding one output unit: k·k·c_in for a k×k
 * convolution, the input width for a dense layer.
 */
import { createRng, deriveSeed, normalArray } from '../random';
import type { Rng } from '../random';

export type WeightInit =
  /** N(0, 2/fan_in): He et al. 2015, eq. (10); seed 003's W ~ N(0, 2/d). */
  | { kind: 'kaimingNormal' }
  /**
   * U(−1/√fan_in, 1/√fan_in): what PyTorch gives nn.Conv2d and nn.Linear
   * weights (kaiming_uniform_ with a = √5) and their biases, i.e. what code
   * that never calls an init function trains with (Li et al., DLStudio).
   */
  | { kind: 'torchDefault' }
  /** N(0, σ_w²/fan_in): the signal-propagation family (seeds 000, 003). */
  | { kind: 'gaussian'; sigmaW: number }
  /** U(−√(6/(fan_in+fan_out)), +…): Glorot & Bengio 2010, eq. (16). */
  | { kind: 'glorotUniform' }
  /** gain·Q with Q (semi-)orthogonal: QᵀQ = I on the smaller side (Saxe et al. 2014). */
  | { kind: 'orthogonal'; gain: number }
  | { kind: 'zeros' }
  | { kind: 'ones' };

/** fan_in and fan_out of a tfjs weight: conv [kh, kw, in, out], dense [in, out]. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return {
    fanIn: receptive * shape[shape.length - 2]!,
    fanOut: receptive * shape[shape.length - 1]!,
  };
}

function uniformArray(n: number, rng: Rng, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}

/**
 * A (semi-)orthogonal [rows, cols] matrix, row-major: Gram–Schmidt (twice, for
 * stability) on the columns of a Gaussian matrix, or on its rows when there
 * are fewer rows than columns. Equivalent in law to the QR recipe with the
 * sign correction of Mezzadri 2007, i.e. Haar-distributed.
 */
export function orthogonalMatrix(rows: number, cols: number, rng: Rng): Float64Array {
  const tall = rows >= cols;
  const n = tall ? rows : cols; // length of each vector
  const k = tall ? cols : rows; // number of orthonormal vectors
  const v = new Float64Array(k * n);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  for (let j = 0; j < k; j++) {
    const vj = v.subarray(j * n, (j + 1) * n);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const vi = v.subarray(i * n, (i + 1) * n);
        let dot = 0;
        for (let t = 0; t < n; t++) dot += vi[t]! * vj[t]!;
        for (let t = 0; t < n; t++) vj[t]! -= dot * vi[t]!;
      }
    }
    let norm = 0;
    for (let t = 0; t < n; t++) norm += vj[t]! * vj[t]!;
    norm = Math.sqrt(norm);
    for (let t = 0; t < n; t++) vj[t]! /= norm;
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = tall ? v[c * n + r]! : v[r * n + c]!;
  }
  return out;
}

/**
 * Values for a tensor named `name` of the given shape. Each tensor draws from
 * its own stream, derived from the seed and its name, so adding or removing a
 * parameter never changes the others.
 */
export function initialValues(options: {
  init: WeightInit;
  shape: readonly number[];
  seed: number;
  name: string;
  /** fan_in to use for biases (the layer's weight fan_in). */
  fanIn?: number;
}): Float32Array {
  const { init, shape, seed, name } = options;
  const size = shape.reduce((a, b) => a * b, 1);
  const rng = createRng(deriveSeed(seed, name));
  const { fanIn: ownFanIn, fanOut } = fans(shape);
  const fanIn = options.fanIn ?? ownFanIn;
  switch (init.kind) {
    case 'zeros':
      return new Float32Array(size);
    case 'ones':
      return new Float32Array(size).fill(1);
    case 'kaimingNormal':
      return normalArray(size, rng, Math.sqrt(2 / fanIn));
    case 'gaussian':
      return normalArray(size, rng, init.sigmaW / Math.sqrt(fanIn));
    case 'torchDefault':
      return uniformArray(size, rng, 1 / Math.sqrt(fanIn));
    case 'glorotUniform':
      return uniformArray(size, rng, Math.sqrt(6 / (fanIn + fanOut)));
    case 'orthogonal': {
      // Rows are the fan-in axis (everything but the output axis), columns the outputs.
      const rows = size / shape[shape.length - 1]!;
      const cols = shape[shape.length - 1]!;
      const q = orthogonalMatrix(rows, cols, rng);
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = q[i]! * init.gain;
      return out;
    }
  }
}
