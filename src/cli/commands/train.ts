/**
 * `skipscape train`: Li et al.'s recipe on Fashion-MNIST or CIFAR-10, a
 * checkpoint per epoch (DIR/epoch-NNN.safetensors), DIR/history.json, and
 * --resume to continue from the last checkpoint onto the same curve.
 */
import { join } from 'node:path';
import { createModel } from '../../compute/models';
import type { ModelSpec } from '../../compute/models/types';
import { checkpointFileName, encodeCheckpoint } from '../../compute/train/checkpoint';
import type { Checkpoint } from '../../compute/train/checkpoint';
import type { TrainEngine } from '../../compute/train/engine';
import { train } from '../../compute/train/loop';
import { LI_ET_AL_SGD } from '../../compute/train/optimizer';
import { scheduleFromName } from '../../compute/train/schedule';
import type { ScheduleName } from '../../compute/train/schedule';
import type { EpochRecord, TrainConfig } from '../../compute/train/types';
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
import { loadDataset, parseDataset } from '../data';
import { assertWritable, checkpointFiles, readCheckpoint, writeFileAtomic } from '../files';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { formatDuration, ProgressBar } from '../progress';
import { createWorkerEngine, defaultWorkers } from '../replicas';
import { modelName, specFromFlags } from './params';
import type { Command } from './types';

const NAME = 'train';

