// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import svelte from '@astrojs/svelte';
import { rehypeHeadingIds, unified } from '@astrojs/markdown-remark';
import remarkMath from 'remark-math';
import rehypeKatex from 'rehype-katex';
import rehypeAutolinkHeadings from 'rehype-autolink-headings';
import { toText } from 'hast-util-to-text';
import { SKIP, visit } from 'unist-util-visit';
import { headingLinkIconPath, headingLinkLabel } from './src/components/site/heading-link.mjs';
import { siteUrl } from './src/components/site/site-url.mjs';

/**
 * The link-to-this-section control appended to every heading. Its only
 * children are elements (an SVG icon, no text nodes), so the heading text that
 * Astro collects for the table of contents stays the heading's own words.
 * @type {import('hast').Element}
 */
const linkIcon = {
  type: 'element',
  tagName: 'svg',
  properties: {
    ariaHidden: 'true',
    focusable: 'false',
    viewBox: '0 0 16 16',
    width: '16',
    height: '16',
  },
  children: [
    {
      type: 'element',
      tagName: 'path',
      properties: {
        fill: 'currentColor',
        d: headingLinkIconPath,
      },
      children: [],
    },
  ],
};

/**
 * Display maths scroll sideways inside their own box on narrow screens (see
 * global.css). A box that scrolls must be reachable by keyboard, so each one
 * gets tabindex="0".
 * @returns {(tree: import('hast').Root) => void}
 */
function rehypeScrollableDisplayMath() {
  return (tree) => {
    visit(tree, 'element', (node) => {
      const className = node.properties.className;
      if (Array.isArray(className) && className.includes('katex-display')) {
        node.properties.tabIndex = 0;
      }
    });
  };
}

/** @param {import('hast').Element} node @param {string} name */
function hasClass(node, name) {
  const className = node.properties.className;
  return Array.isArray(className) && className.includes(name);
}

/**
 * Keep inline maths together with the punctuation that hugs it, so a line
 * never starts with the comma after an equation or ends with the bracket
 * before one: KaTeX's boxes otherwise leave a break opportunity there.
 * @returns {(tree: import('hast').Root) => void}
 */
function rehypeMathNoWrapPunctuation() {
  return (tree) => {
    visit(tree, 'element', (node, index, parent) => {
      if (!parent || index === undefined || !hasClass(node, 'katex')) return;
      if (parent.type === 'element' && hasClass(parent, 'katex-display')) return SKIP;
      const before = parent.children[index - 1];
      const after = parent.children[index + 1];
      const opening = before?.type === 'text' ? /[([“‘]+$/.exec(before.value)?.[0] : undefined;
      const closing = after?.type === 'text' ? /^[.,;:!?)\]”’]+/.exec(after.value)?.[0] : undefined;
      if (!opening && !closing) return SKIP;
      /** @type {import('hast').ElementContent[]} */
      const children = [node];
      if (opening && before?.type === 'text') {
        before.value = before.value.slice(0, -opening.length);
        children.unshift({ type: 'text', value: opening });
      }
      if (closing && after?.type === 'text') {
        after.value = after.value.slice(closing.length);
        children.push({ type: 'text', value: closing });
      }
      parent.children[index] = {
        type: 'element',
        tagName: 'span',
        properties: { className: ['math-nowrap'] },
        children,
      };
      return [SKIP, index + 1];
    });
  };
}

export default defineConfig({
  // Used for canonical links and the URLs in each article's BibTeX entry: the
  // URL the site is served at, SKIPSCAPE_SITE at build time (site-url.mjs).
  site: siteUrl(process.env),
  output: 'static',
  trailingSlash: 'ignore',
  integrations: [mdx(), svelte()],
  // Stylesheets as files, never inlined: Astro's CSP hashes the <style> it
  // inlines for a page's own components but not those of components an MDX
  // article renders (a table's styles were blocked), and files need no hash.
  build: { inlineStylesheets: 'never' },
  security: {
    // A Content-Security-Policy <meta> on every page. Astro hashes each script
    // and <style> it renders (island hydration, the BibTeX copy button) into
    // script-src and style-src, so nothing inline runs unless it is ours;
    // there is no 'unsafe-inline' for scripts. What else the pages need:
    //  - 'wasm-unsafe-eval': tfjs-backend-wasm compiles WebAssembly;
    //  - worker-src 'self': the compute worker is a file of this site;
    //  - img-src data: blob:, the PNG export and three.js textures;
    //  - style attributes (style-src-attr 'unsafe-inline'): KaTeX sizes its
    //    boxes with them, and Svelte sets them on charts. They cannot run code.
    // Everything comes from this origin: nothing from other origins at run time.
    csp: {
      algorithm: 'SHA-256',
      directives: [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
      ],
      scriptDirective: { resources: ["'self'", "'wasm-unsafe-eval'"] },
      styleDirective: {
        resources: ["'self'", { resource: "'unsafe-inline'", kind: 'attribute' }],
      },
    },
  },
  vite: {
    // Pages that compute at build time (the network table of
    // skip-connections-in-action) import src/compute, hence tfjs. Bundle its
    // ESM build as the browser, vitest and the CLI do: Node cannot load its
    // extensionless imports, and its CommonJS build registers no gradients.
    // `ssr` serves the dev server; `prerender` builds the static pages.
    ssr: { noExternal: [/^@tensorflow\//] },
    environments: { prerender: { resolve: { noExternal: [/^@tensorflow\//] } } },
  },
  markdown: {
    // Astro 7's default processor (Sätteri) runs no remark/rehype plugins; the
    // unified processor from @astrojs/markdown-remark does, for .md and .mdx.
    processor: unified({
      remarkPlugins: [remarkMath],
      rehypePlugins: [
        [rehypeKatex, { strict: 'error', output: 'htmlAndMathml' }],
        rehypeScrollableDisplayMath,
        rehypeMathNoWrapPunctuation,
        // Astro assigns heading ids after user plugins; assign them first so the
        // autolink step sees them (Astro's later pass keeps ids that exist).
        rehypeHeadingIds,
        [
          rehypeAutolinkHeadings,
          {
            behavior: 'append',
            test: ['h2', 'h3', 'h4', 'h5', 'h6'],
            properties: (/** @type {import('hast').Element} */ heading) => ({
              className: ['heading-link'],
              ariaLabel: headingLinkLabel(toText(heading)),
            }),
            content: linkIcon,
          },
        ],
      ],
    }),
  },
});
