/**
 * `skipscape landscape`: a loss surface f(α, β) = L(θ* + αδ + βη) around a
 * checkpoint, a 1-D curve along one direction, or the interpolation between
 * two checkpoints (Li et al. 2018), written as a surface JSON file. Long runs
 * write their partial result every few seconds and on Ctrl-C, and continue
 * with --resume; --shard i/n (or auto, under Slurm or Kubernetes) computes
 * one share of the grid for `merge`.
 */
import { existsSync } from 'node:fs';
import { interpolationDirection, randomDirections } from '../../compute/landscape/directions';
import type { DirectionPair } from '../../compute/landscape/directions';
import { axisValues, computeSurface, parseGrid } from '../../compute/landscape/grid';
import type { GridProgress } from '../../compute/landscape/grid';
import { surfaceToJson } from '../../compute/landscape/exports';
import type { Normalization, Surface } from '../../compute/landscape/surface';
import { createModel } from '../../compute/models';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
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
} from '../landscape-io';
import { assertWritable } from '../files';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { packageVersion } from '../paths';
import { ProgressBar } from '../progress';
import { shardFromFlags } from '../shard';
import { closeWorkerPool, startWorkerPool, WORKERS_FLAG, workersFlag } from '../replicas';
import type { Command, CommandIo } from './types';

const NAME = 'landscape';

const FLAGS = {
  checkpoint: {
    type: 'string',
    value: 'FILE',
    help: 'θ*: a .safetensors checkpoint written by skipscape train',
  },
  checkpoint2: {
    type: 'string',
    value: 'FILE',
    help: 'θ_b: interpolate θ(λ) = (1 − λ)θ* + λθ_b instead (1-D grid)',
  },
  grid: {
    type: 'string',
    value: 'A:B:N[,A:B:N]',
    help: 'α values (and β values); one axis gives a 1-D curve; at most 1001×1001 points (default -1:1:51,-1:1:51; -0.5:1.5:41 with --checkpoint2)',
  },
  norm: {
    type: 'string',
    value: 'filter|layer|none',
    help: 'direction normalisation (default filter)',
  },
  'include-biasbn': {
    type: 'boolean',
    help: 'move biases and BN γ, β too (default: they stay at θ*)',
  },
  subset: {
    type: 'string',
    value: 'N',
    help: 'evaluate on the first N images of the split (default 500)',
  },
  split: { type: 'string', value: 'train|test', help: 'which split (default train)' },
  dataset: {
    type: 'string',
    value: 'NAME',
    help: "override the checkpoint's dataset (cifar10:<dir> needs its directory)",
  },
  seed: { type: 'string', value: 'S', help: 'seed of the random directions (default 0)' },
  backend: BACKEND_FLAG,
  batch: { type: 'string', value: 'B', help: 'images per forward pass (default 128)' },
  workers: WORKERS_FLAG,
  out: { type: 'string', value: 'FILE.json', help: 'the surface file to write' },
  'save-directions': {
    type: 'string',
    value: 'FILE',
    help: 'also write δ and η as safetensors (x.<name>, y.<name>)',
  },
  resume: { type: 'boolean', help: 'continue the partial surface in --out (same flags)' },
  force: { type: 'boolean', help: 'replace an existing --out instead of refusing' },
  shard: {
    type: 'string',
    value: 'i/n|auto',
    help: 'compute only shard i of n (join the shards with skipscape merge); auto: i and n from a Slurm job array or a Kubernetes Indexed Job',
  },
  shards: {
    type: 'string',
    value: 'N',
    help: 'with --shard auto in a Kubernetes Indexed Job: the count n (else JOB_COMPLETION_COUNT)',
  },
  'write-every': {
    type: 'string',
    value: 'SECONDS',
    help: 'write the partial surface this often (default 30)',
  },
  help: HELP_FLAG,
} satisfies FlagSpecs;

