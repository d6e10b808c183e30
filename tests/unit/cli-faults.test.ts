/**
 * Bad input and faults at the command line, as a table: each case is a
 * command line over crafted inputs, the exit code it must end with, a pattern
 * its one-line message must match, and, for every case, no stack trace and
 * every valid file it was given left byte for byte as it was (nothing valid
 * lost). The cases follow the outside reviewer's probe (issue 16): outputs
 * that cannot be written, results that would be replaced, grids that could
 * not be read back, crafted checkpoints, wrong kinds of file, bad flags of
 * every command. Run in process on a ResNet-8 and a few Fashion-MNIST images.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/cli';
import type { CommandIo } from '../../src/cli/commands/types';
import { parseSurface, surfaceToJson } from '../../src/compute/landscape/exports';
import { writeLiFile } from '../../src/compute/landscape/hdf5';
import type { LiSurfaceFile } from '../../src/compute/landscape/hdf5';
import type { Surface } from '../../src/compute/landscape/surface';
import { createModel } from '../../src/compute/models';
import type { ModelSpec, ResNetSpec } from '../../src/compute/models';
import { checkpointFileName, encodeCheckpoint } from '../../src/compute/train/checkpoint';
import { LI_ET_AL_SGD } from '../../src/compute/train/optimizer';
import { initialTrainingState } from '../../src/compute/train/state';
import type { TrainingState } from '../../src/compute/train/state';
import { onThisThread } from './in-process';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    progressStream: process.stderr,
  };
  const code = await runCli(onThisThread(argv), io);
  return { code, out, err };
}

const spec: ResNetSpec = {
  kind: 'resnet',
  depth: 8,
  shortcut: 'B',
  skip: true,
  residualScale: 1,
  inputShape: [1, 28, 28],
  classes: 10,
};

function checkpointBytes(training: TrainingState, metaSpec: ModelSpec = spec, epoch = 1) {
  return encodeCheckpoint({
    meta: {
      spec: metaSpec,
      dataset: 'fashion-mnist',
      epoch,
      step: epoch * 10,
      seed: 0,
      config: {
        epochs: 3,
        lr: 0.1,
        batchSize: 128,
        schedule: { kind: 'constant' },
        sgd: LI_ET_AL_SGD,
        augment: false,
        seed: 0,
        trainImages: 100,
        testImages: 0,
      },
      history: [],
      backend: 'cpu',
      written: new Date(0).toISOString(),
    },
    training,
  });
}

function surface(overrides: Partial<Surface['meta']> = {}): Surface {
  return {
    xs: [-1, 0, 1],
    ys: [-1, 0, 1],
    loss: [3, 2, 3, 2, 1, 2, 3, 2, null],
    accuracy: [0.1, 0.2, 0.1, 0.2, 0.9, 0.2, 0.1, 0.2, null],
    mask: [1, 1, 1, 1, 1, 1, 1, 1, 0],
    meta: {
      model: 'resnet8',
      skip: true,
      checkpointSha256: 'ab'.repeat(32),
      checkpoint2Sha256: null,
      dataset: 'fashion-mnist',
      split: 'train',
      subset: 4,
      seed: 0,
      normalization: 'filter',
      includeBiasBn: false,
      kind: 'direction',
      backend: 'cpu',
      seconds: 1,
      version: '0.0.0',
      written: new Date(0).toISOString(),
      ...overrides,
    },
  };
}

let dir: string;
/** Valid inputs: they must come out of every case as they went in. */
const valid: Record<string, string> = {};
/** Crafted bad inputs. */
const bad: Record<string, string> = {};

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'skipscape-faults-'));
  const model = createModel(spec);
  const training = await initialTrainingState(model, 1);
  const put = (group: Record<string, string>, name: string, data: Uint8Array | string) => {
    const path = join(dir, name);
    writeFileSync(path, data);
    group[name] = path;
  };
  put(valid, 'ckpt.safetensors', checkpointBytes(training));
  mkdirSync(join(dir, 'run'));
  for (let e = 1; e <= 3; e++) {
    const t = await initialTrainingState(model, e);
    writeFileSync(join(dir, 'run', checkpointFileName(e)), checkpointBytes(t, spec, e));
  }
  put(valid, 'surface.json', surfaceToJson(surface()));
  put(valid, 'partial.json', surfaceToJson(surface()));
  put(
    valid,
    'hessian-map.json',
    `${JSON.stringify({
      xs: [0],
      ys: [0],
      lambdaMax: [10],
      lambdaMin: [-1],
      ratio: [0.1],
      mask: [1],
      meta: { ...surface().meta, method: 'lanczos' },
    })}\n`,
  );
  put(valid, 'a-file', 'a regular file, in the way of a folder\n');
  put(valid, 'li.h5', readFileSync(join(import.meta.dirname, 'fixtures', 'li-2d-5x4.h5')));
  const li = (datasets: LiSurfaceFile['datasets']): Promise<Uint8Array> =>
    writeLiFile({
      xcoordinates: Float64Array.from([0, 1, 2]),
      ycoordinates: Float64Array.from([0, 1]),
      datasets,
      dirFile: null,
      skipscapeMeta: null,
      skipscapeCommand: null,
    });
  const six = (v: number) => ({ shape: [3, 2], values: new Float64Array(6).fill(v) });
  put(bad, 'not-hdf5.h5', 'this is not an HDF5 file\n');
  put(bad, 'no-loss.h5', await li({}));
  put(
    bad,
    'bad-shape.h5',
    await li({ train_loss: { shape: [2, 2], values: new Float64Array(4) }, train_acc: six(50) }),
  );

  const nan = structuredClone(training);
  Object.values(nan.params)[0]!.data[0] = Number.NaN;
  put(bad, 'nan.safetensors', checkpointBytes(nan));
  const inf = structuredClone(training);
  Object.values(inf.params)[1]!.data[0] = Number.POSITIVE_INFINITY;
  put(bad, 'inf.safetensors', checkpointBytes(inf));
  const negVar = structuredClone(training);
  const runningVar = Object.keys(negVar.state).find((n) => n.endsWith('.runningVar'))!;
  negVar.state[runningVar]!.data[0] = -0.5;
  put(bad, 'negvar.safetensors', checkpointBytes(negVar));
  put(bad, 'deep.safetensors', checkpointBytes(training, { ...spec, depth: 600002 }));
  put(bad, 'wide.safetensors', checkpointBytes(training, { ...spec, inputShape: [1, 1e6, 28] }));
  const whole = readFileSync(valid['ckpt.safetensors']!);
  put(bad, 'truncated.safetensors', whole.subarray(0, Math.floor(whole.length / 2)));
  put(bad, 'empty.safetensors', new Uint8Array(0));
  put(bad, 'garbage.safetensors', 'this is not a checkpoint at all');
  put(bad, 'newline-model.json', surfaceToJson(surface({ model: 'resnet8\n1 2 3\nv 0 0 0' })));
  put(bad, 'truncated-surface.json', surfaceToJson(surface()).slice(0, 80));
  const dup = surface();
  dup.xs = [0, 0, 1];
  put(bad, 'duplicate-axis.json', surfaceToJson(dup));
  const short = surface();
  short.loss = [1, 2];
  put(bad, 'short-loss.json', surfaceToJson(short));
  put(bad, 'list.json', '[1, 2, 3]\n');
  put(bad, 'trajectory.json', '{"path": {}, "explainedVarianceRatio": [0.9, 0.05]}\n');
  put(
    bad,
    'huge-grid.json',
    `{"xs": ${JSON.stringify(Array.from({ length: 2000 }, (_, i) => i))}, "ys": ${JSON.stringify(Array.from({ length: 2000 }, (_, i) => i))}}\n`,
  );
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function hashes(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(valid).map(([name, path]) => [
      name,
      createHash('sha256').update(readFileSync(path)).digest('hex'),
    ]),
  );
}

