/**
 * The worker's job runner, independent of where messages come from: the
 * module worker wires it to `self`, tests call `handle` directly. It starts a
 * backend before each job (the first start imports tfjs), loads the job's
 * code from the table, runs it with a context (cancel signal, progress,
 * partial results, pause/resume) and answers with exactly one `done` or
 * `error` per job.
 */
import type { BackendName } from '../backend';
import type {
  FromWorker,
  JobContext,
  JobHandler,
  JobKind,
  JobKinds,
  JobTable,
  ToWorker,
} from './protocol';

export interface JobRunnerOptions {
  /** Send a message to the island. */
  post(message: FromWorker, transfer?: Transferable[]): void;
  jobs: JobTable;
  /** Start (or keep) a backend for a job of `kind`; resolves to the one running and why. */
  startBackend(
    prefer?: BackendName | BackendName[],
    kind?: JobKind,
  ): Promise<{ name: BackendName; reason: string }>;
  /** How jobs read data files; default fetch. */
  readBytes?: (path: string) => Promise<Uint8Array>;
}

export interface JobRunner {
  handle(message: ToWorker): void;
  /** Jobs started and not yet ended. */
  running(): string[];
  /** Resolves when no job is running. */
  idle(): Promise<void>;
}

async function fetchBytes(path: string): Promise<Uint8Array> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

interface RunningJob {
  controller: AbortController;
  controlHandlers: ((action: 'pause' | 'resume') => void)[];
  finished: Promise<void>;
}

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const jobs = new Map<string, RunningJob>();
  const readBytes = options.readBytes ?? fetchBytes;

  async function run<K extends JobKind>(
    jobId: string,
    kind: K,
    params: JobKinds[K]['params'],
    prefer: BackendName | BackendName[] | undefined,
    job: RunningJob,
  ): Promise<void> {
    // The union of per-kind messages cannot be narrowed through K; each
    // message below is built for this job's kind.
    const post = (message: Record<string, unknown>, transfer?: Transferable[]) =>
      options.post({ ...message, jobId, kind } as unknown as FromWorker, transfer);
    try {
      if (!(kind in options.jobs)) throw new Error(`unknown job kind '${kind}'`);
      const backend = await options.startBackend(prefer, kind);
      post({ type: 'started', backend: backend.name, reason: backend.reason });
      const handler = (await options.jobs[kind]()) as JobHandler<K>;
      const context: JobContext<K> = {
        signal: job.controller.signal,
        progress: (progress) => post({ type: 'progress', progress }),
        partial: (partial, transfer) => post({ type: 'partial', partial }, transfer),
        onControl: (h) => void job.controlHandlers.push(h),
        readBytes,
      };
      const outcome = await handler(params, context);
      post(
        { type: 'done', result: outcome.result, cancelled: outcome.cancelled },
        outcome.transfer,
      );
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      post({ type: 'error', name: error.name, message: error.message });
    }
  }

  return {
    handle(message) {
      switch (message.type) {
        case 'start': {
          if (jobs.has(message.jobId)) {
            options.post({
              type: 'error',
              jobId: message.jobId,
              kind: message.kind,
              name: 'Error',
              message: `a job with id ${message.jobId} is already running`,
            });
            return;
          }
          const job: RunningJob = {
            controller: new AbortController(),
            controlHandlers: [],
            finished: Promise.resolve(),
          };
          jobs.set(message.jobId, job);
          job.finished = run(
            message.jobId,
            message.kind,
            message.params,
            message.backend,
            job,
          ).finally(() => void jobs.delete(message.jobId));
          return;
        }
        case 'cancel':
          jobs.get(message.jobId)?.controller.abort();
          return;
        case 'control':
          for (const h of jobs.get(message.jobId)?.controlHandlers ?? []) h(message.action);
          return;
      }
    },
    running: () => [...jobs.keys()],
    async idle() {
      await Promise.all([...jobs.values()].map((j) => j.finished));
    },
  };
}
