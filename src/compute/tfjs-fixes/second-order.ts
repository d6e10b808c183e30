/**
 * Gradient fixes that make exact double backward (the gradient of a gradient)
 * work in tfjs 4.22, for Hessian-vector products
 *
 *   H v = ∇_θ ⟨∇_θ L(θ), v⟩
 *
 * (Pearlmutter 1994), on every backend. Two defects stand in the way
 * (tensorflow/tfjs#3252):
 *
 * 1. Saved outputs are cut off from the tape. A kernel whose gradient reuses
 *    its own output (Exp: dy·y, Tanh: dy·(1 − y²), Sigmoid, Softmax,
 *    LogSoftmax, Elu, Pow) saves a clone of that output. The engine records the
 *    clone on the tape *before* the kernel's own node, so when the outer
 *    gradient walks the tape forward from θ, the clone is not yet reachable and
 *    ∂y/∂θ is silently dropped: d²/dx² exp(x) comes out as 0 (or throws "Cannot
 *    compute gradient"). Fix: save the input instead and recompute the output
 *    inside the gradient, where it is recorded in order.
 * 2. Gradients are missing for kernels that only first-order backward emits:
 *    Conv2DBackpropFilter (the default Conv2D filter gradient), AvgPoolGrad,
 *    EluGrad, and the comparisons (Equal, Greater, ...) that masks in Max, Min,
 *    Relu6, Selu and Elu gradients are built from. Comparisons are piecewise
 *    constant, so their gradient is zero; the convolution and pooling
 *    gradients are linear maps whose adjoints are the forward ops.
 *
 * Every replacement computes the same first derivative as tfjs's own, so
 * registering them changes no first-order result beyond float rounding.
 */
import * as tf from '@tensorflow/tfjs-core';

type Saved = tf.Tensor[];

function first(saved: Saved): tf.Tensor {
  const t = saved[0];
  if (t === undefined) throw new Error('second-order gradient: a saved tensor is missing');
  return t;
}

function single(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(dy)) throw new Error('second-order gradient: expected one dy');
  return dy;
}

/** d/dx exp(x) = exp(x), recomputed from x. */
const expGrad: tf.GradConfig = {
  kernelName: tf.Exp,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const x = first(saved);
    return { x: () => tf.mul(single(dy), tf.exp(x)) };
  },
};

/** d/dx tanh(x) = 1 − tanh²(x). */
const tanhGrad: tf.GradConfig = {
  kernelName: tf.Tanh,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const x = first(saved);
    return { x: () => tf.mul(single(dy), tf.sub(1, tf.square(tf.tanh(x)))) };
  },
};

/** d/dx σ(x) = σ(x)(1 − σ(x)). */
const sigmoidGrad: tf.GradConfig = {
  kernelName: tf.Sigmoid,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const x = first(saved);
    return {
      x: () => {
        const s = tf.sigmoid(x);
        return tf.mul(single(dy), tf.mul(s, tf.sub(1, s)));
      },
    };
  },
};

/** Softmax Jacobian-vector product: s ⊙ (dy − ⟨dy, s⟩). */
const softmaxGrad: tf.GradConfig = {
  kernelName: tf.Softmax,
  inputsToSave: ['logits'],
  gradFunc: (dy, saved, attrs) => {
    const logits = first(saved);
    const { dim } = attrs as unknown as tf.SoftmaxAttrs;
    return {
      logits: () => {
        const s = tf.softmax(logits, dim);
        const dyTimesS = tf.mul(single(dy), s);
        return tf.sub(dyTimesS, tf.mul(tf.sum(dyTimesS, dim, true), s));
      },
    };
  },
};

/** d log softmax: dy − Σdy · softmax(x). */
const logSoftmaxGrad: tf.GradConfig = {
  kernelName: tf.LogSoftmax,
  inputsToSave: ['logits'],
  gradFunc: (dy, saved, attrs) => {
    const logits = first(saved);
    const { axis } = attrs as unknown as tf.LogSoftmaxAttrs;
    return {
      logits: () => {
        const d = single(dy);
        return tf.sub(d, tf.mul(tf.sum(d, axis, true), tf.softmax(logits, axis)));
      },
    };
  },
};

/** ELU: f'(x) = 1 for x > 0, exp(x) otherwise (no EluGrad kernel, which has no gradient). */
const eluGrad: tf.GradConfig = {
  kernelName: tf.Elu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const x = first(saved);
    return {
      x: () => {
        const d = single(dy);
        return tf.where(tf.greater(x, 0), d, tf.mul(d, tf.exp(x)));
      },
    };
  },
};