const FLAGS = {
  model: {
    type: 'string',
    value: 'NAME',
    help: 'resnet20, resnet56, resnet56-noshort, bmenet32, ... (see params --help)',
  },
  skip: { type: 'boolean', help: 'keep skip connections (default); --no-skip removes them' },
  shortcut: {
    type: 'string',
    value: 'A|B',
    help: 'ResNet shortcut where the shape changes (default B)',
  },
  depth: { type: 'string', value: 'N', help: 'depth overriding the one in --model' },
  dataset: {
    type: 'string',
    value: 'NAME',
    help: 'fashion-mnist (the shipped subset) or cifar10:<dir of .bin files>',
  },
  limit: { type: 'string', value: 'N', help: 'train on the first N training images (default all)' },
  'test-limit': {
    type: 'string',
    value: 'N',
    help: 'evaluate on the first N test images each epoch (default all)',
  },
  epochs: { type: 'string', value: 'E', help: 'epochs in the whole run (default 1)' },
  lr: { type: 'string', value: 'η', help: 'initial learning rate (default 0.1)' },
  batch: { type: 'string', value: 'B', help: 'batch size (default 128)' },
  schedule: {
    type: 'string',
    value: 'NAME',
    help: 'cosine (default), step (Li et al.: ÷10 at 50%, 75%, 92%) or constant',
  },
  augment: { type: 'boolean', help: 'random crop and flip (default); --no-augment turns it off' },
  backend: BACKEND_FLAG,
  seed: {
    type: 'string',
    value: 'S',
    help: 'seed of initialisation, shuffling and augmentation (default 0)',
  },
  workers: {
    type: 'string',
    value: 'N',
    help: 'data-parallel worker threads (default: one per core; 1 = this thread)',
  },
  out: { type: 'string', value: 'DIR', help: 'where checkpoints and history.json go' },
  resume: { type: 'boolean', help: 'continue from the last checkpoint in --out' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

/** history.json: the run's curve, for charts and the artifact manifest. */
export interface HistoryFile {
  model: string;
  spec: ModelSpec;
  dataset: string;
  backend: string;
  workers: number;
  config: TrainConfig;
  epochs: EpochRecord[];
}

export const trainCommand: Command = {
  name: NAME,
  summary: 'train a model with checkpoints every epoch (resumable)',
  help: () =>
    helpText({
      usage:
        'skipscape train --model resnet20 [--no-skip] --dataset fashion-mnist|cifar10:<dir> [--limit N]\n' +
        '       --epochs E [--lr 0.1] [--batch 128] [--backend wasm|cpu|webgpu] [--seed S] [--workers N]\n' +
        '       --out DIR [--resume]',
      summary:
        'SGD with Nesterov momentum 0.9 and weight decay 5e-4 (PyTorch semantics), BN running statistics,\n' +
        'random crop and flip. Writes DIR/epoch-NNN.safetensors after every epoch and DIR/history.json.\n' +
        'With --resume, the run continues from the last checkpoint with its stored settings and follows\n' +
        'the curve an uninterrupted run would (same backend and workers). Ctrl-C stops after the current\n' +
        'step, keeping every finished epoch.\n\n' +
        'With --workers N, each batch is split across N worker threads (one wasm instance each); their\n' +
        'gradients are averaged and every thread applies the same update. BN normalises each shard with\n' +
        "its own statistics, as PyTorch's DistributedDataParallel without SyncBatchNorm, so a curve\n" +
        "depends on N (and is reproducible for a given N); the running statistics are the whole batch's.",
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const outDir = required(NAME, 'out', flags.out);
    const limit = flags.limit !== undefined ? integer(NAME, 'limit', flags.limit, 2) : undefined;
    const testLimit =
      flags['test-limit'] !== undefined
        ? integer(NAME, 'test-limit', flags['test-limit'], 1)
        : undefined;

    let resume: Checkpoint | null = null;
    if (flags.resume) {
      const files = await checkpointFiles(outDir);
      if (files.length === 0)
        throw new UsageError(`${NAME}: --resume: no epoch-*.safetensors in ${outDir}`);
      resume = await readCheckpoint(files.at(-1)!);
    }
    // A resumed run keeps the backend and threads it ran on (the checkpoint
    // says 'wasm' or 'wasm×2'): the curve depends on both.
    const ranOn = resume ? /^(wasm|cpu|webgpu)(?:×(\d+))?$/.exec(resume.meta.backend) : null;
    const backend = backendFlag(NAME, flags.backend ?? ranOn?.[1]);
    const workers =
      flags.workers !== undefined
        ? integer(NAME, 'workers', flags.workers, 1, 64)
        : ranOn
          ? Number(ranOn[2] ?? 1)
          : defaultWorkers(backend);
    if (resume && ranOn && (backend !== ranOn[1] || workers !== Number(ranOn[2] ?? 1))) {
      io.err(
        `note: the checkpoint ran on ${resume.meta.backend}; on ${backend}×${workers} the resumed curve will differ slightly from an uninterrupted run\n`,
      );
    }
    const datasetFlag =
      flags.dataset ?? (resume?.meta.dataset === 'fashion-mnist' ? 'fashion-mnist' : undefined);
    const dataset = parseDataset(NAME, required(NAME, 'dataset', datasetFlag));
    let spec: ModelSpec;
    let config: Omit<TrainConfig, 'trainImages' | 'testImages'>;
    if (resume) {
      // A resumed run keeps its model and settings; only --epochs may extend it.
      for (const f of ['model', 'lr', 'batch', 'seed', 'schedule', 'depth', 'shortcut'] as const) {
        if (flags[f] !== undefined)
          io.err(`note: --${f} ignored with --resume (the checkpoint's setting is kept)\n`);
      }
      spec = resume.meta.spec;
      config = {
        ...resume.meta.config,
        epochs: flags.epochs ? integer(NAME, 'epochs', flags.epochs, 1) : resume.meta.config.epochs,
      };
    } else {
      spec = specFromFlags(NAME, flags, {
        inputShape: dataset.inputShape,
        classes: dataset.classes,
      });
      config = {
        epochs: flags.epochs ? integer(NAME, 'epochs', flags.epochs, 1) : 1,
        lr: flags.lr ? positive(NAME, 'lr', flags.lr) : 0.1,
        batchSize: flags.batch ? integer(NAME, 'batch', flags.batch, 2) : 128,
        schedule: scheduleFromName(
          oneOf(NAME, 'schedule', flags.schedule ?? 'cosine', [
            'cosine',
            'step',
            'constant',
          ] as ScheduleName[]),
        ),
        sgd: LI_ET_AL_SGD,
        augment: flags.augment ?? true,
        seed: flags.seed ? integer(NAME, 'seed', flags.seed, 0, 2 ** 32 - 1) : 0,
      };
    }
    const model = createModel(spec);
    // Before an epoch is computed: a checkpoint that cannot be written is an
    // epoch thrown away.
    assertWritable(outDir, { folder: true });
    const started = await startNodeBackend(backend);
    // One after the other, so a missing folder is always reported by its first
    // training file (in parallel, whichever read failed first won the message).
    const trainSet = await loadDataset(
      dataset,
      'train',
      resume ? resume.meta.config.trainImages : limit,
    );
    const testSet = await loadDataset(
      dataset,
      'test',
      testLimit ?? (resume?.meta.config.testImages || undefined),
    );
    const name = modelName(spec);
    io.err(
      `${name} on ${dataset.name} (${trainSet.count} train / ${testSet.count} test images), ` +
        `${started.backend}${workers > 1 ? ` × ${workers} worker threads` : ''} (${started.why}); ` +
        `${config.epochs} epochs, lr ${config.lr}, batch ${config.batchSize}, ${config.schedule.kind} schedule, seed ${config.seed}` +
        (resume ? `; resuming after epoch ${resume.meta.epoch}` : '') +
        '\n',
    );

    const engine: TrainEngine | undefined =
      workers > 1
        ? await createWorkerEngine({ model, sgd: config.sgd, workers, backend })
        : undefined;
    const backendLabel = workers > 1 ? `${started.backend}×${workers}` : started.backend;
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);
      io.err('\nstopping after this step (Ctrl-C again to quit at once)...\n');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    const bar = new ProgressBar({ stream: io.progressStream });
    const history = async (epochs: EpochRecord[]) => {
      const file: HistoryFile = {
        model: name,
        spec,
        dataset: dataset.name,
        backend: backendLabel,
        workers,
        config: { ...config, trainImages: trainSet.count, testImages: testSet.count },
        epochs,
      };
      await writeFileAtomic(join(outDir, 'history.json'), `${JSON.stringify(file, null, 2)}\n`);
    };
    try {
      const result = await train({
        model,
        data: { train: trainSet, test: testSet },
        epochs: config.epochs,
        lr: config.lr,
        batchSize: config.batchSize,
        schedule: config.schedule,
        sgd: config.sgd,
        seed: config.seed,
        augment: config.augment,
        signal: controller.signal,
        ...(engine ? { engine } : {}),
        ...(resume ? { resume } : {}),
        onProgress: (p) =>
          bar.update({
            done: p.step,
            total: p.totalSteps,
            label: `epoch ${p.epoch}/${p.epochs}`,
            detail: `loss ${p.loss.toFixed(4)} acc ${(p.accuracy * 100).toFixed(1)}% ${p.imagesPerSecond.toFixed(0)} img/s`,
            etaSeconds: p.etaSeconds,
          }),
        onEpoch: async ({ record, history: epochs, meta, training }) => {
          const file = join(outDir, checkpointFileName(record.epoch));
          await writeFileAtomic(
            file,
            encodeCheckpoint({ meta: { ...meta, backend: backendLabel }, training }),
          );
          await history(epochs);
          bar.log(
            `epoch ${record.epoch}: train loss ${record.trainLoss.toFixed(4)} acc ${(record.trainAccuracy * 100).toFixed(2)}%, ` +
              `test loss ${record.testLoss?.toFixed(4)} acc ${((record.testAccuracy ?? 0) * 100).toFixed(2)}%, ` +
              `${formatDuration(record.seconds)}, ${record.imagesPerSecond.toFixed(0)} img/s → ${file}`,
          );
        },
      });
      bar.done();
      if (result.status === 'cancelled') {
        io.err(
          `stopped at step ${result.step}; ${result.history.length} epoch(s) checkpointed in ${outDir}. ` +
            `Continue with: skipscape train --out ${outDir} --resume\n`,
        );
        return 130;
      }
      if (result.status === 'diverged') {
        io.err(`training diverged: ${result.divergence.message}.\nTry a smaller --lr.\n`);
        return 3;
      }
      io.err(
        `done: ${result.history.length} epochs, ${result.step} steps; checkpoints and history.json in ${outDir}\n`,
      );
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
      await engine?.dispose();
    }
  },
};
