/**
 * Flags for every command, on node:util's parseArgs, with errors that name
 * the flag and what it accepts.
 */
import { parseArgs } from 'node:util';

/** A mistake in how the command was called: printed without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** One line for --help, e.g. 'training epochs (default 1)'. */
  help: string;
  /** Placeholder for --help, e.g. 'N' or 'DIR'. */
  value?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** -h/--help, which every command takes. */
export const HELP_FLAG = {
  type: 'boolean',
  short: 'h',
  help: 'show this help',
} as const satisfies FlagSpec;

export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : string;
};

/** Parse argv against the specs; unknown flags and missing values become UsageErrors. */
export function parseFlags<S extends FlagSpecs>(
  command: string,
  specs: S,
  argv: string[],
): ParsedFlags<S> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  try {
    const { values, positionals } = parseArgs({
      args: attachNegativeValues(argv, specs),
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
    if (positionals.length > 0) {
      throw new UsageError(
        `${command}: unexpected argument '${positionals[0]}' (flags start with --; see --help)`,
      );
    }
    return values as ParsedFlags<S>;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) {
      const known = Object.keys(specs)
        .map((k) => `--${k}`)
        .join(', ');
      throw new UsageError(`${command}: unknown flag ${unknown[1]} (allowed: ${known})`);
    }
    const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
    if (missing) throw new UsageError(`${command}: ${missing[1]} needs a value`);
    const ambiguous = /Option '(?:-\w, )?(--[\w-]+)' argument is ambiguous/.exec(message);
    if (ambiguous) {
      throw new UsageError(
        `${command}: ${ambiguous[1]} needs a value (for one that starts with a dash, write ${ambiguous[1]}=VALUE)`,
      );
    }
    throw new UsageError(`${command}: ${message.split('\n')[0]}`);
  }
}

/** A value that must be one of a list. */
export function oneOf<T extends string>(
  command: string,
  flag: string,
  value: string,
  allowed: readonly T[],
): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `${command}: --${flag} must be one of ${allowed.join(', ')}; got '${value}'`,
  );
}

/** A whole number in [min, max]. */
export function integer(
  command: string,
  flag: string,
  value: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? `a whole number ≥ ${min}`
        : `a whole number in ${min}…${max}`;
    throw new UsageError(`${command}: --${flag} must be ${range}; got '${value}'`);
  }
  return n;
}

/** A finite number > 0. */
export function positive(command: string, flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${command}: --${flag} must be a number > 0; got '${value}'`);
  }
  return n;
}

/** Require a flag. */
export function required<T>(command: string, flag: string, value: T | undefined): T {
  if (value === undefined) throw new UsageError(`${command}: --${flag} is required (see --help)`);
  return value;
}

/** --help text from the specs. */
export function helpText(options: {
  usage: string;
  summary: string;
  specs: FlagSpecs;
  notes?: string;
}): string {
  const rows = Object.entries(options.specs).map(([name, spec]) => {
    const left = `  --${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    return `${left.padEnd(30)} ${spec.help}`;
  });
  return [
    `usage: ${options.usage}`,
    '',
    options.summary,
    '',
    'flags:',
    ...rows,
    ...(options.notes ? ['', options.notes] : []),
    '',
  ].join('\n');
}

/**
 * node:util's parseArgs reads `--grid -1:1:51` as a flag without a value
 * followed by an unknown option (and `--limit -5` as ambiguous). Join a string flag with a following value
 * that starts with a minus and a digit or point (a negative number), as
 * `--grid=-1:1:51`, so the documented syntax works.
 */
export function attachNegativeValues(argv: string[], specs: FlagSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : null;
    if (
      name !== null &&
      specs[name]?.type === 'string' &&
      next !== undefined &&
      /^-(?:[\d.]|inf|infinity|nan$)/i.test(next)
    ) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
