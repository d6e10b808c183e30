/**
 * Surface exports: pure serialisers from a {@link Surface} to the files a
 * researcher takes away (CSV, JSON, OBJ, glTF 2.0, VTK StructuredGrid, SVG;
 * and as bytes, STL for 3-D printing and Li et al.'s HDF5),
 * used by the explorer's export buttons and by the command line alike. No DOM,
 * no three: a surface in, text (or bytes, for STL and HDF5) out.
 *
 * Every file carries the surface's metadata and the `skipscape landscape`
 * command that recomputes it, each in its format's own place for metadata
 * (CSV and OBJ comments, glTF `asset.extras`, VTK FieldData, SVG <metadata>).
 *
 * Points that diverged (loss NaN or ±∞ when computed) and points not yet
 * computed are both `null` in a surface; `mask` tells them apart. Meshes
 * leave a hole at every cell with a missing corner.
 */
import * as z from 'zod/mini';
import { checkGridAxes } from './axes';
import { contourSvg, escapeXml, type ContourPanel } from './contourSvg';
import { scaleUnit, transformLoss, viridisRgb, type LossScale } from './contours';
import { surfaceToStl } from './stl';
import type { Surface, SurfaceMeta } from './surface';

/** Where the files named in the reproducing command live; the surface records only their sha256. */
export interface ReproduceOptions {
  /** Path of the checkpoint θ* (its sha256 is in meta). Default: `checkpoint-<sha256 prefix>.safetensors`. */
  checkpointPath?: string;
  /** Path of θ_b for an interpolation. Default from its sha256 likewise. */
  checkpoint2Path?: string;
  /** `--out` of the command. Default: {@link exportFileName}(surface, 'json'). */
  outPath?: string;
  /** For a surface on a trajectory's PCA plane: the run directory of per-epoch checkpoints. */
  runDir?: string;
}

/** Backends the command line accepts (`--backend`); a browser's webgl run is reproduced on the default. */
const CLI_BACKENDS = new Set(['cpu', 'wasm', 'webgpu']);

/** `lo:hi:n` of an axis, as `--grid` takes it. */
function axisSpec(values: readonly number[]): string {
  const first = values[0] ?? 0;
  const last = values[values.length - 1] ?? 0;
  return `${first}:${last}:${values.length}`;
}

/** Quote a path for a POSIX shell when it needs it. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The exact `skipscape landscape …` command that recomputes this surface. */
export function reproduceCommand(surface: Surface, options: ReproduceOptions = {}): string {
  const m = surface.meta;
  if (m.kind === 'pca') return trajectoryCommand(surface, options);
  const ckpt =
    options.checkpointPath ?? `checkpoint-${m.checkpointSha256.slice(0, 12)}.safetensors`;
  const grid =
    surface.ys.length > 1
      ? `${axisSpec(surface.xs)},${axisSpec(surface.ys)}`
      : axisSpec(surface.xs);
  const words = ['skipscape', 'landscape', '--checkpoint', shellWord(ckpt)];
  if (m.kind === 'interpolation') {
    const ckpt2 =
      options.checkpoint2Path ??
      `checkpoint-${(m.checkpoint2Sha256 ?? 'unknown').slice(0, 12)}.safetensors`;
    words.push('--checkpoint2', shellWord(ckpt2));
  }
  words.push('--grid', grid, '--norm', m.normalization);
  if (m.includeBiasBn) words.push('--include-biasbn');
  words.push('--subset', String(m.subset), '--split', m.split, '--seed', String(m.seed));
  if (CLI_BACKENDS.has(m.backend)) words.push('--backend', m.backend);
  words.push('--out', shellWord(options.outPath ?? exportFileName(surface, 'json')));
  return words.join(' ');
}

/**
 * A surface on the plane of a training trajectory's two principal components
 * comes from `skipscape trajectory` (directions from the run's checkpoints, no
 * seed, no normalisation).
 */
function trajectoryCommand(surface: Surface, options: ReproduceOptions): string {
  const m = surface.meta;
  const out = options.outPath ?? exportFileName(surface, 'json');
  const words = ['skipscape', 'trajectory', '--run', shellWord(options.runDir ?? 'RUN_DIR')];
  words.push('--out', shellWord(out.replace(/\.json$/, '') + '.trajectory.json'));
  if (m.includeBiasBn) words.push('--include-biasbn');
  words.push(
    '--grid',
    `${axisSpec(surface.xs)},${axisSpec(surface.ys)}`,
    '--surface',
    shellWord(out),
  );
  words.push('--subset', String(m.subset), '--split', m.split);
  if (CLI_BACKENDS.has(m.backend)) words.push('--backend', m.backend);
  return words.join(' ');
}

