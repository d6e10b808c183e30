/**
 * The one colour of each network, everywhere on the site: every figure that
 * draws a network with and without its skip connections takes its colours
 * from here (training curves, the loss landscape's 1-D view, exports), so a
 * reader who learns "red is with skips" in one figure can trust it in all.
 *
 * Red with skips and blue without, as in Kak and Bouman's lecture. Both keep
 * a contrast of more than 4:1 against the light page (#ffffff) and the dark
 * one (#15171a), so lines need no fading to sit well in either theme; red
 * and blue also stay apart for the common red–green colour deficiencies.
 *
 * Shipped results are drawn solid at full strength; live runs in the same
 * colour, told apart by line style (LIVE_DASH).
 */

/** A network with or without its skip connections. */
export type NetworkVariant = 'skip' | 'noskip';

export const NETWORK_COLOURS: Readonly<Record<NetworkVariant, string>> = {
  skip: '#e0452f',
  noskip: '#3a7bdb',
};

/** What each colour stands for, in words a legend can use. */
export const NETWORK_LABELS: Readonly<Record<NetworkVariant, string>> = {
  skip: 'With skips',
  noskip: 'Without skips',
};

/** The dash pattern of live runs' lines (SVG stroke-dasharray). */
export const LIVE_DASH = '7 4';

/** The colour of a network given whether it has its skips. */
export function networkColour(skip: boolean): string {
  return NETWORK_COLOURS[skip ? 'skip' : 'noskip'];
}
