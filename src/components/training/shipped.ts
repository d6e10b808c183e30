/**
 * The shipped runs of the training figure, apart from the UI: which history
 * file belongs to which network, and how a loaded run is described in words.
 */
import type { ShippedRun } from './history';

/** A shipped history, as the page's build found it in public/artifacts/manifest.json. */
export interface ShippedHistory {
  model: string;
  skip: boolean;
  /** Relative to the site's base URL. */
  path: string;
  sha256: string;
}

/** A shipped run as the figure holds it while it loads. */
export type Loaded =
  | { status: 'loading' }
  | { status: 'ready'; run: ShippedRun; verified: boolean }
  | { status: 'error'; message: string }
  | { status: 'absent' };

/** How a shipped run was made, for its provenance line. */
export function describeShipped(run: ShippedRun): string {
  const d = run.description;
  const bits = [
    `${d.epochs} epoch${d.epochs === 1 ? '' : 's'}`,
    d.trainImages !== null
      ? `${d.trainImages.toLocaleString('en-US')} ${d.dataset} images`
      : d.dataset,
    d.lr !== null ? `lr ${d.lr}${d.schedule ? ` (${d.schedule})` : ''}` : null,
    d.batchSize !== null ? `batch ${d.batchSize}` : null,
    d.seed !== null ? `seed ${d.seed}` : null,
    `trained on ${d.backend}`,
  ];
  return bits.filter((b) => b !== null).join(', ');
}

/** "Shipped runs, final test accuracy: 86.0 % with skips, 80.1 % without skips.", once both are in. */
export function finalAccuracyText(
  runs: Partial<Record<'skip' | 'noskip', ShippedRun>>,
): string | null {
  const parts = (['skip', 'noskip'] as const).flatMap((run) => {
    const last = runs[run]?.epochs.at(-1);
    return last && last.testAccuracy !== null
      ? [`${(100 * last.testAccuracy).toFixed(1)} % ${run === 'skip' ? 'with' : 'without'} skips`]
      : [];
  });
  return parts.length === 2 ? `Shipped runs, final test accuracy: ${parts.join(', ')}.` : null;
}
