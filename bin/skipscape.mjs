#!/usr/bin/env node
/**
 * `skipscape`: builds the command line bundle when src/ changed since the last
 * build (bin/build-cli.mjs), then runs it.
 */
import { pathToFileURL } from 'node:url';
import { ensureCliBundle } from './build-cli.mjs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `skipscape needs Node 22.12 or newer; this is ${process.version}. Get it with: ` +
      'npm install --prefix .node22 node@22 && export PATH=$PWD/.node22/node_modules/.bin:$PATH',
  );
  process.exit(1);
}

const bundle = await ensureCliBundle();
await import(pathToFileURL(bundle).href);
