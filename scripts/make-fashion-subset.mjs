#!/usr/bin/env node
/**
 * Writes the Fashion-MNIST subset the site trains on to public/data/fashion-mnist/:
 * the first 12,000 training and the first 2,000 test images with their labels, in
 * the original IDX format (same magic numbers, big-endian dimensions), gzipped,
 * under the standard file names, plus a README.md with provenance and sha256 sums.
 *
 * Source: Debian's package dataset-fashion-mnist, fetched with `apt-get download`
 * and unpacked with `dpkg-deb -x` (no root, nothing installed).
 *
 *   node scripts/make-fashion-subset.mjs [--deb FILE.deb] [--out DIR]
 *
 * --deb uses an already downloaded .deb instead of calling apt-get.
 *
 * Deterministic: the IDX bytes are a pure function of the package, and gzip is
 * written with no file name and mtime 0, so re-running with the same Node (and so
 * the same bundled zlib) gives byte-identical files. README.md also lists the
 * sha256 of the uncompressed IDX bytes, which do not depend on zlib at all.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const PACKAGE = 'dataset-fashion-mnist';
const DATASET_DIR = 'usr/share/datasets/fashion-mnist';
const TRAIN_COUNT = 12_000;
const TEST_COUNT = 2_000;
const ROWS = 28;
const COLS = 28;
const CLASSES = 10;

/** The four files: split, kind, standard name, how many records the subset keeps. */
const FILES = [
  { split: 'train', kind: 'images', name: 'train-images-idx3-ubyte', keep: TRAIN_COUNT },
  { split: 'train', kind: 'labels', name: 'train-labels-idx1-ubyte', keep: TRAIN_COUNT },
  { split: 'test', kind: 'images', name: 't10k-images-idx3-ubyte', keep: TEST_COUNT },
  { split: 'test', kind: 'labels', name: 't10k-labels-idx1-ubyte', keep: TEST_COUNT },
];

