/**
 * Compute jobs (src/compute/jobs) in Node worker threads: the lanes that
 * `signals` and `gsc` deal their weight draws out to (compute/jobs/pooled.ts).
 * Each thread runs the bundled command line (.cache/skipscape/cli.mjs), which
 * turns into a job runner, the browser's compute worker's, when started with
 * workerData.role 'jobs': the same job code as the signal figures' web
 * workers, with its own wasm instance and tfjs per thread.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parentPort, Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../compute/backend';
import { channelLanes } from '../compute/jobs/lanes';
import type { JobLanes } from '../compute/jobs/lanes';
import type { FromWorker, JobKind, ToWorker } from '../compute/jobs/protocol';
import { createJobRunner } from '../compute/jobs/runner';
import { JOB_TABLE } from '../compute/jobs/table';
import { startNodeBackend } from './node-backend';
import type { NodeBackend } from './node-backend';
import { BUNDLE_FILE, SELF_FILE } from './paths';

export interface JobWorkerData {
  role: 'jobs';
  backend: NodeBackend;
}

/**
 * Jobs that run no tfjs: the signal pass is a WebAssembly kernel of its own
 * (compute/signals/pass.ts) and the rest plain JavaScript.
 */
const WITHOUT_TFJS: ReadonlySet<JobKind> = new Set<JobKind>(['signals', 'signals-bins']);

/** Outside the job protocol: a thread's tfjs tensor count when it started and now. */
type TensorsQuery = { type: 'tensors' };
type TensorsReply = { type: 'tensors'; atStart: number; now: number };

/** Entry point of a job thread. */
export function runJobWorker(data: JobWorkerData): void {
  const port = parentPort;
  if (!port) throw new Error('runJobWorker must run in a worker thread');
  // One backend for every job of the thread, started when the first job that
  // needs tfjs starts (1–2 s of a thread's start under load).
  let started: Promise<{ name: BackendName; reason: string; tensors: number }> | null = null;
  const backend = () =>
    (started ??= startNodeBackend(data.backend).then((s) => ({
      name: s.backend as BackendName,
      reason: s.why,
      tensors: tf.memory().numTensors,
    })));
  const runner = createJobRunner({
    post: (message, transfer) => port.postMessage(message, (transfer ?? []) as ArrayBuffer[]),
    jobs: JOB_TABLE,
    startBackend: (_prefer, kind) =>
      kind !== undefined && WITHOUT_TFJS.has(kind)
        ? Promise.resolve({ name: data.backend as BackendName, reason: 'not started: no tfjs' })
        : backend(),
    readBytes: async (path) => new Uint8Array(await readFile(path)),
  });
  port.on('message', (message: ToWorker | TensorsQuery) => {
    if (message.type !== 'tensors') return runner.handle(message);
    const none = () => port.postMessage({ type: 'tensors', atStart: 0, now: 0 });
    if (!started) none();
    else
      void started.then(
        (s) =>
          port.postMessage({ type: 'tensors', atStart: s.tensors, now: tf.memory().numTensors }),
        none,
      );
  });
}

export interface JobThreads extends JobLanes {
  /** Wait for the jobs' tensor counts, warn of any thread that left tensors behind, end the threads. */
  close(warn: (text: string) => void, command: string): Promise<void>;
}

/** Start `workers` job threads on `backend`. */
export function startJobThreads(options: { workers: number; backend: NodeBackend }): JobThreads {
  const file = SELF_FILE.endsWith('.mjs') ? SELF_FILE : BUNDLE_FILE;
  if (!existsSync(file)) {
    throw new Error(
      `worker threads need the bundled command line at ${file}; run bin/skipscape.mjs once to build it`,
    );
  }
  let closing = false;
  const threads: Worker[] = [];
  const tensorReplies: ((reply: TensorsReply) => void)[] = [];
  for (let i = 0; i < options.workers; i++) {
    const data: JobWorkerData = { role: 'jobs', backend: options.backend };
    threads.push(new Worker(file, { workerData: data }));
  }
  const lanes = channelLanes(
    threads.map((worker, i) => ({
      send: (message, transfer) => worker.postMessage(message, (transfer ?? []) as ArrayBuffer[]),
      onMessage: (handler) =>
        worker.on('message', (message: FromWorker | TensorsReply) => {
          if (message.type === 'tensors') tensorReplies[i]?.(message);
          else handler(message);
        }),
    })),
  );
  threads.forEach((worker, i) => {
    const fail = (error: Error) => {
      if (!closing) lanes.fail(error);
    };
    worker.on('error', (e) => fail(new Error(`worker ${i + 1} crashed: ${e.message}`)));
    worker.on('exit', (code) => fail(new Error(`worker ${i + 1} exited with code ${code}`)));
  });
  return {
    lanes: lanes.lanes,
    run: (lane, kind, params, handlers) => lanes.run(lane, kind, params, handlers),
    async close(warn, command) {
      closing = true;
      // A thread that has died or hangs answers nothing; it is ended all the same.
      const counts = await Promise.all(
        threads.map(
          (worker, i) =>
            new Promise<TensorsReply | null>((resolve) => {
              const timer = setTimeout(() => resolve(null), 2000);
              tensorReplies[i] = (reply) => {
                clearTimeout(timer);
                resolve(reply);
              };
              worker.postMessage({ type: 'tensors' } satisfies TensorsQuery);
            }),
        ),
      );
      counts.forEach((c, k) => {
        if (c && c.now !== c.atStart)
          warn(
            `${command}: worker ${k + 1} left ${c.now - c.atStart} tensors behind (${c.atStart} → ${c.now})\n`,
          );
      });
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
}
