/**
 * Numbers about a network, read from our own model builder at build time
 * (Astro frontmatter only: this module imports tfjs through
 * src/compute/models, so no island may import it). The article's table and
 * every parameter count quoted in its prose come from here, so the text
 * cannot drift from the network that trains.
 */
import { countParams, createModel, parseModelName, summaryTotal } from '../../compute/models';
import type { SummaryRow } from '../../compute/models';

export interface NetworkFacts {
  /** The model name as the command line and URLs write it, e.g. 'bmenet32'. */
  model: string;
  /** [channels, height, width]. */
  input: [number, number, number];
  /** torchsummary's rows, in forward order. */
  rows: SummaryRow[];
  /** The sum of the rows: torchsummary's "Total params". */
  printed: number;
  /** Each trainable tensor counted once, however often it runs. */
  distinct: number;
  /** printed − distinct: parameters of modules that run more than once, counted again. */
  repeated: number;
}

/** '3x32x32' → [3, 32, 32]. */
export function parseInputShape(text: string): [number, number, number] {
  const parts = text.split('x').map(Number);
  if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`input shape '${text}' is not CxHxW, e.g. 3x32x32`);
  }
  return parts as [number, number, number];
}

const cache = new Map<string, NetworkFacts>();

export function networkFacts(options: { model: string; input: string }): NetworkFacts {
  const key = `${options.model}@${options.input}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const input = parseInputShape(options.input);
  const model = createModel(parseModelName(options.model, { inputShape: input }));
  const rows = model.summary();
  const printed = summaryTotal(rows);
  const distinct = countParams(model);
  const facts: NetworkFacts = {
    model: options.model,
    input,
    rows,
    printed,
    distinct,
    repeated: printed - distinct,
  };
  cache.set(key, facts);
  return facts;
}

/** A count as the lecture prints it: 5,578,498. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** PyTorch's shape text with the batch as -1: [-1, 64, 16, 16]. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
