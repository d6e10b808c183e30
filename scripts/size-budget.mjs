#!/usr/bin/env node
// @ts-check
/**
 * Size budget: the JavaScript an article page makes the browser load before
 * the reader interacts, gzipped, must stay under 50 KB.
 *
 * For every built page (dist/**\/*.html) this counts:
 *   - <script src> (classic or module) and inline <script> bodies,
 *   - <link rel="modulepreload">,
 *   - every <astro-island>'s component-url, renderer-url and
 *     before-hydration-url (whatever its client: directive, to stay on the
 *     safe side: a client:visible island above the fold loads at once),
 * and follows the static import graph of each module through the built files
 * (`import … from`, `export … from`), but not dynamic `import()`, which is
 * how islands defer tfjs and three until a reader asks for them.
 * Each file is counted once per page, gzipped on its own, as it travels.
 *
 * Usage: node scripts/size-budget.mjs [distDir]   (default: dist)
 * Exits 1 if an article page is over budget or references a file it cannot find.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { init, parse as parseModule } from 'es-module-lexer';
import { parse as parseHtml } from 'parse5';

const BUDGET_BYTES = 50 * 1024;
const distDir = resolve(process.argv[2] ?? 'dist');

/** Script types a browser executes as JavaScript. */
const JS_TYPES = new Set(['', 'module', 'text/javascript', 'application/javascript']);

/** @param {Uint8Array | string} data */
const gzipped = (data) => gzipSync(data, { level: 9 }).length;

/** @param {number} bytes */
const kb = (bytes) => (bytes / 1024).toFixed(1);

/**
 * @typedef {{ nodeName: string, attrs?: { name: string, value: string }[], childNodes?: Node[], content?: Node, value?: string }} Node
 */

/** @param {Node} node @param {string} name */
function attr(node, name) {
  return node.attrs?.find((a) => a.name === name)?.value;
}

/** @param {Node} node @param {(node: Node) => void} visit */
function walk(node, visit) {
  visit(node);
  for (const child of node.childNodes ?? []) walk(child, visit);
  if (node.content) walk(node.content, visit);
}

/** @param {Node} node */
function textOf(node) {
  return (node.childNodes ?? []).map((child) => child.value ?? '').join('');
}

/** @param {string} dir @returns {string[]} */
function htmlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return htmlFiles(path);
    return entry.name.endsWith('.html') ? [path] : [];
  });
}

/** URL path a reader uses for a built HTML file: dist/a/index.html is /a/. @param {string} file */
function pagePath(file) {
  const rel = relative(distDir, file).split(sep).join('/');
  return `/${rel.replace(/(^|\/)index\.html$/, '$1')}`;
}

/**
 * Resolve a URL found in a page or module to a file in dist, or an error.
 * @param {string} url @param {string} fromPath URL path of the referrer
 * @returns {{ path: string } | { error: string }}
 */
