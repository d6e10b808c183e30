/**
 * `skipscape gsc`: Philipp et al.'s gradient scale coefficient, pre-activation
 * std and sign diversity per layer of an MLP at initialisation
 * (src/compute/signals/gsc.ts), for one network or, with --all, for every
 * network of the effective-depth article's lab.
 */
import {
  DEPTH_LAB_ACTIVATIONS,
  depthLabNetworks,
  labNetwork,
} from '../../compute/signals/depth-lab';
import { pooledGsc } from '../../compute/jobs/pooled';
import type { GscRun } from '../../compute/jobs/pooled';
import { gradientScaleCoefficients } from '../../compute/signals/gsc';
import { gscPassesPerDraw, type GscResult } from '../../compute/signals/gsc-draws';
import type { SignalNetwork } from '../../compute/signals/network';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags } from '../args';
import type { FlagSpecs } from '../args';
import { writeFileAtomic } from '../files';
import { startJobThreads } from '../job-threads';
import { BACKEND_FLAG, backendFlag, startNodeBackend } from '../node-backend';
import { ProgressBar } from '../progress';
import { WORKERS_FLAG, workersFlag } from '../replicas';
import { interruptSignal } from './landscape';
import type { Command } from './types';

const NAME = 'gsc';

const FLAGS = {
  activation: {
    type: 'string',
    value: 'NAME',
    help: `${DEPTH_LAB_ACTIVATIONS.join(', ')} or linear (default relu)`,
  },
  init: { type: 'string', value: 'gaussian|orthogonal', help: 'initial state (default gaussian)' },
  'batch-norm': { type: 'boolean', help: 'BN after every weight layer (default off)' },
  residual: { type: 'boolean', help: 'residual blocks x + W f(x) (default plain)' },
  depth: { type: 'string', value: 'L', help: 'layers or blocks (default 50)' },
  width: { type: 'string', value: 'W', help: 'units per layer (default 100)' },
  inputs: { type: 'string', value: 'N', help: 'Gaussian inputs (default 256)' },
  projections: { type: 'string', value: 'P', help: 'random projections per draw (default 4)' },
  draws: { type: 'string', value: 'K', help: 'independent weight draws, averaged (default 4)' },
  seed: { type: 'string', value: 'S', help: 'seed of weights, inputs, projections (default 0)' },
  pairs: { type: 'boolean', help: 'also GSC(k, l) for every pair of layers (one pass per l)' },
  all: {
    type: 'boolean',
    help: 'every lab network: ReLU, tanh, SELU × plain/BN × plain/residual × Gaussian/orthogonal',
  },
  backend: BACKEND_FLAG,
  workers: WORKERS_FLAG,
  out: { type: 'string', value: 'FILE', help: 'also write the JSON to FILE' },
  json: { type: 'boolean', help: 'print JSON {networks: [{gscToTop, preActivationStd, …}]}' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export const gscCommand: Command = {
  name: NAME,
  summary: 'gradient scale coefficient, pre-activation std and sign diversity (Philipp et al.)',
  help: () =>
    helpText({
      usage:
        'skipscape gsc [--activation relu|tanh|selu|linear] [--init gaussian|orthogonal] [--batch-norm]\n' +
        '       [--residual] [--depth 50] [--width 100] [--inputs 256] [--projections 4] [--draws 4]\n' +
        '       [--seed 0]' +
        '       [--pairs] [--all] [--backend wasm|cpu] [--workers N] [--out FILE] [--json]',
      summary:
        'GSC(k, L) = ‖∂h_L/∂h_k‖_qm · ‖h_k‖/‖h_L‖ for every layer k of an MLP at initialisation\n' +
        '(‖J‖_qm from seeded random projections), with each layer’s pre-activation std and sign\n' +
        'diversity min(P, N)/(P + N), on d-dimensional Gaussian inputs, BN with batch statistics.\n' +
        'The weight draws (of every network, with --all) are dealt out to --workers threads (one per\n' +
        'core by default); each draw is seeded by its index alone and the draws are averaged in index\n' +
        'order, so the result is the same for any --workers. Ctrl-C stops after the draws in progress.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const depth = flags.depth !== undefined ? integer(NAME, 'depth', flags.depth, 1, 1000) : 50;
    const width = flags.width !== undefined ? integer(NAME, 'width', flags.width, 1, 2048) : 100;
    const inputs =
      flags.inputs !== undefined ? integer(NAME, 'inputs', flags.inputs, 2, 65536) : 256;
    const projections =
      flags.projections !== undefined
        ? integer(NAME, 'projections', flags.projections, 1, 1000)
        : 4;
    const draws = flags.draws !== undefined ? integer(NAME, 'draws', flags.draws, 1, 1000) : 4;
    const seed = flags.seed !== undefined ? integer(NAME, 'seed', flags.seed, 0, 2 ** 32 - 1) : 0;
    const backend = backendFlag(NAME, flags.backend);
    const networks: SignalNetwork[] = flags.all
      ? depthLabNetworks({ depth, width })
      : [
          labNetwork({
            activation: oneOf(NAME, 'activation', flags.activation ?? 'relu', [
              ...DEPTH_LAB_ACTIVATIONS,
              'linear',
            ] as const),
            init: oneOf(NAME, 'init', flags.init ?? 'gaussian', [
              'gaussian',
              'orthogonal',
            ] as const),
            batchNorm: flags['batch-norm'] ?? false,
            residual: flags.residual ?? false,
            depth,
            width,
          }),
        ];
    const pairs = flags.pairs ?? false;
    const runs: GscRun[] = networks.map((network) => ({
      network,
      seed,
      inputs,
      projections,
      draws,
      pairs,
    }));
    // No more threads than draws to deal out.
    const workers = Math.min(networks.length * draws, workersFlag(NAME, flags.workers, backend));
    // With threads this one computes nothing and starts no tfjs of its own (a
    // named backend is the only one tried, so the threads run the one named).
    const threads = workers > 1 ? startJobThreads({ workers, backend }) : null;
    const started = threads ? { backend } : await startNodeBackend(backend);
    const bar = new ProgressBar({ stream: io.progressStream });
    const t0 = performance.now();
    const label = (n: SignalNetwork) =>
      `${n.activation}${n.batchNorm ? '+BN' : ''}${n.residualAlpha === null ? '' : ' residual'} ${n.init}`;
    // Progress in backward passes over every network (one per draw, more with --pairs).
    const progress = (done: number, total: number, detail: string) => {
      const seconds = (performance.now() - t0) / 1000;
      bar.update({
        done,
        total,
        label: 'gsc',
        detail,
        etaSeconds: ((total - done) * seconds) / Math.max(1, done),
      });
    };
    const interrupt = interruptSignal(
      io,
      NAME,
      'stopping after the draws in progress; the networks finished will be reported',
    );
    // By network; on Ctrl-C the networks finished are reported (exit code 130).
    const done: GscResult[] = [];
    try {
      if (threads) {
        let finished = 0;
        await pooledGsc(runs, threads, {
          signal: interrupt.signal,
          onRun: (index, result) => {
            done[index] = result;
            finished++;
          },
          onProgress: (done, total) =>
            progress(
              done,
              total,
              `passes, ${finished}/${networks.length} networks, ${workers} workers`,
            ),
        });
      } else {
        const total = runs.reduce((s, r) => s + r.draws * gscPassesPerDraw(r.network, pairs), 0);
        let before = 0;
        for (const run of runs) {
          const r = await gradientScaleCoefficients({
            ...run,
            signal: interrupt.signal,
            onProgress: (done) => progress(before + done, total, label(run.network)),
          });
          if (r === 'cancelled') break;
          before += run.draws * gscPassesPerDraw(run.network, pairs);
          done.push(r);
        }
      }
    } finally {
      interrupt.release();
      await threads?.close(io.err, NAME);
    }
    bar.done();
    const results = done.filter((r) => r !== undefined);
    const interrupted = interrupt.signal.aborted;
    if (interrupted && results.length === 0) return 130;
    const json = `${JSON.stringify({ backend: started.backend, networks: results })}\n`;
    if (flags.out) await writeFileAtomic(flags.out, json);
    if (flags.json) io.out(json);
    else {
      io.out(
        'network                              GSC(0, L)   std(h_0)  std(h_n)  sign div. h_n\n',
      );
      for (const r of results) {
        const n = r.network;
        const label = `${n.activation}${n.batchNorm ? '+BN' : ''}${n.residualAlpha === null ? ' plain' : ' residual'}, ${n.init}`;
        io.out(
          `${label.padEnd(36)} ${r.gscToTop[0]!.toExponential(2).padStart(10)}  ${r.preActivationStd[0]!.toPrecision(3).padStart(8)}  ${r.preActivationStd.at(-1)!.toPrecision(3).padStart(8)}  ${r.signDiversity.at(-1)!.toFixed(3).padStart(8)}\n`,
        );
      }
    }
    return interrupted ? 130 : 0;
  },
};
