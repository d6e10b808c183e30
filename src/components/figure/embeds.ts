/**
 * Every figure that can be embedded in another page, one entry each: the
 * embed pages (/embed/<slug>/), the list of embeds with their snippets
 * (/embeds/) and the height messages all come from here. To make a figure
 * embeddable, add one entry.
 *
 * An embed reports its height to the page around it, so an iframe can fit
 * the figure instead of cutting it off or leaving a gap:
 *
 *   embed ──postMessage({ type: EMBED_HEIGHT_MESSAGE, slug, height })──▶ parent
 *
 * (sent on load and whenever the figure's height changes; the listener in
 * embedSnippet() sets the matching iframe's height).
 */
import LandscapeFigure from '../landscape/LandscapeFigure.astro';
import { EMBED_HEIGHT_MESSAGE } from './embeds-message';
import TrainingFigure from '../training/TrainingFigure.astro';

export interface EmbeddableFigure {
  /** The embed's URL: /embed/<slug>/. */
  slug: string;
  title: string;
  /** The article it comes from (its slug under /articles/). */
  article: string;
  /** The figure's id: its anchor on the article and the prefix of its URL settings. */
  figureId: string;
  /** What the figure shows, as its caption in the embed. */
  caption: string;
  /** A height to start the iframe at, in CSS pixels, before the figure reports its own. */
  height: number;
  /** The Astro component that draws it; the caption goes in its slot. */
  Figure: (props: { id: string }) => unknown;
}

export const EMBEDDABLE_FIGURES: readonly EmbeddableFigure[] = [
  {
    slug: 'loss-landscape',
    title: 'The loss landscape with and without skips',
    article: 'loss-landscapes',
    figureId: 'landscape',
    caption:
      'The training loss f(α, β) around a trained network’s weights θ*, with skip connections and ' +
      'without, over two filter-normalised random directions; both panels share one colour scale.',
    height: 900,
    Figure: LandscapeFigure,
  },
  {
    slug: 'training-comparison',
    title: 'Skip connections in action',
    article: 'skip-connections-in-action',
    figureId: 'training',
    caption: '',
    height: 1000,
    Figure: TrainingFigure,
  },
];

export { EMBED_HEIGHT_MESSAGE };

/**
 * The HTML a course page pastes: the iframe, and a few lines that let it
 * take the height the figure reports (only messages from the site's origin,
 * only for the iframe that sent them).
 */
export function embedSnippet(figure: EmbeddableFigure, site: string): string {
  const origin = new URL(site).origin;
  const src = new URL(`embed/${figure.slug}/`, site.endsWith('/') ? site : `${site}/`).href;
  return [
    `<iframe src="${src}" title="${figure.title} (Skipscape)" width="100%" height="${figure.height}" style="border:0" loading="lazy"></iframe>`,
    `<script>addEventListener('message', (e) => {`,
    `  if (e.origin !== '${origin}' || e.data?.type !== '${EMBED_HEIGHT_MESSAGE}') return;`,
    `  for (const f of document.querySelectorAll('iframe')) if (f.contentWindow === e.source) f.style.height = e.data.height + 'px';`,
    `});</script>`,
  ].join('\n');
}
