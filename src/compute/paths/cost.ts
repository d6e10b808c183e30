/**
 * What a lesion study costs, in block evaluations per test image, before it
 * runs: the figure's estimate of a live run, and the default counts of the
 * study (kept here, free of tfjs, so a page can import them without loading
 * it). A lesion that first changes block f runs blocks f … n − 1 (n − f), and
 * the intact network's prefix up to f is shared (see lesionStudy).
 */

/**
 * Every k up to 6, where the residual network's error starts to climb, then
 * about eight steps to n (all blocks deleted): n = 27 gives 1–6, 10, 14, 18,
 * 22, 26, 27.
 */
export function defaultDeleteCounts(n: number): number[] {
  const counts: number[] = [];
  const step = Math.max(1, Math.ceil(n / 8));
  for (let k = 1; k <= n; k = k < 6 ? k + 1 : k + step) counts.push(k);
  if (counts[counts.length - 1] !== n) counts.push(n);
  return counts;
}

/** 1, 2, 4, … swaps up to twice the blocks: from one transposition to a shuffled stage. */
export function defaultSwapCounts(n: number): number[] {
  const counts: number[] = [];
  for (let s = 1; s <= 2 * n; s *= 2) counts.push(s);
  return counts;
}

/**
 * E[min] of m distinct numbers drawn uniformly from 0 … n − 1: (n − m)/(m + 1)
 * (the gaps of a uniform draw are exchangeable, n − m numbers spread over m + 1
 * gaps).
 */
function expectedMinimum(n: number, m: number): number {
  return m >= n ? 0 : (n - m) / (m + 1);
}

/**
 * Expected block evaluations per image of a study of n blocks on one thread:
 * the intact network for the baseline (n), n − f for the single deletion of
 * block f (n(n + 1)/2 in all), n − E[first of k random blocks] for a draw of k
 * deletions, and for s swaps n − E[first of the 2s blocks moved] (the swaps
 * are within stages, which this treats as uniform over the network: an
 * estimate). The intact prefix adds about n once.
 */
export function lesionStudyCost(options: {
  n: number;
  draws: number;
  kinds: readonly ('baseline' | 'deleteOne' | 'deleteK' | 'reorder')[];
}): number {
  const { n, draws } = options;
  const kinds = new Set(options.kinds);
  let cost = n;
  if (kinds.has('baseline')) cost += n;
  if (kinds.has('deleteOne')) cost += (n * (n + 1)) / 2;
  if (kinds.has('deleteK')) {
    for (const k of defaultDeleteCounts(n)) cost += draws * (n - expectedMinimum(n, k));
  }
  if (kinds.has('reorder')) {
    for (const s of defaultSwapCounts(n)) {
      cost += draws * (n - expectedMinimum(n, Math.min(n, 2 * s)));
    }
  }
  return cost;
}
