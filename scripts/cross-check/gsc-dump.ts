/**
 * Write one network of the GSC lab, as `skipscape gsc` measures it (draw 0 of
 * a seed), and its inputs, to a safetensors file that gsc_torch.py reads: the
 * independent PyTorch computation of GSC(k, L) behind the fixture
 * tests/unit/fixtures/gsc-torch.json.
 *
 *   node scripts/cross-check/run-ts.mjs scripts/cross-check/gsc-dump.ts \
 *     --activation relu --bn --seed 0 --inputs 32 --out .cache/cross-check/plain-bn-relu.safetensors
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/compute/backend';
import { createModel } from '../../src/compute/models';
import { createRng, deriveSeed, normalArray } from '../../src/compute/random';
import { drawSeed, mlpSpec, type SignalNetwork } from '../../src/compute/signals';
import { labNetwork } from '../../src/compute/signals/depth-lab';
import { encodeSafetensors } from '../../src/compute/train/safetensors';

const { values } = parseArgs({
  options: {
    activation: { type: 'string', default: 'relu' },
    bn: { type: 'boolean', default: false },
    residual: { type: 'boolean', default: false },
    depth: { type: 'string', default: '50' },
    width: { type: 'string', default: '100' },
    seed: { type: 'string', default: '0' },
    inputs: { type: 'string', default: '256' },
    out: { type: 'string', default: '.cache/cross-check/gsc.safetensors' },
  },
});
await initBackend({ prefer: 'cpu' });
const activation = values.activation as SignalNetwork['activation'];
// The lab's network with its Gaussian initial state (σ_w² = 2 for ReLU, 1 otherwise).
const network: SignalNetwork = labNetwork({
  activation,
  init: 'gaussian',
  batchNorm: values.bn,
  residual: values.residual,
  depth: Number(values.depth),
  width: Number(values.width),
});
const seed = Number(values.seed);
const inputs = Number(values.inputs);
const { params } = createModel(mlpSpec(network)).init(drawSeed(seed, 0));
const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
for (const [name, t] of Object.entries(params))
  tensors[name] = { shape: t.shape, data: (await t.data()) as Float32Array };
tensors['inputs'] = {
  shape: [inputs, network.width],
  data: normalArray(inputs * network.width, createRng(deriveSeed(seed, 'gsc/inputs'))),
};
tf.dispose(Object.values(params));
writeFileSync(
  values.out,
  encodeSafetensors(tensors, { network: JSON.stringify(network), seed: String(seed) }),
);
console.log(`wrote ${values.out}: ${Object.keys(tensors).length} tensors`);
