/**
 * `skipscape hessian`: the extreme eigenvalues λ_max, λ_min of the loss
 * Hessian at a checkpoint, or the map of |λ_min/λ_max| over a plane through
 * it (Li et al. 2018, fig. 6), from exact Hessian-vector products.
 */
import { existsSync } from 'node:fs';
import { randomDirections } from '../../compute/landscape/directions';
import { axisValues, parseGrid } from '../../compute/landscape/grid';
import {
  computeHessianMap,
  convergedEnds,
  DEFAULT_TOLERANCE,
  defaultIterations,
} from '../../compute/landscape/hessian';
import type { HessianMap } from '../../compute/landscape/hessian';
import type { GridProgress } from '../../compute/landscape/grid';
import type { Normalization } from '../../compute/landscape/surface';
import { createModel } from '../../compute/models';
import {
  HELP_FLAG,
  helpText,
  integer,
  oneOf,
  parseFlags,
  positive,
  required,
  UsageError,
} from '../args';
import type { FlagSpecs } from '../args';
import {
  attachNegativeValues,
  hasSkips,
  loadCheckpoint,
  loadSubset,
  modelName,
  readHessianMapFile,
  refuseToReplace,
  resultFile,
} from '../landscape-io';
import { assertWritable } from '../files';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { packageVersion } from '../paths';
import { ProgressBar } from '../progress';
import { closeWorkerPool, startWorkerPool, WORKERS_FLAG, workersFlag } from '../replicas';
import type { Command, CommandIo } from './types';
import { shardFromFlags } from '../shard';
import { interruptSignal } from './landscape';

const NAME = 'hessian';