/** a^b: ∂/∂a = b·a^(b−1), ∂/∂b = a^b·log a (where a > 0), a^b recomputed. */
const powGrad: tf.GradConfig = {
  kernelName: tf.Pow,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => {
    const [a, b] = saved;
    if (a === undefined || b === undefined)
      throw new Error('second-order gradient: Pow lost its inputs');
    const d = single(dy);
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const reduceTo = (t: tf.Tensor, shape: number[]): tf.Tensor => {
      const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
      return tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, shape);
    };
    return {
      a: () => {
        const bf = tf.cast(b, 'float32');
        return reduceTo(tf.mul(d, tf.mul(bf, tf.pow(a, tf.sub(bf, 1)))), a.shape);
      },
      b: () => {
        const logA = tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a));
        return reduceTo(tf.mul(d, tf.mul(tf.pow(a, b), logA)), b.shape);
      },
    };
  },
};

/**
 * dW = Conv2DBackpropFilter(x, dy) is bilinear in (x, dy). For an upstream
 * gradient ddW: ∂/∂dy = conv2d(x, ddW) (the forward convolution) and
 * ∂/∂x = conv2dTranspose(dy, ddW), the input gradient of that convolution.
 */
const conv2DBackpropFilterGrad: tf.GradConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw, saved, attrs) => {
    const [x, dy] = saved as [tf.Tensor4D | undefined, tf.Tensor4D | undefined];
    if (x === undefined || dy === undefined)
      throw new Error('second-order gradient: Conv2DBackpropFilter lost its inputs');
    const { strides, pad, dataFormat, dimRoundingMode } =
      attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (dataFormat !== 'NHWC')
      throw new Error(`second-order gradient: Conv2DBackpropFilter in ${dataFormat}, only NHWC`);
    const filter = single(ddw) as tf.Tensor4D;
    const outShape = x.shape as [number, number, number, number];
    return {
      x: () => tf.conv2dTranspose(dy, filter, outShape, strides, pad, dimRoundingMode),
      dy: () => tf.conv2d(x, filter, strides, pad, 'NHWC', 1, dimRoundingMode),
    };
  },
};

/** AvgPoolGrad is linear in dy; its adjoint is the average pool itself. */
const avgPoolGradGrad: tf.GradConfig = {
  kernelName: tf.AvgPoolGrad,
  inputsToSave: ['input'],
  gradFunc: (ddx, saved, attrs) => {
    const input = first(saved);
    const { filterSize, strides, pad } = attrs as unknown as tf.AvgPoolGradAttrs;
    return {
      dy: () =>
        tf.avgPool(
          single(ddx) as tf.Tensor4D,
          filterSize,
          strides,
          pad as 'valid' | 'same' | number,
        ),
      input: () => tf.zeros(input.shape),
    };
  },
};

/** Comparisons and logic are piecewise constant: zero gradient everywhere they have one. */
function zeroGradient(kernelName: string, inputs: string[]): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: inputs,
    gradFunc: (_dy, saved) => {
      const grads: Record<string, () => tf.Tensor> = {};
      inputs.forEach((name, i) => {
        const t = saved[i];
        if (t === undefined)
          throw new Error(`second-order gradient: ${kernelName} lost input ${name}`);
        grads[name] = () => tf.zeros(t.shape);
      });
      return grads;
    },
  };
}

const binary = ['a', 'b'];

/** Every gradient this module registers, by kernel name. */
export const secondOrderGradients: readonly tf.GradConfig[] = [
  expGrad,
  tanhGrad,
  sigmoidGrad,
  softmaxGrad,
  logSoftmaxGrad,
  eluGrad,
  powGrad,
  conv2DBackpropFilterGrad,
  avgPoolGradGrad,
  zeroGradient(tf.Equal, binary),
  zeroGradient(tf.NotEqual, binary),
  zeroGradient(tf.Greater, binary),
  zeroGradient(tf.Less, binary),
  zeroGradient(tf.LessEqual, binary),
  zeroGradient(tf.LogicalAnd, binary),
  zeroGradient(tf.LogicalOr, binary),
  zeroGradient(tf.LogicalNot, ['x']),
];

let registered = false;

/**
 * Registers the fixes above (once; later calls do nothing). Call it after
 * `@tensorflow/tfjs-core/dist/register_all_gradients` has been imported, so
 * these replace tfjs's own entries rather than being replaced by them.
 */
export function registerSecondOrderGradients(): void {
  if (registered) return;
  for (const config of secondOrderGradients) tf.registerGradient(config);
  registered = true;
}
