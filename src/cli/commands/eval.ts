/** `skipscape eval`: loss and accuracy of a checkpoint in inference mode. */
import { createModel } from '../../compute/models';
import { evaluateDataset } from '../../compute/train/batches';
import { LocalEngine } from '../../compute/train/engine';
import type { TrainEngine } from '../../compute/train/engine';
import { LI_ET_AL_SGD } from '../../compute/train/optimizer';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { loadDataset, parseDataset } from '../data';
import { readCheckpoint } from '../files';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { ProgressBar } from '../progress';
import { closeWorkerPool, startWorkerPool, WORKERS_FLAG, workersFlag } from '../replicas';
import type { Command } from './types';

const NAME = 'eval';

const FLAGS = {
  checkpoint: {
    type: 'string',
    value: 'FILE',
    help: 'a .safetensors checkpoint written by skipscape train',
  },
  split: { type: 'string', value: 'train|test', help: 'which split (default test)' },
  limit: { type: 'string', value: 'N', help: 'the first N images of the split (default all)' },
  dataset: {
    type: 'string',
    value: 'NAME',
    help: "override the checkpoint's dataset (cifar10:<dir> needs its directory)",
  },
  backend: BACKEND_FLAG,
  workers: WORKERS_FLAG,
  batch: { type: 'string', value: 'B', help: 'images per forward pass (default 128)' },
  json: { type: 'boolean', help: 'print JSON {loss, accuracy, images}' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export const evalCommand: Command = {
  name: NAME,
  summary: 'loss and accuracy of a checkpoint (inference mode)',
  help: () =>
    helpText({
      usage:
        'skipscape eval --checkpoint FILE [--split train|test] [--limit N] [--backend wasm|cpu|webgpu] [--workers N] [--json]',
      summary:
        'Evaluates the checkpoint with BN in inference mode (its stored running statistics): mean\n' +
        'cross-entropy and accuracy over the first --limit images of the split. Each batch is split over\n' +
        '--workers threads (one per core by default) and their sums added: equal to one thread within 1e-6.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const path = required(NAME, 'checkpoint', flags.checkpoint);
    const split = oneOf(NAME, 'split', flags.split ?? 'test', ['train', 'test'] as const);
    const backend = backendFlag(NAME, flags.backend);
    const limit = flags.limit !== undefined ? integer(NAME, 'limit', flags.limit, 1) : undefined;
    const workers = workersFlag(NAME, flags.workers, backend);
    const batchSize = flags.batch !== undefined ? integer(NAME, 'batch', flags.batch, 1) : 128;
    const checkpoint = await readCheckpoint(path);
    const datasetName = flags.dataset ?? checkpoint.meta.dataset;
    if (datasetName === 'cifar10') {
      throw new UsageError(
        `${NAME}: the checkpoint was trained on CIFAR-10: give its directory with --dataset cifar10:<dir>`,
      );
    }
    const dataset = parseDataset(NAME, datasetName);
    const model = createModel(checkpoint.meta.spec);
    await startNodeBackend(backend);
    const data = await loadDataset(dataset, split, limit);
    const pool = await startWorkerPool({ model, workers, backend });
    const engine: TrainEngine = pool ?? new LocalEngine({ model, sgd: LI_ET_AL_SGD });
    const bar = new ProgressBar({ stream: io.progressStream });
    try {
      // Momentum is not needed to evaluate; zeros keep the engine's state complete.
      const momentum = Object.fromEntries(
        Object.entries(checkpoint.training.params).map(([n, a]) => [
          n,
          { shape: a.shape, data: new Float32Array(a.data.length) },
        ]),
      );
      await engine.load({ ...checkpoint.training, momentum });
      const result = await evaluateDataset({
        engine,
        dataset: data,
        batchSize,
        onProgress: bar.images('eval'),
      });
      bar.done();
      if (result === 'cancelled') return 130;
      if (flags.json) io.out(`${JSON.stringify(result)}\n`);
      else {
        io.out(
          `${path}: ${split} split, ${result.images} images: loss ${result.loss.toFixed(4)}, accuracy ${(result.accuracy * 100).toFixed(2)}%\n`,
        );
      }
      return 0;
    } finally {
      if (pool) await closeWorkerPool(pool, io.err, NAME);
      else await engine.dispose();
    }
  },
};
