// Lists every shipped result under public/artifacts in public/artifacts/manifest.json,
// with its sha256 (the site checks each artifact against it when it loads it).
//
//   node scripts/make-manifest.mjs           write the manifest and the numbers in public/artifacts/README.md
//   node scripts/make-manifest.mjs --check   fail if either is stale (a missing artifact, an old sum or number)
//
// Layout it reads (written by scripts/make-artifacts.sh):
//   runs/<model>-<skip|noskip>/history.json, epoch-NNN.safetensors
//   surfaces/<model>-<skip|noskip>.json (2-D), .curve.json (1-D), .directions.safetensors
//   hessian/<model>-<skip|noskip>.json (map) and .point.json (at θ*), trajectory/<model>-<skip|noskip>.json
//   and .surface.json (the loss over its PCA plane)
//   responses/<model>-<skip|noskip>/epoch-NNN.json (per-block signals), depth/gsc.json,
//   depth/effective-depth-<L>.json
//   signals/<figure>.json (a signal figure's default state)
//   paths/<model>-skip.json (gradient per path length), lesion/<model>-<skip|noskip>.json (lesion study)
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const publicDir = join(root, 'public');
const artifactsDir = join(publicDir, 'artifacts');
const manifestPath = join(artifactsDir, 'manifest.json');

async function walk(dir) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await walk(p)));
    else files.push(p);
  }
  return files.sort();
}

/** 'resnet56-noskip' → { model: 'resnet56', skip: false }. */
function runName(name) {
  const m = /^(.+)-(skip|noskip)$/.exec(name);
  if (!m) throw new Error(`${name}: artifact names end in -skip or -noskip`);
  return { model: m[1], skip: m[2] === 'skip' };
}

/** Grid size and the share of its points computed, for files laid out like a surface. */
function coverage(bytes) {
  const s = JSON.parse(bytes.toString('utf8'));
  const grid = s.ys.length > 1 ? [s.xs.length, s.ys.length] : [s.xs.length];
  return { grid, computed: s.mask.reduce((a, b) => a + b, 0) / s.mask.length };
}

function describe(rel, bytes) {
  const parts = rel.split('/');
  const file = basename(rel);
  if (parts[0] === 'runs' && parts.length === 3) {
    const run = runName(parts[1]);
    if (file === 'history.json') {
      const h = JSON.parse(bytes.toString('utf8'));
      const epochs = Array.isArray(h.epochs) ? h.epochs.length : undefined;
      return { kind: 'history', ...run, epochs };
    }
    const m = /^epoch-(\d+)\.safetensors$/.exec(file);
    if (m) return { kind: 'checkpoint', ...run, epoch: Number(m[1]) };
    return null;
  }
  if (parts[0] === 'surfaces' && parts.length === 2) {
    if (file.endsWith('.directions.safetensors')) {
      return { kind: 'directions', ...runName(file.replace('.directions.safetensors', '')) };
    }
    const curve = file.endsWith('.curve.json');
    return {
      kind: curve ? 'curve' : 'surface',
      ...runName(file.replace(curve ? '.curve.json' : '.json', '')),
      ...coverage(bytes),
    };
  }
  if (parts[0] === 'hessian' && parts.length === 2) {
    // <name>.point.json: the eigenvalues at θ* alone; <name>.json: their map over a plane.
    return {
      kind: 'hessian',
      ...runName(file.replace(/(\.point)?\.json$/, '')),
      ...coverage(bytes),
    };
  }
  if (parts[0] === 'signals' && parts.length === 2 && file.endsWith('.json')) {
    // signals/<figure>.json: a signal figure's default state (skipscape signals --out).
    const { statistics } = JSON.parse(bytes.toString('utf8'));
    return {
      kind: 'signals',
      model: 'mlp',
      skip: statistics.network.residualAlpha !== null,
      figure: file.replace(/\.json$/, ''),
      depth: statistics.network.depth,
      draws: statistics.draws,
    };
  }
  if ((parts[0] === 'paths' || parts[0] === 'lesion') && parts.length === 2) {
    // paths/<model>-skip.json: gradient per path length; lesion/<model>-<skip|noskip>.json: the lesion study.
    const s = JSON.parse(bytes.toString('utf8'));
    return {
      kind: parts[0],
      ...runName(file.replace(/\.json$/, '')),
      complete: Boolean(s.meta?.complete),
    };
  }
  if (parts[0] === 'trajectory' && parts.length === 2) {
    // <name>.surface.json: the loss over the trajectory's PCA plane (a surface of kind 'pca').
    if (file.endsWith('.surface.json')) {
      return {
        kind: 'surface',
        plane: 'pca',
        ...runName(file.replace('.surface.json', '')),
        ...coverage(bytes),
      };
    }
    return { kind: 'trajectory', ...runName(file.replace(/\.json$/, '')) };
  }
  if (parts[0] === 'responses' && parts.length === 3) {
    // responses/<name>/epoch-NNN.json: He et al.'s per-block signals (epoch 0: the initial state).
    const m = /^epoch-(\d+)\.json$/.exec(file);
    if (m) return { kind: 'responses', ...runName(parts[1]), epoch: Number(m[1]) };
    return null;
  }
  if (parts[0] === 'depth' && parts.length === 2) {
    // depth/gsc.json: the GSC lab's networks; depth/effective-depth-<L>.json: the Taylor curves.
    if (file === 'gsc.json') return { kind: 'gsc', model: 'mlp', skip: false };
    const m = /^effective-depth-(\d+)\.json$/.exec(file);
    if (m)
      return { kind: 'effective-depth', model: `mlp${m[1]}`, skip: false, depth: Number(m[1]) };
    return null;
  }
  return null;
}

