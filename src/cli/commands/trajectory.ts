/**
 * `skipscape trajectory`: the path of a training run projected on the plane of
 * its top two principal components (Li et al. 2018, section 7), with the
 * explained variance, and optionally the loss surface of that plane.
 */
import { existsSync } from 'node:fs';
import { surfaceToJson } from '../../compute/landscape/exports';
import { axisValues, computeSurface, parseGrid } from '../../compute/landscape/grid';
import type { GridAxis } from '../../compute/landscape/grid';
import type { Surface } from '../../compute/landscape/surface';
import { pcaTrajectory, squareAroundPath } from '../../compute/landscape/trajectory';
import type { TrajectoryFile } from '../../compute/landscape/trajectory';
import { createModel } from '../../compute/models';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { assertWritable, checkpointFiles } from '../files';
import {
  attachNegativeValues,
  hasSkips,
  loadCheckpoint,
  loadSubset,
  modelName,
  readSurfaceFile,
  refuseToReplace,
  resultFile,
  writeDirections,
  writeJsonFile,
} from '../landscape-io';
import type { LoadedCheckpoint } from '../landscape-io';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { packageVersion } from '../paths';
import { closeWorkerPool, startWorkerPool, WORKERS_FLAG, workersFlag } from '../replicas';
import type { Command } from './types';
import { shardFromFlags } from '../shard';
import { gridProgressBar, interruptSignal } from './landscape';

const NAME = 'trajectory';

