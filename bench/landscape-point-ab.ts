/**
 * One ResNet-56 landscape point (θ* + αδ + βη, 500 Fashion-MNIST training
 * images, BN in inference mode, batch 128, wasm, one thread), timed with two
 * settings of the Winograd kernel alternated in one process, so that load
 * from other work falls on both alike:
 *
 *   --ab tile     A = F(2×2, 3×3) everywhere, B = tileFor's choice (default)
 *   --ab copy     A = copying through the kernel's own memory, B = in place
 *                 in the wasm backend's memory
 *   --ab strided  A = strided convolutions by tfjs, B = by our direct kernel
 *                 (useWinograd's default)
 *   --ab release  A = every intermediate tensor held until the pass ends,
 *                 B = released as each block returns (TensorRunner.module)
 *
 *   npx esbuild bench/landscape-point-ab.ts --bundle --platform=node --format=esm \
 *     --main-fields=module,main --external:webgpu --external:h5wasm \
 *     --outfile=.cache/landscape-point-ab.mjs --banner:js="(as in bench/winograd-bench.ts)"
 *   node .cache/landscape-point-ab.mjs [--ab tile|copy|strided|release] [--rounds 8]
 *
 * Prints the median and best wall and CPU milliseconds per point of each, the
 * speed-up B/A, the load average, and each variant's loss (equal to 1e-6).
 */
import { loadavg } from 'node:os';
import { loadCheckpoint, loadSubset } from '../src/cli/landscape-io';
import { initBackend } from '../src/compute/backend';
import { randomDirections } from '../src/compute/landscape/directions';
import {
  evaluateLossAccuracy,
  evaluationBatches,
  planeTensors,
  pointTensors,
} from '../src/compute/landscape/grid';
import { createModel } from '../src/compute/models';
import { TensorRunner } from '../src/compute/models/graph';
import { useWinograd, WinogradKernel } from '../src/compute/winograd';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const mode = arg('ab', 'tile');
const rounds = Number(arg('rounds', '8'));

const checkpoint = await loadCheckpoint(
  'public/artifacts/runs/resnet56-skip/epoch-016.safetensors',
);
const model = createModel(checkpoint.meta.spec);
await initBackend({ prefer: ['wasm'] });
const data = await loadSubset({
  command: 'bench',
  checkpoint,
  datasetFlag: undefined,
  split: 'train',
  subset: 500,
});
const origin = { params: checkpoint.training.params, state: checkpoint.training.state };
const directions = randomDirections({
  params: model.params,
  weights: origin.params,
  seed: 0,
  dimensions: 2,
  normalization: 'filter',
  includeBiasBn: false,
});
const plane = planeTensors(origin, directions);
const subset = evaluationBatches({ model, data, batchSize: 128 });

async function point(): Promise<{ loss: number; accuracy: number }> {
  const at = pointTensors(plane, 0.1, 0.2);
  try {
    return await evaluateLossAccuracy({ model, params: at.params, state: at.state, data: subset });
  } finally {
    for (const t of at.owned) t.dispose();
  }
}

const kernel = WinogradKernel.prototype;
const inPlace = kernel.conv3x3InPlace;
const releasing = TensorRunner.prototype.module;
const variants: Record<'A' | 'B', () => Promise<void>> =
  mode === 'release'
    ? {
        A: async () => {
          TensorRunner.prototype.module = (_type, body) => body();
        },
        B: async () => {
          TensorRunner.prototype.module = releasing;
        },
      }
    : mode === 'strided'
      ? {
          A: () => useWinograd({ strided: false }),
          B: () => useWinograd({ strided: true }),
        }
      : mode === 'copy'
        ? {
            A: async () => {
              kernel.conv3x3InPlace = () => false;
            },
            B: async () => {
              kernel.conv3x3InPlace = inPlace;
            },
          }
        : { A: () => useWinograd({ tile: 2 }), B: () => useWinograd({ tile: 'auto' }) };

const wall = { A: [] as number[], B: [] as number[] };
const cpu = { A: [] as number[], B: [] as number[] };
const loss = { A: NaN, B: NaN };
await point();
for (let r = 0; r < rounds; r++) {
  for (const v of r % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
    await variants[v]();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    loss[v] = (await point()).loss;
    const c = process.cpuUsage(c0);
    cpu[v].push((c.user + c.system) / 1000);
    wall[v].push(performance.now() - t0);
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const ms = (a: number[]): string =>
  `median ${median(a).toFixed(0)} ms, best ${Math.min(...a).toFixed(0)} ms`;
for (const v of ['A', 'B'] as const) {
  console.log(`${v}: wall ${ms(wall[v])}; CPU ${ms(cpu[v])}; loss ${loss[v]}`);
}
console.log(
  `--ab ${mode}, ${rounds} rounds: B/A speed-up, wall median ${(median(wall.A) / median(wall.B)).toFixed(3)}, ` +
    `CPU median ${(median(cpu.A) / median(cpu.B)).toFixed(3)}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
if (Math.abs(loss.A - loss.B) > 1e-6 * Math.abs(loss.A)) {
  console.log('the losses differ by more than 1e-6 relative');
  process.exitCode = 1;
}
kernel.conv3x3InPlace = inPlace;
TensorRunner.prototype.module = releasing;
plane.dispose();
subset.dispose();
