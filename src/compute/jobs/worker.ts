/**
 * The compute worker: a module worker the islands start with
 *   new Worker(new URL('../compute/jobs/worker.ts', import.meta.url), { type: 'module' })
 * It imports nothing heavy up front: the backend module (and tfjs with it)
 * loads when the first job starts, each job's code when a job of its kind
 * starts. Tensors live and die here; only plain data goes back.
 */
/// <reference lib="webworker" />
import type { BackendName } from '../backend';
// The wasm backend's binaries, emitted by the bundler as files of their own;
// without these URLs tfjs looks for them next to the page and finds nothing.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { createJobRunner } from './runner';
import type { ToWorker } from './protocol';
import { JOB_TABLE } from './table';

declare const self: DedicatedWorkerGlobalScope;

let current: { key: string; choice: Promise<{ name: BackendName; reason: string }> } | null = null;

const runner = createJobRunner({
  post: (message, transfer) => self.postMessage(message, transfer ?? []),
  jobs: JOB_TABLE,
  // One backend per worker: started for the first job, restarted only when a
  // job asks for a different preference.
  startBackend(prefer) {
    const key = JSON.stringify(prefer ?? null);
    if (current === null || current.key !== key) {
      const choice = import('../backend').then(async ({ initBackend }) => {
        const wasmPaths = {
          'tfjs-backend-wasm.wasm': wasmPlain,
          'tfjs-backend-wasm-simd.wasm': wasmSimd,
          'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
        };
        const c = await initBackend(prefer === undefined ? { wasmPaths } : { prefer, wasmPaths });
        return { name: c.name, reason: c.reason };
      });
      current = { key, choice };
      // A failed start is not kept, so the next job tries again.
      choice.catch(() => {
        if (current?.choice === choice) current = null;
      });
    }
    return current.choice;
  },
});

self.onmessage = (event: MessageEvent<ToWorker>) => runner.handle(event.data);
