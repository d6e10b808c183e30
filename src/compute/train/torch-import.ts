/**
 * A PyTorch `state_dict` of a CIFAR ResNet, saved as safetensors, turned into
 * our TrainingState. Which PyTorch code it comes from matters only through the
 * tensor names; these layouts use the names our ResNet already has:
 *
 *   Li et al., loss-landscape cifar10/models/resnet.py (ResNet_cifar and
 *     WResNet_cifar with BasicBlock or BasicBlock_noshortcut: ResNet-20/56/110,
 *     their "noshort" networks, WRN-56-k): option-B shortcuts
 *     `layer2.0.shortcut.0` (1×1 conv) and `layer2.0.shortcut.1` (BN)
 *   akamaster/pytorch_resnet_cifar10: option A (a LambdaLayer that zero-pads,
 *     no tensors; same padding of planes/4 channels on each side as ours) or B
 *   repositories that say `fc` for `linear` or `downsample` for `shortcut`
 *     (torchvision's words), and `module.` before every name (DataParallel)
 *
 *   theirs (PyTorch)                        ours (tfjs)
 *   conv  X.weight        [out, in, kh, kw] X.weight      [kh, kw, in, out]
 *   dense linear.weight   [out, in]         linear.weight [in, out]
 *         linear.bias     [out]             linear.bias   [out]
 *   BN    X.weight / X.bias                 X.gamma / X.beta
 *         X.running_mean / X.running_var    X.runningMean / X.runningVar
 *         X.num_batches_tracked             (dropped: PyTorch uses it only for
 *                                            a cumulative running average in
 *                                            training; inference never reads it)
 *
 * BN ε is PyTorch's default 1e-5 in both. Every tensor of the file must be
 * used and every tensor of the model found, with the model's shape, or the
 * import fails naming the first that is not; nothing is guessed.
 */
import { createModel } from '../models';
import type { ResNetSpec } from '../models/types';
import { SafetensorsError, toFloat32 } from './safetensors';
import type { ReadTensor, SafetensorsFile } from './safetensors';
import type { ArrayMap, TrainingState } from './state';

export interface TorchImportOptions {
  /** ResNet-n: n = 6k + 2. */
  depth: number;
  /** Option A or B where the shape changes; undefined: B if the file has shortcut tensors. */
  shortcut?: 'A' | 'B';
  /** false: a network without shortcut additions (Li et al.'s "noshort"). Default true. */
  skip?: boolean;
  /** [channels, height, width]; default [3, 32, 32] for 3 input channels, [1, 28, 28] for 1. */
  inputShape?: [number, number, number];
  /** The file's name, for messages. */
  source: string;
}

export interface TorchImport {
  spec: ResNetSpec;
  training: TrainingState;
  /** What was inferred from the tensors, for the user to check (width, classes, shortcut). */
  notes: string[];
}

/** Our name → PyTorch's name and how to reorder the values. */
interface Mapping {
  torch: string;
  layout: 'conv' | 'dense' | 'same';
}

