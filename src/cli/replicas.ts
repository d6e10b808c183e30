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
import type { SgdConfig } from '../compute/train/optimizer';
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
