import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { z } from 'astro/zod';

/** One work an article draws on, listed under its references and in its BibTeX. */
const source = z
  .object({
    authors: z
      .string()
      .min(1)
      .describe('Authors as they should be printed, e.g. "Xavier Glorot and Yoshua Bengio".'),
    title: z.string().min(1).describe('Title of the paper, lecture notes or thread.'),
    venue: z
      .string()
      .min(1)
      .describe('Where it appeared: conference, journal, course or website, e.g. "AISTATS".'),
    year: z.number().int().min(1900).max(2100).describe('Year of publication.'),
    url: z
      .url()
      .optional()
      .describe(
        'A stable link to the work, ideally the publisher or author copy; left out when no public copy is known.',
      ),
  })
  .describe('A work the article draws on.');

const articles = defineCollection({
  // Each file's name (without .mdx) is its slug: /articles/<slug>/.
  loader: glob({ base: './src/content/articles', pattern: '*.mdx' }),
  schema: z.object({
    title: z.string().min(1).describe('Article title, shown as the page heading and in lists.'),
    summary: z
      .string()
      .min(1)
      .max(300)
      .describe(
        'One or two sentences on what the reader will learn; used on the index and as the meta description.',
      ),
    order: z
      .number()
      .int()
      .min(1)
      .describe(
        'Position in the reading order on the index page (1 comes first); unique per article.',
      ),
    sources: z
      .array(source)
      .min(1)
      .describe('The seed documents and papers this article follows, listed as its references.'),
    updated: z.coerce
      .date()
      .describe(
        'Date of the last substantive revision (YYYY-MM-DD); shown on the page and used in the citation.',
      ),
  }),
});

export const collections = { articles };
