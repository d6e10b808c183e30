/**
 * The theory labs' fully connected network (DESIGN.md, "Models").
 *
 * Plain (residualAlpha null), Glorot & Bengio's eqs. (1)–(2) (seed 001):
 *
 *   s^i = z^i W^i + b^i,  [s^i ← BN(s^i)],  z^{i+1} = f(s^i),   i = 0 … depth−1,
 *
 * then logits = z^depth W_out + b_out. `depth` counts the hidden layers.
 *
 * Residual (seed 003, Hayou's scaled residual network):
 *
 *   x_0 = input·W_in + b_in,   x_{t+1} = x_t + α·W_t f(x_t)  [W_t f(x_t) ← BN(·)],   t = 0 … depth−1,
 *
 * then logits = x_depth W_out + b_out. `depth` counts the residual blocks.
 *
 * Every weight uses the chosen initialisation (Var[w] = σ_w²/fan_in for
 * 'gaussian', Glorot uniform, Kaiming N(0, 2/fan_in), or σ_w times a random
 * orthogonal matrix); biases start at zero. Trace names: `layers.i.preActivation`
 * (s^i, or the residual branch α·W_t f(x_t)) and `layers.i.output` (z^{i+1}, x_{t+1}).
 */
import type { Architecture, LayerOps } from './graph';
import type { WeightInit } from './init';
import type { MlpInit, MlpSpec } from './types';

export function mlpWeightInit(init: MlpInit, sigmaW: number): WeightInit {
  switch (init) {
    case 'gaussian':
      return { kind: 'gaussian', sigmaW };
    case 'glorot':
      return { kind: 'glorotUniform' };
    case 'kaiming':
      return { kind: 'kaimingNormal' };
    case 'orthogonal':
      return { kind: 'orthogonal', gain: sigmaW };
  }
}

export function mlpArchitecture(spec: MlpSpec): Architecture {
  if (!Number.isInteger(spec.depth) || spec.depth < 0)
    throw new Error(`MLP depth must be a whole number, got ${spec.depth}`);
  if (!Number.isInteger(spec.width) || spec.width < 1)
    throw new Error(`MLP width must be positive, got ${spec.width}`);
  const init = mlpWeightInit(spec.init, spec.sigmaW);
  return <T>(ops: LayerOps<T>, input: T): T => {
    let h = input;
    if (spec.residualAlpha === null) {
      for (let i = 0; i < spec.depth; i++) {
        let s = ops.linear(`layers.${i}`, h, { out: spec.width, bias: true, init });
        if (spec.batchNorm) s = ops.batchNorm(`norms.${i}`, s);
        s = ops.probe(`layers.${i}.preActivation`, s);
        h = ops.probe(`layers.${i}.output`, ops.activation(s, spec.activation));
      }
    } else {
      const alpha = spec.residualAlpha;
      h = ops.probe('input.output', ops.linear('input', h, { out: spec.width, bias: true, init }));
      for (let t = 0; t < spec.depth; t++) {
        let branch = ops.linear(`layers.${t}`, ops.activation(h, spec.activation), {
          out: spec.width,
          bias: false,
          init,
        });
        if (spec.batchNorm) branch = ops.batchNorm(`norms.${t}`, branch);
        branch = ops.probe(`layers.${t}.preActivation`, ops.scale(branch, alpha));
        h = ops.probe(`layers.${t}.output`, ops.residual(`layers.${t}`, branch, h));
      }
    }
    return ops.linear('output', h, { out: spec.classes, bias: true, init });
  };
}
