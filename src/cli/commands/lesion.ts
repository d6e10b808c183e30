/**
 * `skipscape lesion`: Veit et al.'s lesion study of a trained ResNet, with or
 * without skips: the test error after deleting each block, after deleting k
 * random blocks, and after reordering blocks within their stages.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createModel } from '../../compute/models';
import {
  LESION_FORMAT,
  lesionStudy,
  parseLesionArtifact,
  residualBlocks,
} from '../../compute/paths';
import type { LesionArtifact, LesionResult } from '../../compute/paths';
import { disposeMap, toTensorMap } from '../../compute/train/state';
import { HELP_FLAG, helpText, integer, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { hasSkips, loadCheckpoint, loadSubset, modelName, writeJsonFile } from '../landscape-io';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { packageVersion } from '../paths';
import { ProgressBar } from '../progress';
import { closeWorkerPool, startWorkerPool, WORKERS_FLAG, workersFlag } from '../replicas';
import { interruptSignal } from './landscape';
import type { Command } from './types';

const NAME = 'lesion';

const FLAGS = {
  checkpoint: {
    type: 'string',
    value: 'FILE',
    help: 'a ResNet checkpoint (with or without skips) written by skipscape train',
  },
  subset: { type: 'string', value: 'M', help: 'the first M test images (default 500)' },
  draws: {
    type: 'string',
    value: 'K',
    help: 'random draws per number of deleted blocks and per number of swaps (default 2)',
  },
  seed: { type: 'string', value: 'S', help: 'seed of the blocks deleted and swapped (default 0)' },
  batch: {
    type: 'string',
    value: 'B',
    help: 'images per forward pass (default 250; at most 50 at once)',
  },
  dataset: {
    type: 'string',
    value: 'NAME',
    help: "override the checkpoint's dataset (cifar10:<dir> needs its directory)",
  },
  backend: BACKEND_FLAG,
  workers: WORKERS_FLAG,
  out: {
    type: 'string',
    value: 'FILE.json',
    help: 'write the study with its metadata (a shipped artifact)',
  },
  resume: { type: 'boolean', help: 'continue the study in --out (same flags)' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export const lesionCommand: Command = {
  name: NAME,
  summary: 'test error after deleting or reordering blocks at test time (Veit et al.)',
  help: () =>
    helpText({
      usage:
        'skipscape lesion --checkpoint FILE [--subset M] [--draws K] [--seed S] [--workers N] [--json] [--out FILE.json [--resume]]',
      summary:
        'Changes the trained network at test time and measures its error on the first --subset test\n' +
        'images: each block deleted in turn (with skips its shortcut stays; without, its output becomes\n' +
        'its input, and a downsampling block becomes the parameter-free subsample-and-pad shortcut), k\n' +
        'random blocks deleted (k = 1 … 6, then about eight steps to n; --draws draws each), and random pairs of same-shaped blocks of\n' +
        "one stage swapped (1, 2, 4, … swaps), against Kendall's τ of the new order. Prints\n" +
        '{baselineError, deleteOne: [{block, stage, downsampling, error}], deleteK: [{k, error, spread}],\n' +
        'reorder: [{tau, error}], ...}.\n' +
        'Each lesion runs from its first changed block on, after one intact pass shared by a group of\n' +
        'lesions. The groups are dealt out to --workers threads (one per core by default), each sharing\n' +
        'its own intact prefix; a lesion is counted over the whole subset by one thread, so the study is\n' +
        'the same for any --workers.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const path = required(NAME, 'checkpoint', flags.checkpoint);
    const subset = integer(NAME, 'subset', flags.subset ?? '500', 1);
    const draws = integer(NAME, 'draws', flags.draws ?? '2', 1, 1000);
    const seed = integer(NAME, 'seed', flags.seed ?? '0', 0, 2 ** 32 - 1);
    const batchSize = integer(NAME, 'batch', flags.batch ?? '250', 1);
    const backend = backendFlag(NAME, flags.backend);
    if (flags.resume && !flags.out) throw new UsageError(`${NAME}: --resume needs --out`);
    const checkpoint = await loadCheckpoint(path);
    const spec = checkpoint.meta.spec;
    if (spec.kind !== 'resnet') {
      throw new UsageError(
        `${NAME}: the lesion study needs a ResNet; ${path} is ${modelName(spec)}`,
      );
    }
    let previous: LesionArtifact | undefined;
    if (flags.resume && flags.out && existsSync(flags.out)) {
      previous = parseLesionArtifact(await readFile(flags.out, 'utf8'), flags.out);
      if (previous.meta.checkpointSha256 !== checkpoint.sha256) {
        throw new UsageError(`${NAME}: ${flags.out} was computed from another checkpoint`);
      }
    }
    const workers = workersFlag(NAME, flags.workers, backend);
    const model = createModel(spec);
    const started = await startNodeBackend(backend);
    const data = await loadSubset({
      command: NAME,
      checkpoint,
      datasetFlag: flags.dataset,
      split: 'test',
      subset,
    });
    const n = residualBlocks(spec).length;
    io.err(
      `${NAME}: ${modelName(spec)}${hasSkips(spec) ? '' : ' (no skips)'}, ${n} blocks, ${subset} test images, ${draws} draws, ${started.backend}` +
        `${workers > 1 ? ` × ${workers} worker threads` : ''}\n`,
    );
    const pool = await startWorkerPool({ model, workers, backend });
    const params = toTensorMap(checkpoint.training.params);
    const state = toTensorMap(checkpoint.training.state);
    const bar = new ProgressBar({ stream: io.progressStream });
    const interrupt = interruptSignal(io, NAME);
    const secondsBefore = previous?.meta.seconds ?? 0;
    const t0 = performance.now();
    const artifact = (result: LesionResult): LesionArtifact => ({
      format: LESION_FORMAT,
      meta: {
        model: modelName(spec),
        skip: spec.skip,
        checkpointSha256: checkpoint.sha256,
        epoch: checkpoint.meta.epoch,
        dataset: data.name,
        split: 'test',
        subset,
        seed,
        batchSize,
        backend: started.backend,
        version: packageVersion(),
        seconds: secondsBefore + (performance.now() - t0) / 1000,
        complete:
          result.baselineError !== null &&
          result.deleteOne.every((d) => d.error !== null) &&
          result.deleteKDraws.every((d) => d.error !== null) &&
          result.reorder.every((r) => r.error !== null),
        draws,
      },
      result,
    });
    try {
      const result = await lesionStudy({
        model,
        params,
        state,
        data,
        batchSize,
        draws,
        seed,
        ...(previous ? { previous: previous.result } : {}),
        signal: interrupt.signal,
        onProgress: (p) =>
          bar.update({
            done: p.done,
            total: p.total,
            label: NAME,
            detail: `${p.rate.toFixed(0)} img/s, ${p.last}`,
            etaSeconds: ((p.total - p.done) * subset) / p.rate,
          }),
        onPartial: async (r) => {
          if (flags.out) await writeJsonFile(flags.out, artifact(r));
        },
        pool: pool
          ? {
              pool,
              origin: { params: checkpoint.training.params, state: checkpoint.training.state },
            }
          : undefined,
      });
      bar.done();
      if (flags.out) await writeJsonFile(flags.out, artifact(result));
      if (flags.json) io.out(`${JSON.stringify(result)}\n`);
      else {
        const pct = (e: number | null) => (e === null ? '—' : `${(100 * e).toFixed(1)} %`);
        io.out(
          `${modelName(spec)}${spec.skip ? '' : ' (no skips)'}: error ${pct(result.baselineError)} intact\n`,
        );
        for (const d of result.deleteOne) {
          io.out(
            `  without ${d.name}${d.downsampling ? ' (downsampling)' : ''}: ${pct(d.error)}\n`,
          );
        }
      }
      return interrupt.signal.aborted ? 130 : 0;
    } finally {
      interrupt.release();
      disposeMap(params);
      disposeMap(state);
      await closeWorkerPool(pool, io.err, NAME);
    }
  },
};
