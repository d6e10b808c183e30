/**
 * skipscape import-checkpoint --from torch, against networks built and
 * evaluated in PyTorch 1.13 (scripts/make-torch-fixtures.py): Li et al.'s
 * layout with option-B shortcuts on CIFAR-shaped inputs, and akamaster's with
 * option A on Fashion-MNIST. Weights and BN running statistics are random, so
 * equal logits mean every tensor went to its place in its layout.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/cli';
import type { CommandIo } from '../../src/cli/commands/types';
import { readCheckpoint } from '../../src/cli/files';
import { createModel } from '../../src/compute/models';
import {
  decodeSafetensors,
  encodeSafetensors,
  toFloat32,
} from '../../src/compute/train/safetensors';
import type { TensorToWrite } from '../../src/compute/train/safetensors';
import { toTensorMap } from '../../src/compute/train/state';
import { onThisThread } from './in-process';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const LI = join(FIXTURES, 'torch-resnet8-li-B.safetensors');
const AKAMASTER = join(FIXTURES, 'torch-resnet8-akamaster-A.safetensors');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
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

/** NCHW values → NHWC. */
function nchwToNhwc(data: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++)
    for (let k = 0; k < c!; k++)
      for (let y = 0; y < h!; y++)
        for (let x = 0; x < w!; x++)
          out[((b * h! + y) * w! + x) * c! + k] = data[((b * c! + k) * h! + y) * w! + x]!;
  return out;
}

/** Our forward pass (inference mode) of a converted checkpoint on NHWC inputs. */
async function ourLogits(path: string, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const checkpoint = await readCheckpoint(path);
  const model = createModel(checkpoint.meta.spec);
  const before = tf.memory().numTensors;
  const params = toTensorMap(checkpoint.training.params);
  const state = toTensorMap(checkpoint.training.state);
  const logits = tf.tidy(
    () => model.forward(params, state, tf.tensor(x, shape), { training: false }).logits,
  );
  const values = (await logits.data()) as Float32Array;
  tf.dispose([logits, ...Object.values(params), ...Object.values(state)]);
  expect(tf.memory().numTensors).toBe(before);
  return values;
}

/** A copy of a fixture with its tensors renamed, dropped or replaced, for the error paths. */
async function rewritten(
  source: string,
  path: string,
  edit: (tensors: Record<string, TensorToWrite>) => void,
): Promise<string> {
  const file = decodeSafetensors(new Uint8Array(await readFile(source)), source);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, t] of file.tensors) {
    tensors[name] =
      t.dtype === 'I64'
        ? { shape: t.shape, data: new Int32Array(1).fill(100) }
        : { shape: t.shape, data: toFloat32(t, name, source) };
  }
  edit(tensors);
  await writeFile(path, encodeSafetensors(tensors, {}));
  return path;
}