/** A descriptive file name: `resnet56-skip-filter-51x51.csv`, `resnet56-noskip-interp-21.json`. */
export function exportFileName(surface: Surface, extension: string): string {
  const m = surface.meta;
  const grid =
    surface.ys.length > 1 ? `${surface.xs.length}x${surface.ys.length}` : `${surface.xs.length}`;
  const kind =
    m.kind === 'direction' ? m.normalization : m.kind === 'interpolation' ? 'interp' : 'pca';
  const safe = m.model.replace(/[^\w.-]+/g, '_');
  return `${safe}-${m.skip ? 'skip' : 'noskip'}-${kind}-${grid}.${extension}`;
}

/**
 * What the explorer opens from a reader's disk: at most 4 MiB and 301 × 301
 * points, checked before the file is read and before its arrays are walked.
 * (An 18 MB file of 1000 × 1000 points froze the page for 20 s and took 418 MB
 * of heap.) Bigger surfaces are for `skipscape export` and ParaView.
 */
export const UPLOAD_LIMITS = {
  bytes: 4 * 1024 * 1024,
  points: 301 * 301,
} as const;

/** Throw an Error a reader can act on unless a file of `bytes` may be opened in the explorer. */
export function checkUploadSize(options: { name: string; bytes: number }): void {
  if (options.bytes > UPLOAD_LIMITS.bytes) {
    const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;
    throw new Error(
      `${options.name}: ${mb(options.bytes)}, more than the ${mb(UPLOAD_LIMITS.bytes)} this page opens; ` +
        'export a coarser grid, or view it with skipscape export (ParaView, glTF)',
    );
  }
}

/** Read a surface file a reader opened in the explorer: {@link parseSurface} with the upload limits. */
export function parseUploadedSurface(text: string, name: string): Surface {
  // UTF-8 takes at least one byte per UTF-16 unit: the length is a lower bound, at no cost.
  checkUploadSize({ name, bytes: text.length });
  return parseSurface(text, name, {
    limit: {
      points: UPLOAD_LIMITS.points,
      why: '(301 × 301) this page opens; view bigger grids with skipscape export',
    },
  });
}

/**
 * Read a surface file a reader opened or dropped in the explorer, as bytes:
 * Li et al.'s HDF5 (by its name or its signature; h5wasm loads only then) or
 * our JSON, with the upload limits, the size checked before anything else.
 */
export async function parseUploadedSurfaceBytes(bytes: Uint8Array, name: string): Promise<Surface> {
  checkUploadSize({ name, bytes: bytes.length });
  const hdf5Signature = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  if (/\.(h5|hdf5?)$/i.test(name) || hdf5Signature.every((b, k) => bytes[k] === b)) {
    const { parseHdf5Surface } = await import('./hdf5');
    return parseHdf5Surface(bytes, name, {
      limit: {
        points: UPLOAD_LIMITS.points,
        why: '(301 × 301) this page opens; view bigger grids with skipscape import and export',
      },
    });
  }
  return parseUploadedSurface(new TextDecoder().decode(bytes), name);
}

/** Line breaks and other control characters, which no metadata value may hold. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The mesh's object name, `resnet56_skip`: one word, whatever the model name holds. */
function meshName(surface: Surface): string {
  const m = surface.meta;
  return `${m.model.replace(/[^\w.-]+/g, '_')}_${m.skip ? 'skip' : 'noskip'}`;
}

/** The metadata as ordered [key, value] text pairs, the same in every format. */
export function metadataEntries(
  surface: Surface,
  options: ReproduceOptions = {},
): [string, string][] {
  const m = surface.meta;
  const computed = surface.mask.reduce<number>((n, b) => n + b, 0);
  const entries: [keyof SurfaceMeta | string, string][] = [
    ['model', m.model],
    ['skip', String(m.skip)],
    ['kind', m.kind],
    ['checkpointSha256', m.checkpointSha256],
    ['checkpoint2Sha256', m.checkpoint2Sha256 ?? ''],
    ['dataset', m.dataset],
    ['split', m.split],
    ['subset', String(m.subset)],
    ['seed', String(m.seed)],
    ['normalization', m.normalization],
    ['includeBiasBn', String(m.includeBiasBn)],
    ['grid', `${surface.xs.length}x${surface.ys.length}`],
    ['xRange', `${surface.xs[0]}:${surface.xs[surface.xs.length - 1]}`],
    ['yRange', `${surface.ys[0]}:${surface.ys[surface.ys.length - 1]}`],
    ['computed', `${computed}/${surface.mask.length}`],
    ['backend', m.backend],
    ['seconds', String(m.seconds)],
    ['version', m.version],
    ['written', m.written],
    ['command', reproduceCommand(surface, options)],
  ];
  // One line per value whatever the surface holds: a line break in a model
  // name must not start a row of a CSV or a vertex of an OBJ.
  return entries.map(([key, value]) => [key, oneLine(value)]);
}