const FLAGS = {
  checkpoint: {
    type: 'string',
    value: 'FILE',
    help: 'θ*: a .safetensors checkpoint written by skipscape train',
  },
  grid: {
    type: 'string',
    value: 'A:B:N[,A:B:N]',
    help: 'points of the plane θ* + αδ + βη (default 0:0:1,0:0:1: θ* alone)',
  },
  norm: {
    type: 'string',
    value: 'filter|layer|none',
    help: 'direction normalisation, as for landscape (default filter)',
  },
  'include-biasbn': { type: 'boolean', help: 'move biases and BN γ, β along the directions too' },
  seed: {
    type: 'string',
    value: 'S',
    help: 'seed of the directions, as for landscape (default 0)',
  },
  subset: {
    type: 'string',
    value: 'N',
    help: 'the loss over the first N images of the split (default 500)',
  },
  split: { type: 'string', value: 'train|test', help: 'which split (default train)' },
  dataset: {
    type: 'string',
    value: 'NAME',
    help: "override the checkpoint's dataset (cifar10:<dir> needs its directory)",
  },
  iters: {
    type: 'string',
    value: 'K',
    help: `most Hessian-vector products per point (default ${defaultIterations('lanczos')} Lanczos, ${defaultIterations('power')} power)`,
  },
  method: { type: 'string', value: 'lanczos|power', help: 'eigenvalue method (default lanczos)' },
  tolerance: {
    type: 'string',
    value: 'T',
    help: `an eigenvalue λ has converged when ‖Hv − λv‖ ≤ T·|λ| (default ${DEFAULT_TOLERANCE})`,
  },
  parameters: {
    type: 'string',
    value: 'all|weights',
    help: "the Hessian over every trainable tensor, or only those of dimension > 1, as Li et al.'s code (default all)",
  },
  hvp: {
    type: 'string',
    value: 'exact|finite-difference',
    help: 'Hessian-vector products (default exact; finite differences are an approximation)',
  },
  backend: BACKEND_FLAG,
  batch: { type: 'string', value: 'B', help: 'images per double-backward pass (default 64)' },
  workers: WORKERS_FLAG,
  out: { type: 'string', value: 'FILE.json', help: 'the Hessian map file to write' },
  resume: { type: 'boolean', help: 'continue the partial map in --out (same flags)' },
  force: { type: 'boolean', help: 'replace an existing --out instead of refusing' },
  shard: {
    type: 'string',
    value: 'i/n|auto',
    help: 'compute only shard i of n (join with skipscape merge); auto: i and n from a Slurm job array or a Kubernetes Indexed Job',
  },
  shards: {
    type: 'string',
    value: 'N',
    help: 'with --shard auto in a Kubernetes Indexed Job: the count n (else JOB_COMPLETION_COUNT)',
  },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export const hessianCommand: Command = {
  name: NAME,
  summary: 'Hessian eigenvalues λ_max, λ_min at a checkpoint, or their map over a plane',
  help: () =>
    helpText({
      usage:
        'skipscape hessian --checkpoint FILE [--grid -1:1:11,-1:1:11] [--subset N] [--iters K] [--tolerance T]\n' +
        '         [--method lanczos|power] [--parameters all|weights] [--hvp exact|finite-difference]\n' +
        '         [--backend wasm|cpu|webgpu] [--workers N] --out FILE.json [--resume] [--shard i/n|auto [--shards N]]',
      summary:
        'At each grid point θ* + αδ + βη (directions as skipscape landscape makes them from --seed, --norm),\n' +
        'finds the largest and smallest eigenvalues of the Hessian of the mean loss over the first --subset\n' +
        'images, from exact Hessian-vector products H v = ∇⟨∇L, v⟩ (double backward). Lanczos finds both\n' +
        'ends at once, each run until its own residual ‖Hv − λv‖ is at most --tolerance × |λ| (or --iters\n' +
        'products); power iteration finds λ_min by shifting, H − λ_max I. The file holds λ_max, λ_min,\n' +
        '|λ_min/λ_max|, both residuals and the products run per point, laid out like a surface.\n' +
        'Each product is shared by --workers threads (one per core by default), each over its run of whole\n' +
        '--batch batches; their sums add up to the mean over the subset (BN in inference mode, so images\n' +
        'are independent and the split is exact: equal to one thread within 1e-6 relative).',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, attachNegativeValues(argv, FLAGS));
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const path = required(NAME, 'checkpoint', flags.checkpoint);
    const out = required(NAME, 'out', flags.out);
    let grid: ReturnType<typeof parseGrid>;
    try {
      grid = parseGrid(flags.grid ?? '0:0:1,0:0:1');
    } catch (e) {
      throw new UsageError(`${NAME}: --${e instanceof Error ? e.message : String(e)}`);
    }
    const normalization = oneOf(NAME, 'norm', flags.norm ?? 'filter', [
      'filter',
      'layer',
      'none',
    ] as const) as Normalization;
    const includeBiasBn = flags['include-biasbn'] ?? false;
    const seed = integer(NAME, 'seed', flags.seed ?? '0', 0, 2 ** 32 - 1);
    const split = oneOf(NAME, 'split', flags.split ?? 'train', ['train', 'test'] as const);
    const subset = integer(NAME, 'subset', flags.subset ?? '500', 1);
    const method = oneOf(NAME, 'method', flags.method ?? 'lanczos', ['lanczos', 'power'] as const);
    const iterations = integer(NAME, 'iters', flags.iters ?? String(defaultIterations(method)), 1);
    const tolerance = positive(NAME, 'tolerance', flags.tolerance ?? String(DEFAULT_TOLERANCE));
    const parameters = oneOf(NAME, 'parameters', flags.parameters ?? 'all', [
      'all',
      'weights',
    ] as const);
    const hvp = oneOf(NAME, 'hvp', flags.hvp ?? 'exact', ['exact', 'finite-difference'] as const);
    const backend = backendFlag(NAME, flags.backend);
    const batchSize = integer(NAME, 'batch', flags.batch ?? '64', 1);
    const shard = shardFromFlags(NAME, flags, io.err);
    const workers = workersFlag(NAME, flags.workers, backend);

    const checkpoint = await loadCheckpoint(path);
    refuseToReplace({
      command: NAME,
      path: out,
      resume: flags.resume ?? false,
      force: flags.force ?? false,
    });
    assertWritable(out);
    const resume = flags.resume && existsSync(out) ? await readHessianMapFile(out) : undefined;
    const model = createModel(checkpoint.meta.spec);
    const started = await startNodeBackend(backend);
    const data = await loadSubset({
      command: NAME,
      checkpoint,
      datasetFlag: flags.dataset,
      split,
      subset,
    });
    const origin = { params: checkpoint.training.params, state: checkpoint.training.state };
    const directions = randomDirections({
      params: model.params,
      weights: origin.params,
      seed,
      dimensions: grid.y === null ? 1 : 2,
      normalization,
      includeBiasBn,
    });
    const xs = axisValues(grid.x);
    const ys = grid.y === null ? [0] : axisValues(grid.y);
    io.err(
      `${NAME}: ${modelName(model.spec)}${hasSkips(model.spec) ? '' : ' (no skips)'}, ${xs.length}×${ys.length} points, ` +
        `${data.count} ${split} images, ${method} with ${iterations} ${hvp} products at most per point ` +
        `(residual ≤ ${tolerance}·|λ|), parameters: ${parameters}, ${started.backend}` +
        `${workers > 1 ? ` × ${workers} worker threads` : ''}\n`,
    );
    if (hvp === 'finite-difference') {
      io.err(
        `${NAME}: finite-difference products are an approximation: through ReLU kinks they do not converge to H v\n`,
      );
    }
    const pool = await startWorkerPool({ model, workers, backend });
    const interrupt = interruptSignal(io, NAME);
    const progress = hessianProgress(io, iterations);
    const file = resultFile({
      path: out,
      seconds: 30,
      encode: (m: HessianMap) => `${JSON.stringify(m)}\n`,
      stop: interrupt.stop,
    });
    try {
      const map = await computeHessianMap({
        model,
        origin,
        data,
        directions: grid.y === null ? { x: directions.x, y: null } : directions,
        xs,
        ys,
        meta: {
          model: modelName(model.spec),
          skip: hasSkips(model.spec),
          checkpointSha256: checkpoint.sha256,
          checkpoint2Sha256: null,
          dataset: data.name,
          split,
          seed,
          normalization,
          includeBiasBn,
          kind: 'direction',
          version: packageVersion(),
        },
        method,
        iterations,
        tolerance,
        parameters,
        hvp,
        batchSize,
        seed,
        shard,
        resume,
        signal: interrupt.signal,
        onProgress: progress.point,
        onProduct: progress.product,
        onPartial: file.partial,
        pool,
      });
      const done = map.mask.filter((m) => m === 1).length;
      file.finish(map, `${done}/${map.mask.length} points`);
      if (map.mask.length === 1 && done === 1) {
        const ends = convergedEnds(map, 0);
        const state = (ok: boolean) => (ok ? 'converged' : 'NOT converged');
        io.out(
          `λ_max ${map.lambdaMax[0]} (residual ${map.residualMax[0]}, ${state(ends?.max ?? false)}), ` +
            `λ_min ${map.lambdaMin[0]} (residual ${map.residualMin[0]}, ${state(ends?.min ?? false)}), ` +
            `|λ_min/λ_max| ${map.ratio[0]}, ${map.products[0]} products\n`,
        );
      }
      io.err(
        `${NAME}: ${done}/${map.mask.length} points in ${out} (${map.meta.seconds.toFixed(1)} s computing)\n`,
      );
      return interrupt.signal.aborted ? 130 : 0;
    } finally {
      interrupt.release();
      await closeWorkerPool(pool, io.err, NAME);
    }
  },
};

/**
 * Progress of a Hessian job, one tick per Hessian-vector product (a point of
 * ResNet-56 takes minutes). The bar counts points, with the point in progress
 * as the fraction of its product budget spent; the ETA assumes the budget is
 * spent in full, so it is an upper bound when runs converge early.
 */
function hessianProgress(
  io: CommandIo,
  iterations: number,
): { point: (p: GridProgress) => void; product: (k: number) => void } {
  const bar = new ProgressBar({ stream: io.progressStream });
  const start = performance.now();
  let points: GridProgress | null = null;
  let products = 0;
  let inPoint = 0;
  const draw = () => {
    const seconds = (performance.now() - start) / 1000;
    const perProduct = products > 0 ? seconds / products : Number.NaN;
    const total = points?.total ?? Number.NaN;
    const done = points?.done ?? 0;
    const remaining = (total - done) * iterations - inPoint;
    bar.update({
      done,
      total,
      label: NAME,
      detail: `product ${inPoint}/${iterations} at this point, ${perProduct.toFixed(1)} s each`,
      etaSeconds: remaining * perProduct,
    });
  };
  return {
    point(p) {
      points = p;
      inPoint = 0;
      draw();
      if (p.done === p.total) bar.done();
    },
    product(k) {
      products += 1;
      inPoint = k;
      draw();
    },
  };
}
