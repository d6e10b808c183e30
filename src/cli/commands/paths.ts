/**
 * `skipscape paths`: Veit et al.'s unravelled view of a trained ResNet, the
 * path-length distribution, the gradient magnitude per path length (sampled
 * with a gated backward pass) and each length's total contribution with its
 * effective range.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createModel } from '../../compute/models';
import {
  parsePathsArtifact,
  PATHS_FORMAT,
  residualBlocks,
  samplePathGradients,
  summarisePathGradients,
} from '../../compute/paths';
import type { PathGradientSamples, PathsArtifact } from '../../compute/paths';
import { toTensorMap, disposeMap } from '../../compute/train/state';
import { HELP_FLAG, helpText, integer, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { hasSkips, loadCheckpoint, loadSubset, modelName, writeJsonFile } from '../landscape-io';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { packageVersion } from '../paths';
import { ProgressBar } from '../progress';
import { closeWorkerPool, startWorkerPool, WORKERS_FLAG, workersFlag } from '../replicas';
import { interruptSignal } from './landscape';
import type { Command } from './types';

const NAME = 'paths';

const FLAGS = {
  checkpoint: {
    type: 'string',
    value: 'FILE',
    help: 'a ResNet checkpoint with skips written by skipscape train',
  },
  samples: {
    type: 'string',
    value: 'N',
    help: 'gradient samples per path length (default 20)',
  },
  subset: {
    type: 'string',
    value: 'M',
    help: 'batches are drawn from the first M test images (default 1000)',
  },
  batch: { type: 'string', value: 'B', help: 'images per sample (default 16)' },
  seed: { type: 'string', value: 'S', help: 'seed of the batches and blocks drawn (default 0)' },
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
    help: 'write the result with its metadata and every sample (a shipped artifact)',
  },
  resume: { type: 'boolean', help: 'continue the samples in --out (same flags)' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export const pathsCommand: Command = {
  name: NAME,
  summary: 'path lengths, gradient magnitude per length and the effective paths (Veit et al.)',
  help: () =>
    helpText({
      usage:
        'skipscape paths --checkpoint FILE [--samples N] [--subset M] [--batch B] [--seed S] [--workers N]\n' +
        '         [--json] [--out FILE.json [--resume]]',
      summary:
        'A residual network of n blocks unravels into 2^n paths whose lengths follow Binomial(n, 1/2).\n' +
        'For each length k = 0 … n, --samples times: a batch of --batch images from the first --subset\n' +
        'test images goes forward through every block; going backward, k random blocks pass the gradient\n' +
        'through their residual branch only and the others through their skip only; the sample is the\n' +
        "mean over the batch of the norm of each image's gradient at the first block's input. Prints\n" +
        '{blocks, lengths, distribution, gradientMagnitude, spread, contribution, effectiveRange,\n' +
        'effectiveShare, decay}: contribution is C(n, k) × mean magnitude, normalised; the effective range\n' +
        'is the shortest interval of lengths holding 90 % of it.\n' +
        'The samples are dealt out to --workers threads (one per core by default); each sample is drawn\n' +
        'from the seed, its length and its number alone, so the result is the same for any --workers.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const path = required(NAME, 'checkpoint', flags.checkpoint);
    const samples = integer(NAME, 'samples', flags.samples ?? '20', 1, 100_000);
    const subset = integer(NAME, 'subset', flags.subset ?? '1000', 1);
    const batchSize = integer(NAME, 'batch', flags.batch ?? '16', 1);
    const seed = integer(NAME, 'seed', flags.seed ?? '0', 0, 2 ** 32 - 1);
    const backend = backendFlag(NAME, flags.backend);
    if (batchSize > subset) {
      throw new UsageError(`${NAME}: --batch ${batchSize} is more than --subset ${subset}`);
    }
    if (flags.resume && !flags.out) throw new UsageError(`${NAME}: --resume needs --out`);
    const checkpoint = await loadCheckpoint(path);
    const spec = checkpoint.meta.spec;
    if (spec.kind !== 'resnet' || !spec.skip) {
      throw new UsageError(
        `${NAME}: the unravelled view needs a ResNet with skips; ${path} is ${modelName(spec)}${hasSkips(spec) ? '' : ' without skips'}`,
      );
    }
    let previous: PathsArtifact | undefined;
    if (flags.resume && flags.out && existsSync(flags.out)) {
      previous = parsePathsArtifact(await readFile(flags.out, 'utf8'), flags.out);
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
      `${NAME}: ${modelName(spec)}, ${n} blocks, ${samples} samples × ${n + 1} lengths of ${batchSize} images from ${subset} test images, ${started.backend}` +
        `${workers > 1 ? ` × ${workers} worker threads` : ''}\n`,
    );
    const pool = await startWorkerPool({ model, workers, backend });
    const params = toTensorMap(checkpoint.training.params);
    const state = toTensorMap(checkpoint.training.state);
    const bar = new ProgressBar({ stream: io.progressStream });
    const interrupt = interruptSignal(io, NAME);
    const secondsBefore = previous?.meta.seconds ?? 0;
    const t0 = performance.now();
    const artifact = (raw: PathGradientSamples): PathsArtifact => {
      const result = summarisePathGradients(raw);
      return {
        format: PATHS_FORMAT,
        meta: {
          model: modelName(spec),
          skip: true,
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
          complete: result.samples.every((s) => s >= samples),
          samplesPerLength: samples,
        },
        result,
        raw,
      };
    };
    try {
      const raw = await samplePathGradients({
        model,
        params,
        state,
        data,
        samples,
        batchSize,
        seed,
        ...(previous ? { previous: previous.raw } : {}),
        signal: interrupt.signal,
        onProgress: (p) =>
          bar.update({
            done: p.done,
            total: p.total,
            label: NAME,
            detail: `${p.rate.toFixed(2)} samples/s`,
            etaSeconds: (p.total - p.done) / p.rate,
          }),
        onRound: async (r) => {
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
      const final = artifact(raw);
      if (flags.out) await writeJsonFile(flags.out, final);
      const r = final.result;
      if (flags.json) io.out(`${JSON.stringify(r)}\n`);
      else {
        io.out(
          `${modelName(spec)}: effective paths at lengths ${r.effectiveRange[0]}–${r.effectiveRange[1]} of 0–${n}, ` +
            `${(100 * r.effectiveShare).toFixed(2)} % of all 2^${n} paths` +
            (r.decay
              ? `; each branch multiplies the gradient by ${r.decay.factor.toFixed(3)} (R² ${r.decay.r2.toFixed(3)})`
              : '') +
            '\n',
        );
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