/** Control characters as visible escapes (\n, \u0000), so a value stays on its line. */
function oneLine(value: string): string {
  return value.replace(new RegExp(CONTROL_CHARACTERS.source, 'g'), (c) =>
    c === '\n'
      ? '\\n'
      : c === '\r'
        ? '\\r'
        : c === '\t'
          ? '\\t'
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The value of a loss or accuracy entry, NaN for null. */
function num(v: number | null | undefined): number {
  return v === null || v === undefined ? Number.NaN : v;
}

// ---------------------------------------------------------------------------
// CSV and JSON

/**
 * CSV: `# key: value` comment lines with the metadata, then
 * `alpha,beta,loss,accuracy,computed`, one row per grid point in surface
 * order (β outer, α inner). A null value is an empty field (pandas reads it
 * as NaN); `computed` tells a diverged point (1) from one not yet computed (0).
 */
export function surfaceToCsv(surface: Surface, options: ReproduceOptions = {}): string {
  const lines = ['# Skipscape loss surface, f(alpha, beta) = L(theta* + alpha*delta + beta*eta)'];
  for (const [key, value] of metadataEntries(surface, options)) lines.push(`# ${key}: ${value}`);
  lines.push('alpha,beta,loss,accuracy,computed');
  const nx = surface.xs.length;
  surface.ys.forEach((beta, j) => {
    surface.xs.forEach((alpha, i) => {
      const k = j * nx + i;
      const loss = surface.loss[k];
      const acc = surface.accuracy[k];
      lines.push(
        `${alpha},${beta},${loss === null || loss === undefined ? '' : loss},${acc === null || acc === undefined ? '' : acc},${surface.mask[k] ?? 0}`,
      );
    });
  });
  return `${lines.join('\n')}\n`;
}

/**
 * JSON: the surface itself, with numeric arrays kept on one line each and a
 * `reproduce` entry holding the command line (extra keys are ignored by
 * readers of the surface format).
 */
export function surfaceToJson(surface: Surface, options: ReproduceOptions = {}): string {
  const arrays = (['xs', 'ys', 'loss', 'accuracy', 'mask'] as const).map(
    (key) => `  ${JSON.stringify(key)}: ${JSON.stringify(surface[key])}`,
  );
  const meta = JSON.stringify(surface.meta, null, 2).replaceAll('\n', '\n  ');
  const reproduce = JSON.stringify({ command: reproduceCommand(surface, options) });
  return `{\n${arrays.join(',\n')},\n  "meta": ${meta},\n  "reproduce": ${reproduce}\n}\n`;
}

const surfaceMetaSchema = z.object({
  model: z.string(),
  skip: z.boolean(),
  checkpointSha256: z.string(),
  checkpoint2Sha256: z.nullable(z.string()),
  dataset: z.string(),
  split: z.enum(['train', 'test']),
  subset: z.number(),
  seed: z.number(),
  normalization: z.enum(['filter', 'layer', 'none']),
  includeBiasBn: z.boolean(),
  kind: z.enum(['direction', 'interpolation', 'pca']),
  backend: z.string(),
  seconds: z.number(),
  version: z.string(),
  written: z.string(),
});

const surfaceSchema = z.object({
  xs: z.array(z.number()),
  ys: z.array(z.number()),
  loss: z.array(z.nullable(z.number())),
  accuracy: z.array(z.nullable(z.number())),
  mask: z.array(z.union([z.literal(0), z.literal(1)])),
  meta: surfaceMetaSchema,
});

/** What another Skipscape file is, by its keys, for a message; null when it may be a surface. */
function otherFileKind(value: unknown): string | null {
  if (Array.isArray(value)) return 'a JSON list';
  if (typeof value !== 'object' || value === null) return `a JSON ${typeof value}`;
  const keys = new Set(Object.keys(value));
  if (keys.has('lambdaMax') || keys.has('lambdaMin'))
    return 'a Hessian map (from skipscape hessian)';
  if (keys.has('explainedVarianceRatio'))
    return 'a training trajectory (from skipscape trajectory)';
  if (keys.has('epochs') && keys.has('config')) return 'a training history (history.json)';
  if (keys.has('files') && !keys.has('xs')) return 'a manifest';
  return null;
}

/**
 * Read a surface file (JSON text or an already parsed value), checking its
 * shape: every field present and typed, axes strictly increasing, and each
 * value array exactly xs × ys long. Throws an Error that names what is wrong.
 */
export function parseSurface(
  input: string | unknown,
  source = 'surface',
  options: { limit?: { points: number; why: string } } = {},
): Surface {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new Error(`${source}: not JSON (${(error as Error).message})`, { cause: error });
    }
  }
  const other = otherFileKind(value);
  if (other !== null) throw new Error(`${source}: ${other}, not a loss surface`);
  // The grid's size first, before the schema walks arrays of any length.
  const shape = value as { xs?: unknown; ys?: unknown } | null;
  if (
    typeof shape === 'object' &&
    shape !== null &&
    Array.isArray(shape.xs) &&
    Array.isArray(shape.ys)
  ) {
    checkGridAxes({
      xs: shape.xs,
      ys: shape.ys,
      source,
      ...(options.limit ? { limit: options.limit } : {}),
    });
  }
  const result = surfaceSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'file';
    // zod says "Invalid input"; say what was expected, and that it is missing.
    const expected = issue && 'expected' in issue ? String(issue.expected) : null;
    const found = issue?.path.reduce<unknown>(
      (v, k) =>
        typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined,
      value,
    );
    const detail =
      expected === null
        ? (issue?.message ?? 'invalid surface')
        : found === undefined
          ? `missing (a surface file needs it: ${expected})`
          : `expected ${expected}, found ${found === null ? 'null' : Array.isArray(found) ? 'a list' : typeof found}`;
    throw new Error(`${source}: ${where}: ${detail}`);
  }
  const surface = result.data;
  for (const [key, v] of Object.entries(surface.meta)) {
    // Metadata goes into comment lines of CSV, OBJ and VTK: one line each.
    if (typeof v === 'string' && CONTROL_CHARACTERS.test(v)) {
      throw new Error(`${source}: meta.${key} contains a line break or other control character`);
    }
  }
  const n = surface.xs.length * surface.ys.length;
  for (const key of ['loss', 'accuracy', 'mask'] as const) {
    if (surface[key].length !== n) {
      throw new Error(
        `${source}: ${key} has ${surface[key].length} values; xs × ys = ${surface.xs.length} × ${surface.ys.length} = ${n}`,
      );
    }
  }
  return surface;
}

