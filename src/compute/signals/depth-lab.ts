/**
 * The networks of the effective-depth article's GSC lab (Philipp et al.'s
 * 50-layer, width-100 MLPs), in the signal labs' terms (network.ts). No
 * tfjs here: the lab's island builds its networks from this without
 * loading the compute code, which the worker loads when a run starts.
 */
import type { Activation } from '../models/types';
import type { SignalNetwork } from './network';

/**
 * σ_w per activation for the lab: √2 for ReLU (He et al. 2015), 1 for tanh
 * (Glorot's fixed point at the origin), SELU (Klambauer et al.'s LeCun
 * normal) and the identity. The orthogonal state uses it as its gain, so
 * each layer's W is σ_w·Q with Q Haar-orthogonal (Saxe et al. 2014), the
 * nearest standard construction to Philipp et al.'s appendix H (which makes
 * the whole network's initial state a series of orthogonal maps).
 */
export function weightScale(activation: Activation): number {
  return activation === 'relu' ? Math.SQRT2 : 1;
}

/**
 * One 50-layer network of the lab, in the signal labs' terms (network.ts):
 * Gaussian N(0, σ_w²/d) or orthogonal σ_w·Q weights, plain or residual with
 * α = 1, with or without BN.
 */
export function labNetwork(options: {
  activation: Activation;
  init: 'gaussian' | 'orthogonal';
  batchNorm: boolean;
  residual: boolean;
  depth: number;
  width: number;
}): SignalNetwork {
  return {
    width: options.width,
    depth: options.depth,
    activation: options.activation,
    init: options.init,
    sigmaW2: weightScale(options.activation) ** 2,
    residualAlpha: options.residual ? 1 : null,
    batchNorm: options.batchNorm,
  };
}

/** The activations of the effective-depth lab (Philipp et al.'s 50-layer MLPs). */
export const DEPTH_LAB_ACTIVATIONS = ['relu', 'tanh', 'selu'] as const;

/** Every network of the lab: activation × residual × BN × initial state, at one depth and width. */
export function depthLabNetworks(size: { depth: number; width: number }): SignalNetwork[] {
  const out: SignalNetwork[] = [];
  for (const activation of DEPTH_LAB_ACTIVATIONS)
    for (const residual of [false, true])
      for (const batchNorm of [false, true])
        for (const init of ['gaussian', 'orthogonal'] as const)
          out.push(labNetwork({ activation, init, batchNorm, residual, ...size }));
  return out;
}
