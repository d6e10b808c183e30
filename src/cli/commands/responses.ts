/**
 * `skipscape responses`: He et al.'s per-block signals of a ResNet checkpoint
 * (src/compute/signals/responses.ts): output std, gradient norm and the std
 * of each block's response before the addition, or of the initial state the
 * checkpoint's run started from (--initial: model.init(seed), exactly what
 * `train` starts with).
 */
import { createModel } from '../../compute/models';
import { pooledResponses } from '../../compute/jobs/pooled';
import { measureResponses } from '../../compute/signals/responses';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { loadDataset, parseDataset } from '../data';
import { readCheckpoint, writeFileAtomic } from '../files';
import { startJobThreads } from '../job-threads';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { ProgressBar } from '../progress';
import { WORKERS_FLAG, workersFlag } from '../replicas';
import { interruptSignal } from './landscape';
import { modelName } from './params';
import type { Command } from './types';

const NAME = 'responses';

const FLAGS = {
  checkpoint: { type: 'string', value: 'FILE', help: 'a ResNet checkpoint (.safetensors)' },
  initial: {
    type: 'boolean',
    help: "measure the run's initial state instead (model.init(seed) of the checkpoint's run)",
  },
  subset: {
    type: 'string',
    value: 'M',
    help: 'the first M images of the split (default 512)',
  },
  split: { type: 'string', value: 'train|test', help: 'which split (default train)' },
  bn: {
    type: 'string',
    value: 'batch|running',
    help: 'BN with batch statistics (default, as in training) or the stored running ones',
  },
  batch: { type: 'string', value: 'B', help: 'images per pass, BN batch (default 128)' },
  dataset: {
    type: 'string',
    value: 'NAME',
    help: "override the checkpoint's dataset (cifar10:<dir> needs its directory)",
  },
  backend: BACKEND_FLAG,
  workers: WORKERS_FLAG,
  out: { type: 'string', value: 'FILE', help: 'also write the JSON to FILE' },
  json: { type: 'boolean', help: 'print JSON (blocks: block, stage, outputStd, gradientNorm, …)' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export const responsesCommand: Command = {
  name: NAME,
  summary: "per-block forward std, gradient norm and response std of a ResNet (He et al.'s fig. 7)",
  help: () =>
    helpText({
      usage:
        'skipscape responses --checkpoint FILE [--initial] [--subset M] [--split train|test]\n' +
        '       [--bn batch|running] [--batch B] [--backend wasm|cpu|webgpu] [--workers N] [--out FILE] [--json]',
      summary:
        'For every residual block: the std of its output, the root-mean-square per-image norm of the\n' +
        'loss gradient at its output, and the std of its response α·BN(conv2(·)) before the addition\n' +
        "(He et al. 2016, fig. 7). --initial measures the state the checkpoint's run began from\n" +
        '(epoch 0: the same seeded initialisation as `skipscape train`). The batches are dealt out to\n' +
        '--workers threads (one per core by default) and pooled in batch order, so the result is the\n' +
        'same for any --workers. Ctrl-C stops between batches and writes nothing.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const path = required(NAME, 'checkpoint', flags.checkpoint);
    const split = oneOf(NAME, 'split', flags.split ?? 'train', ['train', 'test'] as const);
    const bn = oneOf(NAME, 'bn', flags.bn ?? 'batch', ['batch', 'running'] as const);
    const backend = backendFlag(NAME, flags.backend);
    const subset = flags.subset !== undefined ? integer(NAME, 'subset', flags.subset, 2) : 512;
    const batchSize = flags.batch !== undefined ? integer(NAME, 'batch', flags.batch, 2) : 128;
    const checkpoint = await readCheckpoint(path);
    if (checkpoint.meta.spec.kind !== 'resnet')
      throw new UsageError(`${NAME}: ${path} holds a ${checkpoint.meta.spec.kind}, not a ResNet`);
    if (flags.initial && bn === 'running')
      throw new UsageError(`${NAME}: --initial has no running statistics yet; use --bn batch`);
    const datasetName = flags.dataset ?? checkpoint.meta.dataset;
    if (datasetName === 'cifar10') {
      throw new UsageError(
        `${NAME}: the checkpoint was trained on CIFAR-10: give its directory with --dataset cifar10:<dir>`,
      );
    }
    const model = createModel(checkpoint.meta.spec);
    const spec = checkpoint.meta.spec;
    // No more threads than batches: a batch is the unit dealt out.
    const workers = Math.min(
      Math.ceil(subset / batchSize),
      workersFlag(NAME, flags.workers, backend),
    );
    const threads = workers > 1 ? startJobThreads({ workers, backend }) : null;
    // With threads this one computes nothing and starts no tfjs of its own (a
    // named backend is the only one tried, so the threads run the one named).
    const [started, dataset] = await Promise.all([
      threads ? { backend } : startNodeBackend(backend),
      loadDataset(parseDataset(NAME, datasetName), split, subset),
    ]).catch(async (e: unknown) => {
      await threads?.close(io.err, NAME);
      throw e;
    });
    const bar = new ProgressBar({ stream: io.progressStream });
    const weights = flags.initial
      ? ({ kind: 'initial', seed: checkpoint.meta.config.seed } as const)
      : ({
          kind: 'trained',
          params: checkpoint.training.params,
          state: checkpoint.training.state,
        } as const);
    const interrupt = interruptSignal(io, NAME, 'stopping after the batches in progress');
    let result: Awaited<ReturnType<typeof measureResponses>>;
    try {
      const options = {
        weights,
        dataset,
        bn,
        batchSize,
        signal: interrupt.signal,
        onProgress: bar.images('responses'),
      };
      result =
        threads && spec.kind === 'resnet'
          ? await pooledResponses({ ...options, spec }, threads)
          : await measureResponses({ ...options, model });
    } finally {
      interrupt.release();
      await threads?.close(io.err, NAME);
    }
    bar.done();
    if (result === 'cancelled') return 130;
    const report = {
      model: modelName(checkpoint.meta.spec),
      checkpoint: path,
      epoch: flags.initial ? 0 : checkpoint.meta.epoch,
      seed: checkpoint.meta.config.seed,
      dataset: datasetName,
      split,
      backend: started.backend,
      ...result,
    };
    const json = `${JSON.stringify(report, null, 1)}\n`;
    if (flags.out) await writeFileAtomic(flags.out, json);
    if (flags.json) io.out(json);
    else {
      io.out(
        `${report.model}, epoch ${report.epoch}, ${result.images} ${split} images, BN ${bn}: loss ${result.loss.toFixed(4)}\n` +
          'block       output std   gradient norm   response std\n' +
          result.blocks
            .map(
              (b) =>
                `${b.block.padEnd(10)}  ${b.outputStd.toPrecision(4).padStart(10)}   ${b.gradientNorm.toExponential(3).padStart(13)}   ${b.responseStd.toPrecision(4).padStart(12)}`,
            )
            .join('\n') +
          '\n',
      );
    }
    return 0;
  },
};