// ---------------------------------------------------------------------------
// Meshes: OBJ, glTF, VTK

/** How the mesh height comes from the loss. */
export interface MeshOptions extends ReproduceOptions {
  /** Height = heightScale · loss, or heightScale · log10(loss) when true. */
  log?: boolean;
  /** Multiplies the height; 1 keeps it in loss units. */
  heightScale?: number;
}

/** Height of every grid point (NaN where the loss is null). */
export function meshHeights(surface: Surface, options: MeshOptions = {}): Float64Array {
  const scale = { log: options.log ?? false };
  const s = options.heightScale ?? 1;
  return Float64Array.from(surface.loss, (v) =>
    v === null || !Number.isFinite(v) ? Number.NaN : s * transformLoss(scale, v),
  );
}

/** Grid cells whose four corners have finite heights, as [i, j] of the bottom-left corner. */
function finiteCells(surface: Surface, heights: Float64Array): [number, number][] {
  const nx = surface.xs.length;
  const cells: [number, number][] = [];
  for (let j = 0; j + 1 < surface.ys.length; j++) {
    for (let i = 0; i + 1 < nx; i++) {
      const k = j * nx + i;
      if (
        Number.isFinite(heights[k]) &&
        Number.isFinite(heights[k + 1]) &&
        Number.isFinite(heights[k + nx]) &&
        Number.isFinite(heights[k + nx + 1])
      ) {
        cells.push([i, j]);
      }
    }
  }
  return cells;
}

/** Vertex numbering that skips points with no finite height: grid index → vertex index or −1. */
function vertexNumbering(heights: Float64Array): { index: Int32Array; count: number } {
  const index = new Int32Array(heights.length).fill(-1);
  let count = 0;
  heights.forEach((h, k) => {
    if (Number.isFinite(h)) index[k] = count++;
  });
  return { index, count };
}

/** Two triangles per finite cell, counter-clockwise seen from above: (a, b, c) and (a, c, d). */
function triangles(surface: Surface, heights: Float64Array, index: Int32Array): number[] {
  const nx = surface.xs.length;
  const out: number[] = [];
  for (const [i, j] of finiteCells(surface, heights)) {
    const a = index[j * nx + i] as number;
    const b = index[j * nx + i + 1] as number;
    const c = index[(j + 1) * nx + i + 1] as number;
    const d = index[(j + 1) * nx + i] as number;
    out.push(a, b, c, a, c, d);
  }
  return out;
}

function heightDescription(options: MeshOptions): string {
  const s = options.heightScale ?? 1;
  return `${s === 1 ? '' : `${s} * `}${options.log ? 'log10(loss)' : 'loss'}`;
}

/**
 * Wavefront OBJ: vertices x = α, y = β, z = height (see {@link MeshOptions}),
 * only where the loss is finite; two triangles per grid cell whose four
 * corners are finite. Metadata in `#` comments.
 */