let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'skipscape-torch-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('import-checkpoint --from torch', () => {
  test("Li et al.'s layout, option B: our logits and loss are PyTorch's", async () => {
    const out = join(dir, 'li.safetensors');
    const r = await cli(
      'import-checkpoint',
      '--from',
      'torch',
      LI,
      '--model',
      'resnet8',
      '--out',
      out,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('option-B shortcuts');
    expect(r.err).toContain('width 16');

    const expectedPath = LI.replace('.safetensors', '.expected.safetensors');
    const expected = decodeSafetensors(new Uint8Array(await readFile(expectedPath)), expectedPath);
    const inputs = expected.tensors.get('inputs')!;
    const torchLogits = toFloat32(expected.tensors.get('logits')!, 'logits', expectedPath);
    const torchLoss = toFloat32(expected.tensors.get('loss')!, 'loss', expectedPath)[0]!;
    const labelBytes = expected.tensors.get('labels')!.bytes;
    const labels = Array.from({ length: inputs.shape[0]! }, (_, i) =>
      Number(new DataView(labelBytes.buffer, labelBytes.byteOffset).getBigInt64(i * 8, true)),
    );
    const [n, c, h, w] = inputs.shape as [number, number, number, number];
    const x = nchwToNhwc(toFloat32(inputs, 'inputs', expectedPath), inputs.shape);
    const logits = await ourLogits(out, x, [n, h, w, c]);

    expect(logits.length).toBe(torchLogits.length);
    const scale = Math.max(...torchLogits.map(Math.abs));
    for (let i = 0; i < logits.length; i++)
      expect(Math.abs(logits[i]! - torchLogits[i]!)).toBeLessThan(1e-5 * Math.max(1, scale));
    // Cross-entropy of our logits against PyTorch's loss.
    let loss = 0;
    for (let b = 0; b < n; b++) {
      const row = Array.from(logits.subarray(b * 10, b * 10 + 10));
      const max = Math.max(...row);
      const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      loss += logSum - row[labels[b]!]!;
    }
    expect(loss / n).toBeCloseTo(torchLoss, 5);
  });

  test("akamaster's layout, option A, 1-channel: `eval` gives PyTorch's loss on Fashion-MNIST", async () => {
    const out = join(dir, 'aka.safetensors');
    const r = await cli(
      'import-checkpoint',
      '--from',
      'torch',
      AKAMASTER,
      '--model',
      'resnet8',
      '--shortcut',
      'A',
      '--out',
      out,
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('dataset fashion-mnist');
    const expected = JSON.parse(
      await readFile(AKAMASTER.replace('.safetensors', '.expected.json'), 'utf8'),
    ) as { loss: number; accuracy: number; images: number; logits: number[][] };
    const e = await cli(
      'eval',
      '--checkpoint',
      out,
      '--split',
      'test',
      '--limit',
      String(expected.images),
      '--backend',
      'cpu',
      '--json',
    );
    expect(e.code, e.err).toBe(0);
    const result = JSON.parse(e.out) as { loss: number; accuracy: number; images: number };
    expect(result.images).toBe(expected.images);
    expect(result.loss).toBeCloseTo(expected.loss, 5);
    expect(result.accuracy).toBe(expected.accuracy);
  });

  test('DataParallel prefixes, fc and downsample names are the same tensors', async () => {
    const path = await rewritten(LI, join(dir, 'renamed.safetensors'), (t) => {
      for (const name of Object.keys(t)) {
        const renamed = `module.${name.replace(/^linear\./, 'fc.').replace('.shortcut.', '.downsample.')}`;
        t[renamed] = t[name]!;
        delete t[name];
      }
    });
    const r = await cli(
      'import-checkpoint',
      '--from',
      'torch',
      path,
      '--model',
      'resnet8',
      '--out',
      join(dir, 'renamed-ours.safetensors'),
    );
    expect(r.code, r.err).toBe(0);
    const a = await readCheckpoint(join(dir, 'li.safetensors'));
    const b = await readCheckpoint(join(dir, 'renamed-ours.safetensors'));
    for (const [name, v] of Object.entries(a.training.params))
      expect(b.training.params[name]!.data).toEqual(v.data);
  });

  test.each([
    {
      what: 'the wrong depth',
      file: LI,
      args: ['--model', 'resnet20'],
      message: 'missing tensor layer1.1.conv1.weight (is this ResNet-20? check --model)',
    },
    {
      what: 'option A asked of an option-B file',
      file: LI,
      args: ['--model', 'resnet8', '--shortcut', 'A'],
      message:
        'tensor layer2.0.shortcut.0.weight has no place in ResNet-8 (the file has option-B shortcuts: try --shortcut B) (and 11 more unmatched)',
    },
    {
      what: 'no shortcut tensors and no choice made',
      file: AKAMASTER,
      args: ['--model', 'resnet8'],
      message: 'say which with --shortcut A or --skip false',
    },
    {
      what: 'option B asked of an option-A file',
      file: AKAMASTER,
      args: ['--model', 'resnet8', '--shortcut', 'B'],
      message: 'missing tensor layer2.0.shortcut.0.weight (the file has no shortcut tensors',
    },
  ])('refuses $what in one line naming the tensor', async ({ file, args, message }) => {
    const out = join(dir, 'refused.safetensors');
    const r = await cli('import-checkpoint', '--from', 'torch', file, ...args, '--out', out);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain(message);
    await expect(readFile(out)).rejects.toThrow();
  });

  test('an extra tensor, a missing one and a wrong shape are each named', async () => {
    const cases: [string, (t: Record<string, TensorToWrite>) => void, string][] = [
      [
        'extra',
        (t) => void (t['layer3.0.se.weight'] = { shape: [2], data: new Float32Array(2) }),
        'tensor layer3.0.se.weight has no place in ResNet-8',
      ],
      [
        'missing',
        (t) => void delete t['layer2.0.bn2.running_var'],
        'missing tensor layer2.0.bn2.running_var',
      ],
      [
        'shape',
        (t) =>
          void (t['layer3.0.conv2.weight'] = {
            shape: [64, 64, 1, 1],
            data: new Float32Array(64 * 64),
          }),
        'tensor layer3.0.conv2.weight has shape [64, 64, 1, 1], ResNet-8 (width 16) needs [64, 64, 3, 3]',
      ],
    ];
    for (const [name, edit, message] of cases) {
      const path = await rewritten(LI, join(dir, `${name}.safetensors`), edit);
      const r = await cli(
        'import-checkpoint',
        '--from',
        'torch',
        path,
        '--model',
        'resnet8',
        '--out',
        join(dir, `${name}-ours.safetensors`),
      );
      expect(r.code, name).toBe(1);
      expect(r.err, name).toContain(message);
    }
  });
});
