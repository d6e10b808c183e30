/**
 * The axes of a surface's grid: how `--grid min:max:steps` becomes the values
 * α (and β) are evaluated at, and the one check every grid passes, whether it
 * comes from a flag, a URL or a file that is read back. A grid that is
 * written must be one that can be read: values finite and strictly
 * increasing, and at most {@link MAX_GRID_POINTS} points. No tfjs here: the
 * explorer's main thread uses it to check uploaded surfaces.
 */

/** One axis of a grid: `steps` evenly spaced values from min to max inclusive. */
export interface GridAxis {
  min: number;
  max: number;
  steps: number;
}

/**
 * The most points a grid may have: 1001 × 1001. The largest shipped surface is
 * 51 × 51; a million points is a surface file of about 20 MB and days of
 * ResNet-56 evaluation, and the limit keeps a typo (`-1:1:1e9`) from
 * allocating gigabytes before anything else is checked.
 */
export const MAX_GRID_POINTS = 1001 * 1001;

/** Values are rounded to this many significant digits, so grids compare exactly. */
const DIGITS = 12;

/** The values of an axis, computed the same way everywhere so grids compare exactly. */
export function axisValues(axis: GridAxis): number[] {
  if (!Number.isInteger(axis.steps) || axis.steps < 1 || axis.steps > MAX_GRID_POINTS)
    throw new Error(`grid: ${axis.steps} steps (1…${MAX_GRID_POINTS})`);
  if (axis.steps === 1) return [axis.min];
  const out: number[] = [];
  for (let i = 0; i < axis.steps; i++) {
    // Rounded to 12 significant digits so -1 + 2·25/50 prints as 0, not 1e-17.
    // min + (max − min)·t overflows for |min|, |max| near 1.8e308; the check below says so.
    out.push(
      Number((axis.min + ((axis.max - axis.min) * i) / (axis.steps - 1)).toPrecision(DIGITS)),
    );
  }
  return out;
}

/**
 * Throw an Error naming what is wrong unless `xs` and `ys` make a readable
 * grid: neither empty, every value finite, each strictly increasing, and
 * xs × ys at most {@link MAX_GRID_POINTS}. `source` starts the message.
 */
export function checkGridAxes(options: {
  xs: readonly unknown[];
  ys: readonly unknown[];
  source: string;
  /** A lower cap than {@link MAX_GRID_POINTS} (the explorer's, for uploads), with the reason. */
  limit?: { points: number; why: string };
}): void {
  const { xs, ys, source } = options;
  const points = xs.length * ys.length;
  const limit = options.limit ?? {
    points: MAX_GRID_POINTS,
    why: '(1001 × 1001) a grid may have',
  };
  if (points > limit.points) {
    throw new Error(
      `${source}: ${xs.length} × ${ys.length} = ${points.toLocaleString('en')} points, more than the ${limit.points.toLocaleString('en')} ${limit.why}`,
    );
  }
  for (const [name, values] of [
    ['xs', xs],
    ['ys', ys],
  ] as const) {
    if (values.length === 0) throw new Error(`${source}: ${name} is empty`);
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new Error(`${source}: ${name}[${k}] is ${String(v)}, not a finite number`);
      if (k > 0 && !(v > (values[k - 1] as number))) {
        throw new Error(
          `${source}: ${name} is not strictly increasing at index ${k} (${String(values[k - 1])}, ${v}; values are kept to ${DIGITS} significant digits)`,
        );
      }
    }
  }
}

/**
 * Parse `min:max:steps` or `min:max:steps,min:max:steps` (x then y), the
 * command line's and the URL's grid syntax, and check the grid it makes
 * exactly as a surface file is checked when read (see {@link checkGridAxes}).
 */
export function parseGrid(spec: string): { x: GridAxis; y: GridAxis | null } {
  const parts = spec.split(',');
  if (parts.length < 1 || parts.length > 2)
    throw new Error(`grid "${spec}": expected min:max:steps[,min:max:steps]`);
  const axes = parts.map((p) => {
    const f = p.split(':');
    const [min, max, steps] = f.map((s) => (s.trim() === '' ? Number.NaN : Number(s.trim())));
    if (
      f.length !== 3 ||
      !Number.isFinite(min) ||
      !Number.isFinite(max) ||
      !Number.isFinite(steps)
    ) {
      throw new Error(`grid "${spec}": "${p}" is not min:max:steps`);
    }
    if (!Number.isInteger(steps) || steps! < 1)
      throw new Error(`grid "${spec}": steps must be a positive integer`);
    if (steps! > 1 && !(max! > min!)) throw new Error(`grid "${spec}": max must be above min`);
    return { min: min!, max: max!, steps: steps! };
  });
  const x = axes[0]!;
  const y = axes[1] ?? null;
  const points = x.steps * (y?.steps ?? 1);
  if (points > MAX_GRID_POINTS) {
    throw new Error(
      `grid "${spec}": ${points.toLocaleString('en')} points, more than the ${MAX_GRID_POINTS.toLocaleString('en')} (1001 × 1001) a grid may have`,
    );
  }
  checkGridAxes({
    xs: axisValues(x),
    ys: y === null ? [0] : axisValues(y),
    source: `grid "${spec}"`,
  });
  return { x, y };
}