export function surfaceToObj(surface: Surface, options: MeshOptions = {}): string {
  const heights = meshHeights(surface, options);
  const { index } = vertexNumbering(heights);
  const lines = ['# Skipscape loss surface mesh (Wavefront OBJ)'];
  for (const [key, value] of metadataEntries(surface, options)) lines.push(`# ${key}: ${value}`);
  lines.push(`# vertices: x = alpha, y = beta, z = ${heightDescription(options)}`);
  lines.push(`o ${meshName(surface)}`);
  const nx = surface.xs.length;
  heights.forEach((h, k) => {
    if (Number.isFinite(h))
      lines.push(`v ${surface.xs[k % nx]} ${surface.ys[Math.floor(k / nx)]} ${h}`);
  });
  const tris = triangles(surface, heights, index);
  for (let t = 0; t < tris.length; t += 3) {
    // OBJ indices are 1-based.
    lines.push(
      `f ${(tris[t] as number) + 1} ${(tris[t + 1] as number) + 1} ${(tris[t + 2] as number) + 1}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Unit normals of the height field z = h(α, β): n ∝ (−∂h/∂α, −∂h/∂β, 1),
 * derivatives by central differences (one-sided at borders and next to
 * missing points, zero where no neighbour is finite).
 */
function heightNormals(surface: Surface, heights: Float64Array): Float64Array {
  const { xs, ys } = surface;
  const nx = xs.length;
  const ny = ys.length;
  const normals = new Float64Array(3 * heights.length);
  const h = (i: number, j: number): number =>
    i >= 0 && i < nx && j >= 0 && j < ny ? (heights[j * nx + i] as number) : Number.NaN;
  const derivative = (
    axis: readonly number[],
    k: number,
    hm: number,
    h0: number,
    hp: number,
  ): number => {
    const xm = axis[k - 1];
    const xp = axis[k + 1];
    const x0 = axis[k] as number;
    if (Number.isFinite(hm) && Number.isFinite(hp) && xm !== undefined && xp !== undefined) {
      return (hp - hm) / (xp - xm);
    }
    if (Number.isFinite(hp) && xp !== undefined) return (hp - h0) / (xp - x0);
    if (Number.isFinite(hm) && xm !== undefined) return (h0 - hm) / (x0 - xm);
    return 0;
  };
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const h0 = h(i, j);
      const k = j * nx + i;
      if (!Number.isFinite(h0)) continue;
      const da = derivative(xs, i, h(i - 1, j), h0, h(i + 1, j));
      const db = derivative(ys, j, h(i, j - 1), h0, h(i, j + 1));
      const norm = Math.hypot(da, db, 1);
      normals[3 * k] = -da / norm;
      normals[3 * k + 1] = -db / norm;
      normals[3 * k + 2] = 1 / norm;
    }
  }
  return normals;
}

/** sRGB component in [0, 1] to linear light (IEC 61966-2-1): glTF vertex colours are linear. */
function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Base64 of bytes, in Node and browsers alike. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let k = 0; k < bytes.length; k += chunk) {
    binary += String.fromCharCode(...bytes.subarray(k, k + chunk));
  }
  return btoa(binary);
}

/** Options of the glTF export: the mesh's height and the colour scale of COLOR_0. */
export interface GltfOptions extends MeshOptions {
  /** Colour scale of COLOR_0; default: the surface's own finite loss range, on the `log` scale. */
  scale?: LossScale;
}

/** The glTF 2.0 document written by {@link surfaceToGltf} (the parts we write). */
export interface GltfDocument {
  asset: { version: '2.0'; generator: string; extras: Record<string, unknown> };
  scene: number;
  scenes: { nodes: number[] }[];
  nodes: { mesh: number; name: string }[];
  meshes: {
    name: string;
    primitives: {
      attributes: { POSITION: number; NORMAL: number; COLOR_0: number };
      indices: number;
      material: number;
      mode: number;
    }[];
  }[];
  materials: {
    name: string;
    doubleSided: boolean;
    pbrMetallicRoughness: {
      baseColorFactor: number[];
      metallicFactor: number;
      roughnessFactor: number;
    };
  }[];
  buffers: { byteLength: number; uri: string }[];
  bufferViews: { buffer: number; byteOffset: number; byteLength: number; target: number }[];
  accessors: {
    bufferView: number;
    byteOffset: number;
    componentType: number;
    count: number;
    type: 'VEC3' | 'SCALAR';
    min?: number[];
    max?: number[];
  }[];
}

const GL_FLOAT = 5126;
const GL_UNSIGNED_SHORT = 5123;
const GL_UNSIGNED_INT = 5125;
const GL_ARRAY_BUFFER = 34962;
const GL_ELEMENT_ARRAY_BUFFER = 34963;
const GL_TRIANGLES = 4;

/**
 * glTF 2.0 (.gltf JSON, one embedded base64 buffer). glTF is +Y up, so a
 * vertex is (α, height, −β): the surface stands upright in any viewer, and
 * this is a rotation of the OBJ's (α, β, height), so triangles keep their
 * counter-clockwise winding. POSITION, NORMAL, COLOR_0 (viridis on the
 * colour scale, in linear light as glTF requires) and triangle indices;
 * metadata and the axis convention in `asset.extras`.
 */
export function surfaceToGltf(surface: Surface, options: GltfOptions = {}): string {
  return JSON.stringify(surfaceToGltfDocument(surface, options), null, 1);
}

/** The glTF document as an object (see {@link surfaceToGltf}). */
export function surfaceToGltfDocument(surface: Surface, options: GltfOptions = {}): GltfDocument {
  const heights = meshHeights(surface, options);
  const { index, count } = vertexNumbering(heights);
  const tris = triangles(surface, heights, index);
  const normals = heightNormals(surface, heights);
  const range = finiteLossRange(surface);
  const scale: LossScale = options.scale ?? {
    log: options.log ?? false,
    lo: range?.min ?? 0,
    hi: range?.max ?? 1,
  };
  const nx = surface.xs.length;
  const position = new Float32Array(3 * count);
  const normal = new Float32Array(3 * count);
  const colour = new Float32Array(3 * count);
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  heights.forEach((h, k) => {
    const v = index[k] as number;
    if (v < 0) return;
    const p = [surface.xs[k % nx] as number, h, -(surface.ys[Math.floor(k / nx)] as number)];
    for (let c = 0; c < 3; c++) {
      // min/max must bound the stored float32 values exactly.
      const f = Math.fround(p[c] as number);
      position[3 * v + c] = f;
      min[c] = Math.min(min[c] as number, f);
      max[c] = Math.max(max[c] as number, f);
    }
    // (nα, nβ, nh) in OBJ axes → (nα, nh, −nβ) in glTF axes.
    normal[3 * v] = normals[3 * k] as number;
    normal[3 * v + 1] = normals[3 * k + 2] as number;
    normal[3 * v + 2] = -(normals[3 * k + 1] as number);
    const rgb = viridisRgb(scaleUnit(scale, surface.loss[k] as number));
    for (let c = 0; c < 3; c++) colour[3 * v + c] = srgbToLinear((rgb[c] as number) / 255);
  });
  const wide = count > 0xffff;
  const indices = wide ? Uint32Array.from(tris) : Uint16Array.from(tris);

  // Lay the four arrays out in one buffer, each view starting on a 4-byte boundary.
  const parts: ArrayBufferView[] = [position, normal, colour, indices];
  const offsets: number[] = [];
  let length = 0;
  for (const part of parts) {
    offsets.push(length);
    length += Math.ceil(part.byteLength / 4) * 4;
  }
  const bytes = new Uint8Array(length);
  parts.forEach((part, p) => {
    bytes.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), offsets[p] as number);
  });

  const m = surface.meta;
  const name = meshName(surface);
  const extras: Record<string, unknown> = Object.fromEntries(metadataEntries(surface, options));
  extras['meta'] = m;
  extras['axes'] = `x = alpha, y = ${heightDescription(options)}, z = -beta (glTF is +Y up)`;
  extras['colourScale'] = scale;
  return {
    asset: { version: '2.0', generator: `skipscape ${m.version}`, extras },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ mesh: 0, name }],
    meshes: [
      {
        name,
        primitives: [
          {
            attributes: { POSITION: 0, NORMAL: 1, COLOR_0: 2 },
            indices: 3,
            material: 0,
            mode: GL_TRIANGLES,
          },
        ],
      },
    ],
    materials: [
      {
        name: 'loss',
        doubleSided: true,
        pbrMetallicRoughness: {
          baseColorFactor: [1, 1, 1, 1],
          metallicFactor: 0,
          roughnessFactor: 1,
        },
      },
    ],
    buffers: [
      { byteLength: length, uri: `data:application/octet-stream;base64,${bytesToBase64(bytes)}` },
    ],
    bufferViews: parts.map((part, p) => ({
      buffer: 0,
      byteOffset: offsets[p] as number,
      byteLength: part.byteLength,
      target: p === 3 ? GL_ELEMENT_ARRAY_BUFFER : GL_ARRAY_BUFFER,
    })),
    accessors: [
      { bufferView: 0, byteOffset: 0, componentType: GL_FLOAT, count, type: 'VEC3', min, max },
      { bufferView: 1, byteOffset: 0, componentType: GL_FLOAT, count, type: 'VEC3' },
      { bufferView: 2, byteOffset: 0, componentType: GL_FLOAT, count, type: 'VEC3' },
      {
        bufferView: 3,
        byteOffset: 0,
        componentType: wide ? GL_UNSIGNED_INT : GL_UNSIGNED_SHORT,
        count: tris.length,
        type: 'SCALAR',
      },
    ],
  };
}

/** Finite loss range of one surface. */
function finiteLossRange(surface: Surface): { min: number; max: number } | null {
  let min = Infinity;
  let max = -Infinity;
  for (const v of surface.loss) {
    if (v === null || !Number.isFinite(v)) continue;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return min <= max ? { min, max } : null;
}

/** One inline binary VTK DataArray payload: base64 of a UInt64 byte count followed by the data. */
function vtkBinary(data: ArrayBufferView): string {
  const bytes = new Uint8Array(8 + data.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(data.byteLength), true);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 8);
  return bytesToBase64(bytes);
}

/** A VTK String array in ascii: each string as its UTF-8 byte values, then 0. */
function vtkAsciiString(text: string): string {
  return [...new TextEncoder().encode(text), 0].join(' ');
}

/** VTK's hidden-cell ghost flag (vtkDataSetAttributes::HIDDENCELL): ParaView leaves such cells out. */
const VTK_HIDDEN_CELL = 32;

/**
 * VTK XML StructuredGrid (.vts) for ParaView. Points (α, β, height) on the
 * nx × ny grid (x fastest, as the surface is stored; height 0 where the loss
 * is missing); PointData `loss`, `accuracy` (Float64, NaN where null) and
 * `computed` (UInt8); CellData `vtkGhostType` hides every cell with a
 * missing corner; FieldData holds the metadata and the command line as
 * String arrays. Numbers are inline base64 (little-endian, UInt64 headers),
 * so NaN survives exactly; strings are ascii.
 */
export function surfaceToVts(surface: Surface, options: MeshOptions = {}): string {
  const nx = surface.xs.length;
  const ny = surface.ys.length;
  const heights = meshHeights(surface, options);
  const points = new Float64Array(3 * nx * ny);
  heights.forEach((h, k) => {
    points[3 * k] = surface.xs[k % nx] as number;
    points[3 * k + 1] = surface.ys[Math.floor(k / nx)] as number;
    points[3 * k + 2] = Number.isFinite(h) ? h : 0;
  });
  const cellsX = Math.max(nx - 1, 1);
  const cellsY = Math.max(ny - 1, 1);
  const ghost = new Uint8Array(nx > 1 && ny > 1 ? cellsX * cellsY : Math.max(nx - 1, ny - 1, 1));
  if (nx > 1 && ny > 1) {
    ghost.fill(VTK_HIDDEN_CELL);
    for (const [i, j] of finiteCells(surface, heights)) ghost[j * cellsX + i] = 0;
  } else {
    // A 1-D surface is a polyline of nx − 1 (or ny − 1) cells.
    ghost.fill(VTK_HIDDEN_CELL);
    for (let k = 0; k + 1 < heights.length; k++) {
      if (Number.isFinite(heights[k]) && Number.isFinite(heights[k + 1])) ghost[k] = 0;
    }
  }
  const loss = Float64Array.from(surface.loss, num);
  const accuracy = Float64Array.from(surface.accuracy, num);
  const computed = Uint8Array.from(surface.mask);
  const extent = `0 ${nx - 1} 0 ${ny - 1} 0 0`;
  const field = metadataEntries(surface, options)
    .map(
      ([key, value]) =>
        `      <Array type="String" Name="${escapeXml(key)}" NumberOfTuples="1" format="ascii">${vtkAsciiString(value)}</Array>`,
    )
    .join('\n');
  const comment = metadataEntries(surface, options)
    .map(([key, value]) => `  ${key}: ${value.replaceAll('--', '- -')}`)
    .join('\n');
  return `<?xml version="1.0"?>
<!--
  Skipscape loss surface (VTK StructuredGrid); points z = ${heightDescription(options)}
${comment}
-->
<VTKFile type="StructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">
  <StructuredGrid WholeExtent="${extent}">
    <FieldData>
${field}
    </FieldData>
    <Piece Extent="${extent}">
      <PointData Scalars="loss">
        <DataArray type="Float64" Name="loss" format="binary">${vtkBinary(loss)}</DataArray>
        <DataArray type="Float64" Name="accuracy" format="binary">${vtkBinary(accuracy)}</DataArray>
        <DataArray type="UInt8" Name="computed" format="binary">${vtkBinary(computed)}</DataArray>
      </PointData>
      <CellData>
        <DataArray type="UInt8" Name="vtkGhostType" format="binary">${vtkBinary(ghost)}</DataArray>
      </CellData>
      <Points>
        <DataArray type="Float64" Name="Points" NumberOfComponents="3" format="binary">${vtkBinary(points)}</DataArray>
      </Points>
    </Piece>
  </StructuredGrid>
</VTKFile>
`;
}

// ---------------------------------------------------------------------------
// SVG: the contour view (drawn by contourSvg.ts, as the explorer draws it)

/** A contour-view SVG file of one or more panels, with each panel's metadata and command in <metadata>. */
export function contourSvgFile(options: {
  panels: ContourPanel[];
  scale: LossScale;
  levels: number;
  /** Checkpoint paths for each panel's command, in panel order. */
  reproduce?: ReproduceOptions[];
  idPrefix?: string;
}): { svg: string; width: number; height: number } {
  const metadata = JSON.stringify(
    options.panels.map((panel, p) => ({
      title: panel.title,
      meta: panel.surface.meta,
      command: reproduceCommand(panel.surface, options.reproduce?.[p] ?? {}),
    })),
    null,
    1,
  );
  const { svg, layout } = contourSvg({
    panels: options.panels,
    scale: options.scale,
    levels: options.levels,
    metadata,
    ...(options.idPrefix === undefined ? {} : { idPrefix: options.idPrefix }),
  });
  return {
    svg: `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`,
    width: layout.width,
    height: layout.height,
  };
}

/**
 * A standalone SVG file of one surface's contour view, metadata included.
 * Default scale: log10, over the surface's own finite losses.
 */
export function surfaceToSvg(
  surface: Surface,
  options: ReproduceOptions & { scale?: LossScale; levels?: number; title?: string } = {},
): string {
  const range = finiteLossRange(surface);
  const lo = range?.min ?? 0.1;
  const scale: LossScale = options.scale ?? {
    log: true,
    lo,
    hi: range && range.max > range.min ? range.max : lo * 10,
  };
  const title =
    options.title ??
    `${oneLine(surface.meta.model)}, ${surface.meta.skip ? 'with' : 'without'} skips`;
  return contourSvgFile({
    panels: [{ surface, title }],
    scale,
    levels: options.levels ?? 15,
    reproduce: [options],
  }).svg;
}

/** One export format, for buttons and the command line. */
export interface ExportFormat {
  id: 'csv' | 'json' | 'obj' | 'gltf' | 'vts' | 'svg';
  label: string;
  extension: string;
  mime: string;
}

export const EXPORT_FORMATS: readonly ExportFormat[] = [
  { id: 'csv', label: 'CSV', extension: 'csv', mime: 'text/csv' },
  { id: 'json', label: 'JSON', extension: 'json', mime: 'application/json' },
  { id: 'obj', label: 'OBJ mesh', extension: 'obj', mime: 'model/obj' },
  { id: 'gltf', label: 'glTF mesh', extension: 'gltf', mime: 'model/gltf+json' },
  { id: 'vts', label: 'VTK (ParaView)', extension: 'vts', mime: 'application/xml' },
  { id: 'svg', label: 'SVG contour', extension: 'svg', mime: 'image/svg+xml' },
];

/** One binary export format: a 3-D print, or Li et al.'s HDF5 file. */
export interface BinaryExportFormat {
  id: 'stl' | 'h5';
  label: string;
  extension: string;
  mime: string;
}

export const BINARY_EXPORT_FORMATS: readonly BinaryExportFormat[] = [
  { id: 'stl', label: 'STL (3-D print)', extension: 'stl', mime: 'model/stl' },
  { id: 'h5', label: "HDF5 (Li et al.'s layout)", extension: 'h5', mime: 'application/x-hdf5' },
];

/**
 * Serialise a surface in one of {@link BINARY_EXPORT_FORMATS}: a closed,
 * printable STL solid (stl.ts), or the HDF5 file Li et al.'s plot_surface.py
 * writes (hdf5.ts, which loads h5wasm, 4 MB, only now).
 */
export async function exportSurfaceBinary(
  surface: Surface,
  format: BinaryExportFormat['id'],
  options: MeshOptions = {},
): Promise<Uint8Array> {
  switch (format) {
    case 'stl':
      return surfaceToStl(surface, {
        log: options.log ?? false,
        heightScale: options.heightScale ?? 1,
      });
    case 'h5':
      return (await import('./hdf5')).surfaceToHdf5(surface);
  }
}

/** Serialise a surface in one of {@link EXPORT_FORMATS}. */
export function exportSurface(
  surface: Surface,
  format: ExportFormat['id'],
  options: GltfOptions & { levels?: number; title?: string } = {},
): string {
  switch (format) {
    case 'csv':
      return surfaceToCsv(surface, options);
    case 'json':
      return surfaceToJson(surface, options);
    case 'obj':
      return surfaceToObj(surface, options);
    case 'gltf':
      return surfaceToGltf(surface, options);
    case 'vts':
      return surfaceToVts(surface, options);
    case 'svg':
      return surfaceToSvg(surface, options);
  }
}
