/**
 * The residual blocks of a CIFAR ResNet-n as the path studies see them: 3k
 * blocks for n = 6k + 2, in forward order, each with its stage and whether it
 * downsamples (the first block of stages 2 and 3: stride 2, twice the
 * channels, a projection or zero-padding shortcut instead of the identity).
 * Veit et al. mark those blocks in their lesion figures: deleting one leaves
 * only its shortcut, which changes the representation, not just drops a path.
 */
import { blocksPerStage } from '../models';
import type { ModelSpec } from '../models';

export interface BlockInfo {
  /** Position in forward order, from 0; the index ForwardOptions.combine sees. */
  index: number;
  /** The block's parameter prefix, e.g. `layer2.0`. */
  name: string;
  /** 1, 2 or 3. */
  stage: number;
  /** Stride 2 and a change of width: the first block of stages 2 and 3. */
  downsampling: boolean;
}

export function residualBlocks(spec: ModelSpec): BlockInfo[] {
  if (spec.kind !== 'resnet') {
    throw new Error(`the path studies need a ResNet; this checkpoint is a ${spec.kind}`);
  }
  const k = blocksPerStage(spec.depth);
  const blocks: BlockInfo[] = [];
  for (let stage = 1; stage <= 3; stage++) {
    for (let b = 0; b < k; b++) {
      blocks.push({
        index: blocks.length,
        name: `layer${stage}.${b}`,
        stage,
        downsampling: stage > 1 && b === 0,
      });
    }
  }
  return blocks;
}