/** Names as the layouts above write them → the names of Li et al.'s code. */
function canonicalName(name: string): string {
  return name
    .replace(/^module\./, '')
    .replace(/^fc\./, 'linear.')
    .replace(/\.downsample\./, '.shortcut.');
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** PyTorch's shape for one of our tensors. */
function torchShape(shape: readonly number[], layout: Mapping['layout']): number[] {
  if (layout === 'conv') return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
  if (layout === 'dense') return [shape[1]!, shape[0]!];
  return [...shape];
}

/** [out, in, kh, kw] → [kh, kw, in, out]. */
function convToHwio(src: Float32Array, shape: readonly number[]): Float32Array {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const out = new Float32Array(src.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let h = 0; h < kh; h++)
        for (let w = 0; w < kw; w++)
          out[((h * kw + w) * cin + i) * cout + o] = src[((o * cin + i) * kh + h) * kw + w]!;
  return out;
}

/** [out, in] → [in, out]. */
function denseToInOut(src: Float32Array, shape: readonly number[]): Float32Array {
  const [cin, cout] = shape as [number, number];
  const out = new Float32Array(src.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++) out[i * cout + o] = src[o * cin + i]!;
  return out;
}

function mappingFor(name: string, role: string): Mapping {
  const cut = name.lastIndexOf('.');
  const module = name.slice(0, cut);
  switch (role) {
    case 'conv':
      return { torch: name, layout: 'conv' };
    case 'dense':
      return { torch: name, layout: 'dense' };
    case 'bnGamma':
      return { torch: `${module}.weight`, layout: 'same' };
    case 'bnBeta':
      return { torch: `${module}.bias`, layout: 'same' };
    case 'runningMean':
      return { torch: `${module}.running_mean`, layout: 'same' };
    case 'runningVar':
      return { torch: `${module}.running_var`, layout: 'same' };
    default:
      return { torch: name, layout: 'same' };
  }
}

export function importTorchResNet(file: SafetensorsFile, options: TorchImportOptions): TorchImport {
  const { source } = options;
  const fail = (problem: string): never => {
    throw new SafetensorsError(source, problem);
  };
  // Canonical name → the file's own name and tensor.
  const tensors = new Map<string, { original: string; tensor: ReadTensor }>();
  for (const [original, tensor] of file.tensors) {
    const name = canonicalName(original);
    const earlier = tensors.get(name);
    if (earlier) fail(`tensors ${earlier.original} and ${original} are the same tensor (${name})`);
    tensors.set(name, { original, tensor });
  }
  const display = (name: string) => tensors.get(name)?.original ?? name;

  // Width, input channels and classes are read off the first convolution and
  // the dense layer; depth and shortcut come from the command line, and every
  // other tensor is then checked against the model they describe.
  const conv1 = tensors.get('conv1.weight')?.tensor;
  if (!conv1) return fail('no tensor conv1.weight: not a CIFAR ResNet state_dict');
  if (conv1.shape.length !== 4 || conv1.shape[2] !== 3 || conv1.shape[3] !== 3)
    fail(`conv1.weight has shape ${shapeText(conv1.shape)}, a CIFAR ResNet's is [w, c, 3, 3]`);
  const [width, channels] = conv1.shape as [number, number];
  const linear = tensors.get('linear.weight')?.tensor;
  if (!linear) return fail('no tensor linear.weight (or fc.weight): not a CIFAR ResNet state_dict');
  if (linear.shape.length !== 2) fail(`linear.weight has shape ${shapeText(linear.shape)}`);
  const classes = linear.shape[0]!;

  const hasShortcutTensors = [...tensors.keys()].some((n) => /\.shortcut\.\d+\./.test(n));
  const skip = options.skip ?? true;
  const notes = [`width ${width}, ${channels} input channel(s), ${classes} classes`];
  let shortcut = options.shortcut;
  if (shortcut === undefined) {
    if (hasShortcutTensors) {
      shortcut = 'B';
      notes.push('option B read off its 1×1 shortcut convolutions');
    } else if (!skip) {
      shortcut = 'B';
    } else {
      return fail(
        'no shortcut tensors: the network has option-A shortcuts (zero-padding, as akamaster/pytorch_resnet_cifar10) ' +
          "or no skips at all (Li et al.'s resnetN_noshort); say which with --shortcut A or --skip false",
      );
    }
  }
  let inputShape = options.inputShape;
  if (inputShape === undefined) {
    if (channels === 3) inputShape = [3, 32, 32];
    else if (channels === 1) inputShape = [1, 28, 28];
    else return fail(`conv1.weight takes ${channels} input channels: give --input CxHxW`);
  } else if (inputShape[0] !== channels) {
    fail(`conv1.weight takes ${channels} input channels, --input says ${inputShape[0]}`);
  }

  const spec: ResNetSpec = {
    kind: 'resnet',
    depth: options.depth,
    shortcut,
    skip,
    residualScale: 1,
    width,
    inputShape,
    classes,
  };
  const model = createModel(spec);
  const hint = (name: string): string => {
    if (/\.shortcut\./.test(name)) {
      if (!skip) return ' (the file has shortcut tensors: it has skips; drop --skip false)';
      if (shortcut === 'A') return ' (the file has option-B shortcuts: try --shortcut B)';
      return '';
    }
    if (/^layer\d+\.\d+\./.test(name)) return ` (is this ResNet-${options.depth}? check --model)`;
    return '';
  };

  const used = new Set<string>();
  const take = (ours: string, shape: number[], m: Mapping): Float32Array => {
    const found = tensors.get(m.torch);
    if (!found) {
      const why =
        /\.shortcut\./.test(m.torch) && !hasShortcutTensors
          ? ' (the file has no shortcut tensors: try --shortcut A, or --skip false)'
          : /^layer\d+\.\d+\./.test(m.torch)
            ? ` (is this ResNet-${options.depth}? check --model)`
            : '';
      return fail(`missing tensor ${m.torch}${ours === m.torch ? '' : ` (our ${ours})`}${why}`);
    }
    const expected = torchShape(shape, m.layout);
    if (found.tensor.shape.join() !== expected.join()) {
      fail(
        `tensor ${found.original} has shape ${shapeText(found.tensor.shape)}, ResNet-${options.depth} (width ${width}) needs ${shapeText(expected)}`,
      );
    }
    used.add(m.torch);
    const values = toFloat32(found.tensor, found.original, source);
    if (m.layout === 'conv') return convToHwio(values, shape);
    if (m.layout === 'dense') return denseToInOut(values, shape);
    return values;
  };

  const params: ArrayMap = {};
  for (const p of model.params) {
    params[p.name] = {
      shape: [...p.shape],
      data: take(p.name, p.shape, mappingFor(p.name, p.role)),
    };
  }
  const state: ArrayMap = {};
  for (const s of model.state) {
    state[s.name] = {
      shape: [...s.shape],
      data: take(s.name, s.shape, mappingFor(s.name, s.role)),
    };
    // A BN layer's step counter: accounted for, not needed (see above).
    const counter = `${s.name.slice(0, s.name.lastIndexOf('.'))}.num_batches_tracked`;
    if (tensors.has(counter)) used.add(counter);
  }
  const unused = [...tensors.keys()].filter((n) => !used.has(n));
  if (unused.length > 0) {
    const first = unused[0]!;
    fail(
      `tensor ${display(first)} has no place in ResNet-${options.depth}${skip ? '' : ' without skips'}` +
        `${hint(first)}${unused.length > 1 ? ` (and ${unused.length - 1} more unmatched)` : ''}`,
    );
  }
  return { spec, training: { params, state, momentum: {} }, notes };
}
