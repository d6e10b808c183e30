/**
 * Surface exports: pure serialisers from a {@link Surface} to the files a
 * researcher takes away (CSV, JSON, OBJ, glTF 2.0, VTK StructuredGrid, SVG),
 * used by the explorer's export buttons and by the command line alike. No DOM,
 * no three: strings in, strings out.
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
import {
  contourLevels,
  formatNumber,
  isolines,
  logTicks,
  niceTicks,
  scaleUnit,
  transformLoss,
  viridisHex,
  viridisRgb,
  type LossScale,
} from './contours';
import type { Surface, SurfaceMeta } from './surface';

/** Where the files named in the reproducing command live; the surface records only their sha256. */
export interface ReproduceOptions {
  /** Path of the checkpoint θ* (its sha256 is in meta). Default: `checkpoint-<sha256 prefix>.safetensors`. */
  checkpointPath?: string;
  /** Path of θ_b for an interpolation. Default from its sha256 likewise. */
  checkpoint2Path?: string;
  /** `--out` of the command. Default: {@link exportFileName}(surface, 'json'). */
  outPath?: string;
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

/** A descriptive file name: `resnet56-skip-filter-51x51.csv`, `resnet56-noskip-interp-21.json`. */
export function exportFileName(surface: Surface, extension: string): string {
  const m = surface.meta;
  const grid =
    surface.ys.length > 1 ? `${surface.xs.length}x${surface.ys.length}` : `${surface.xs.length}`;
  const kind = m.kind === 'interpolation' ? 'interp' : m.normalization;
  const safe = m.model.replace(/[^\w.-]+/g, '_');
  return `${safe}-${m.skip ? 'skip' : 'noskip'}-${kind}-${grid}.${extension}`;
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
  return entries;
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
  kind: z.enum(['direction', 'interpolation']),
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

/**
 * Read a surface file (JSON text or an already parsed value), checking its
 * shape: every field present and typed, axes strictly increasing, and each
 * value array exactly xs × ys long. Throws an Error that names what is wrong.
 */
export function parseSurface(input: string | unknown, source = 'surface'): Surface {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new Error(`${source}: not JSON (${(error as Error).message})`, { cause: error });
    }
  }
  const result = surfaceSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'file';
    throw new Error(`${source}: ${where}: ${issue?.message ?? 'invalid surface'}`);
  }
  const surface = result.data;
  for (const axis of ['xs', 'ys'] as const) {
    const values = surface[axis];
    if (values.length === 0) throw new Error(`${source}: ${axis} is empty`);
    for (let k = 1; k < values.length; k++) {
      if (!((values[k] as number) > (values[k - 1] as number))) {
        throw new Error(`${source}: ${axis} is not strictly increasing at index ${k}`);
      }
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
  lines.push(`o ${surface.meta.model}_${surface.meta.skip ? 'skip' : 'noskip'}`);
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
  const name = `${m.model}_${m.skip ? 'skip' : 'noskip'}`;
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

/** Escape text for XML character data and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
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
// SVG: the contour view

/** One panel of the contour figure. */
export interface ContourPanel {
  surface: Surface;
  /** Title above the panel, e.g. "ResNet-56, with skips". */
  title: string;
}

export interface ContourSvgOptions extends ReproduceOptions {
  panels: ContourPanel[];
  /** The shared colour scale of every panel. */
  scale: LossScale;
  /** Number of contour levels inside the scale. */
  levels: number;
  /** Side of each square panel in px. */
  panelSize?: number;
  /** Prefix for element ids (hatch pattern, title), unique per page. */
  idPrefix?: string;
  /** Draw the colour bar (the explorer shows one per panel when panels stack). */
  colourBar?: boolean;
  /** Include a <metadata> element with each panel's metadata and command line. */
  metadata?: boolean;
  /** Per-panel reproduce options (checkpoint paths), same order as panels. */
  reproduce?: ReproduceOptions[];
}

/** Where things are in the SVG, so a pointer position maps back to (α, β). */
export interface ContourSvgLayout {
  width: number;
  height: number;
  /** Plot rectangle of each panel in SVG px, and the α, β range it spans. */
  panels: {
    x: number;
    y: number;
    size: number;
    xDomain: [number, number];
    yDomain: [number, number];
  }[];
}

const MARGIN = { left: 44, top: 26, bottom: 36, gap: 28, bar: 58 };
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="11"';

/** Cell edges around grid values: midpoints between neighbours, the end values at the ends. */
function cellEdges(values: readonly number[]): number[] {
  const edges = [values[0] as number];
  for (let k = 0; k + 1 < values.length; k++) {
    edges.push(((values[k] as number) + (values[k + 1] as number)) / 2);
  }
  edges.push(values[values.length - 1] as number);
  return edges;
}

/** Round a coordinate for compact SVG. */
const r2 = (x: number): string => String(Math.round(x * 100) / 100);

/**
 * The contour view as a standalone SVG: per panel a heatmap of the loss on
 * the shared viridis scale (cells centred on the grid points), isolines at
 * the contour levels, θ* marked at the origin, α and β axes; a colour bar
 * with the contour levels; diverged points hatched, uncomputed points left
 * grey. Accessible: role="img" with a <title> and <desc>.
 */
export function contourSvg(options: ContourSvgOptions): { svg: string; layout: ContourSvgLayout } {
  const size = options.panelSize ?? 320;
  const id = options.idPrefix ?? 'skipscape-contour';
  const withBar = options.colourBar ?? true;
  const { scale } = options;
  const levels = contourLevels(scale, options.levels);
  const n = options.panels.length;
  const width = MARGIN.left + n * size + (n - 1) * MARGIN.gap + (withBar ? MARGIN.bar : 12);
  const height = MARGIN.top + size + MARGIN.bottom;
  const layout: ContourSvgLayout = { width, height, panels: [] };
  const body: string[] = [];

  options.panels.forEach((panel, p) => {
    const { surface } = panel;
    const { xs, ys } = surface;
    const x0 = MARGIN.left + p * (size + MARGIN.gap);
    const y0 = MARGIN.top;
    const xDomain: [number, number] = [xs[0] as number, xs[xs.length - 1] as number];
    const yDomain: [number, number] =
      ys.length > 1 ? [ys[0] as number, ys[ys.length - 1] as number] : [-0.5, 0.5];
    layout.panels.push({ x: x0, y: y0, size, xDomain, yDomain });
    const sx = (a: number): number =>
      x0 +
      (xDomain[1] > xDomain[0] ? ((a - xDomain[0]) / (xDomain[1] - xDomain[0])) * size : size / 2);
    const sy = (b: number): number =>
      y0 + size - ((b - yDomain[0]) / (yDomain[1] - yDomain[0])) * size;
    const xe = cellEdges(xs);
    const ye = ys.length > 1 ? cellEdges(ys) : [yDomain[0], yDomain[1]];
    const nx = xs.length;
    const cells: string[] = [];
    const hatched: string[] = [];
    for (let j = 0; j < ys.length; j++) {
      for (let i = 0; i < nx; i++) {
        const k = j * nx + i;
        const left = sx(xe[i] as number);
        const right = sx(xe[i + 1] as number);
        const top = sy(ye[j + 1] as number);
        const bottom = sy(ye[j] as number);
        const rect = `x="${r2(left)}" y="${r2(top)}" width="${r2(right - left)}" height="${r2(bottom - top)}"`;
        const loss = surface.loss[k];
        if (loss !== null && loss !== undefined && Number.isFinite(loss)) {
          cells.push(`<rect ${rect} fill="${viridisHex(scaleUnit(scale, loss))}"/>`);
        } else if (surface.mask[k] === 1) {
          hatched.push(`<rect ${rect}/>`);
        }
      }
    }
    const field = {
      xs,
      ys,
      values: Float64Array.from(surface.loss, (v) =>
        v === null || !Number.isFinite(v) ? Number.NaN : transformLoss(scale, v),
      ),
    };
    const paths = isolines(
      field,
      levels.map((l) => transformLoss(scale, l)),
    ).flatMap((iso) =>
      iso.polylines.map((line) => {
        let d = '';
        for (let q = 0; q < line.length; q += 2) {
          d += `${q === 0 ? 'M' : 'L'}${r2(sx(line[q] as number))} ${r2(sy(line[q + 1] as number))}`;
        }
        return `<path d="${d}"/>`;
      }),
    );
    const xTicks = niceTicks(xDomain[0], xDomain[1], 4);
    const yTicks = ys.length > 1 ? niceTicks(yDomain[0], yDomain[1], 4) : [];
    const axis: string[] = [];
    for (const t of xTicks) {
      const x = r2(sx(t));
      axis.push(
        `<line x1="${x}" x2="${x}" y1="${y0 + size}" y2="${y0 + size + 4}" stroke="currentColor"/>`,
        `<text x="${x}" y="${y0 + size + 15}" text-anchor="middle">${formatNumber(t)}</text>`,
      );
    }
    for (const t of yTicks) {
      const y = r2(sy(t));
      axis.push(
        `<line x1="${x0 - 4}" x2="${x0}" y1="${y}" y2="${y}" stroke="currentColor"/>`,
        `<text x="${x0 - 6}" y="${y}" dy="0.32em" text-anchor="end">${formatNumber(t)}</text>`,
      );
    }
    axis.push(
      `<text x="${x0 + size / 2}" y="${y0 + size + 30}" text-anchor="middle">α</text>`,
      `<text x="${x0 - 32}" y="${y0 + size / 2}" dy="0.32em" text-anchor="middle">β</text>`,
    );
    const origin =
      xDomain[0] <= 0 && xDomain[1] >= 0 && yDomain[0] <= 0 && yDomain[1] >= 0
        ? `<g stroke="#fff" stroke-width="1.5"><line x1="${r2(sx(0) - 5)}" x2="${r2(sx(0) + 5)}" y1="${r2(sy(0))}" y2="${r2(sy(0))}"/><line x1="${r2(sx(0))}" x2="${r2(sx(0))}" y1="${r2(sy(0) - 5)}" y2="${r2(sy(0) + 5)}"/></g><text x="${r2(sx(0) + 6)}" y="${r2(sy(0) - 6)}" fill="#fff">θ*</text>`
        : '';
    body.push(
      `<g class="panel">`,
      `<text x="${x0}" y="${y0 - 9}" font-weight="600">${escapeXml(panel.title)}</text>`,
      `<rect x="${x0}" y="${y0}" width="${size}" height="${size}" fill="#8888"/>`,
      `<g shape-rendering="crispEdges">${cells.join('')}</g>`,
      hatched.length > 0 ? `<g fill="url(#${id}-nan)">${hatched.join('')}</g>` : '',
      `<g fill="none" stroke="#fff" stroke-opacity="0.6" stroke-width="0.8">${paths.join('')}</g>`,
      origin,
      `<rect x="${x0}" y="${y0}" width="${size}" height="${size}" fill="none" stroke="currentColor" stroke-opacity="0.5"/>`,
      axis.join(''),
      `</g>`,
    );
  });

  if (withBar) {
    const bx = MARGIN.left + n * size + (n - 1) * MARGIN.gap + 14;
    const by = MARGIN.top;
    const stops: string[] = [];
    for (let k = 0; k <= 16; k++) {
      stops.push(`<stop offset="${k / 16}" stop-color="${viridisHex(k / 16)}"/>`);
    }
    const t0 = transformLoss(scale, scale.lo);
    const t1 = transformLoss(scale, scale.hi);
    const barY = (loss: number): number =>
      by + size - ((transformLoss(scale, loss) - t0) / (t1 - t0)) * size;
    const ticks = scale.log ? logTicks(scale.lo, scale.hi) : niceTicks(scale.lo, scale.hi, 5);
    const tickMarks = ticks
      .map(
        (t) =>
          `<line x1="${bx + 10}" x2="${bx + 14}" y1="${r2(barY(t))}" y2="${r2(barY(t))}" stroke="currentColor"/><text x="${bx + 16}" y="${r2(barY(t))}" dy="0.32em">${formatNumber(t)}</text>`,
      )
      .join('');
    const levelMarks = levels
      .map((l) => `<line x1="${bx}" x2="${bx + 10}" y1="${r2(barY(l))}" y2="${r2(barY(l))}"/>`)
      .join('');
    body.push(
      `<g class="colour-bar">`,
      `<text x="${bx}" y="${by - 9}">loss${scale.log ? ' (log)' : ''}</text>`,
      `<rect x="${bx}" y="${by}" width="10" height="${size}" fill="url(#${id}-bar)"/>`,
      `<g stroke="#fff" stroke-opacity="0.7">${levelMarks}</g>`,
      tickMarks,
      `</g>`,
    );
    body.unshift(
      `<defs><linearGradient id="${id}-bar" x1="0" x2="0" y1="1" y2="0">${stops.join('')}</linearGradient></defs>`,
    );
  }

  const titles = options.panels.map((panel) => panel.title).join('; ');
  const description =
    `Loss f(α, β) = L(θ* + αδ + βη) over the plane of two filter-normalised directions, ` +
    `coloured by loss (${scale.log ? 'log' : 'linear'} scale from ${formatNumber(scale.lo)} to ${formatNumber(scale.hi)}) ` +
    `with ${levels.length} contour lines. ` +
    options.panels
      .map((panel) => {
        const range = finiteLossRange(panel.surface);
        return range
          ? `${panel.title}: loss from ${formatNumber(range.min)} to ${formatNumber(range.max)}.`
          : `${panel.title}: no finite values.`;
      })
      .join(' ');
  const metadata =
    options.metadata === true
      ? `<metadata>${escapeXml(
          JSON.stringify(
            options.panels.map((panel, p) => ({
              title: panel.title,
              meta: panel.surface.meta,
              command: reproduceCommand(panel.surface, options.reproduce?.[p] ?? options),
            })),
            null,
            1,
          ),
        )}</metadata>`
      : '';
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${id}-title ${id}-desc" ${FONT} fill="currentColor">` +
    `<title id="${id}-title">${escapeXml(titles)}</title>` +
    `<desc id="${id}-desc">${escapeXml(description)}</desc>` +
    metadata +
    `<defs><pattern id="${id}-nan" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c0392b" stroke-width="2"/></pattern></defs>` +
    body.join('') +
    `</svg>`;
  return { svg, layout };
}

/** A standalone SVG file of one surface's contour view, metadata included. */
export function surfaceToSvg(
  surface: Surface,
  options: Partial<Omit<ContourSvgOptions, 'panels'>> & { title?: string } = {},
): string {
  const range = finiteLossRange(surface);
  const log = options.scale?.log ?? true;
  const scale: LossScale = options.scale ?? {
    log,
    lo: range?.min ?? 0.1,
    hi: range && range.max > range.min ? range.max : (range?.min ?? 0.1) * 10,
  };
  const title =
    options.title ?? `${surface.meta.model}, ${surface.meta.skip ? 'with' : 'without'} skips`;
  const { svg } = contourSvg({
    ...options,
    panels: [{ surface, title }],
    scale,
    levels: options.levels ?? 15,
    metadata: true,
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`;
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

/** Serialise a surface in one of {@link EXPORT_FORMATS}. */
export function exportSurface(
  surface: Surface,
  format: ExportFormat['id'],
  options: GltfOptions & { levels?: number } = {},
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