/** Draw grid progress on the bar. */
export function gridProgressBar(io: CommandIo, label: string): (p: GridProgress) => void {
  const bar = new ProgressBar({ stream: io.progressStream });
  return (p) => {
    const rate =
      p.pointsPerSecond === null ? '-' : p.pointsPerSecond.toFixed(p.pointsPerSecond < 1 ? 3 : 2);
    bar.update({
      done: p.done,
      total: p.total,
      label,
      detail: `${rate} pt/s, level ${p.level + 1}/${p.levels}`,
      etaSeconds: p.etaSeconds ?? Number.NaN,
    });
    if (p.done === p.total) bar.done();
  };
}

/** An AbortSignal that fires on Ctrl-C (SIGINT) or SIGTERM, and a function to stop listening. */
export function interruptSignal(
  io: CommandIo,
  what: string,
  message = 'stopping after the points in progress; the partial result will be written',
): { signal: AbortSignal; stop: () => void; release: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    io.err(`\n${what}: ${message}\n`);
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    /** End the run after the point in progress, without the Ctrl-C message (a failed write). */
    stop: () => controller.abort(),
    release: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

function parseGridFlag(value: string): ReturnType<typeof parseGrid> {
  try {
    return parseGrid(value);
  } catch (e) {
    throw new UsageError(`${NAME}: --${e instanceof Error ? e.message : String(e)}`);
  }
}

export const landscapeCommand: Command = {
  name: NAME,
  summary: 'loss surface or curve around a checkpoint, or between two (Li et al. 2018)',
  help: () =>
    helpText({
      usage:
        'skipscape landscape --checkpoint FILE [--checkpoint2 FILE] --grid -1:1:51[,-1:1:51] [--norm filter|layer|none]\n' +
        '         [--include-biasbn] [--subset N] [--split train|test] [--seed S] [--backend wasm|cpu|webgpu]\n' +
        '         [--workers N] --out FILE.json [--save-directions FILE] [--resume | --force] [--shard i/n|auto [--shards N]]',
      summary:
        'Evaluates f(α, β) = L(θ* + αδ + βη) and the accuracy on the first --subset images of the split,\n' +
        'BN in inference mode. δ, η ~ N(0, I) from --seed, filter-normalised (each filter scaled to the\n' +
        "norm of θ*'s filter); biases and BN γ, β stay put unless --include-biasbn. With --checkpoint2,\n" +
        'the curve θ(λ) = (1 − λ)θ* + λθ_b instead, BN running statistics interpolated too. Points come\n' +
        'coarse grid first; the partial surface is written every --write-every seconds and on Ctrl-C.\n' +
        'The points are dealt out to --workers threads (one per core by default), each computing whole\n' +
        'points exactly as one thread would: the surface is the same bit for bit for any --workers.\n' +
        'An existing --out is never replaced silently: continue it with --resume, or start over with --force.\n' +
        'When --out cannot be written (a full disk), the run stops and keeps its result in the temporary folder.',
      specs: FLAGS,
      notes:
        'Spread a big grid over processes or machines: run with --shard 1/4 … 4/4 (same flags, own --out),\n' +
        'then `skipscape merge OUT.json SHARD1.json … SHARD4.json`. --shard auto reads i and n from a Slurm\n' +
        'job array (SLURM_ARRAY_TASK_ID, _MIN, _COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX,\n' +
        'count from --shards N or JOB_COMPLETION_COUNT); examples/cluster/ has job files for both.',
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, attachNegativeValues(argv, FLAGS));
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const path = required(NAME, 'checkpoint', flags.checkpoint);
    const out = required(NAME, 'out', flags.out);
    const interpolate = flags.checkpoint2 !== undefined;
    const grid = parseGridFlag(flags.grid ?? (interpolate ? '-0.5:1.5:41' : '-1:1:51,-1:1:51'));
    if (interpolate && grid.y !== null)
      throw new UsageError(`${NAME}: an interpolation is 1-D: give --grid one axis`);
    const normalization = oneOf(NAME, 'norm', flags.norm ?? 'filter', [
      'filter',
      'layer',
      'none',
    ] as const) as Normalization;
    const split = oneOf(NAME, 'split', flags.split ?? 'train', ['train', 'test'] as const);
    const subset = integer(NAME, 'subset', flags.subset ?? '500', 1);
    const seed = integer(NAME, 'seed', flags.seed ?? '0', 0, 2 ** 32 - 1);
    const backend = backendFlag(NAME, flags.backend);
    const batchSize = integer(NAME, 'batch', flags.batch ?? '128', 1);
    const writeEvery = integer(NAME, 'write-every', flags['write-every'] ?? '30', 1);
    const shard = shardFromFlags(NAME, flags, io.err);
    const includeBiasBn = flags['include-biasbn'] ?? false;
    const workers = workersFlag(NAME, flags.workers, backend);

    const checkpoint = await loadCheckpoint(path);
    const second = interpolate ? await loadCheckpoint(flags.checkpoint2!) : null;
    if (second && JSON.stringify(second.meta.spec) !== JSON.stringify(checkpoint.meta.spec)) {
      throw new UsageError(`${NAME}: --checkpoint and --checkpoint2 are different models`);
    }
    refuseToReplace({
      command: NAME,
      path: out,
      resume: flags.resume ?? false,
      force: flags.force ?? false,
    });
    assertWritable(out);
    if (flags['save-directions'] !== undefined) assertWritable(flags['save-directions']);
    const resume = flags.resume && existsSync(out) ? await readSurfaceFile(out) : undefined;
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
    const directions: DirectionPair = second
      ? { x: interpolationDirection({ a: origin, b: second.training }), y: null }
      : randomDirections({
          params: model.params,
          weights: origin.params,
          seed,
          dimensions: grid.y === null ? 1 : 2,
          normalization,
          includeBiasBn,
        });
    if (flags['save-directions']) {
      await writeDirections(flags['save-directions'], directions, {
        kind: second ? 'interpolation' : 'direction',
        checkpointSha256: checkpoint.sha256,
        checkpoint2Sha256: second?.sha256 ?? '',
        seed: String(seed),
        normalization,
        includeBiasBn: String(includeBiasBn),
      });
    }

    const xs = axisValues(grid.x);
    const ys = grid.y === null ? [0] : axisValues(grid.y);
    const computed = resume ? resume.mask.filter((m) => m === 1).length : 0;
    io.err(
      `${NAME}: ${modelName(model.spec)}${hasSkips(model.spec) ? '' : ' (no skips)'}, ${xs.length}×${ys.length} grid` +
        `${shard ? `, shard ${shard.index + 1}/${shard.count}` : ''}, ${data.count} ${split} images, ${started.backend}` +
        `${workers > 1 ? ` × ${workers} worker threads` : ''}` +
        `${resume ? `, resuming with ${computed} points done` : ''}\n`,
    );
    const pool = await startWorkerPool({ model, workers, backend });
    const interrupt = interruptSignal(io, NAME);
    const file = resultFile({
      path: out,
      seconds: writeEvery,
      encode: (s: Surface) => surfaceToJson(s, { outPath: out }),
      stop: interrupt.stop,
    });
    try {
      const surface = await computeSurface({
        pool,
        model,
        origin,
        directions,
        data,
        xs,
        ys,
        meta: {
          model: modelName(model.spec),
          skip: hasSkips(model.spec),
          checkpointSha256: checkpoint.sha256,
          checkpoint2Sha256: second?.sha256 ?? null,
          dataset: data.name,
          split,
          seed: second ? 0 : seed,
          normalization: second ? 'none' : normalization,
          includeBiasBn: second ? true : includeBiasBn,
          kind: second ? 'interpolation' : 'direction',
          version: packageVersion(),
        },
        batchSize,
        shard,
        resume,
        signal: interrupt.signal,
        onProgress: gridProgressBar(io, NAME),
        onPartial: file.partial,
      });
      const done = surface.mask.filter((m) => m === 1).length;
      file.finish(surface, `${done}/${surface.mask.length} points`);
      io.err(
        `${NAME}: ${done}/${surface.mask.length} points in ${out} (${surface.meta.seconds.toFixed(1)} s computing)\n`,
      );
      return interrupt.signal.aborted ? 130 : 0;
    } finally {
      interrupt.release();
      await closeWorkerPool(pool, io.err, NAME);
    }
  },
};
