/**
 * `skipscape signals`: per-layer forward and backward variances of an MLP at
 * initialisation beside their mean-field theory (src/compute/signals), the
 * same computation the signal figures run in the browser; optionally Hayou's
 * one-neuron chain sampled against γ²/2, and a file for public/artifacts.
 */
import {
  ACTIVATIONS,
  INITS,
  inverseSqrtAlpha,
  measureSignals,
  sampleChain,
  signalLayerRows,
  weightGain,
} from '../../compute/signals';
import type {
  ChainResult,
  SignalNetwork,
  SignalProgress,
  SignalsFile,
  SignalStatistics,
} from '../../compute/signals';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags, positive, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { pooledSignals } from '../../compute/jobs/pooled';
import { startJobThreads } from '../job-threads';
import { writeJsonFile } from '../landscape-io';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { packageVersion } from '../paths';
import { formatDuration, ProgressBar } from '../progress';
import { WORKERS_FLAG, workersFlag } from '../replicas';
import { interruptSignal } from './landscape';
import type { Command } from './types';

const NAME = 'signals';

const FLAGS = {
  depth: { type: 'string', value: 'T', help: 'hidden layers, or residual blocks (default 50)' },
  width: { type: 'string', value: 'd', help: 'units per layer (default 100)' },
  activation: { type: 'string', value: 'NAME', help: `${ACTIVATIONS.join(', ')} (default relu)` },
  init: {
    type: 'string',
    value: 'NAME',
    help: 'kaiming (2/fan-in), glorot (uniform), gaussian (σ_w²/fan-in), orthogonal (gain² σ_w²); default kaiming',
  },
  'sigma-w2': { type: 'string', value: 'X', help: 'σ_w² for gaussian and orthogonal (default 2)' },
  residual: {
    type: 'boolean',
    help: 'x_{t+1} = x_t + α·W_t f(x_t) (seed 003) instead of the plain MLP',
  },
  alpha: {
    type: 'string',
    value: '1|invsqrt|X',
    help: 'α of the residual form (default 1; invsqrt = 1/√T)',
  },
  bn: { type: 'boolean', help: 'batch normalisation after every weight layer' },
  batch: { type: 'string', value: 'N', help: 'inputs x ~ N(0, I) per draw (default 256)' },
  draws: { type: 'string', value: 'K', help: 'independent seeded weight draws (default 8)' },
  seed: {
    type: 'string',
    value: 'S',
    help: 'seed of inputs, weights and top gradients (default 0)',
  },
  chain: { type: 'string', value: 'M', help: "also sample M of Hayou's one-neuron chains" },
  'chain-depth': { type: 'string', value: 'T', help: 'layers of each chain (default 10)' },
  'chain-activation': {
    type: 'string',
    value: 'NAME',
    help: "the chains' activation (default the network's)",
  },
  gamma2: {
    type: 'string',
    value: 'X',
    help: "the chains' γ² = Var[w] (default the network's n·Var[w])",
  },
  out: {
    type: 'string',
    value: 'FILE',
    help: 'write the full result (a signals file, for public/artifacts)',
  },
  backend: BACKEND_FLAG,
  workers: WORKERS_FLAG,
  json: {
    type: 'boolean',
    help: 'print JSON {network, …, layers: [{t, forwardVariance, backwardVariance, theoryForward, theoryBackward, …}]}',
  },
  help: HELP_FLAG,
} satisfies FlagSpecs;

/** The network the flags describe. */
export function networkFromFlags(flags: {
  depth?: string | undefined;
  width?: string | undefined;
  activation?: string | undefined;
  init?: string | undefined;
  'sigma-w2'?: string | undefined;
  residual?: boolean | undefined;
  alpha?: string | undefined;
  bn?: boolean | undefined;
}): SignalNetwork {
  const depth = integer(NAME, 'depth', flags.depth ?? '50', 1, 5000);
  if (flags.alpha !== undefined && !flags.residual)
    throw new UsageError(`${NAME}: --alpha applies with --residual`);
  let residualAlpha: number | null = null;
  if (flags.residual) {
    const a = (flags.alpha ?? '1').trim().toLowerCase();
    residualAlpha = a === 'invsqrt' ? inverseSqrtAlpha(depth) : positive(NAME, 'alpha', a);
  }
  return {
    width: integer(NAME, 'width', flags.width ?? '100', 1, 2048),
    depth,
    activation: oneOf(NAME, 'activation', flags.activation ?? 'relu', ACTIVATIONS),
    init: oneOf(NAME, 'init', flags.init ?? 'kaiming', INITS),
    sigmaW2: positive(NAME, 'sigma-w2', flags['sigma-w2'] ?? '2'),
    residualAlpha,
    batchNorm: Boolean(flags.bn),
  };
}

const fmt = (v: number | null): string => (v === null ? 'overflow' : v.toExponential(3));

