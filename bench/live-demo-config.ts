/**
 * Candidate configurations for the training figure's live demo, measured in
 * Node on the wasm backend (one thread, as the browser worker runs): the
 * with/without-skips job itself (src/compute/jobs/training-comparison.ts),
 * its wall time, images/s and each run's running training loss, step by step,
 * for a few seeds. Prints one JSON line per (config, seed).
 *
 *   npx esbuild bench/live-demo-config.ts --bundle --platform=node --format=esm \
 *     --main-fields=module,main --external:webgpu --outfile=.cache/live-demo-config.mjs \
 *     --banner:js="import{createRequire}from'module';import{fileURLToPath}from'url';
 *       import{dirname}from'path';const require=createRequire(import.meta.url);
 *       const __filename=fileURLToPath(import.meta.url);const __dirname=dirname(__filename);"
 *   node .cache/live-demo-config.mjs --models resnet56w8 --downsample 2 --seeds 0,1,2 \
 *     --images 2048 --batch 64 --lr 0.1
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/compute/backend';
import {
  trainingComparison,
  type ComparisonModel,
  type RunName,
} from '../src/compute/jobs/training-comparison';

const { values: flags } = parseArgs({
  options: {
    models: { type: 'string', default: 'resnet56w8' },
    downsample: { type: 'string', default: '2' },
    seeds: { type: 'string', default: '0' },
    images: { type: 'string', default: '2048' },
    test: { type: 'string', default: '64' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '0.1' },
    epochs: { type: 'string', default: '1' },
    augment: { type: 'string', default: 'true' },
  },
});

const choice = await initBackend({ prefer: 'wasm' });
console.error(
  choice.name,
  choice.reason,
  JSON.stringify(choice.tried),
  JSON.stringify(choice.wasm),
);
const readBytes = async (p: string) => new Uint8Array(await readFile(join('public', p)));

for (const model of flags.models.split(',')) {
  for (const seed of flags.seeds.split(',').map(Number)) {
    const losses: Record<RunName, number[]> = { skip: [], noskip: [] };
    const batchLosses: Record<RunName, number[]> = { skip: [], noskip: [] };
    const times: number[] = [];
    const cpuTimes: number[] = [];
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let ips = 0;
    await trainingComparison({
      params: {
        model: model as ComparisonModel,
        dataDir: 'data/fashion-mnist',
        epochs: Number(flags.epochs),
        lr: Number(flags.lr),
        batchSize: Number(flags.batch),
        trainImages: Number(flags.images),
        testImages: Number(flags.test),
        seed,
        downsample: Number(flags.downsample),
      },
      readBytes,
      onEvent: (e) => {
        if (e.type !== 'step') return;
        losses[e.run].push(Number(e.loss.toFixed(3)));
        batchLosses[e.run].push(Number(e.batchLoss.toFixed(3)));
        if (e.run === 'noskip') {
          times.push(Number(((performance.now() - t0) / 1000).toFixed(1)));
          const c = process.cpuUsage(cpu0);
          cpuTimes.push(Number(((c.user + c.system) / 1e6).toFixed(2)));
        }
        ips = e.imagesPerSecond;
      },
    });
    const cpu = process.cpuUsage(cpu0);
    console.log(
      JSON.stringify({
        model,
        seed,
        downsample: Number(flags.downsample),
        lr: Number(flags.lr),
        batch: Number(flags.batch),
        seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        // This process's CPU time: on a shared machine, nearer what one free core would take.
        cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
        imagesPerCpuSecond: Number(
          (
            (2 * losses.skip.length * Number(flags.batch)) /
            ((cpu.user + cpu.system) / 1e6)
          ).toFixed(1),
        ),
        imagesPerSecond: Number(ips.toFixed(1)),
        times,
        cpuTimes,
        skip: losses.skip,
        noskip: losses.noskip,
        skipBatch: batchLosses.skip,
        noskipBatch: batchLosses.noskip,
      }),
    );
  }
}
