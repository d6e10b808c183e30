/**
 * The "Run live" state machine, apart from any UI or worker: events from the
 * reader (start, cancel) and from the compute job (backend chosen, progress,
 * done, error) move it between phases. Events that do not apply to the
 * current phase (a progress message arriving after Cancel) are ignored, so
 * the UI never shows a finished run as running.
 *
 *   idle ──start──▶ starting ──backend──▶ running ──progress──▶ running
 *     ▲                 │                    │  │
 *     │                 └──────cancel────────┤  └──done──▶ done
 *     │                                      ▼
 *     └──────reset────── cancelled (partial points kept) / error / done
 */

export type LivePhase =
  | { phase: 'idle' }
  | { phase: 'starting' }
  | { phase: 'running'; done: number; total: number; backend: string; seconds: number }
  | { phase: 'done'; done: number; total: number; backend: string; seconds: number }
  | { phase: 'cancelled'; done: number; total: number; backend: string | null }
  | { phase: 'error'; message: string; done: number; total: number };

export type LiveEvent =
  | { type: 'start' }
  | { type: 'backend'; backend: string }
  | { type: 'progress'; done: number; total: number; seconds: number }
  | { type: 'done'; seconds: number }
  | { type: 'cancel' }
  | { type: 'error'; message: string }
  | { type: 'reset' };

/** Whether a job is under way (Cancel applies). */
export function isActive(state: LivePhase): boolean {
  return state.phase === 'starting' || state.phase === 'running';
}

export function liveReducer(state: LivePhase, event: LiveEvent): LivePhase {
  const progress =
    state.phase === 'running' ? { done: state.done, total: state.total } : { done: 0, total: 0 };
  switch (event.type) {
    case 'start':
      return isActive(state) ? state : { phase: 'starting' };
    case 'backend':
      return state.phase === 'starting'
        ? { phase: 'running', done: 0, total: 0, backend: event.backend, seconds: 0 }
        : state;
    case 'progress':
      return state.phase === 'running'
        ? { ...state, done: event.done, total: event.total, seconds: event.seconds }
        : state;
    case 'done':
      return state.phase === 'running'
        ? {
            phase: 'done',
            done: state.total,
            total: state.total,
            backend: state.backend,
            seconds: event.seconds,
          }
        : state;
    case 'cancel':
      return isActive(state)
        ? {
            phase: 'cancelled',
            ...progress,
            backend: state.phase === 'running' ? state.backend : null,
          }
        : state;
    case 'error':
      return isActive(state) ? { phase: 'error', message: event.message, ...progress } : state;
    case 'reset':
      return isActive(state) ? state : { phase: 'idle' };
  }
}

/** Points per second of a running or finished job, null before the first point. */
export function pointsPerSecond(state: LivePhase): number | null {
  if (
    (state.phase === 'running' || state.phase === 'done') &&
    state.seconds > 0 &&
    state.done > 0
  ) {
    return state.done / state.seconds;
  }
  return null;
}

/**
 * Forward-pass images per second of one WebAssembly worker, measured in
 * Chromium on one core of a 2-core AMD EPYC (bench/README.md, session 7:
 * ResNet-20, 121 points × 256 images in a median 19.1 s a panel on two
 * warmed workers, 811 a worker); ResNet-56 from ResNet-20 by their
 * multiply-adds (192.1 / 62.0 MFLOP an image). Other networks and backends
 * have no reference.
 */
export const WASM_IMAGES_PER_SECOND: Readonly<Record<string, number>> = {
  resnet20: 800,
  resnet56: 260,
};

/**
 * Seconds a live run should take on WebAssembly: every point of every panel
 * is a forward pass over `subset` images, split over `lanes` workers; null
 * when the network has no reference speed.
 */
export function estimateLiveSeconds(options: {
  model: string;
  panels: number;
  grid: number;
  subset: number;
  lanes: number;
}): number | null {
  const rate = WASM_IMAGES_PER_SECOND[options.model];
  if (rate === undefined) return null;
  const images = options.panels * options.grid * options.grid * options.subset;
  return images / (rate * Math.max(1, options.lanes));
}

/** A menu's values with the current one among them, in order (a value from the URL may be any in range). */
export function withCurrent(values: readonly number[], current: number): number[] {
  return [...new Set([...values, current])].sort((a, b) => a - b);
}