const FLAGS = {
  run: {
    type: 'string',
    value: 'DIR',
    help: 'a training run directory (epoch-NNN.safetensors, from skipscape train)',
  },
  out: { type: 'string', value: 'FILE.json', help: 'the trajectory file to write' },
  'include-biasbn': {
    type: 'boolean',
    help: 'include biases and BN γ, β in the PCA (default: weights only)',
  },
  'save-directions': {
    type: 'string',
    value: 'FILE',
    help: 'also write e₁, e₂ as safetensors (x.<name>, y.<name>)',
  },
  grid: {
    type: 'string',
    value: 'A:B:N,A:B:N|around:N',
    help: 'also compute the loss surface of the plane on this grid (α along e₁, β along e₂); around:N is N×N on a square around the path',
  },
  surface: {
    type: 'string',
    value: 'FILE.json',
    help: 'where the surface goes (default: --out with .surface.json)',
  },
  subset: {
    type: 'string',
    value: 'N',
    help: 'surface: the first N images of the split (default 500)',
  },
  split: { type: 'string', value: 'train|test', help: 'surface: which split (default train)' },
  dataset: {
    type: 'string',
    value: 'NAME',
    help: "surface: override the run's dataset (cifar10:<dir>)",
  },
  backend: BACKEND_FLAG,
  batch: { type: 'string', value: 'B', help: 'surface: images per forward pass (default 128)' },
  workers: WORKERS_FLAG,
  resume: { type: 'boolean', help: 'surface: continue the partial surface file' },
  force: { type: 'boolean', help: 'surface: replace an existing surface file instead of refusing' },
  shard: {
    type: 'string',
    value: 'i/n|auto',
    help: 'surface: compute only shard i of n (auto: from Slurm or Kubernetes, see landscape --help)',
  },
  shards: {
    type: 'string',
    value: 'N',
    help: 'with --shard auto in a Kubernetes Indexed Job: the count n',
  },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export const trajectoryCommand: Command = {
  name: NAME,
  summary: 'PCA of a training run: directions, projected path, explained variance',
  help: () =>
    helpText({
      usage:
        'skipscape trajectory --run DIR --out FILE.json [--include-biasbn] [--save-directions FILE]\n' +
        '         [--grid A:B:N,A:B:N|around:N [--surface FILE.json] [--subset N] [--split train|test] [--backend NAME]]',
      summary:
        "PCA of θ_i − θ_n over the run's per-epoch checkpoints (θ_n the last): the top two components e₁, e₂\n" +
        'as directions, each checkpoint projected onto them (θ_n at the origin), and the share of variance\n' +
        'each component explains. With --grid, also the surface f(α, β) = L(θ_n + αe₁ + βe₂) (kind "pca").',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, attachNegativeValues(argv, FLAGS));
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const dir = required(NAME, 'run', flags.run);
    const out = required(NAME, 'out', flags.out);
    const includeBiasBn = flags['include-biasbn'] ?? false;
    // Every flag is checked, and every output found writable, before anything
    // is computed or written.
    let grid: { x: GridAxis; y: GridAxis | null } | { around: number } | null = null;
    if (flags.grid !== undefined) {
      const around = /^around:(.*)$/.exec(flags.grid.trim());
      if (around) {
        grid = { around: integer(NAME, 'grid around:N', around[1]!.trim(), 2, 1001) };
      } else {
        try {
          grid = parseGrid(flags.grid);
        } catch (e) {
          throw new UsageError(`${NAME}: --${e instanceof Error ? e.message : String(e)}`);
        }
        if (grid.y === null)
          throw new UsageError(`${NAME}: the surface of the plane needs two axes in --grid`);
      }
    }
    const surfacePath = flags.surface ?? out.replace(/(\.json)?$/, '.surface.json');
    const split = oneOf(NAME, 'split', flags.split ?? 'train', ['train', 'test'] as const);
    const subset = integer(NAME, 'subset', flags.subset ?? '500', 1);
    const backend = backendFlag(NAME, flags.backend);
    const batchSize = integer(NAME, 'batch', flags.batch ?? '128', 1);
    const shard = shardFromFlags(NAME, flags, io.err);
    const workers = workersFlag(NAME, flags.workers, backend);
    assertWritable(out);
    if (flags['save-directions'] !== undefined) assertWritable(flags['save-directions']);
    if (grid !== null) {
      refuseToReplace({
        command: NAME,
        path: surfacePath,
        resume: flags.resume ?? false,
        force: flags.force ?? false,
      });
      assertWritable(surfacePath);
    }
    const files = await checkpointFiles(dir);
    if (files.length < 3) {
      throw new UsageError(
        `${NAME}: ${dir} holds ${files.length} epoch-NNN.safetensors checkpoints; a trajectory needs at least 3`,
      );
    }
    const checkpoints: LoadedCheckpoint[] = [];
    for (const f of files) checkpoints.push(await loadCheckpoint(f));
    const final = checkpoints[checkpoints.length - 1]!;
    const spec = JSON.stringify(final.meta.spec);
    const odd = checkpoints.find((c) => JSON.stringify(c.meta.spec) !== spec);
    if (odd) throw new UsageError(`${NAME}: ${odd.path} is another model than ${final.path}`);
    const model = createModel(final.meta.spec);

    const trajectory = pcaTrajectory({
      params: model.params,
      checkpoints: checkpoints.map((c) => c.training.params),
      includeBiasBn,
    });
    const file: TrajectoryFile = {
      path: { ...trajectory.path, epochs: checkpoints.map((c) => c.meta.epoch) },
      explainedVarianceRatio: trajectory.explainedVarianceRatio,
      explainedVarianceRatios: trajectory.explainedVarianceRatios,
      meta: {
        model: modelName(model.spec),
        skip: hasSkips(model.spec),
        dataset: final.meta.dataset,
        checkpointSha256: checkpoints.map((c) => c.sha256),
        includeBiasBn,
        version: packageVersion(),
        written: new Date().toISOString(),
      },
    };
    await writeJsonFile(out, file);
    const [r1, r2] = trajectory.explainedVarianceRatio;
    io.out(
      `${out}: ${checkpoints.length} checkpoints; explained variance ${(r1 * 100).toFixed(2)}% + ${(r2 * 100).toFixed(2)}%\n`,
    );
    if (flags['save-directions']) {
      await writeDirections(flags['save-directions'], trajectory.directions, {
        kind: 'pca',
        checkpointSha256: final.sha256,
        includeBiasBn: String(includeBiasBn),
      });
    }
    if (grid === null) return 0;
    let plane: { x: GridAxis; y: GridAxis };
    if ('around' in grid) {
      const { x, y } = squareAroundPath(file.path);
      plane = {
        x: { min: x[0], max: x[1], steps: grid.around },
        y: { min: y[0], max: y[1], steps: grid.around },
      };
    } else {
      plane = { x: grid.x, y: grid.y! };
    }
    const resume =
      flags.resume && existsSync(surfacePath) ? await readSurfaceFile(surfacePath) : undefined;
    await startNodeBackend(backend);
    const data = await loadSubset({
      command: NAME,
      checkpoint: final,
      datasetFlag: flags.dataset,
      split,
      subset,
    });
    const pool = await startWorkerPool({ model, workers, backend });
    const interrupt = interruptSignal(io, NAME);
    const surfaceFile = resultFile({
      path: surfacePath,
      seconds: 30,
      encode: (s: Surface) => surfaceToJson(s, { outPath: surfacePath }),
      stop: interrupt.stop,
    });
    try {
      const surface = await computeSurface({
        model,
        origin: { params: final.training.params, state: final.training.state },
        directions: trajectory.directions,
        data,
        xs: axisValues(plane.x),
        ys: axisValues(plane.y),
        meta: {
          model: modelName(model.spec),
          skip: hasSkips(model.spec),
          checkpointSha256: final.sha256,
          checkpoint2Sha256: null,
          dataset: data.name,
          split,
          seed: 0,
          normalization: 'none',
          includeBiasBn,
          kind: 'pca',
          version: packageVersion(),
        },
        batchSize,
        shard,
        resume,
        signal: interrupt.signal,
        onProgress: gridProgressBar(io, NAME),
        onPartial: surfaceFile.partial,
        pool,
      });
      const done = surface.mask.filter((m) => m === 1).length;
      surfaceFile.finish(surface, `${done}/${surface.mask.length} points`);
      io.err(`${NAME}: surface of the plane in ${surfacePath}\n`);
      return interrupt.signal.aborted ? 130 : 0;
    } finally {
      interrupt.release();
      await closeWorkerPool(pool, io.err, NAME);
    }
  },
};
