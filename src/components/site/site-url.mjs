// @ts-check
/**
 * The URL the site is served at, for canonical links and the URLs of every
 * "Cite this" and BibTeX entry, fixed at build time: the environment variable
 * SKIPSCAPE_SITE (e.g. `SKIPSCAPE_SITE=https://skipscape.org npm run build`),
 * or, without it, where `npm start` serves the build (http://localhost:4321).
 * A plain .mjs file so that astro.config.mjs and the tests read the same rule.
 */

/** Where `npm start` (astro preview --port 4321) serves the site. */
export const LOCAL_SITE = 'http://localhost:4321';

/**
 * @param {Record<string, string | undefined>} env
 * @returns {string} an absolute http(s) URL without a trailing slash
 */
export function siteUrl(env) {
  const configured = env['SKIPSCAPE_SITE']?.trim();
  if (!configured) return LOCAL_SITE;
  let url;
  try {
    url = new URL(configured);
  } catch {
    throw new Error(`SKIPSCAPE_SITE must be an absolute URL, got '${configured}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`SKIPSCAPE_SITE must be an http(s) URL, got '${configured}'`);
  }
  return url.href.replace(/\/+$/, '');
}
