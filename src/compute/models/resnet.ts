/**
 * CIFAR ResNet-n of He et al. 2016, section 4.2, with the module names of Li et
 * al.'s code (loss-landscape, cifar10/models/resnet.py), so checkpoint keys
 * read like theirs: `conv1`, `bn1`, `layer2.0.conv1`, `layer2.0.shortcut.0`,
 * `linear`.
 *
 *   conv3×3(w)-BN-ReLU, w = 16 unless the spec says otherwise
 *   3 stages × k basic blocks at w, 2w, 4w channels (n = 6k + 2 layers);
 *     the first block of stages 2 and 3 has stride 2
 *   basic block: out = ReLU(α·BN(conv3×3(ReLU(BN(conv3×3(x))))) + shortcut(x))
 *   global average pool, dense layer to the classes
 *
 * Shortcuts where the shape changes: option B (default, Li et al.) is a 1×1
 * stride-2 convolution with BN; option A subsamples and zero-pads channels.
 * skip: false drops the addition altogether (Li et al.'s "noshort"): the
 * block is ReLU(BN(conv(ReLU(BN(conv(x))))))).
 *
 * Probes (ForwardOptions.trace, tap): `${block}.response`, the branch
 * α·BN(conv2(·)) before the addition and ReLU, and `${block}.output`.
 *
 * Initialisation: convolutions Kaiming normal with fan_in, N(0, 2/(9·c_in)),
 * He et al. 2015 eq. (10) as He et al. 2016 cite, and the same rule seed 003
 * derives; BN γ = 1, β = 0; the dense layer PyTorch's default U(±1/√64) for
 * weight and bias, as both He et al.'s and Li et al.'s code leave it. No
 * convolution has a bias (BN's β plays that role).
 */
import type { Architecture, LayerOps } from './graph';
import type { ResNetSpec } from './types';

/** k blocks per stage for ResNet-n, n = 6k + 2. */
export function blocksPerStage(depth: number): number {
  const k = (depth - 2) / 6;
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`ResNet depth must be 6k + 2 (8, 14, 20, 32, 44, 56, 110, ...), got ${depth}`);
  }
  return k;
}

export function resnetArchitecture(spec: ResNetSpec): Architecture {
  const k = blocksPerStage(spec.depth);
  const w = spec.width ?? 16;
  if (!Number.isInteger(w) || w < 1)
    throw new Error(`ResNet width must be a whole number ≥ 1, got ${w}`);
  const stageWidths = [w, 2 * w, 4 * w];
  const conv = { kind: 'kaimingNormal' } as const;
  return <T>(ops: LayerOps<T>, input: T): T => {
    let x = ops.convBatchNorm({ conv: 'conv1', bn: 'bn1' }, input, {
      out: w,
      kernel: 3,
      stride: 1,
      pad: 1,
      bias: false,
      init: conv,
      activation: 'relu',
    });
    let inChannels = w;
    stageWidths.forEach((planes, stage) => {
      for (let b = 0; b < k; b++) {
        const name = `layer${stage + 1}.${b}`;
        const stride = stage > 0 && b === 0 ? 2 : 1;
        const cin = inChannels;
        const blockInput = ops.probe(`${name}.input`, x);
        x = ops.module('BasicBlock', () => {
          const h = ops.convBatchNorm({ conv: `${name}.conv1`, bn: `${name}.bn1` }, blockInput, {
            out: planes,
            kernel: 3,
            stride,
            pad: 1,
            bias: false,
            init: conv,
            activation: 'relu',
          });
          const branch = ops.convBatchNorm({ conv: `${name}.conv2`, bn: `${name}.bn2` }, h, {
            out: planes,
            kernel: 3,
            stride: 1,
            pad: 1,
            bias: false,
            init: conv,
            activation: 'linear',
            scale: spec.residualScale,
          });
          // He et al.'s "response" of the block (their fig. 7): α·BN(conv(·)),
          // after BN and before the addition and the ReLU.
          const response = ops.probe(`${name}.response`, branch);
          if (!spec.skip) return ops.activation(response, 'relu');
          let shortcut = blockInput;
          if (stride !== 1 || cin !== planes) {
            shortcut =
              spec.shortcut === 'B'
                ? ops.convBatchNorm(
                    { conv: `${name}.shortcut.0`, bn: `${name}.shortcut.1` },
                    blockInput,
                    {
                      out: planes,
                      kernel: 1,
                      stride,
                      pad: 0,
                      bias: false,
                      init: conv,
                      activation: 'linear',
                    },
                  )
                : ops.subsampleAndPad(blockInput, stride, planes);
          }
          return ops.activation(ops.residual(name, response, shortcut), 'relu');
        });
        x = ops.probe(`${name}.output`, x);
        inChannels = planes;
      }
    });
    const pooled = ops.globalAvgPool(x);
    return ops.linear('linear', pooled, {
      out: spec.classes,
      bias: true,
      init: { kind: 'torchDefault' },
    });
  };
}
