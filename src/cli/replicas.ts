/**
 * Data-parallel replicas in Node worker threads, each with its own tfjs and
 * its own wasm instance (see compute/train/parallel.ts for the algorithm).
 * The worker runs the bundled command line itself (.cache/skipscape/cli.mjs),
 * which turns into a replica when started with workerData.role 'replica'.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';
import { createModel } from '../compute/models';
import type { Model } from '../compute/models/types';
import { ParallelEngine, serveReplica } from '../compute/train/parallel';
import type { Channel, ReplicaReply, ReplicaRequest } from '../compute/train/parallel';
import { LI_ET_AL_SGD } from '../compute/train/optimizer';
import type { SgdConfig } from '../compute/train/optimizer';
import { integer } from './args';
import type { FlagSpec } from './args';
import { startNodeBackend } from './node-backend';
import type { NodeBackend } from './node-backend';
import { BUNDLE_FILE, SELF_FILE } from './paths';

export interface ReplicaWorkerData {
  role: 'replica';
  backend: NodeBackend;
}

/** The default number of replicas: one per core for wasm and cpu, one for webgpu. */
export function defaultWorkers(backend: NodeBackend): number {
  return backend === 'webgpu' ? 1 : availableParallelism();
}

/** The --workers flag of every compute command. */
export const WORKERS_FLAG = {
  type: 'string',
  value: 'N',
  help: `worker threads, one tfjs each (default: one per core, ${availableParallelism()} here; 1 with webgpu; 1 runs on this thread)`,
} as const satisfies FlagSpec;

/** --workers as a number: the flag, else defaultWorkers. */
export function workersFlag(
  command: string,
  value: string | undefined,
  backend: NodeBackend,
): number {
  return value !== undefined ? integer(command, 'workers', value, 1, 64) : defaultWorkers(backend);
}

/**
 * A pool of `workers` replica threads for a command's grid points or
 * Hessian-vector products; undefined for one worker (the command then
 * computes on this thread). Close it with closeWorkerPool.
 */
export async function startWorkerPool(options: {
  model: Model;
  workers: number;
  backend: NodeBackend;
}): Promise<ParallelEngine | undefined> {
  if (options.workers <= 1) return undefined;
  return createWorkerEngine({ ...options, sgd: LI_ET_AL_SGD });
}

/**
 * Dispose the pool's replicas and say if any left tensors behind (each
 * reports its tfjs tensor count when it started and after it was disposed).
 */
export async function closeWorkerPool(
  engine: ParallelEngine | undefined,
  warn: (text: string) => void,
  command: string,
): Promise<void> {
  if (!engine) return;
  await engine.dispose();
  engine.replicaTensorsAfterDispose.forEach((after, k) => {
    const before = engine.replicaTensorsAtStart[k]!;
    if (after !== before) {
      warn(
        `${command}: worker ${k + 1} left ${after - before} tensors behind (${before} → ${after})\n`,
      );
    }
  });
}

/** Entry point of a replica thread. */
export async function runReplicaWorker(data: ReplicaWorkerData): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('runReplicaWorker must run in a worker thread');
  // Requests posted before the listener is attached wait in the port's queue.
  await startNodeBackend(data.backend);
  const channel: Channel<ReplicaRequest, ReplicaReply> = {
    send: (message, transfer) => port.postMessage(message, (transfer ?? []) as ArrayBuffer[]),
    onMessage: (handler) => port.on('message', handler),
  };
  serveReplica({ channel, createModel });
}

/** Start `workers` replica threads on `backend` and a ParallelEngine over them. */
export async function createWorkerEngine(options: {
  model: Model;
  sgd: SgdConfig;
  workers: number;
  backend: NodeBackend;
}): Promise<ParallelEngine> {
  const file = SELF_FILE.endsWith('.mjs') ? SELF_FILE : BUNDLE_FILE;
  if (!existsSync(file)) {
    throw new Error(
      `worker threads need the bundled command line at ${file}; run bin/skipscape.mjs once to build it`,
    );
  }
  const threads: Worker[] = [];
  let engine: ParallelEngine | null = null;
  let disposing = false;
  // A worker that dies before the engine exists rejects the start instead.
  let rejectStart: (error: Error) => void = () => undefined;
  const startFailed = new Promise<never>((_, reject) => (rejectStart = reject));
  startFailed.catch(() => undefined);
  const fail = (error: Error) => {
    if (disposing) return;
    if (engine) engine.fail(error);
    else rejectStart(error);
  };
  const channels: Channel<ReplicaReply, ReplicaRequest>[] = [];
  for (let i = 0; i < options.workers; i++) {
    const data: ReplicaWorkerData = { role: 'replica', backend: options.backend };
    const worker = new Worker(file, { workerData: data });
    worker.on('error', (e) => fail(new Error(`replica ${i} crashed: ${e.message}`)));
    worker.on('exit', (code) => fail(new Error(`replica ${i} exited with code ${code}`)));
    threads.push(worker);
    channels.push({
      send: (message, transfer) => worker.postMessage(message, (transfer ?? []) as ArrayBuffer[]),
      onMessage: (handler) => worker.on('message', handler),
    });
  }
  const terminate = async () => {
    disposing = true;
    await Promise.all(threads.map((t) => t.terminate()));
  };
  try {
    const created = ParallelEngine.create({
      model: options.model,
      sgd: options.sgd,
      channels,
      onDispose: terminate,
    });
    engine = await Promise.race([created, startFailed]);
    return engine;
  } catch (e) {
    await terminate();
    throw e;
  }
}
