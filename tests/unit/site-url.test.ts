import { expect, test } from 'vitest';
import { LOCAL_SITE, siteUrl } from '../../src/components/site/site-url.mjs';

test('the site URL comes from SKIPSCAPE_SITE at build time, else where npm start serves it', () => {
  expect(siteUrl({})).toBe(LOCAL_SITE);
  expect(siteUrl({ SKIPSCAPE_SITE: '' })).toBe(LOCAL_SITE);
  expect(siteUrl({ SKIPSCAPE_SITE: 'https://example.org/skipscape/' })).toBe(
    'https://example.org/skipscape',
  );
  expect(() => siteUrl({ SKIPSCAPE_SITE: 'skipscape.org' })).toThrow(/absolute URL/);
  expect(() => siteUrl({ SKIPSCAPE_SITE: 'ftp://skipscape.org' })).toThrow(/http/);
});
