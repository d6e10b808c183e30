/** The command line's dispatcher: `skipscape <command> [flags]` → exit code. */
import { SafetensorsError } from '../compute/train/safetensors';
import { DataFormatError } from '../compute/data/idx';
import { UsageError } from './args';
import { InputError, OutputError } from './files';
import { COMMANDS } from './commands';
import type { CommandIo } from './commands/types';
import { packageVersion } from './paths';

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: skipscape <command> [flags]',
    '',
    'Skipscape: why skip connections let deep networks train, computed with TensorFlow.js.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `skipscape <command> --help` for its flags.',
    '',
  ].join('\n');
}

/**
 * An unexpected error as one line (its stack with SKIPSCAPE_DEBUG=1): a
 * message from deep inside tfjs or Node can span lines, and a user should
 * see what went wrong, not where.
 */
export function oneLineMessage(e: unknown): string {
  if (e instanceof Error && process.env['SKIPSCAPE_DEBUG']) return e.stack ?? e.message;
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n').find((l) => l.trim() !== '') ?? (e instanceof Error ? e.name : 'error');
}

/** Run one command line; resolves to the exit code. Errors become messages, not stacks. */
export async function runCli(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(
      `skipscape: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`,
    );
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`skipscape ${e.message}\n`);
      return 2;
    }
    if (
      e instanceof SafetensorsError ||
      e instanceof DataFormatError ||
      e instanceof OutputError ||
      e instanceof InputError
    ) {
      io.err(`skipscape ${name}: ${e.message}\n`);
      return 1;
    }
    io.err(`skipscape ${name}: ${oneLineMessage(e)}\n`);
    return 1;
  }
}
