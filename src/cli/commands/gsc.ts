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
import { gradientScaleCoefficients } from '../../compute/signals/gsc';
import type { GscResult } from '../../compute/signals/gsc';
import type { SignalNetwork } from '../../compute/signals/network';
import { helpText, integer, oneOf, parseFlags } from '../args';
import type { FlagSpecs } from '../args';
import { writeFileAtomic } from '../files';
import { NODE_BACKENDS, startNodeBackend } from '../node-backend';
import { ProgressBar } from '../progress';
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
  backend: { type: 'string', value: 'NAME', help: `${NODE_BACKENDS.join(', ')} (default wasm)` },
  out: { type: 'string', value: 'FILE', help: 'also write the JSON to FILE' },
  json: { type: 'boolean', help: 'print JSON {networks: [{gscToTop, preActivationStd, …}]}' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
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
        '       [--pairs] [--all] [--backend wasm|cpu] [--out FILE] [--json]',
      summary:
        'GSC(k, L) = ‖∂h_L/∂h_k‖_qm · ‖h_k‖/‖h_L‖ for every layer k of an MLP at initialisation\n' +
        '(‖J‖_qm from seeded random projections), with each layer’s pre-activation std and sign\n' +
        'diversity min(P, N)/(P + N), on d-dimensional Gaussian inputs, BN with batch statistics.',
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
    const backend = oneOf(NAME, 'backend', flags.backend ?? 'wasm', NODE_BACKENDS);
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
    const started = await startNodeBackend(backend);
    const bar = new ProgressBar({ stream: io.progressStream });
    const results: GscResult[] = [];
    const t0 = performance.now();
    for (const [i, network] of networks.entries()) {
      const r = await gradientScaleCoefficients({
        network,
        seed,
        inputs,
        projections,
        draws,
        pairs: flags.pairs ?? false,
      });
      if (r === 'cancelled') return 130;
      results.push(r);
      const seconds = (performance.now() - t0) / 1000;
      bar.update({
        done: i + 1,
        total: networks.length,
        label: 'gsc',
        detail: `${network.activation}${network.batchNorm ? '+BN' : ''}${network.residualAlpha === null ? '' : ' residual'} ${network.init}`,
        etaSeconds: ((networks.length - i - 1) * seconds) / (i + 1),
      });
    }
    bar.done();
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
    return 0;
  },
};
