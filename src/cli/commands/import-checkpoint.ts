/**
 * `skipscape import-checkpoint --from torch FILE.safetensors --model resnet56
 * --out OURS.safetensors`: a PyTorch state_dict of a CIFAR ResNet (Li et al.'s
 * or akamaster's names, see src/compute/train/torch-import.ts) as a Skipscape
 * checkpoint, so eval, landscape, hessian and the explorer take it.
 */
import { encodeCheckpoint } from '../../compute/train/checkpoint';
import { LI_ET_AL_SGD } from '../../compute/train/optimizer';
import { decodeSafetensors } from '../../compute/train/safetensors';
import { importTorchResNet } from '../../compute/train/torch-import';
import { HELP_FLAG, helpText, oneOf, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { assertWritable, readInputFile, writeFileAtomic } from '../files';
import { refuseToReplace } from '../landscape-io';
import type { Command } from './types';

const NAME = 'import-checkpoint';

const FLAGS = {
  from: { type: 'string', value: 'torch', help: 'the framework that wrote FILE (only torch)' },
  model: {
    type: 'string',
    value: 'resnetN',
    help: 'the CIFAR ResNet it holds: resnet20, resnet56, resnet110, ... (n = 6k + 2)',
  },
  shortcut: {
    type: 'string',
    value: 'A|B',
    help: 'option A (zero-padding) or B (1×1 conv + BN); default B when the file has shortcut tensors',
  },
  skip: {
    type: 'string',
    value: 'true|false',
    help: "false: no shortcut additions (Li et al.'s resnetN_noshort) (default true)",
  },
  input: {
    type: 'string',
    value: 'CxHxW',
    help: 'input shape (default 3x32x32 for 3 input channels, 1x28x28 for 1)',
  },
  dataset: {
    type: 'string',
    value: 'NAME',
    help: 'dataset recorded in the checkpoint (default cifar10 for 3 channels, fashion-mnist for 1)',
  },
  out: { type: 'string', value: 'FILE.safetensors', help: 'the Skipscape checkpoint to write' },
  force: { type: 'boolean', help: 'replace an existing --out' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

/** `resnet56` → 56; the name may carry the shortcut and skip as elsewhere (resnet56a, resnet56-noshort). */
function parseModel(value: string): { depth: number; shortcut?: 'A' | 'B'; skip?: boolean } {
  const m = /^resnet(\d+)(a|b)?(-noshort)?$/i.exec(value.trim());
  if (!m) {
    throw new UsageError(
      `${NAME}: --model must be a CIFAR ResNet such as resnet20, resnet56 or resnet110; got '${value}'`,
    );
  }
  const depth = Number(m[1]);
  if ((depth - 2) % 6 !== 0 || depth < 8)
    throw new UsageError(
      `${NAME}: ResNet depth must be 6k + 2 (8, 14, 20, 56, 110, ...), got ${depth}`,
    );
  return {
    depth,
    ...(m[2] ? { shortcut: m[2].toUpperCase() as 'A' | 'B' } : {}),
    ...(m[3] ? { skip: false } : {}),
  };
}

function parseInput(value: string): [number, number, number] {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(value.trim());
  if (!m) throw new UsageError(`${NAME}: --input must be CxHxW, e.g. 3x32x32; got '${value}'`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export const importCheckpointCommand: Command = {
  name: NAME,
  summary: 'a PyTorch CIFAR ResNet state_dict (safetensors) as a Skipscape checkpoint',
  help: () =>
    helpText({
      usage:
        'skipscape import-checkpoint --from torch FILE.safetensors --model resnet56 [--shortcut A|B]\n' +
        '         [--skip true|false] [--input CxHxW] [--dataset NAME] --out OURS.safetensors [--force]',
      summary:
        "Converts a PyTorch state_dict saved as safetensors, with the names of Li et al.'s\n" +
        'cifar10/models/resnet.py or akamaster/pytorch_resnet_cifar10 (conv1, bn1, layer1.0.conv1, ...,\n' +
        'layer2.0.shortcut.0/1, linear; also fc, downsample and a module. prefix), to our layout:\n' +
        'conv OIHW → HWIO, linear [out, in] → [in, out], BN weight/bias/running_mean/running_var →\n' +
        'gamma/beta/runningMean/runningVar (num_batches_tracked is read and dropped). Width, input\n' +
        'channels and classes are read from conv1 and linear. Every tensor must find its place and\n' +
        'every place its tensor, with its shape, or nothing is written and the first misfit is named.',
      specs: FLAGS,
      notes:
        'A .pth/.t7 file is a pickle, not safetensors; convert it in Python first:\n' +
        '  import torch, safetensors.torch\n' +
        "  sd = torch.load('model.t7', map_location='cpu'); sd = sd.get('state_dict', sd)\n" +
        "  safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors')",
    }),
  async run(argv, io) {
    const { files, rest } = splitPositionals(argv);
    const flags = parseFlags(NAME, FLAGS, rest);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    oneOf(NAME, 'from', required(NAME, 'from', flags.from), ['torch'] as const);
    if (files.length !== 1) {
      throw new UsageError(
        `${NAME}: give one FILE.safetensors to convert${files.length > 1 ? `, not ${files.length}` : ''}`,
      );
    }
    const path = files[0]!;
    const out = required(NAME, 'out', flags.out);
    const named = parseModel(required(NAME, 'model', flags.model));
    const shortcut =
      flags.shortcut !== undefined
        ? oneOf(NAME, 'shortcut', flags.shortcut.toUpperCase(), ['A', 'B'] as const)
        : named.shortcut;
    const skipFlag =
      flags.skip !== undefined
        ? oneOf(NAME, 'skip', flags.skip, ['true', 'false'] as const) === 'true'
        : undefined;
    if (skipFlag !== undefined && named.skip !== undefined && skipFlag !== named.skip)
      throw new UsageError(`${NAME}: --model ${flags.model} has no skips, --skip says true`);
    const skip = skipFlag ?? named.skip ?? true;
    const inputShape = flags.input !== undefined ? parseInput(flags.input) : undefined;
    refuseToReplace({ command: NAME, path: out, resume: false, force: flags.force ?? false });
    assertWritable(out);

    const file = decodeSafetensors(await readInputFile(path), path);
    const imported = importTorchResNet(file, {
      depth: named.depth,
      skip,
      source: path,
      ...(shortcut !== undefined ? { shortcut } : {}),
      ...(inputShape !== undefined ? { inputShape } : {}),
    });
    const { spec, training } = imported;
    const dataset = flags.dataset ?? (spec.inputShape[0] === 1 ? 'fashion-mnist' : 'cifar10');
    const bytes = encodeCheckpoint({
      meta: {
        spec,
        dataset,
        // Not trained here: no epochs, no history, no optimiser state (so
        // `train --resume` refuses it; eval, landscape and hessian take it).
        epoch: 0,
        step: 0,
        seed: 0,
        config: {
          epochs: 0,
          lr: 0,
          batchSize: 0,
          schedule: { kind: 'constant' },
          sgd: LI_ET_AL_SGD,
          augment: false,
          seed: 0,
          trainImages: 0,
          testImages: 0,
        },
        history: [],
        backend: 'pytorch (imported)',
        written: new Date().toISOString(),
      },
      training,
    });
    await writeFileAtomic(out, bytes);
    const tensors = Object.keys(training.params).length + Object.keys(training.state).length;
    io.err(
      `${NAME}: ResNet-${spec.depth}${spec.skip ? `, option-${spec.shortcut} shortcuts` : ' without skips'}, ` +
        `${imported.notes.join(', ')}; ${file.tensors.size} tensors read, ${tensors} written to ${out} (dataset ${dataset})\n`,
    );
    return 0;
  },
};

/** FILE arguments apart from flags and their values (parseFlags takes no positionals). */
function splitPositionals(argv: string[]): { files: string[]; rest: string[] } {
  const files: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('-')) {
      rest.push(arg);
      const name = arg.replace(/^--?/, '');
      const spec = (FLAGS as FlagSpecs)[name];
      if (spec?.type === 'string' && i + 1 < argv.length) rest.push(argv[++i]!);
    } else files.push(arg);
  }
  return { files, rest };
}
