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
import EffectiveDepthBlock from '../depth/EffectiveDepthBlock.astro';
import GscFigure from '../depth/GscFigure.astro';
import ResponsesFigureBlock from '../depth/ResponsesFigureBlock.astro';
import LandscapeFigure from '../landscape/LandscapeFigure.astro';
import LesionFigure from '../paths/LesionFigure.astro';
import PathsFigure from '../paths/PathsFigure.astro';
import ChainFigure from '../signals/ChainFigure.astro';
import SignalsFigure from '../signals/SignalsFigure.astro';
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
  /**
   * The Astro component that draws it; the caption goes in its slot. A method signature, so that
   * a figure taking a prop of its own beside the id (given in `props`) fits too (parameters of
   * methods are compared both ways).
   */
  Figure(props: { id: string }): unknown;
  /** Props it takes beside its id (a settings table, say). */
  props?: Record<string, string>;
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
  {
    slug: 'signals-at-initialisation',
    title: 'Variances through the layers, at initialisation',
    article: 'why-gradients-vanish',
    figureId: 'signals',
    caption:
      'Per-layer variance of the pre-activations going forward and of the gradients going back ' +
      'through an MLP at initialisation, measured over seeded weight draws beside the variance recursion.',
    height: 1400,
    Figure: SignalsFigure,
    props: { table: 'vanish' },
  },
  {
    slug: 'one-neuron-chain',
    title: 'The one-neuron chain, sampled',
    article: 'why-gradients-vanish',
    figureId: 'chain',
    caption:
      'The ratio of successive gradients in a chain of one neuron per layer, sampled, against γ²/2.',
    height: 700,
    Figure: ChainFigure,
  },
  {
    slug: 'residual-scaling',
    title: 'Residual networks and the scale of their blocks',
    article: 'residual-scaling',
    figureId: 'residual',
    caption:
      'E[x_t²] through a residual MLP x_{t+1} = x_t + α W_t σ(x_t) at initialisation, measured beside ' +
      '(1 + α²γ²/2)^t: unscaled blocks explode, α = 1/√T keeps the growth bounded.',
    height: 1400,
    Figure: SignalsFigure,
    props: { table: 'residual' },
  },
  {
    slug: 'paths',
    title: 'Residual networks as ensembles of short paths',
    article: 'paths',
    figureId: 'paths',
    caption:
      'Path lengths of a residual network, the gradient magnitude per path length measured on our ' +
      'trained ResNet-56, and each length’s total contribution with the effective range shaded.',
    height: 1100,
    Figure: PathsFigure,
  },
  {
    slug: 'lesion',
    title: 'The lesion study with and without skips',
    article: 'paths',
    figureId: 'lesion',
    caption:
      'Test error of a trained ResNet-56 with and without skips when blocks are deleted or reordered at test time.',
    height: 1100,
    Figure: LesionFigure,
  },
  {
    slug: 'block-responses',
    title: 'It is not vanishing gradients',
    article: 'not-vanishing-gradients',
    figureId: 'responses',
    caption:
      'Per-block output std, gradient norm and response std of ResNet-56 with and without skips ' +
      '(both with BN), at any shipped epoch beside the initial state, and their summaries across training.',
    height: 1900,
    Figure: ResponsesFigureBlock,
  },
  {
    slug: 'gradient-scale',
    title: 'Deep networks are shallow',
    article: 'effective-depth',
    figureId: 'gsc',
    caption:
      'Philipp et al.’s gradient scale coefficient, pre-activation std and sign diversity per layer of ' +
      '50-layer MLPs at initialisation.',
    height: 1100,
    Figure: GscFigure,
  },
  {
    slug: 'effective-depth',
    title: 'Deep networks are shallow',
    article: 'effective-depth',
    figureId: 'taylor',
    caption:
      'Training error of a trained plain and residual MLP when their last layers are replaced by ' +
      'their first-order Taylor expansion.',
    height: 700,
    Figure: EffectiveDepthBlock,
  },
];

export { EMBED_HEIGHT_MESSAGE };

/**
 * The snippet's script, between its <script> tags: the same for every figure
 * (it depends only on the site's origin), so a course page whose own
 * Content-Security-Policy forbids inline scripts can allow exactly this one
 * by its hash (embedScriptHash).
 */
export function embedScript(site: string): string {
  const origin = new URL(site).origin;
  return [
    `addEventListener('message', (e) => {`,
    `  if (e.origin !== '${origin}' || e.data?.type !== '${EMBED_HEIGHT_MESSAGE}') return;`,
    `  for (const f of document.querySelectorAll('iframe')) if (f.contentWindow === e.source) f.style.height = e.data.height + 'px';`,
    `});`,
  ].join('\n');
}

/**
 * The HTML a course page pastes: the iframe, and a few lines that let it
 * take the height the figure reports (only messages from the site's origin,
 * only for the iframe that sent them).
 */
export function embedSnippet(figure: EmbeddableFigure, site: string): string {
  const src = new URL(`embed/${figure.slug}/`, site.endsWith('/') ? site : `${site}/`).href;
  return [
    `<iframe src="${src}" title="${figure.title} (Skipscape)" width="100%" height="${figure.height}" style="border:0" loading="lazy"></iframe>`,
    `<script>${embedScript(site)}</script>`,
  ].join('\n');
}