const check = process.argv.includes('--check');
const artifacts = [];
for (const abs of await walk(artifactsDir)) {
  const rel = relative(artifactsDir, abs).split('\\').join('/');
  if (rel === 'manifest.json' || rel.endsWith('.tmp') || rel.endsWith('.partial')) continue;
  const bytes = await readFile(abs);
  const about = describe(rel, bytes);
  if (!about) continue;
  artifacts.push({
    ...about,
    path: relative(publicDir, abs).split('\\').join('/'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  });
}
const manifest = JSON.stringify({ artifacts }, null, 2) + '\n';

// The numbers the artifacts README states, read from the files, between two markers, so the
// README cannot fall behind a resumed job.
const readJson = async (a) => JSON.parse(await readFile(join(publicDir, a.path), 'utf8'));
const pct = (v, digits = 1) => `${(100 * v).toFixed(digits)} %`;
const num = (v) =>
  v === null || v === undefined
    ? '–'
    : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2
      ? v.toExponential(1)
      : v.toPrecision(4);
const runLabel = (a) => `${a.model}, ${a.skip ? 'with' : 'without'} skips`;
const lines = [];
lines.push(
  '| run | epochs | training images | lr, batch | training loss, accuracy | test accuracy |',
);
lines.push('| --- | --: | --: | --- | --: | --: |');
for (const a of artifacts.filter((a) => a.kind === 'history')) {
  const h = await readJson(a);
  const last = h.epochs.at(-1);
  lines.push(
    `| ${runLabel(a)} | ${h.epochs.length} | ${h.config.trainImages.toLocaleString('en')} | ${h.config.lr}, ${h.config.batchSize} | ${last.trainLoss.toFixed(3)}, ${pct(last.trainAccuracy)} | ${pct(last.testAccuracy, 2)} |`,
  );
}
lines.push('');
lines.push('| file | grid | points computed |');
lines.push('| --- | --- | --: |');
for (const a of artifacts.filter((a) => a.grid)) {
  const total = a.grid.reduce((x, y) => x * y, 1);
  const done = Math.round(a.computed * total);
  lines.push(
    `| \`${relative('artifacts', a.path)}\` | ${a.grid.join('×')} | ${done.toLocaleString('en')} of ${total.toLocaleString('en')} |`,
  );
}
const hessians = artifacts.filter((a) => a.kind === 'hessian');
if (hessians.length > 0) {
  lines.push('');
  lines.push(
    '| Hessian file | points | λ_max (largest) | λ_min (most negative) | median \\|λ_min/λ_max\\| | converged λ_max, λ_min | products per point | images, parameters |',
  );
  lines.push('| --- | --: | --: | --: | --: | --: | --: | --- |');
  for (const a of hessians) {
    const m = await readJson(a);
    const k = m.mask.flatMap((v, i) => (v ? [i] : []));
    const ratios = k
      .map((i) => m.ratio[i])
      .filter((r) => r !== null)
      .sort((x, y) => x - y);
    const median = ratios.length
      ? (ratios[(ratios.length - 1) >> 1] + ratios[ratios.length >> 1]) / 2
      : null;
    const maxOf = (v) => (k.length ? Math.max(...k.map((i) => v[i] ?? -Infinity)) : null);
    const minOf = (v) => (k.length ? Math.min(...k.map((i) => v[i] ?? Infinity)) : null);
    // Converged: the eigenvalue's own residual ‖Hv − λv‖ within meta.tolerance of |λ|.
    const converged = (values, residuals) =>
      k.filter(
        (i) => residuals[i] !== null && residuals[i] <= m.meta.tolerance * Math.abs(values[i]),
      ).length;
    const products = k.map((i) => m.products[i]);
    const convergence = `${converged(m.lambdaMax, m.residualMax)}, ${converged(m.lambdaMin, m.residualMin)}`;
    const budget = `${Math.min(...products)}–${Math.max(...products)} of ${m.meta.iterations}`;
    lines.push(
      `| \`${relative('artifacts', a.path)}\` | ${k.length} | ${num(maxOf(m.lambdaMax))} | ${num(minOf(m.lambdaMin))} | ${num(median)} | ${convergence} | ${budget} | ${m.meta.subset}, ${m.meta.parameters ?? 'all'} |`,
    );
  }
}
const trajectories = artifacts.filter((a) => a.kind === 'trajectory');
if (trajectories.length > 0) {
  lines.push('');
  lines.push('| trajectory | checkpoints | variance in e₁, e₂ |');
  lines.push('| --- | --: | --- |');
  for (const a of trajectories) {
    const t = await readJson(a);
    const [r1, r2] = t.explainedVarianceRatio;
    lines.push(`| ${runLabel(a)} | ${t.path.x.length} | ${pct(r1)} + ${pct(r2)} |`);
  }
}
const readmePath = join(artifactsDir, 'README.md');
const START = '<!-- numbers: written by scripts/make-manifest.mjs from the files -->';
const END = '<!-- numbers: end -->';
const oldReadme = await readFile(readmePath, 'utf8');
const from = oldReadme.indexOf(START);
const to = oldReadme.indexOf(END);
if (from < 0 || to < from)
  throw new Error(`${relative(root, readmePath)}: the markers ${START} … ${END} are missing`);
const readme = `${oldReadme.slice(0, from + START.length)}\n\n${lines.join('\n')}\n\n${oldReadme.slice(to)}`;

if (check) {
  const old = await readFile(manifestPath, 'utf8').catch(() => '');
  if (old !== manifest) {
    console.error('public/artifacts/manifest.json is stale: run node scripts/make-manifest.mjs');
    process.exit(1);
  }
  if (oldReadme !== readme) {
    console.error(
      'the numbers in public/artifacts/README.md are stale: run node scripts/make-manifest.mjs',
    );
    process.exit(1);
  }
  console.log(`manifest: ${artifacts.length} artifacts, all sums and README numbers current`);
} else {
  await writeFile(manifestPath, manifest);
  await writeFile(readmePath, readme);
  console.log(
    `wrote ${relative(root, manifestPath)}: ${artifacts.length} artifacts, and the README's numbers`,
  );
}