interface Case {
  /** The command line; paths name the fixtures (see path()). */
  argv: () => string[];
  code: number;
  /** The message's line must match. */
  message: RegExp;
  /** Anything else that must hold afterwards (e.g. no file written). */
  after?: () => void;
}

const v = (name: string) => valid[name]!;
const b = (name: string) => bad[name]!;
const at = (...parts: string[]) => join(dir, ...parts);
const underFile = (name: string) => at('a-file', name);
const landscape = (...rest: string[]) => [
  'landscape',
  '--checkpoint',
  v('ckpt.safetensors'),
  '--subset',
  '2',
  '--backend',
  'cpu',
  ...rest,
];

/** Whether the system folder /sys is a read-only mount here (as in most containers). */
function sysIsReadOnly(): boolean {
  try {
    writeFileSync('/sys/.skipscape-probe', '');
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}

const CASES: Record<string, Case> = {
  // --- outputs that cannot be written: one line naming the file, before computing
  'landscape --out under a regular file': {
    argv: () => landscape('--grid', '0:1:2', '--out', underFile('s.json')),
    code: 1,
    message:
      /cannot write .*a-file\/s\.json: (a folder on its path is a file|a file is in the way)/,
  },
  'landscape --out is a folder': {
    argv: () => landscape('--grid', '0:1:2', '--out', dir, '--force'),
    code: 1,
    message: /cannot write .*: it is a folder/,
  },
  'landscape --save-directions under a file': {
    argv: () =>
      landscape('--grid', '0:1:2', '--out', at('new.json'), '--save-directions', underFile('d')),
    code: 1,
    message: /cannot write .*a-file\/d: /,
    after: () => expect(existsSync(at('new.json'))).toBe(false),
  },
  'hessian --out under a regular file': {
    argv: () => ['hessian', '--checkpoint', v('ckpt.safetensors'), '--out', underFile('h.json')],
    code: 1,
    message: /cannot write .*a-file\/h\.json: /,
  },
  'trajectory --out under a regular file': {
    argv: () => ['trajectory', '--run', at('run'), '--out', underFile('t.json')],
    code: 1,
    message: /cannot write .*a-file\/t\.json: /,
  },
  'trajectory --surface under a regular file, before the PCA is written': {
    argv: () => [
      'trajectory',
      '--run',
      at('run'),
      '--out',
      at('t1.json'),
      '--grid',
      'around:3',
      '--surface',
      underFile('ts.json'),
    ],
    code: 1,
    message: /cannot write .*a-file\/ts\.json: /,
    after: () => expect(existsSync(at('t1.json'))).toBe(false),
  },
  'train --out under a regular file, before an epoch is trained': {
    argv: () => [
      'train',
      '--model',
      'resnet8',
      '--dataset',
      'fashion-mnist',
      '--limit',
      '8',
      '--out',
      underFile('run'),
    ],
    code: 1,
    message: /cannot write .*a-file\/run: /,
  },
  'train --out in /proc (where a recursive mkdir never returns)': {
    argv: () => [
      'train',
      '--model',
      'resnet8',
      '--dataset',
      'fashion-mnist',
      '--out',
      '/proc/skipscape-run',
    ],
    code: 1,
    message: /cannot write \/proc\/skipscape-run: /,
  },
  'export --out under a regular file': {
    argv: () => [
      'export',
      '--surface',
      v('surface.json'),
      '--format',
      'csv',
      '--out',
      underFile('x.csv'),
    ],
    code: 1,
    message: /cannot write .*a-file\/x\.csv: /,
  },
  'bench --out under a regular file, before timing anything': {
    argv: () => ['bench', '--out', underFile('bench.json')],
    code: 1,
    message: /cannot write .*a-file\/bench\.json: /,
  },
  'merge into a path under a regular file': {
    argv: () => ['merge', underFile('m.json'), v('surface.json')],
    code: 1,
    message: /cannot write .*a-file\/m\.json: /,
  },
  ...(sysIsReadOnly()
    ? {
        'landscape --out on a read-only file system': {
          argv: () => landscape('--grid', '0:1:2', '--out', '/sys/skipscape.json'),
          code: 1,
          message: /cannot write \/sys\/skipscape\.json: the file system is read-only/,
        },
      }
    : {}),

  // --- results that would be replaced
  'landscape again on an existing surface without --resume': {
    argv: () => landscape('--grid', '-1:1:3,-1:1:3', '--out', v('partial.json')),
    code: 2,
    message: /partial\.json exists; continue it with --resume, or replace it with --force/,
  },
  'hessian again on an existing map without --resume': {
    argv: () => ['hessian', '--checkpoint', v('ckpt.safetensors'), '--out', v('hessian-map.json')],
    code: 2,
    message: /hessian-map\.json exists; continue it with --resume, or replace it with --force/,
  },
  'landscape --resume of a surface on another grid': {
    argv: () => landscape('--grid', '-1:1:5,-1:1:5', '--out', v('partial.json'), '--resume'),
    code: 1,
    message: /grid|xs/,
  },
  'landscape --resume of a damaged surface': {
    argv: () => landscape('--grid', '0:1:2', '--out', b('truncated-surface.json'), '--resume'),
    code: 1,
    message: /truncated-surface\.json: not JSON/,
  },

  // --- grids: what is written must read back; a stated maximum of points
  'landscape --grid -1e308:1e308:3 (values overflow)': {
    argv: () => landscape('--grid', '-1e308:1e308:3', '--out', at('g1.json')),
    code: 2,
    message: /xs\[0\] is NaN, not a finite number/,
    after: () => expect(existsSync(at('g1.json'))).toBe(false),
  },
  'landscape --grid 1:1.0000000000001:3 (values collide)': {
    argv: () => landscape('--grid', '1:1.0000000000001:3', '--out', at('g2.json')),
    code: 2,
    message: /not strictly increasing at index 1 .*12 significant digits/,
  },
  'landscape --grid -1:1:1e9 (too many points, refused before allocating)': {
    argv: () => landscape('--grid', '-1:1:1e9', '--out', at('g3.json')),
    code: 2,
    message: /1,000,000,000 points, more than the 1,002,001 \(1001 × 1001\)/,
  },
  'landscape --grid 1001×1002': {
    argv: () => landscape('--grid', '-1:1:1001,-1:1:1002', '--out', at('g4.json')),
    code: 2,
    message: /more than the 1,002,001/,
  },
  'landscape --grid 1:0:3': {
    argv: () => landscape('--grid', '1:0:3', '--out', at('g5.json')),
    code: 2,
    message: /max must be above min/,
  },
  'landscape --grid a:b:c': {
    argv: () => landscape('--grid', 'a:b:c', '--out', at('g6.json')),
    code: 2,
    message: /"a:b:c" is not min:max:steps/,
  },
  'landscape --grid ::3': {
    argv: () => landscape('--grid', '::3', '--out', at('g7.json')),
    code: 2,
    message: /is not min:max:steps/,
  },
  'landscape --grid 0:1:2.5': {
    argv: () => landscape('--grid', '0:1:2.5', '--out', at('g8.json')),
    code: 2,
    message: /steps must be a positive integer/,
  },
  'landscape --grid with three axes': {
    argv: () => landscape('--grid', '0:1:2,0:1:2,0:1:2', '--out', at('g9.json')),
    code: 2,
    message: /expected min:max:steps\[,min:max:steps\]/,
  },
  'hessian --grid -1:1:1e9': {
    argv: () => [
      'hessian',
      '--checkpoint',
      v('ckpt.safetensors'),
      '--grid',
      '-1:1:1e9',
      '--out',
      at('h2.json'),
    ],
    code: 2,
    message: /more than the 1,002,001/,
  },
  'trajectory --grid around:0, before anything is written': {
    argv: () => ['trajectory', '--run', at('run'), '--out', at('t2.json'), '--grid', 'around:0'],
    code: 2,
    message: /--grid around:N must be a whole number in 2…1001; got '0'/,
    after: () => expect(existsSync(at('t2.json'))).toBe(false),
  },
  'trajectory --grid with one axis, before anything is written': {
    argv: () => ['trajectory', '--run', at('run'), '--out', at('t3.json'), '--grid', '0:1:3'],
    code: 2,
    message: /needs two axes/,
    after: () => expect(existsSync(at('t3.json'))).toBe(false),
  },

  // --- crafted and damaged checkpoints
  'a checkpoint whose spec asks for depth 600002 (refused before building)': {
    argv: () =>
      landscape('--grid', '0:1:2', '--checkpoint', b('deep.safetensors'), '--out', at('c1.json')),
    code: 1,
    message:
      /deep\.safetensors: metadata "spec" does not build a model: model spec: depth must be a whole number in 8…1202, got 600002/,
  },
  'a checkpoint whose spec asks for 1e6-pixel rows': {
    argv: () => ['eval', '--checkpoint', b('wide.safetensors')],
    code: 1,
    message: /inputShape\[1\] \(height\) must be a whole number in 1…512/,
  },
  'eval of a checkpoint holding NaN': {
    argv: () => ['eval', '--checkpoint', b('nan.safetensors'), '--limit', '2'],
    code: 1,
    message: /nan\.safetensors: unusable checkpoint: params .* holds NaN or an infinite value/,
  },
  'landscape of a checkpoint holding +∞': {
    argv: () =>
      landscape('--grid', '0:1:2', '--checkpoint', b('inf.safetensors'), '--out', at('c2.json')),
    code: 1,
    message: /inf\.safetensors: unusable checkpoint: params .* holds NaN or an infinite value/,
  },
  'eval of a checkpoint with a negative BN running variance': {
    argv: () => ['eval', '--checkpoint', b('negvar.safetensors')],
    code: 1,
    message:
      /negvar\.safetensors: unusable checkpoint: BN running variance .*runningVar\[0\] is -0\.5, below zero/,
  },
  'eval of a truncated checkpoint': {
    argv: () => ['eval', '--checkpoint', b('truncated.safetensors')],
    code: 1,
    message: /truncated\.safetensors: /,
  },
  'eval of an empty file': {
    argv: () => ['eval', '--checkpoint', b('empty.safetensors')],
    code: 1,
    message: /empty\.safetensors: .*too short/,
  },
  'eval of a text file': {
    argv: () => ['eval', '--checkpoint', b('garbage.safetensors')],
    code: 1,
    message: /garbage\.safetensors: /,
  },
  'eval of a surface JSON given as checkpoint': {
    argv: () => ['eval', '--checkpoint', v('surface.json')],
    code: 1,
    message: /surface\.json: /,
  },
  'eval of a checkpoint that does not exist': {
    argv: () => ['eval', '--checkpoint', at('nope.safetensors')],
    code: 1,
    message: /nope\.safetensors: cannot be read \(no such file\)/,
  },
  'eval of a folder': {
    argv: () => ['eval', '--checkpoint', at('run')],
    code: 1,
    message: /run: cannot be read \(it is a folder\)/,
  },
  'trajectory of a run folder that does not exist': {
    argv: () => ['trajectory', '--run', at('no-run'), '--out', at('t4.json')],
    code: 2,
    message: /holds 0 epoch-NNN\.safetensors checkpoints; a trajectory needs at least 3/,
  },

  // --- wrong kinds of file and damaged surfaces
  'export of a Hessian map': {
    argv: () => ['export', '--surface', v('hessian-map.json'), '--format', 'csv'],
    code: 1,
    message: /hessian-map\.json: a Hessian map \(from skipscape hessian\), not a loss surface/,
  },
  'export of a trajectory file': {
    argv: () => ['export', '--surface', b('trajectory.json'), '--format', 'csv'],
    code: 1,
    message: /trajectory\.json: a training trajectory .*not a loss surface/,
  },
  'export of a JSON list': {
    argv: () => ['export', '--surface', b('list.json'), '--format', 'csv'],
    code: 1,
    message: /list\.json: a JSON list, not a loss surface/,
  },
  'export of a checkpoint': {
    argv: () => ['export', '--surface', v('ckpt.safetensors'), '--format', 'csv'],
    code: 1,
    message: /ckpt\.safetensors: not JSON/,
  },
  'export of a surface whose model name holds line breaks': {
    argv: () => ['export', '--surface', b('newline-model.json'), '--format', 'obj'],
    code: 1,
    message: /newline-model\.json: meta\.model contains a line break or other control character/,
  },
  'export of a truncated surface': {
    argv: () => ['export', '--surface', b('truncated-surface.json'), '--format', 'csv'],
    code: 1,
    message: /truncated-surface\.json: not JSON/,
  },
  'export of a surface with a repeated axis value': {
    argv: () => ['export', '--surface', b('duplicate-axis.json'), '--format', 'csv'],
    code: 1,
    message: /xs is not strictly increasing at index 1/,
  },
  'export of a surface with too few losses': {
    argv: () => ['export', '--surface', b('short-loss.json'), '--format', 'csv'],
    code: 1,
    message: /loss has 2 values; xs × ys = 3 × 3 = 9/,
  },
  'export of a 2000×2000 grid (over the maximum, refused before the schema)': {
    argv: () => ['export', '--surface', b('huge-grid.json'), '--format', 'csv'],
    code: 1,
    message: /2000 × 2000 = 4,000,000 points, more than the 1,002,001/,
  },
  'export --format stl of a surface not fully computed': {
    argv: () => ['export', '--surface', v('partial.json'), '--format', 'stl', '--out', at('p.stl')],
    code: 1,
    message: /STL: the surface is not fully computed; finish it/,
    after: () => expect(existsSync(at('p.stl'))).toBe(false),
  },
  'import of a file that is not HDF5': {
    argv: () => ['import', b('not-hdf5.h5'), '--out', at('i1.json')],
    code: 1,
    message: /not-hdf5\.h5: not an HDF5 file \(no HDF5 signature\)$/,
    after: () => expect(existsSync(at('i1.json'))).toBe(false),
  },
  'import of an HDF5 file with no loss': {
    argv: () => ['import', b('no-loss.h5'), '--out', at('i2.json')],
    code: 1,
    message: /no-loss\.h5: no train_loss dataset \(nor any loss: not a loss surface file\)$/,
  },
  'import of a loss whose shape does not match the coordinates': {
    argv: () => ['import', b('bad-shape.h5'), '--out', at('i3.json')],
    code: 1,
    message: /bad-shape\.h5: train_loss has shape \[2, 2\]; expected \[3, 2\]/,
  },
  'import over an existing surface, without --force': {
    argv: () => ['import', v('li.h5'), '--out', v('surface.json')],
    code: 2,
    message: /surface\.json exists; replace it with --force$/,
  },
  'import --out under a regular file': {
    argv: () => ['import', v('li.h5'), '--out', underFile('i4.json')],
    code: 1,
    message: /cannot write .*a-file\/i4\.json: /,
  },
  'import of a file that does not exist': {
    argv: () => ['import', at('nope.h5'), '--out', at('i5.json')],
    code: 1,
    message: /nope\.h5: cannot be read \(no such file\)/,
  },
  'export of a file that does not exist': {
    argv: () => ['export', '--surface', at('nope.json')],
    code: 1,
    message: /nope\.json: cannot be read \(no such file\)/,
  },
  'merge of a surface and a Hessian map': {
    argv: () => ['merge', at('m2.json'), v('surface.json'), v('hessian-map.json')],
    code: 2,
    message: /the inputs mix surfaces and Hessian maps/,
  },
  'merge of an input that does not exist': {
    argv: () => ['merge', at('m3.json'), at('nope.json')],
    code: 1,
    message: /nope\.json: cannot be read \(no such file\)/,
  },
  'merge with an input as output': {
    argv: () => ['merge', v('surface.json'), v('surface.json')],
    code: 2,
    message: /OUT\.json is also an input/,
  },
  'merge with nothing to merge': {
    argv: () => ['merge', at('m4.json')],
    code: 2,
    message: /give OUT\.json and at least one input/,
  },

  // --- flags: missing, malformed, out of range, unknown
  'eval --limit -5': {
    argv: () => ['eval', '--checkpoint', v('ckpt.safetensors'), '--limit', '-5'],
    code: 2,
    message: /eval: --limit must be a whole number ≥ 1; got '-5'/,
  },
  'eval --limit with no value': {
    argv: () => ['eval', '--checkpoint', v('ckpt.safetensors'), '--limit'],
    code: 2,
    message: /--limit needs a value/,
  },
  'eval --out -x (a value that looks like a flag)': {
    argv: () => ['eval', '--checkpoint', '-x'],
    code: 2,
    message:
      /--checkpoint needs a value \(for one that starts with a dash, write --checkpoint=VALUE\)/,
  },
  'eval --split validation': {
    argv: () => ['eval', '--checkpoint', v('ckpt.safetensors'), '--split', 'validation'],
    code: 2,
    message: /--split must be one of train, test; got 'validation'/,
  },
  'eval --workers 0': {
    argv: () => ['eval', '--checkpoint', v('ckpt.safetensors'), '--workers', '0'],
    code: 2,
    message: /--workers must be a whole number in 1…64; got '0'/,
  },
  'landscape without --checkpoint': {
    argv: () => ['landscape', '--out', at('x.json')],
    code: 2,
    message: /--checkpoint is required/,
  },
  'landscape without --out': {
    argv: () => ['landscape', '--checkpoint', v('ckpt.safetensors')],
    code: 2,
    message: /--out is required/,
  },
  'landscape --subset 0': {
    argv: () => landscape('--out', at('x.json'), '--subset', '0'),
    code: 2,
    message: /--subset must be a whole number ≥ 1; got '0'/,
  },
  'landscape --subset 1e99': {
    argv: () => landscape('--out', at('x.json'), '--subset', '1e99'),
    code: 2,
    message: /--subset must be a whole number/,
  },
  'landscape --seed -1': {
    argv: () => landscape('--out', at('x.json'), '--seed', '-1'),
    code: 2,
    message: /--seed must be a whole number in 0…4294967295; got '-1'/,
  },
  'landscape --norm spectral': {
    argv: () => landscape('--out', at('x.json'), '--norm', 'spectral'),
    code: 2,
    message: /--norm must be one of filter, layer, none/,
  },
  'landscape --shard 3/2': {
    argv: () => landscape('--out', at('x.json'), '--shard', '3/2'),
    code: 2,
    message: /shard "3\/2": need 1 ≤ i ≤ n/,
  },
  'landscape --write-every 0': {
    argv: () => landscape('--out', at('x.json'), '--write-every', '0'),
    code: 2,
    message: /--write-every must be a whole number ≥ 1/,
  },
  'landscape --bogus': {
    argv: () => landscape('--out', at('x.json'), '--bogus'),
    code: 2,
    message: /unknown flag --bogus/,
  },
  'landscape with a stray argument': {
    argv: () => landscape('--out', at('x.json'), 'extra'),
    code: 2,
    message: /unexpected argument 'extra'/,
  },
  'landscape --checkpoint2 with a 2-D grid': {
    argv: () =>
      landscape(
        '--checkpoint2',
        v('ckpt.safetensors'),
        '--grid',
        '0:1:2,0:1:2',
        '--out',
        at('x.json'),
      ),
    code: 2,
    message: /an interpolation is 1-D/,
  },
  'hessian --iters 0': {
    argv: () => [
      'hessian',
      '--checkpoint',
      v('ckpt.safetensors'),
      '--out',
      at('h3.json'),
      '--iters',
      '0',
    ],
    code: 2,
    message: /--iters must be a whole number ≥ 1/,
  },
  'hessian --tolerance -1': {
    argv: () => [
      'hessian',
      '--checkpoint',
      v('ckpt.safetensors'),
      '--out',
      at('h4.json'),
      '--tolerance',
      '-1',
    ],
    code: 2,
    message: /--tolerance must be a number > 0; got '-1'/,
  },
  'hessian --method arnoldi': {
    argv: () => [
      'hessian',
      '--checkpoint',
      v('ckpt.safetensors'),
      '--out',
      at('h5.json'),
      '--method',
      'arnoldi',
    ],
    code: 2,
    message: /--method must be one of lanczos, power/,
  },
  'train --lr 0': {
    argv: () => [
      'train',
      '--model',
      'resnet8',
      '--dataset',
      'fashion-mnist',
      '--out',
      at('r1'),
      '--lr',
      '0',
    ],
    code: 2,
    message: /--lr must be a number > 0; got '0'/,
  },
  'train --lr -inf': {
    argv: () => [
      'train',
      '--model',
      'resnet8',
      '--dataset',
      'fashion-mnist',
      '--out',
      at('r2'),
      '--lr',
      '-inf',
    ],
    code: 2,
    message: /--lr must be a number > 0; got '-inf'/,
  },
  'train --epochs 0': {
    argv: () => [
      'train',
      '--model',
      'resnet8',
      '--dataset',
      'fashion-mnist',
      '--out',
      at('r3'),
      '--epochs',
      '0',
    ],
    code: 2,
    message: /--epochs must be a whole number ≥ 1/,
  },
  'train --batch 1': {
    argv: () => [
      'train',
      '--model',
      'resnet8',
      '--dataset',
      'fashion-mnist',
      '--out',
      at('r4'),
      '--batch',
      '1',
    ],
    code: 2,
    message: /--batch must be a whole number ≥ 2/,
  },
  'train --depth 600002': {
    argv: () => [
      'train',
      '--model',
      'resnet',
      '--depth',
      '600002',
      '--dataset',
      'fashion-mnist',
      '--out',
      at('r5'),
    ],
    code: 2,
    message: /depth must be a whole number in 8…1202, got 600002/,
  },
  'train --model resnet7': {
    argv: () => ['train', '--model', 'resnet7', '--dataset', 'fashion-mnist', '--out', at('r6')],
    code: 2,
    message: /--model resnet7: model spec: depth must be a whole number in 8…1202, got 7/,
  },
  'train --resume in an empty folder': {
    argv: () => ['train', '--out', at('r7'), '--resume'],
    code: 2,
    message: /--resume: no epoch-\*\.safetensors in/,
  },
  'train --dataset cifar10 without a folder': {
    argv: () => ['train', '--model', 'resnet8', '--dataset', 'cifar10', '--out', at('r8')],
    code: 2,
    message: /--dataset must be fashion-mnist or cifar10:<dir>/,
  },
  'train --dataset cifar10:<a folder that does not exist>, leaving no folder behind': {
    argv: () => [
      'train',
      '--model',
      'resnet8',
      '--dataset',
      `cifar10:${at('no-cifar')}`,
      '--out',
      at('r9', 'deep'),
    ],
    code: 1,
    message: /no-cifar\/data_batch_1\.bin: could not be read/,
    after: () => expect(existsSync(at('r9'))).toBe(false),
  },
  'export --format ply': {
    argv: () => ['export', '--surface', v('surface.json'), '--format', 'ply'],
    code: 2,
    message: /--format must be one of/,
  },
  'export --levels 1000': {
    argv: () => ['export', '--surface', v('surface.json'), '--format', 'svg', '--levels', '1000'],
    code: 2,
    message: /--levels must be a whole number in 0…200/,
  },
  'export --out with --format all': {
    argv: () => ['export', '--surface', v('surface.json'), '--out', at('e.csv')],
    code: 2,
    message: /--out names one file/,
  },
  'export --out onto the surface itself': {
    argv: () => [
      'export',
      '--surface',
      v('surface.json'),
      '--format',
      'json',
      '--out',
      v('surface.json'),
    ],
    code: 2,
    message: /would overwrite the surface itself/,
  },
  'params --depth abc': {
    argv: () => ['params', '--model', 'resnet', '--depth', 'abc'],
    code: 2,
    message: /--depth must be a whole number/,
  },
  'an unknown command': {
    argv: () => ['frobnicate'],
    code: 2,
    message: /unknown command 'frobnicate'/,
  },
};

describe('bad input and faults at the command line (issue 16)', () => {
  test.each(Object.entries(CASES))('%s', async (_name, c) => {
    const before = hashes();
    const r = await cli(c.argv());
    const lines = r.err.split('\n').filter((l) => l.trim() !== '' && !/\r|ETA/.test(l));
    expect(r.code, r.err).toBe(c.code);
    // One line that says what went wrong, and no stack trace.
    expect(lines.at(-1), r.err).toMatch(c.message);
    expect(r.err).not.toMatch(/^\s+at\s/m);
    expect(r.err).not.toMatch(/\bError:|node:internal/);
    // Nothing valid lost: every valid input is as it was.
    expect(hashes()).toEqual(before);
    c.after?.();
  });

  test('no case leaves a temporary or probe file behind', () => {
    const stray = readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    expect(stray).toEqual([]);
  });
});

/**
 * A real full disk: a 256 KiB tmpfs, filled to within a few KiB, under a
 * landscape run that writes its partial surface every second. Only where this
 * process may mount one (root in a container); elsewhere faults-io.test.ts
 * injects the same failure into the writer.
 */
const tmpfs = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const mountPoint = join(tmpdir(), `skipscape-full-${process.pid}`);
  try {
    mkdirSync(mountPoint, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint], {
      stdio: 'ignore',
    });
    return mountPoint;
  } catch {
    return null;
  }
})();

