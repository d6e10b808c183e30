/**
 * The single deletions of a shipped ResNet-56 in Node on wasm, both ways: the
 * straightforward study (every lesion a whole forward pass, as lesionStudy ran
 * before it started each lesion at its first changed block) and lesionStudy.
 * Prints the process's CPU seconds and wall seconds of each, and whether their
 * errors agree. CPU time is the measure that a shared machine disturbs least.
 *
 *   npx esbuild bench/lesion-node.ts --bundle --platform=node --format=esm \
 *     --main-fields=module,main --external:webgpu --outfile=.cache/lesion-node.mjs \
 *     --banner:js="import{createRequire}from'module';import{fileURLToPath}from'url';
 *       import{dirname}from'path';const require=createRequire(import.meta.url);
 *       const __filename=fileURLToPath(import.meta.url);const __dirname=dirname(__filename);"
 *   node .cache/lesion-node.mjs [--subset 100] [--networks skip,noskip] [--batch 250]
 */
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/compute/backend';
import { batches } from '../src/compute/data/batches';
import { loadFashionMnist } from '../src/compute/data/dataset';
import { createModel } from '../src/compute/models';
import { lesionedNetwork, lesionPlan, lesionStudy, residualBlocks } from '../src/compute/paths';
import { decodeCheckpoint } from '../src/compute/train/checkpoint';
import { countCorrect } from '../src/compute/train/engine';
import { toTensorMap } from '../src/compute/train/state';

const { values: flags } = parseArgs({
  options: {
    subset: { type: 'string', default: '100' },
    networks: { type: 'string', default: 'skip,noskip' },
    batch: { type: 'string', default: '250' },
  },
});
const subset = Number(flags.subset);
const batchSize = Number(flags.batch);
const PUBLIC = join(process.cwd(), 'public');
const backend = await initBackend({ prefer: ['wasm'] });
const data = await loadFashionMnist({
  readBytes: async (p) => new Uint8Array(await readFile(join(PUBLIC, p))),
  split: 'test',
  limit: subset,
});
console.log(
  JSON.stringify({ cpu: cpus()[0]?.model, cores: cpus().length, backend: backend.name, subset }),
);

/** CPU seconds (user + system) and wall seconds of `f`. */
async function timed<T>(f: () => Promise<T>): Promise<{ value: T; cpu: number; wall: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, cpu: (c.user + c.system) / 1e6, wall: (performance.now() - t0) / 1000 };
}

for (const network of flags.networks.split(',')) {
  const file = join(PUBLIC, 'artifacts', 'runs', `resnet56-${network}`, 'epoch-016.safetensors');
  const checkpoint = decodeCheckpoint(new Uint8Array(await readFile(file)), {
    source: file,
    layout: createModel,
  });
  const model = createModel(checkpoint.meta.spec);
  const params = toTensorMap(checkpoint.training.params);
  const state = toTensorMap(checkpoint.training.state);
  const plan = lesionPlan({ blocks: residualBlocks(model.spec), draws: 1, seed: 0 }).filter(
    (l) => l.kind === 'baseline' || l.kind === 'deleteOne',
  );
  const loadBefore = loadavg()[0];
  const straightforward = await timed(async () => {
    const inputs = [...batches({ dataset: data, batchSize })].map((b) => ({
      x: tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]),
      labels: tf.tensor1d(b.y, 'int32'),
    }));
    const errors: number[] = [];
    for (const lesion of plan) {
      const net = lesionedNetwork({ model, params, state, lesion });
      let correct = 0;
      for (const { x, labels } of inputs) {
        const c = tf.tidy(() =>
          countCorrect(model.forward(net.params, net.state, x, net.forward).logits, labels),
        );
        correct += (await c.data())[0]!;
        c.dispose();
      }
      errors.push(1 - correct / data.count);
    }
    for (const { x, labels } of inputs) tf.dispose([x, labels]);
    return errors;
  });
  const fast = await timed(async () => {
    const r = await lesionStudy({
      model,
      params,
      state,
      data,
      batchSize,
      draws: 1,
      seed: 0,
      kinds: ['baseline', 'deleteOne'],
    });
    return [r.baselineError, ...r.deleteOne.map((d) => d.error)];
  });
  console.log(
    JSON.stringify({
      network,
      lesions: plan.length,
      straightforward: { cpuSeconds: straightforward.cpu, wallSeconds: straightforward.wall },
      fast: { cpuSeconds: fast.cpu, wallSeconds: fast.wall },
      cpuRatio: straightforward.cpu / fast.cpu,
      sameErrors: JSON.stringify(straightforward.value) === JSON.stringify(fast.value),
      load: [loadBefore, loadavg()[0]],
    }),
  );
  tf.dispose([...Object.values(params), ...Object.values(state)]);
}
