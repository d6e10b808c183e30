/**
 * Lanes: compute workers that each run one job at a time, spoken to with the
 * job protocol (protocol.ts) over a message channel. The command line's
 * worker threads are lanes (src/cli/job-threads.ts), and so are job runners
 * served on this thread over MessageChannels in the tests; pooled.ts deals a
 * run's independent pieces out to them.
 */
import type { Channel } from '../train/parallel';
import type { FromWorker, JobKind, JobKinds, ToWorker } from './protocol';

export interface LaneHandlers<K extends JobKind> {
  /** Cancels the job: it stops at its next step and ends with what it finished. */
  signal?: AbortSignal;
  onProgress?: (progress: JobKinds[K]['progress']) => void;
  onPartial?: (partial: JobKinds[K]['partial']) => void;
}

export interface LaneOutcome<K extends JobKind> {
  result: JobKinds[K]['result'];
  cancelled: boolean;
}

export interface JobLanes {
  /** How many jobs can run at once, one per lane. */
  readonly lanes: number;
  /** Run a job on lane `lane` (0 … lanes − 1); rejects with the job's error, or the lane's. */
  run<K extends JobKind>(
    lane: number,
    kind: K,
    params: JobKinds[K]['params'],
    handlers?: LaneHandlers<K>,
  ): Promise<LaneOutcome<K>>;
}

interface Pending {
  kind: JobKind;
  handlers: LaneHandlers<JobKind>;
  resolve(outcome: LaneOutcome<JobKind>): void;
  reject(error: Error): void;
  release(): void;
}

/**
 * Lanes over channels to job runners (createJobRunner), one lane each. `fail`
 * rejects every job running and every later one (a worker thread that died).
 */
export function channelLanes(
  channels: readonly Channel<FromWorker, ToWorker>[],
): JobLanes & { fail(error: Error): void } {
  const pending = new Map<string, Pending>();
  let failure: Error | null = null;
  let next = 0;
  channels.forEach((channel) =>
    channel.onMessage((message) => {
      const job = pending.get(message.jobId);
      if (!job) return;
      switch (message.type) {
        case 'started':
          return;
        case 'progress':
          job.handlers.onProgress?.(message.progress);
          return;
        case 'partial':
          job.handlers.onPartial?.(message.partial);
          return;
        case 'done':
          pending.delete(message.jobId);
          job.release();
          job.resolve({ result: message.result, cancelled: message.cancelled });
          return;
        case 'error': {
          pending.delete(message.jobId);
          job.release();
          const error = new Error(message.message);
          error.name = message.name;
          job.reject(error);
          return;
        }
      }
    }),
  );
  return {
    lanes: channels.length,
    run(lane, kind, params, handlers = {}) {
      const channel = channels[lane];
      if (!channel) throw new RangeError(`lane ${lane} of ${channels.length}`);
      if (failure) return Promise.reject(failure);
      const jobId = `lane${lane}-${next++}`;
      return new Promise((resolve, reject) => {
        const { signal } = handlers;
        const cancel = () => channel.send({ type: 'cancel', jobId });
        signal?.addEventListener('abort', cancel, { once: true });
        pending.set(jobId, {
          kind,
          handlers: handlers as LaneHandlers<JobKind>,
          resolve: resolve as (outcome: LaneOutcome<JobKind>) => void,
          reject,
          release: () => signal?.removeEventListener('abort', cancel),
        });
        // The start message of one kind; the union cannot be narrowed through K.
        channel.send({ type: 'start', jobId, kind, params } as ToWorker);
        // Cancelled before it started: it still runs to its first step and ends with `done`.
        if (signal?.aborted) cancel();
      });
    },
    fail(error) {
      failure ??= error;
      for (const [id, job] of pending) {
        pending.delete(id);
        job.release();
        job.reject(error);
      }
    },
  };
}
