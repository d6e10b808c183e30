/**
 * Axis ticks, shared by the SVG exports (contour view, training chart) and the figures' axes and
 * colour bars, so an export and the figure it came from label the same values.
 */

/**
 * Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `count` of them. The step
 * nearest (hi − lo) / count on a log scale, as d3's ticks choose it: the thresholds √2, √10 and
 * √50 lie halfway between 1, 2, 5 and 10.
 */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo) || count < 1) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const error = raw / power;
  const step =
    power *
    (error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.SQRT2 ? 2 : 1);
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    // Rounding through toPrecision keeps 0.1 × 3 from printing as 0.30000000000000004.
    ticks.push(Number((k * step).toPrecision(12)));
  }
  // The step is at most about 1.6 × (hi − lo) / count, so from two ticks asked for on, one lies
  // in the range; a single one asked for may miss it.
  return ticks.length > 0 ? ticks : niceTicks(lo, hi, 2 * count);
}

/**
 * Ticks of a log10 axis over [lo, hi] (both > 0): 1, 2 and 5 times each power of ten when at
 * most `max` of those fall in the range, else the powers of ten alone. Every tick is meant to be
 * labelled, so a short range still shows values near both of its ends.
 */
export function logTicks(lo: number, hi: number, max = 7): number[] {
  if (!(lo > 0) || !(hi >= lo)) return [];
  const within = (mantissas: readonly number[]): number[] => {
    const ticks: number[] = [];
    for (let d = Math.floor(Math.log10(lo)); d <= Math.ceil(Math.log10(hi)); d++) {
      for (const m of mantissas) {
        const t = Number((m * 10 ** d).toPrecision(12));
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t);
      }
    }
    return ticks;
  };
  const fine = within([1, 2, 5]);
  if (fine.length <= max) return fine;
  const decades = within([1]);
  if (decades.length <= max) return decades;
  // Wider than `max` decades (a gradient over 20 of them): every step-th power of ten, the
  // exponents multiples of step, so the labels stay apart and round.
  const step = Math.ceil(decades.length / max);
  return decades.filter((t) => Math.round(Math.log10(t)) % step === 0);
}
