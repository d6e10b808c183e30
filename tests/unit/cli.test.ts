/**
 * The command line: in-process for the quick checks (params, flag errors),
 * and through bin/skipscape.mjs (the esbuild bundle, worker threads) for
 * train → eval → resume on a few hundred Fashion-MNIST images.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli';
import type { CommandIo } from '../../src/cli/commands/types';
import type { HistoryFile } from '../../src/cli/commands/train';
import { onThisThread } from './in-process';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

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

/**
 * Run a bundle as the command line: bin/skipscape.mjs (which builds
 * .cache/skipscape/cli.mjs when src/ changed) or this file's pinned bundle.
 */
async function node(
  script: string,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...argv], {
      cwd: tmpdir(),
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

describe('skipscape params', () => {
  it('counts ResNet-56 exactly: 855,770 with shortcut B (default), 853,018 with A', async () => {
    const b = JSON.parse((await cli('params', '--model', 'resnet56', '--json')).out);
    expect(b).toMatchObject({
      model: 'resnet56',
      shortcut: 'B',
      params: 855_770,
      summaryTotal: 855_770,
    });
    const a = JSON.parse(
      (await cli('params', '--model', 'resnet56', '--shortcut', 'A', '--json')).out,
    );
    expect(a).toMatchObject({ shortcut: 'A', params: 853_018 });
    expect(a.rows[0]).toEqual({ name: 'Conv2d-1', outputShape: [-1, 16, 32, 32], params: 432 });
  });

  it('takes --depth, --input, --classes and prints a table by default', async () => {
    const r = await cli(
      'params',
      '--model',
      'resnet',
      '--depth',
      '20',
      '--input',
      '1x28x28',
      '--classes',
      '10',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Distinct trainable parameters: 272,186/);
    expect(r.out).toMatch(/input 1x28x28/);
  });

  it('names the bad flag and what it accepts', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['params', '--model', 'resnet56', '--bogus'],
        /unknown flag --bogus \(allowed: --model, --shortcut/,
      ],
      [
        ['params', '--model', 'resnet56', '--shortcut', 'C'],
        /--shortcut must be one of A, B; got 'C'/,
      ],
      [['params', '--model', 'resnet57'], /--model resnet57: ResNet depth must be 6k \+ 2/],
      [['params', '--model', 'resnet56', '--input', '3x32'], /--input must be CxHxW/],
      [['params'], /--model is required/],
      [
        ['train', '--model', 'resnet20', '--dataset', 'mnist', '--out', 'x'],
        /--dataset must be fashion-mnist or cifar10:<dir>; got 'mnist'/,
      ],
      [
        [
          'train',
          '--model',
          'resnet20',
          '--dataset',
          'fashion-mnist',
          '--out',
          'x',
          '--backend',
          'tpu',
        ],
        /--backend must be one of wasm, cpu, webgpu; got 'tpu'/,
      ],
      [
        [
          'train',
          '--model',
          'resnet20',
          '--dataset',
          'fashion-mnist',
          '--out',
          'x',
          '--epochs',
          'two',
        ],
        /--epochs must be a whole number ≥ 1; got 'two'/,
      ],
      [['eval', '--checkpoint'], /--checkpoint needs a value/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
  });

  it('has --help on every command', async () => {
    for (const command of ['params', 'train', 'eval', 'import-checkpoint', 'bench']) {
      const r = await cli(command, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: skipscape ${command}`));
    }
  });
});

describe('skipscape train / eval through the bundle', () => {
  let dir = '';
  // A bundle of our own: others editing src/ make bin/skipscape.mjs rebuild the
  // shared one, which must not change the code between the runs compared here.
  const pinned = join(ROOT, '.cache', 'skipscape', `cli-test-${process.pid}.mjs`);
  const skipscape = (...argv: string[]) => node(pinned, ...argv);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skipscape-cli-'));
    const { ensureCliBundle } = (await import('../../bin/build-cli.mjs')) as {
      ensureCliBundle(o: { force: boolean; outfile: string }): Promise<string>;
    };
    await ensureCliBundle({ force: true, outfile: pinned });
    // esbuild takes 14 s for the bundle at a load average of 27 on 2 cores.
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(pinned, { force: true });
  });

  const trainArgs = (out: string, epochs: number) => [
    'train',
    '--model',
    'resnet8',
    '--dataset',
    'fashion-mnist',
    '--limit',
    '192',
    '--test-limit',
    '64',
    '--batch',
    '64',
    '--epochs',
    String(epochs),
    '--workers',
    '2',
    '--seed',
    '3',
    '--out',
    out,
  ];

  it('bin/skipscape.mjs builds the bundle and prints the exact count', async () => {
    const r = await node(join(ROOT, 'bin', 'skipscape.mjs'), 'params', '--model', 'resnet56');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Distinct trainable parameters: 855,770/);
  });

  it('trains on two worker threads, checkpoints every epoch, and eval reads a checkpoint back', async () => {
    const out = join(dir, 'whole');
    const r = await skipscape(...trainArgs(out, 2));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/epoch 2\/2 100%/);
    expect((await readdir(out)).sort()).toEqual([
      'epoch-001.safetensors',
      'epoch-002.safetensors',
      'history.json',
    ]);
    const history = JSON.parse(await readFile(join(out, 'history.json'), 'utf8')) as HistoryFile;
    expect(history.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(history.backend).toBe('wasm×2');
    const e = await skipscape(
      'eval',
      '--checkpoint',
      join(out, 'epoch-002.safetensors'),
      '--limit',
      '64',
      '--json',
    );
    expect(e.code, e.err).toBe(0);
    const evaluation = JSON.parse(e.out);
    expect(evaluation.images).toBe(64);
    expect(evaluation.loss).toBeCloseTo(history.epochs[1]!.testLoss!, 4);
    expect(evaluation.accuracy).toBeCloseTo(history.epochs[1]!.testAccuracy!, 6);
  });

  it('Ctrl-C keeps the finished epochs; --resume continues onto the uninterrupted curve', async () => {
    const out = join(dir, 'resumed');
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'skipscape.mjs'), ...trainArgs(out, 2)],
      {
        cwd: tmpdir(),
      },
    );
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      // Interrupt as soon as the first epoch's checkpoint is written.
      if (/epoch 1: /.test(err) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, err).toBe(130);
    expect(err).toMatch(/stopped at step \d+; 1 epoch\(s\) checkpointed/);
    expect((await readdir(out)).filter((f) => f.endsWith('.safetensors'))).toEqual([
      'epoch-001.safetensors',
    ]);

    const r = await skipscape('train', '--out', out, '--resume');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/resuming after epoch 1/);
    const whole = JSON.parse(
      await readFile(join(dir, 'whole', 'history.json'), 'utf8'),
    ) as HistoryFile;
    const resumed = JSON.parse(await readFile(join(out, 'history.json'), 'utf8')) as HistoryFile;
    const curve = (h: HistoryFile) =>
      h.epochs.map((e) => [e.trainLoss, e.testLoss, e.testAccuracy]);
    expect(curve(resumed)).toEqual(curve(whole));
  });

  it('eval refuses a damaged checkpoint with a message naming the file', async () => {
    const bytes = await readFile(join(dir, 'whole', 'epoch-001.safetensors'));
    const damaged = join(dir, 'damaged.safetensors');
    await writeFile(damaged, bytes.subarray(0, bytes.length - 100));
    const r = await skipscape('eval', '--checkpoint', damaged);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`${damaged.replace(/[.]/g, '\\.')}: .*(truncated|cover)`));
  });
});
