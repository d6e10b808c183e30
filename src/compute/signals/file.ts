/**
 * The JSON file of a signal run, as `skipscape signals --out` writes it and
 * the figures load it from public/artifacts/signals/: the statistics, the
 * one-neuron chain when sampled, and how they were made.
 */
import type { ChainResult } from './chain';
import type { SignalStatistics } from './statistics';

export interface SignalsFile {
  kind: 'signals';
  version: 1;
  meta: {
    /** The command line that made it. */
    command: string;
    backend: string;
    createdAt: string;
    skipscapeVersion: string;
  };
  statistics: SignalStatistics;
  chain: ChainResult | null;
}

/** Parse and check a signals file; throws with `source` and the reason. */
export function parseSignalsFile(text: string, source: string): SignalsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`, { cause: e });
  }
  const f = json as Partial<SignalsFile>;
  if (f.kind !== 'signals' || f.version !== 1)
    throw new Error(
      `${source}: not a signals file (kind ${String(f.kind)}, version ${String(f.version)})`,
    );
  const s = f.statistics;
  if (
    !s ||
    !Array.isArray(s.t) ||
    !Array.isArray(s.forwardVariance) ||
    s.t.length !== s.forwardVariance.length
  )
    throw new Error(`${source}: its statistics have no per-layer arrays of matching length`);
  return f as SignalsFile;
}
