/**
 * Running the command line in process (runCli) in a test: the compute commands
 * run on this thread (--workers 1), because their worker threads would run the
 * built bundle, not the sources under test (and a fresh checkout has no bundle
 * yet). The worker threads are tested through the bundle in
 * landscape-workers-cli.test.ts and signals-workers-cli.test.ts.
 */
const COMPUTE_COMMANDS = new Set([
  'eval',
  'landscape',
  'hessian',
  'trajectory',
  'lesion',
  'paths',
  'signals',
  'gsc',
  'effective-depth',
  'responses',
]);

export function onThisThread(argv: readonly string[]): string[] {
  const [command, ...rest] = argv;
  if (command === undefined || !COMPUTE_COMMANDS.has(command) || argv.includes('--workers'))
    return [...argv];
  return [command, '--workers', '1', ...rest];
}
