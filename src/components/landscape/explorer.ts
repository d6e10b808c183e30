/**
 * The loss-landscape explorer's state, as plain functions of it: which
 * panels it shows, their shared colour scale, the linked cursor's readout in
 * each panel, and the words that describe them. LandscapeExplorer.svelte
 * holds the state; its parts (controls, charts, run control) read it through
 * these, and tests call them directly.
 */
import { finiteRange, formatNumber, type LossScale } from '../../compute/landscape/contours';
import type { Surface } from '../../compute/landscape/surface';
import { MODEL_LABELS, type LandscapeState } from './settings';

/** The grid point under a cursor, with its values. */
export interface Readout {
  alpha: number;
  beta: number;
  /** null where the point diverged or is not computed. */
  loss: number | null;
  accuracy: number | null;
  computed: boolean;
}

/** Index of the axis value nearest v. */
export function nearestIndex(values: readonly number[], v: number): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) {
    if (Math.abs((values[k] as number) - v) < Math.abs((values[best] as number) - v)) best = k;
  }
  return best;
}

/** A surface as it loads: fetched and checked, failed, or not shipped at all. */
export type Loaded =
  | { status: 'loading' }
  | { status: 'ready'; surface: Surface; verified: boolean; source: string }
  | { status: 'error'; message: string }
  | { status: 'absent' };

/** One of the two side-by-side panels. */
export interface Panel {
  skip: boolean;
  /** keyOf(model, skip): where its surface is kept. */
  key: string;
  title: string;
  state: Loaded;
  /** What is drawn: the surface, or its finest complete sub-grid while a run is part-way. */
  shown: Surface | null;
}

/** The linked cursor: a point of the plane, marked and read out in both panels. */
export interface Cursor {
  alpha: number;
  beta: number;
}

/** With skips on the left, without on the right. */
export const SKIPS = [true, false] as const;

export const keyOf = (model: string, skip: boolean): string =>
  `${model}:${skip ? 'skip' : 'noskip'}`;

/** "ResNet-56, with skips": the model a panel shows (a reader's own file may hold another). */
export function panelTitle(skip: boolean, model: string): string {
  return `${MODEL_LABELS[model as LandscapeState['model']] ?? model}, ${skip ? 'with' : 'without'} skips`;
}

/** One colour scale for both panels: the reader's range, or every finite loss shown. */
export function colourScale(
  shown: readonly Surface[],
  settings: Pick<LandscapeState, 'cmin' | 'cmax' | 'log'>,
): LossScale {
  const range = finiteRange(shown.map((s) => s.loss));
  let lo = settings.cmin > 0 ? settings.cmin : (range?.min ?? 0.1);
  let hi = settings.cmax > 0 ? settings.cmax : (range?.max ?? 10);
  if (settings.log) lo = Math.max(lo, 1e-6);
  if (!(hi > lo)) hi = lo * 10;
  return { log: settings.log, lo, hi };
}

/** An automatic colour bound as the placeholder of its empty field: 0.339, 8670, 4.7e6. */
export function autoBound(v: number): string {
  return v >= 1e5 ? v.toExponential(1).replace('e+', 'e') : String(Number(v.toPrecision(3)));
}

/** The grid point of `surface` nearest the cursor, with its values. */
export function readoutAt(surface: Surface, cursor: Cursor): Readout {
  const i = nearestIndex(surface.xs, cursor.alpha);
  const j = nearestIndex(surface.ys, cursor.beta);
  const k = j * surface.xs.length + i;
  return {
    alpha: surface.xs[i] as number,
    beta: surface.ys[j] as number,
    loss: surface.loss[k] ?? null,
    accuracy: surface.accuracy[k] ?? null,
    computed: surface.mask[k] === 1,
  };
}

export function formatReadout(r: Readout | null | undefined): string {
  if (!r) return 'Point at the surface or use the arrow keys.';
  const at = `α ${r.alpha.toFixed(2)}, β ${r.beta.toFixed(2)}`;
  if (!r.computed) return `${at}: not computed yet`;
  if (r.loss === null) return `${at}: diverged (loss not finite)`;
  const acc = r.accuracy === null ? '' : `, accuracy ${(100 * r.accuracy).toFixed(1)} %`;
  return `${at}: loss ${formatNumber(r.loss)}${acc}`;
}

/** Where a surface came from, in one line under its panel. */
export function describeSurface(s: Surface): string {
  const m = s.meta;
  const grid = s.ys.length > 1 ? `${s.xs.length}×${s.ys.length}` : `${s.xs.length}`;
  const done = s.mask.reduce<number>((n, b) => n + b, 0);
  const partial = done < s.mask.length ? `, ${done} of ${s.mask.length} points computed` : '';
  const xRange = `[${s.xs[0]}, ${s.xs[s.xs.length - 1]}]`;
  const yRange = `[${s.ys[0]}, ${s.ys[s.ys.length - 1]}]`;
  const plane = s.ys.length === 1 || xRange === yRange ? `${xRange}²` : `${xRange} × ${yRange}`;
  if (m.subset === 0) {
    // A file of Li et al.'s code (skipscape import): no subset, seed or timing to report.
    return `${grid} grid on ${plane}, ${m.split} split, ${m.normalization} normalisation, ${m.backend}${partial}`;
  }
  return `${grid} grid on ${plane}, ${m.subset} ${m.split} images, ${m.normalization} normalisation, seed ${m.seed}, ${m.backend}, ${m.seconds.toFixed(0)} s${partial}`;
}

/**
 * Two panels drawn from different computations (a live run cancelled after
 * its first panel, or a reader's own file beside a shipped one) cannot be
 * compared point for point: how they differ, or null when they do not.
 */
export function panelsMismatch(panels: readonly Panel[]): string | null {
  const [a, b] = panels;
  if (!a?.shown || !b?.shown || a.state.status !== 'ready' || b.state.status !== 'ready')
    return null;
  const shape = (p: Panel): string => {
    const s = p.shown as Surface;
    const ready = p.state.status === 'ready' ? p.state : null;
    return `${s.xs.length}×${s.ys.length} on [${s.xs[0]}, ${s.xs.at(-1)}]², ${ready?.surface.meta.subset ?? '?'} images${ready?.source === 'live' ? ', computed live' : ''}`;
  };
  const [sa, sb] = [shape(a), shape(b)];
  return sa === sb
    ? null
    : `The two panels come from different computations: ${a.title} is ${sa}; ${b.title} is ${sb}. Compare their shapes, not their values point for point.`;
}
