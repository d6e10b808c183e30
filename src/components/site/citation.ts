import type { CollectionEntry } from 'astro:content';

/** One entry of an article's `sources` frontmatter. */
export type Source = CollectionEntry<'articles'>['data']['sources'][number];

/** Surname of the first listed author ("Kaiming He, Xiangyu Zhang, ..." gives "He"). */
function firstAuthorSurname(authors: string): string {
  const first = authors.split(/,| and | & /)[0]?.trim() ?? authors;
  const words = first.split(/\s+/);
  return words[words.length - 1] ?? first;
}

/**
 * A key for a source, used both as the id of its entry under References (so
 * the prose can link `#ref-glorot2010`) and as its BibTeX key.
 */
export function sourceKey(source: Source): string {
  const surname = firstAuthorSurname(source.authors)
    .normalize('NFD')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
  return `${surname}${source.year}`;
}

/** Escape the characters BibTeX (through LaTeX) treats specially. */
function bibtexEscape(text: string): string {
  return text.replace(/[\\{}]/g, '').replace(/([&%$#_])/g, '\\$1');
}

/** Format BibTeX fields with aligned `=` signs. */
function bibtexEntry(type: string, key: string, fields: [string, string][]): string {
  const width = Math.max(...fields.map(([name]) => name.length));
  const body = fields.map(([name, value]) => `  ${name.padEnd(width)} = {${value}}`).join(',\n');
  return `@${type}{${key},\n${body}\n}`;
}

export interface CitedPage {
  /** Title of the page being cited. */
  title: string;
  /** Absolute URL of the page. */
  url: string;
  /** Date of its last substantive revision. */
  updated: Date;
  /** BibTeX key. */
  key: string;
}

/** A BibTeX @misc entry for a Skipscape page. */
export function pageBibtex(page: CitedPage): string {
  const date = page.updated.toISOString().slice(0, 10);
  return bibtexEntry('misc', page.key, [
    ['author', '{Skipscape contributors}'],
    ['title', `{${bibtexEscape(page.title)}}`],
    ['howpublished', 'Skipscape'],
    ['year', String(page.updated.getUTCFullYear())],
    ['url', page.url],
    ['note', `Version of ${date}`],
  ]);
}

/** A one-line plain-text citation of a Skipscape page. */
export function pageCitation(page: CitedPage): string {
  return `Skipscape contributors (${page.updated.getUTCFullYear()}). “${page.title}”. Skipscape. ${page.url}`;
}
