// @ts-check
// The link-to-this-section control shared by headings written in MDX (added at
// build time by rehype-autolink-headings, see astro.config.mjs) and headings
// written in layouts (SectionHeading.astro), so both look and read the same.

/** SVG path of the chain-link icon, drawn in a 16×16 box. */
export const headingLinkIconPath =
  'M7.8 4.2 9.5 2.5a3.2 3.2 0 0 1 4.5 4.5l-2.3 2.3a3.2 3.2 0 0 1-4.5 0l-.4-.4 1.1-1.1.4.4a1.6 1.6 0 0 0 2.3 0L12.9 6a1.6 1.6 0 0 0-2.3-2.3L8.9 5.3zM8.2 11.8 6.5 13.5A3.2 3.2 0 0 1 2 9l2.3-2.3a3.2 3.2 0 0 1 4.5 0l.4.4-1.1 1.1-.4-.4a1.6 1.6 0 0 0-2.3 0L3.1 10a1.6 1.6 0 0 0 2.3 2.3l1.7-1.6z';

/**
 * Accessible name of the control: the icon carries no text, so this is what a
 * screen reader announces.
 * @param {string} headingText
 */
export function headingLinkLabel(headingText) {
  return `Link to section: ${headingText.trim()}`;
}