function resolveUrl(url, fromPath) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith('//')) {
    return { error: `loads ${url} from outside the site` };
  }
  if (!url.startsWith('/') && !url.startsWith('.')) {
    return { error: `bare module specifier "${url}" cannot load in a browser` };
  }
  const path = posix.normalize(
    url.startsWith('/') ? url : posix.join(posix.dirname(fromPath), url),
  );
  const clean = path.split(/[?#]/)[0] ?? path;
  if (!existsSync(join(distDir, clean))) return { error: `${clean} is not in ${distDir}` };
  return { path: clean };
}

/**
 * Everything one page loads before interaction.
 * @param {string} file
 */
function measurePage(file) {
  const page = pagePath(file);
  const document = /** @type {Node} */ (
    /** @type {unknown} */ (parseHtml(readFileSync(file, 'utf8')))
  );
  /** @type {Map<string, number>} url path -> gzipped bytes */
  const files = new Map();
  /** @type {string[]} */
  const errors = [];
  let inlineBytes = 0;
  let inlineCount = 0;
  /** @type {string[]} */
  const queue = [];

  /** @param {string} source @param {string} fromPath */
  const followImports = (source, fromPath) => {
    const [imports] = parseModule(source);
    for (const imported of imports) {
      if (imported.type === 'dynamic' || imported.type === 'import-meta') continue;
      const target = resolveUrl(imported.specifier, fromPath);
      if ('error' in target) errors.push(`${fromPath}: ${target.error}`);
      else queue.push(target.path);
    }
  };

  /** @param {string | undefined} url */
  const enqueue = (url) => {
    if (!url) return;
    const target = resolveUrl(url, page);
    if ('error' in target) errors.push(`${page}: ${target.error}`);
    else queue.push(target.path);
  };

  walk(document, (node) => {
    if (node.nodeName === 'script') {
      const type = (attr(node, 'type') ?? '').toLowerCase();
      if (!JS_TYPES.has(type)) return;
      const src = attr(node, 'src');
      if (src) {
        enqueue(src);
      } else {
        const body = textOf(node);
        inlineBytes += gzipped(body);
        inlineCount += 1;
        if (type === 'module') followImports(body, page);
      }
    } else if (
      node.nodeName === 'link' &&
      attr(node, 'rel')?.split(/\s+/).includes('modulepreload')
    ) {
      enqueue(attr(node, 'href'));
    } else if (node.nodeName === 'astro-island') {
      enqueue(attr(node, 'component-url'));
      enqueue(attr(node, 'renderer-url'));
      enqueue(attr(node, 'before-hydration-url'));
    }
  });

  while (queue.length > 0) {
    const path = /** @type {string} */ (queue.pop());
    if (files.has(path)) continue;
    const source = readFileSync(join(distDir, path));
    files.set(path, gzipped(source));
    if (/\.(m?js)$/.test(path)) followImports(source.toString('utf8'), path);
  }

  const fileBytes = [...files.values()].reduce((sum, bytes) => sum + bytes, 0);
  return {
    page,
    isArticle: page.startsWith('/articles/'),
    inlineCount,
    files,
    totalBytes: inlineBytes + fileBytes,
    errors,
  };
}

await init();

if (!existsSync(distDir)) {
  console.error(`size-budget: ${distDir} does not exist; run \`npm run build\` first.`);
  process.exit(1);
}

const results = htmlFiles(distDir)
  .map(measurePage)
  .sort((a, b) => a.page.localeCompare(b.page));
const articles = results.filter((result) => result.isArticle);

console.log(
  `JavaScript loaded before interaction, gzipped (budget ${kb(BUDGET_BYTES)} KB per article page)\n`,
);
const rows = results.map((result) => {
  const over = result.totalBytes > BUDGET_BYTES;
  const verdict = !result.isArticle
    ? '(not budgeted)'
    : over || result.errors.length
      ? 'FAIL'
      : 'ok';
  return [
    result.page,
    String(result.inlineCount),
    String(result.files.size),
    kb(result.totalBytes),
    verdict,
  ];
});
const header = ['page', 'inline', 'files', 'KB gz', ''];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
);
const line = (/** @type {string[]} */ cells) =>
  cells
    .map((cell, column) =>
      column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
    )
    .join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));

for (const result of results) {
  if (result.files.size === 0) continue;
  console.log(`\n${result.page}`);
  for (const [path, bytes] of [...result.files].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${kb(bytes).padStart(7)} KB  ${path}`);
  }
}

let failed = false;
if (articles.length === 0) {
  console.error('\nsize-budget: no article pages found under /articles/ in the build.');
  failed = true;
}
for (const result of articles) {
  for (const error of result.errors) {
    console.error(`\nsize-budget: ${error}`);
    failed = true;
  }
  if (result.totalBytes > BUDGET_BYTES) {
    console.error(
      `\nsize-budget: ${result.page} loads ${kb(result.totalBytes)} KB of JavaScript (gzipped) before interaction; the budget is ${kb(BUDGET_BYTES)} KB.`,
    );
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
