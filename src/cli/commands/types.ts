/** What every command module exports; main.ts dispatches through the table in ./index.ts. */

export interface CommandIo {
  /** Results (tables, JSON): stdout. */
  out(text: string): void;
  /** Progress, warnings, errors: stderr. */
  err(text: string): void;
  /** The progress bar's stream (stderr in the terminal). */
  progressStream: NodeJS.WriteStream;
}

export interface Command {
  name: string;
  /** One line for `skipscape --help`. */
  summary: string;
  /** Full --help text. */
  help(): string;
  /** Run with the arguments after the command name; resolves to the exit code. */
  run(argv: string[], io: CommandIo): Promise<number>;
}
