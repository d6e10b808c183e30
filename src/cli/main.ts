/**
 * `skipscape <command>`: the entry of the bundled command line
 * (.cache/skipscape/cli.mjs, built by bin/skipscape.mjs). The same bundle runs
 * as a data-parallel replica (replicas.ts) or a compute job runner
 * (job-threads.ts) when started as a worker thread.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { oneLineMessage, runCli } from './cli';
import type { CommandIo } from './commands/types';
import { runJobWorker } from './job-threads';
import type { JobWorkerData } from './job-threads';
import { runReplicaWorker } from './replicas';
import type { ReplicaWorkerData } from './replicas';

const processIo: CommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  progressStream: process.stderr,
};

// A rejection nothing awaited would otherwise end the process with Node's
// stack trace and exit code 7; say it in one line instead.
const fatal = (e: unknown) => {
  process.stderr.write(`\nskipscape: ${oneLineMessage(e)}\n`);
  process.exit(1);
};
if (isMainThread) {
  process.on('unhandledRejection', fatal);
  process.on('uncaughtException', fatal);
}

const role = isMainThread ? null : (workerData as ReplicaWorkerData | JobWorkerData | null)?.role;
if (role === 'replica') {
  await runReplicaWorker(workerData as ReplicaWorkerData);
} else if (role === 'jobs') {
  runJobWorker(workerData as JobWorkerData);
} else {
  process.exitCode = await runCli(process.argv.slice(2), processIo);
}
