/**
 * `skipscape params`: the model's torchsummary rows and its parameter counts:
 * distinct trainable parameters (each tensor once) beside the summary's total
 * (the sum of the rows, which counts a module again each time it runs).
 */
import { countParams, createModel, parseModelName, summaryTotal } from '../../compute/models';
import type { ModelSpec } from '../../compute/models/types';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags, required, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import type { Command } from './types';

const FLAGS = {
  model: {
    type: 'string',
    value: 'NAME',
    help: 'resnet20, resnet56, resnet110, resnet56-noshort, bmenet32, mlp, or resnet/bmenet with --depth',
  },
  shortcut: {
    type: 'string',
    value: 'A|B',
    help: 'ResNet shortcut where the shape changes (default B, as Li et al.)',
  },
  depth: {
    type: 'string',
    value: 'N',
    help: 'depth, overriding the one in --model (ResNet 6k+2; BMEnet 8, 16, 32, 64)',
  },
  skip: { type: 'boolean', help: 'with skip connections (default); --no-skip removes them' },
  input: { type: 'string', value: 'CxHxW', help: 'input shape (default 3x32x32)' },
  classes: { type: 'string', value: 'N', help: 'output classes (default 10)' },
  json: { type: 'boolean', help: 'print JSON {model, shortcut, params, summaryTotal, rows}' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

const NAME = 'params';

/** Parse '3x32x32' into [channels, height, width]. */
export function parseInputShape(command: string, value: string): [number, number, number] {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(value.trim());
  if (!m || [m[1], m[2], m[3]].some((v) => Number(v) < 1)) {
    throw new UsageError(
      `${command}: --input must be CxHxW with positive sizes, e.g. 3x32x32; got '${value}'`,
    );
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** A model spec from the shared --model/--depth/--shortcut/--no-skip flags. */
export function specFromFlags(
  command: string,
  flags: {
    model?: string | undefined;
    depth?: string | undefined;
    shortcut?: string | undefined;
    skip?: boolean | undefined;
  },
  shape: { inputShape: [number, number, number]; classes: number },
): ModelSpec {
  let name = required(command, 'model', flags.model).trim().toLowerCase();
  if (flags.depth !== undefined) {
    const depth = integer(command, 'depth', flags.depth, 1);
    const family = /^(resnet|bmenet)/.exec(name)?.[1];
    if (!family)
      throw new UsageError(
        `${command}: --depth applies to resnet or bmenet models, not '${flags.model}'`,
      );
    name = name.replace(/^(resnet|bmenet)\d*/, `${family}${depth}`);
  }
  if (/^(resnet|bmenet)$/.test(name)) {
    throw new UsageError(`${command}: --model ${name} needs a depth: ${name}20 or --depth N`);
  }
  let spec: ModelSpec;
  try {
    spec = parseModelName(name, shape);
  } catch (e) {
    throw new UsageError(`${command}: --model: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (flags.shortcut !== undefined) {
    const shortcut = oneOf(command, 'shortcut', flags.shortcut.toUpperCase(), ['A', 'B'] as const);
    if (spec.kind !== 'resnet')
      throw new UsageError(`${command}: --shortcut applies to ResNets only`);
    spec = { ...spec, shortcut };
  }
  if (flags.skip === false) {
    if (spec.kind === 'mlp')
      throw new UsageError(`${command}: --no-skip applies to resnet and bmenet models`);
    spec = { ...spec, skip: false };
  }
  try {
    createModel(spec);
  } catch (e) {
    throw new UsageError(
      `${command}: --model ${name}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return spec;
}

/** The name a spec goes by in files and the manifest: resnet56, resnet56a, resnet56-noshort. */
export function modelName(spec: ModelSpec): string {
  if (spec.kind === 'mlp') return 'mlp';
  const base = `${spec.kind}${spec.depth}${spec.kind === 'resnet' && spec.shortcut === 'A' ? 'a' : ''}`;
  return spec.skip ? base : `${base}-noshort`;
}

export const paramsCommand: Command = {
  name: NAME,
  summary: 'parameter counts and the torchsummary table of a model',
  help: () =>
    helpText({
      usage:
        'skipscape params --model resnet56 [--shortcut A|B] [--depth N] [--input 3x32x32] [--classes 10] [--json]',
      summary:
        "Prints the model's rows as torchsummary would (module, output shape, parameters), the sum of\n" +
        'the rows, and the number of distinct trainable parameters (they differ when a module runs twice).',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const inputShape = flags.input
      ? parseInputShape(NAME, flags.input)
      : ([3, 32, 32] as [number, number, number]);
    const classes = flags.classes ? integer(NAME, 'classes', flags.classes, 1) : 10;
    const spec = specFromFlags(NAME, flags, { inputShape, classes });
    const model = createModel(spec);
    const rows = model.summary();
    const result = {
      model: modelName(spec),
      shortcut: spec.kind === 'resnet' ? spec.shortcut : null,
      params: countParams(model),
      summaryTotal: summaryTotal(rows),
      rows: rows.map((r) => ({ name: r.name, outputShape: r.outputShape, params: r.params })),
    };
    if (flags.json) {
      io.out(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    const fmt = (n: number) => n.toLocaleString('en-US');
    const line = '-'.repeat(64);
    const out = [
      line,
      `${'Layer (type)'.padStart(20)}  ${'Output Shape'.padStart(25)}  ${'Param #'.padStart(15)}`,
      '='.repeat(64),
    ];
    for (const r of rows) {
      out.push(
        `${r.name.padStart(20)}  ${JSON.stringify(r.outputShape).replace(/,/g, ', ').padStart(25)}  ${fmt(r.params).padStart(15)}`,
      );
    }
    out.push('='.repeat(64));
    out.push(`Total params (sum of rows): ${fmt(result.summaryTotal)}`);
    out.push(`Distinct trainable parameters: ${fmt(result.params)}`);
    out.push(
      `Model: ${result.model}${result.shortcut ? `, shortcut ${result.shortcut}` : ''}, input ${inputShape.join('x')}, ${classes} classes`,
    );
    out.push(line);
    io.out(`${out.join('\n')}\n`);
    return 0;
  },
};
