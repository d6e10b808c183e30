/**
 * `skipscape effective-depth`: train a plain and a residual MLP on the
 * Fashion-MNIST subset, then replace each one's last r layers by their
 * first-order Taylor expansion and report the training error against r
 * (src/compute/signals/effective-depth.ts; Philipp et al., seed 000).
 */
import type { Activation, MlpSpec } from '../../compute/models/types';
import { pooledEffectiveDepth } from '../../compute/jobs/pooled';
import { effectiveDepthExperiment } from '../../compute/signals/effective-depth';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags, positive } from '../args';
import type { FlagSpecs } from '../args';
import { loadDataset, parseDataset } from '../data';
import { writeFileAtomic } from '../files';
import { startJobThreads } from '../job-threads';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { ProgressBar } from '../progress';
import { WORKERS_FLAG, workersFlag } from '../replicas';
import { interruptSignal } from './landscape';
import type { Command } from './types';

const NAME = 'effective-depth';

const ACTIVATIONS = ['relu', 'tanh', 'selu', 'linear', 'sigmoid'] as const;

const FLAGS = {
  depth: { type: 'string', value: 'L', help: 'hidden layers / residual blocks (default 50)' },
  width: { type: 'string', value: 'W', help: 'units per layer (default 100)' },
  activation: { type: 'string', value: 'NAME', help: `${ACTIVATIONS.join(', ')} (default relu)` },
  'batch-norm': { type: 'boolean', help: 'BN in every layer (default on; --no-batch-norm)' },
  alpha: { type: 'string', value: 'α', help: 'residual scale α (default 1)' },
  epochs: { type: 'string', value: 'E', help: 'training epochs (default 4)' },
  limit: { type: 'string', value: 'N', help: 'training images (default 6000)' },
  images: {
    type: 'string',
    value: 'M',
    help: 'the batch the Taylor curve is measured on (default the first 1000)',
  },
  lr: { type: 'string', value: 'η', help: 'learning rate (default 0.1, cosine)' },
  seed: { type: 'string', value: 'S', help: 'seed (default 0)' },
  backend: BACKEND_FLAG,
  workers: WORKERS_FLAG,
  out: { type: 'string', value: 'FILE', help: 'also write the JSON to FILE' },
  json: { type: 'boolean', help: 'print JSON' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export const effectiveDepthCommand: Command = {
  name: NAME,
  summary: 'training error of a plain and a residual MLP with their last layers Taylor-expanded',
  help: () =>
    helpText({
      usage:
        'skipscape effective-depth [--depth 50] [--width 100] [--activation relu] [--no-batch-norm]\n' +
        '       [--alpha 1] [--epochs 4] [--limit 6000] [--images 1000] [--lr 0.1] [--seed 0] [--workers N] [--out FILE] [--json]',
      summary:
        'Trains a plain and a residual MLP (same depth, width, activation, Kaiming init) on the\n' +
        'Fashion-MNIST subset with SGD (Nesterov, cosine, no augmentation), then, for r = 0 … L,\n' +
        'replaces the last r layers by their first-order Taylor expansion around the batch mean and\n' +
        'reports the training error on the batch (Philipp, Song & Carbonell, effective depth).\n' +
        'With --workers 2 or more (default: one per core) the two networks train at once, one worker\n' +
        'thread each, exactly as one thread trains them one after the other.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const depth = flags.depth !== undefined ? integer(NAME, 'depth', flags.depth, 1, 500) : 50;
    const width = flags.width !== undefined ? integer(NAME, 'width', flags.width, 1, 4096) : 100;
    const activation: Activation = oneOf(
      NAME,
      'activation',
      flags.activation ?? 'relu',
      ACTIVATIONS,
    );
    const alpha = flags.alpha !== undefined ? positive(NAME, 'alpha', flags.alpha) : 1;
    const epochs = flags.epochs !== undefined ? integer(NAME, 'epochs', flags.epochs, 1) : 4;
    const limit = flags.limit !== undefined ? integer(NAME, 'limit', flags.limit, 2) : 6000;
    const images = flags.images !== undefined ? integer(NAME, 'images', flags.images, 2) : 1000;
    const lr = flags.lr !== undefined ? positive(NAME, 'lr', flags.lr) : 0.1;
    const seed = flags.seed !== undefined ? integer(NAME, 'seed', flags.seed, 0, 2 ** 32 - 1) : 0;
    const backend = backendFlag(NAME, flags.backend);
    // One thread per network: the plain and the residual one train at once.
    const workers = Math.min(2, workersFlag(NAME, flags.workers, backend));
    const threads = workers > 1 ? startJobThreads({ workers, backend }) : null;
    // With threads this one computes nothing and starts no tfjs of its own (a
    // named backend is the only one tried, so the threads run the one named).
    const [started, dataset] = await Promise.all([
      threads ? { backend } : startNodeBackend(backend),
      loadDataset(parseDataset(NAME, 'fashion-mnist'), 'train', limit),
    ]).catch(async (e: unknown) => {
      await threads?.close(io.err, NAME);
      throw e;
    });
    const base: MlpSpec = {
      kind: 'mlp',
      width,
      depth,
      activation,
      init: 'kaiming',
      sigmaW: Math.SQRT2,
      residualAlpha: null,
      batchNorm: flags['batch-norm'] ?? true,
      inputSize: dataset.height * dataset.width * dataset.channels,
      classes: dataset.classes,
    };
    const specs = [base, { ...base, residualAlpha: alpha }];
    const bar = new ProgressBar({ stream: io.progressStream });
    const phases = specs.map((_, i) => ({
      phase: i === 0 ? 'plain' : 'residual',
      t0: performance.now(),
      done: 0,
      total: 1,
    }));
    const onProgress = (p: {
      network: number;
      phase: 'train' | 'taylor';
      done: number;
      total: number;
    }) => {
      const current = phases[p.network]!;
      const phase = `${p.network === 0 ? 'plain' : 'residual'} ${p.phase}`;
      if (phase !== current.phase) Object.assign(current, { phase, t0: performance.now() });
      Object.assign(current, { done: p.done, total: p.total });
      if (threads) {
        // Both networks at once: the bar sums their phases' steps.
        const done = phases.reduce((a, c) => a + c.done, 0);
        const total = phases.reduce((a, c) => a + c.total, 0);
        bar.update({
          done,
          total,
          label: NAME,
          detail: phases.map((c) => `${c.phase} ${c.done}/${c.total}`).join(', '),
          etaSeconds: Number.NaN,
        });
        return;
      }
      const seconds = (performance.now() - current.t0) / 1000;
      bar.update({
        done: p.done,
        total: p.total,
        label: phase,
        detail: '',
        etaSeconds: ((p.total - p.done) * seconds) / Math.max(1, p.done),
      });
    };
    const options = { specs, train: dataset, epochs, lr, batchSize: 128, seed, images, onProgress };
    const interrupt = interruptSignal(io, NAME, 'stopping after the step in progress');
    let networks: Awaited<ReturnType<typeof effectiveDepthExperiment>>;
    try {
      networks = threads
        ? await pooledEffectiveDepth({ ...options, signal: interrupt.signal }, threads)
        : await effectiveDepthExperiment({ ...options, signal: interrupt.signal });
    } finally {
      interrupt.release();
      await threads?.close(io.err, NAME);
    }
    bar.done();
    if (networks === 'cancelled') return 130;
    const report = {
      dataset: 'fashion-mnist',
      trainImages: dataset.count,
      epochs,
      lr,
      seed,
      backend: started.backend,
      expansion: 'first order, around the mean of the batch at the cut; BN in inference mode',
      networks,
    };
    const json = `${JSON.stringify(report)}\n`;
    if (flags.out) await writeFileAtomic(flags.out, json);
    if (flags.json) io.out(json);
    else {
      for (const n of networks) {
        const last = n.history.at(-1)!;
        io.out(
          `${n.spec.residualAlpha === null ? 'plain' : 'residual'}: train accuracy ${(last.trainAccuracy * 100).toFixed(2)}%; ` +
            `training error with r layers replaced: ${n.taylor.trainingError
              .map((e, r) => `${r}:${(e * 100).toFixed(1)}%`)
              .join(' ')}\n`,
        );
      }
    }
    return 0;
  },
};