export const signalsCommand: Command = {
  name: NAME,
  summary: 'per-layer forward and backward variances of an MLP at initialisation, with theory',
  help: () =>
    helpText({
      usage:
        'skipscape signals --depth T --width d --activation relu --init kaiming|glorot|gaussian|orthogonal [--sigma-w2 X] [--residual] [--alpha 1|invsqrt|X] [--bn] [--batch N] [--draws K] [--seed S] [--workers N] [--json]',
      summary:
        'Pushes N inputs x ~ N(0, I) through K seeded draws of the network and backpropagates a\n' +
        'Gaussian top gradient: per layer t, Var[h_t] and E[h_t²] (plain: the pre-activation s^t;\n' +
        'residual: the stream x_t) and Var[∂L/∂h_t], beside the mean-field theory (Glorot & Bengio;\n' +
        'Hayou: (1 + α²γ²/2)^t for the residual ReLU network).\n' +
        'The draws are dealt out to --workers threads (one per core by default), each draw seeded by\n' +
        'its index alone and the draws summed in index order, so the result is the same for any\n' +
        '--workers. Ctrl-C stops after the draws in progress and reports those finished.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const network = networkFromFlags(flags);
    const batch = integer(NAME, 'batch', flags.batch ?? '256', 2, 4096);
    const draws = integer(NAME, 'draws', flags.draws ?? '8', 1, 256);
    const seed = integer(NAME, 'seed', flags.seed ?? '0', 0, 2 ** 32 - 1);
    const backendName = backendFlag(NAME, flags.backend);
    const chains =
      flags.chain === undefined ? null : integer(NAME, 'chain', flags.chain, 1, 10_000_000);
    const chainDepth = integer(NAME, 'chain-depth', flags['chain-depth'] ?? '10', 1, 10_000);
    const gamma2 =
      flags.gamma2 === undefined ? weightGain(network) : positive(NAME, 'gamma2', flags.gamma2);

    // No more threads than draws: a draw is the unit dealt out.
    const workers = Math.min(draws, workersFlag(NAME, flags.workers, backendName));

    // With threads this one computes nothing and starts no tfjs of its own (a
    // named backend is the only one tried, so the threads run the one named).
    const threads = workers > 1 ? startJobThreads({ workers, backend: backendName }) : null;
    const { backend } = threads ? { backend: backendName } : await startNodeBackend(backendName);
    // A progress bar only once a run has taken more than a second.
    const bar = new ProgressBar({ stream: io.progressStream });
    let barShown = false;
    const interrupt = interruptSignal(
      io,
      NAME,
      'stopping after the draws in progress; the draws finished will be reported',
    );
    let statistics: SignalStatistics;
    try {
      const options = {
        network,
        batch,
        draws,
        seed,
        signal: interrupt.signal,
        onProgress: (p: SignalProgress) => {
          if (p.elapsedMs < 1000 && !barShown) return;
          barShown = true;
          const eta = ((p.draws - p.drawsDone) * p.elapsedMs) / p.drawsDone / 1000;
          bar.update({
            done: p.drawsDone,
            total: p.draws,
            label: 'signals',
            detail: `draws, ${formatDuration(p.elapsedMs / 1000)} so far${threads ? `, ${workers} workers` : ''}`,
            etaSeconds: eta,
          });
        },
      };
      statistics = threads ? await pooledSignals(options, threads) : await measureSignals(options);
    } finally {
      interrupt.release();
      await threads?.close(io.err, NAME);
    }
    if (barShown) bar.done();
    const interrupted = interrupt.signal.aborted;
    if (interrupted && statistics.draws === 0) return 130;
    const chain: ChainResult | null =
      chains === null || interrupted
        ? null
        : sampleChain({
            gamma2,
            depth: chainDepth,
            chains,
            activation: oneOf(
              NAME,
              'chain-activation',
              flags['chain-activation'] ?? network.activation,
              ACTIVATIONS,
            ),
            seed,
          });
    const layers = signalLayerRows(statistics);

    if (flags.out) {
      const file: SignalsFile = {
        kind: 'signals',
        version: 1,
        meta: {
          command:
            `skipscape signals ${argv.filter((a) => !a.startsWith('--out') && a !== flags.out).join(' ')}`.trim(),
          backend,
          createdAt: new Date().toISOString(),
          skipscapeVersion: packageVersion(),
        },
        statistics,
        chain,
      };
      await writeJsonFile(flags.out, file);
      io.err(`wrote ${flags.out}\n`);
    }
    if (flags.json) {
      const { histograms, forwardVarianceDraws, backwardVarianceDraws, ...rest } = statistics;
      io.out(
        `${JSON.stringify(
          {
            network,
            batch,
            draws: statistics.draws,
            seed,
            backend,
            elapsedMs: rest.elapsedMs,
            gamma2: weightGain(network),
            layers,
            histograms,
            forwardVarianceDraws,
            backwardVarianceDraws,
            chain,
          },
          null,
          2,
        )}\n`,
      );
      return interrupted ? 130 : 0;
    }
    const out = [
      `MLP width ${network.width}, depth ${network.depth}, ${network.activation}, ${network.init}` +
        ` (n·Var[w] = ${weightGain(network)})` +
        (network.residualAlpha === null
          ? ', plain'
          : `, residual α = ${network.residualAlpha.toPrecision(4)}`) +
        (network.batchNorm ? ', BN' : '') +
        `; ${batch} inputs × ${statistics.draws} draws, ${backend}, ${statistics.elapsedMs.toFixed(0)} ms`,
      `${'t'.padStart(5)}  ${'Var[h_t]'.padStart(11)}  ${'theory'.padStart(11)}  ${'Var[dL/dh_t]'.padStart(12)}  ${'theory'.padStart(11)}`,
      ...layers.map(
        (r) =>
          `${String(r.t).padStart(5)}  ${fmt(r.forwardVariance).padStart(11)}  ${fmt(r.theoryForward).padStart(11)}  ${fmt(r.backwardVariance).padStart(12)}  ${fmt(r.theoryBackward).padStart(11)}`,
      ),
    ];
    if (chain) {
      out.push(
        `one-neuron chain (${chain.options.chains} chains × ${chain.options.depth} layers, γ² = ${gamma2}): ` +
          `E[r_t² | x_t > 0] = ${chain.meanSquareRate.toFixed(4)} ± ${chain.standardError.toFixed(4)} over ${chain.samples} samples` +
          (chain.theory === null ? '' : `; theory ${chain.theory}`),
      );
    }
    io.out(`${out.join('\n')}\n`);
    return interrupted ? 130 : 0;
  },
};