describe.skipIf(tmpfs === null)('a disk that fills up mid-run (tmpfs)', () => {
  afterAll(() => {
    if (tmpfs === null) return;
    execFileSync('umount', [tmpfs]);
    rmSync(tmpfs, { recursive: true, force: true });
  });

  test('landscape stops with one line naming the file; the file keeps what fit, the rest is rescued', async () => {
    const mount = tmpfs!;
    const free = Number(
      execFileSync('df', ['-B1', '--output=avail', mount], { encoding: 'utf8' }).split('\n')[1],
    );
    writeFileSync(join(mount, 'filler'), new Uint8Array(free - 6 * 1024));
    const out = join(mount, 's.json');
    const r = await cli(landscape('--grid', '-1:1:9,-1:1:9', '--write-every', '1', '--out', out));
    expect(r.code, r.err).toBe(1);
    const line = r.err
      .split('\n')
      .filter((l) => l.trim() !== '' && !/ETA/.test(l))
      .at(-1)!;
    expect(line).toMatch(
      /^skipscape landscape: cannot write .*s\.json: no space left on the device; the result \(\d+\/81 points\) is kept in (\S+) /,
    );
    expect(r.err).not.toMatch(/^\s+at\s/m);
    // What is on the disk is a whole surface file (an earlier partial result)…
    const kept = parseSurface(readFileSync(out, 'utf8'), out);
    // …and the rescued copy holds at least as many points, and resumes.
    const rescued = /is kept in (\S+) /.exec(line)![1]!;
    const copy = parseSurface(readFileSync(rescued, 'utf8'), rescued);
    const count = (s: Surface) => s.mask.filter((m) => m === 1).length;
    expect(count(copy)).toBeGreaterThanOrEqual(count(kept));
    rmSync(rescued);
  });
});