// IDX magic: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions.
const MAGIC = { images: 0x00000803, labels: 0x00000801 };

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const args = { deb: null, out: join(repoRoot, 'public/data/fashion-mnist') };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === '--deb' || flag === '--out') && value !== undefined) {
      args[flag.slice(2)] = resolve(value);
      i++;
    } else if (flag === '--help' || flag === '-h') {
      console.log('usage: node scripts/make-fashion-subset.mjs [--deb FILE.deb] [--out DIR]');
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${flag} (try --help)`);
    }
  }
  return args;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** gzip with no name and mtime 0; OS byte fixed to 3 (Unix) so the header never varies. */
function gzipDeterministic(bytes) {
  const gz = gzipSync(bytes, { level: 9 });
  gz.writeUInt32LE(0, 4);
  gz[9] = 3;
  return gz;
}

/** Reads an IDX file (gzipped or not), checks it, returns its header and body. */
function readIdx(path, kind) {
  const raw = readFileSync(path);
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  const file = basename(path);
  const magic = bytes.readUInt32BE(0);
  if (magic !== MAGIC[kind]) {
    throw new Error(
      `${file}: magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x${MAGIC[kind].toString(16).padStart(8, '0')}`,
    );
  }
  const ndim = bytes[3];
  const dims = [];
  for (let d = 0; d < ndim; d++) dims.push(bytes.readUInt32BE(4 + 4 * d));
  const header = 4 + 4 * ndim;
  const expected = header + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected)
    throw new Error(`${file}: ${bytes.length} bytes, expected ${expected}`);
  if (kind === 'images' && (dims[1] !== ROWS || dims[2] !== COLS)) {
    throw new Error(`${file}: images are ${dims[1]}x${dims[2]}, expected ${ROWS}x${COLS}`);
  }
  return { bytes, dims, header, gzipped: bytes !== raw };
}

/** The first `keep` records of an IDX array, as a new IDX file with dimension 0 rewritten. */
function takeFirst({ bytes, dims, header }, keep, file) {
  if (dims[0] < keep) throw new Error(`${file}: has ${dims[0]} records, the subset needs ${keep}`);
  const recordSize = dims.slice(1).reduce((a, b) => a * b, 1);
  const out = Buffer.from(bytes.subarray(0, header + keep * recordSize));
  out.writeUInt32BE(keep, 4);
  return out;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'fashion-mnist-'));
  try {
    let deb = args.deb;
    if (deb === null) {
      execFileSync('apt-get', ['download', PACKAGE], { cwd: work, stdio: 'inherit' });
      const found = readdirSync(work).filter((f) => f.startsWith(PACKAGE) && f.endsWith('.deb'));
      if (found.length !== 1) throw new Error(`apt-get download left ${found.length} .deb files`);
      deb = join(work, found[0]);
    }
    const version = execFileSync('dpkg-deb', ['-f', deb, 'Version'], { encoding: 'utf8' }).trim();
    const debSha = sha256(readFileSync(deb));
    const unpacked = join(work, 'root');
    execFileSync('dpkg-deb', ['-x', deb, unpacked]);
    const sourceDir = join(unpacked, DATASET_DIR);
    const sourceNames = readdirSync(sourceDir);

    mkdirSync(args.out, { recursive: true });
    const rows = [];
    const labelsBySplit = {};
    for (const spec of FILES) {
      // The package ships the files gzipped; accept them plain too, in case that changes.
      const sourceName = [`${spec.name}.gz`, spec.name].find((n) => sourceNames.includes(n));
      if (sourceName === undefined) throw new Error(`${spec.name}(.gz) not in ${DATASET_DIR}`);
      const sourcePath = join(sourceDir, sourceName);
      const idx = readIdx(sourcePath, spec.kind);
      const subset = takeFirst(idx, spec.keep, sourceName);
      if (spec.kind === 'labels') {
        const labels = subset.subarray(8);
        const bad = labels.findIndex((l) => l >= CLASSES);
        if (bad >= 0) throw new Error(`${sourceName}: label ${labels[bad]} at index ${bad}`);
        labelsBySplit[spec.split] = labels;
      }
      const gz = gzipDeterministic(subset);
      const outName = `${spec.name}.gz`;
      writeFileSync(join(args.out, outName), gz);
      rows.push({
        ...spec,
        outName,
        count: spec.keep,
        gzBytes: gz.length,
        gzSha: sha256(gz),
        rawBytes: subset.length,
        rawSha: sha256(subset),
        sourceName,
        sourceSha: sha256(readFileSync(sourcePath)),
        sourceCount: idx.dims[0],
      });
      console.log(`${outName}: ${spec.keep} of ${idx.dims[0]} records, ${gz.length} bytes`);
    }
    writeFileSync(join(args.out, 'README.md'), readme({ version, debSha, rows, labelsBySplit }));
    console.log(`wrote ${args.out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function classCounts(labels) {
  const counts = new Array(CLASSES).fill(0);
  for (const l of labels) counts[l]++;
  return counts.join(', ');
}

function readme({ version, debSha, rows, labelsBySplit }) {
  const table = rows
    .map(
      (r) =>
        `| \`${r.outName}\` | ${r.split} ${r.kind} | ${r.count.toLocaleString('en')} | ${r.gzBytes.toLocaleString('en')} | \`${r.gzSha}\` | \`${r.rawSha}\` |`,
    )
    .join('\n');
  const sources = rows
    .map(
      (r) => `| \`${r.sourceName}\` | ${r.sourceCount.toLocaleString('en')} | \`${r.sourceSha}\` |`,
    )
    .join('\n');
  return `# Fashion-MNIST subset

The data the site's live figures and the \`skipscape\` command line train on: the
**first ${TRAIN_COUNT.toLocaleString('en')} training** and the **first ${TEST_COUNT.toLocaleString('en')} test** images of Fashion-MNIST,
with their labels, in the dataset's original IDX format (same magic numbers,
big-endian dimensions, the first dimension rewritten to the subset's count),
gzipped. Images are ${ROWS}×${COLS} greyscale, one unsigned byte per pixel, row-major;
labels are one byte, 0–9. Nothing is reordered, resampled or filtered.

Generated by \`npm run data:fashion-mnist\` (\`scripts/make-fashion-subset.mjs\`). Do not
edit these files by hand.

## Files

| file | content | records | bytes | sha256 (file) | sha256 (uncompressed IDX) |
| --- | --- | ---: | ---: | --- | --- |
${table}

The gzip streams carry no file name and mtime 0, so re-running the script with
the same Node version reproduces them byte for byte; the uncompressed sums do
not depend on the compressor at all.

Images per class (0–9), training subset: ${classCounts(labelsBySplit.train)}.
Test subset: ${classCounts(labelsBySplit.test)}.

## Origin

Debian package \`${PACKAGE}\`, version \`${version}\`, which packages
upstream https://github.com/zalandoresearch/fashion-mnist (.deb sha256
\`${debSha}\`). Files taken from \`/${DATASET_DIR}/\`:

| source file | records | sha256 |
| --- | ---: | --- |
${sources}

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.

## Credit and licence

Fashion-MNIST was made by Han Xiao, Kashif Rasul and Roland Vollgraf at Zalando
Research. It is released under the MIT licence (full text below). If you use
it, cite:

> Han Xiao, Kashif Rasul, Roland Vollgraf. *Fashion-MNIST: a Novel Image
> Dataset for Benchmarking Machine Learning Algorithms.* 2017.
> arXiv:1708.07747. https://arxiv.org/abs/1708.07747

\`\`\`bibtex
@online{xiao2017fashionmnist,
  author      = {Han Xiao and Kashif Rasul and Roland Vollgraf},
  title       = {Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  year        = {2017},
  eprinttype  = {arXiv},
  eprint      = {1708.07747},
  eprintclass = {cs.LG},
}
\`\`\`

### Licence of the data (MIT)

The MIT License (MIT) Copyright © 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the “Software”), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED “AS IS”, WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN
AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`;
}

main();
