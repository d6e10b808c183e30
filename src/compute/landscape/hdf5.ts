/**
 * Li et al.'s surface files (HDF5, as their `plot_surface.py` writes them),
 * read and written with h5wasm: the HDF5 C library compiled to WebAssembly,
 * working on an in-memory file system, so the same code runs in the
 * explorer and the CLI. h5wasm (4 MB) is imported only when a file is read or
 * written; nothing else here needs it.
 *
 * Their layout (plot_surface.py, `setup_surface_file` and `crunch`):
 *   xcoordinates   float64 [nx]       np.linspace(xmin, xmax, xnum)
 *   ycoordinates   float64 [ny]       2-D surfaces only
 *   train_loss     float64 [nx, ny]   ([nx] for a 1-D file)
 *   train_acc      float64 [nx, ny]   accuracy in percent (100·correct/total)
 *   test_loss, test_acc              the same on the test split, when computed
 *   dir_file       string             the direction file's path
 * Points not yet computed hold −1 (their resume computes every value ≤ 0);
 * a diverged point holds NaN.
 *
 * Which value is where: `crunch` fills `losses.ravel()[ind]`, where `ind`
 * indexes `np.meshgrid(x, y)` raveled (scheduler.py), and meshgrid's arrays
 * are [ny, nx]. So in memory order (C order) the value at flat index
 * k = j·nx + i is f(x[i], y[j]), x fastest: exactly our surface's order,
 * whatever the dataset's declared shape. Their plot_2D.py and h52vtp.py read
 * it that way (Z[j, i] against meshgrid(x, y)). The declared [nx, ny] only
 * equals that layout for a square grid, so both [nx, ny] and [ny, nx] are
 * accepted, and files are written [nx, ny] as theirs are.
 *
 * What we add: a `skipscape_meta` attribute on the root (the surface's
 * metadata as JSON) and `skipscape_command` (the command that recomputes it);
 * their tools ignore attributes. A file without them gets metadata from its
 * `dir_file` name where it says (model, normalisation, biases), the rest
 * marked unknown.
 */
import { checkGridAxes } from './axes';
import { parseSurface, reproduceCommand } from './exports';
import type { Normalization, Surface, SurfaceMeta } from './surface';

/** The 8-byte signature of an HDF5 file (superblock), at 0 or a power of two ≥ 512. */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether the bytes hold an HDF5 superblock signature where the format allows one. */
export function isHdf5(bytes: Uint8Array): boolean {
  const at = (offset: number) => SIGNATURE.every((b, k) => bytes[offset + k] === b);
  if (at(0)) return true;
  for (let offset = 512; offset + SIGNATURE.length <= bytes.length; offset *= 2) {
    if (at(offset)) return true;
  }
  return false;
}

/** One numeric dataset as read: its declared shape and its values in C order. */
export interface LiDataset {
  shape: number[];
  values: Float64Array;
}

/** The contents of a Li et al. surface file that we use, independent of HDF5. */
export interface LiSurfaceFile {
  xcoordinates: Float64Array;
  /** null for a 1-D file. */
  ycoordinates: Float64Array | null;
  /** train_loss, train_acc, test_loss, test_acc: those present. */
  datasets: Partial<Record<LiDatasetName, LiDataset>>;
  /** The `dir_file` string, when present. */
  dirFile: string | null;
  /** Our `skipscape_meta` attribute (JSON text), when present. */
  skipscapeMeta: string | null;
  /** Our `skipscape_command` attribute, when present. */
  skipscapeCommand: string | null;
}

export const LI_DATASETS = ['train_loss', 'train_acc', 'test_loss', 'test_acc'] as const;
export type LiDatasetName = (typeof LI_DATASETS)[number];

/** Value Li et al.'s code leaves at a point not yet computed. */
const NOT_COMPUTED = -1;

/**
 * Our surface in their layout (pure: no HDF5 yet). The surface's split names
 * the datasets (`train_loss`/`train_acc` or `test_loss`/`test_acc`);
 * accuracy in percent; −1 where not computed, NaN where diverged.
 */
export function surfaceToLi(surface: Surface): LiSurfaceFile {
  const nx = surface.xs.length;
  const ny = surface.ys.length;
  const twoD = ny > 1;
  const shape = twoD ? [nx, ny] : [nx];
  const loss = new Float64Array(nx * ny);
  const accuracy = new Float64Array(nx * ny);
  for (let k = 0; k < nx * ny; k++) {
    if (surface.mask[k] !== 1) {
      loss[k] = NOT_COMPUTED;
      accuracy[k] = NOT_COMPUTED;
      continue;
    }
    const l = surface.loss[k];
    const a = surface.accuracy[k];
    loss[k] = l === null || l === undefined ? Number.NaN : l;
    accuracy[k] = a === null || a === undefined ? Number.NaN : 100 * a;
  }
  const split = surface.meta.split;
  return {
    xcoordinates: Float64Array.from(surface.xs),
    ycoordinates: twoD ? Float64Array.from(surface.ys) : null,
    datasets: {
      [`${split}_loss`]: { shape, values: loss },
      [`${split}_acc`]: { shape, values: accuracy },
    },
    dirFile: null,
    skipscapeMeta: JSON.stringify(surface.meta),
    skipscapeCommand: reproduceCommand(surface),
  };
}

/** What `dir_file` says of the run: Li et al.'s direction files are named after their flags. */
function metaFromDirFile(
  dirFile: string | null,
): Pick<SurfaceMeta, 'model' | 'skip' | 'normalization' | 'includeBiasBn' | 'dataset' | 'kind'> {
  const name = dirFile ?? '';
  const model = /(resnet\d+|preresnet\d+|vgg\d+|densenet\d+|wrn[\d_]+)(_noshort)?/i.exec(name);
  const norm = /_xnorm=([a-z]+)/.exec(name)?.[1];
  const normalization: Normalization = norm === 'filter' || norm === 'layer' ? norm : 'none';
  return {
    model: model?.[1]?.toLowerCase() ?? 'unknown',
    skip: model?.[2] === undefined,
    normalization,
    // --xignore biasbn zeroes biases and BN parameters in the direction.
    includeBiasBn: !/_xignore=biasbn/.test(name),
    dataset: /^(cifar10|cifar100|imagenet|mnist)\b/i.exec(name)?.[1]?.toLowerCase() ?? 'cifar10',
    // --model_file2: the x direction is the difference of two models.
    kind: /\.(t7|pth?)_.*\.(t7|pth?)_/.test(name) ? 'interpolation' : 'direction',
  };
}

/** Options of {@link surfaceFromLi}. */
export interface FromLiOptions {
  /** Which datasets to read when the file has both; default train, else test. */
  split?: 'train' | 'test';
  /** The explorer's cap on points (checked before values are walked). */
  limit?: { points: number; why: string };
}

/**
 * A surface from the contents of a Li et al. file (pure: the HDF5 is already
 * read). Throws an Error naming a missing dataset or a shape that does not
 * match the coordinates. `source` starts every message.
 */
export function surfaceFromLi(
  file: LiSurfaceFile,
  source: string,
  options: FromLiOptions = {},
): Surface {
  const xs = Array.from(file.xcoordinates);
  const ys = file.ycoordinates ? Array.from(file.ycoordinates) : [0];
  checkGridAxes({
    xs,
    ys,
    source,
    ...(options.limit ? { limit: options.limit } : {}),
  });
  const has = (split: 'train' | 'test') => file.datasets[`${split}_loss`] !== undefined;
  const split = options.split ?? (has('train') || !has('test') ? 'train' : 'test');
  const lossData = file.datasets[`${split}_loss`];
  const accData = file.datasets[`${split}_acc`];
  if (!lossData) {
    const other = split === 'train' ? 'test' : 'train';
    throw new Error(
      `${source}: no ${split}_loss dataset${has(other) ? ` (it has ${other}_loss: choose it with --split ${other})` : ' (nor any loss: not a loss surface file)'}`,
    );
  }
  if (!accData) throw new Error(`${source}: ${split}_loss has no ${split}_acc beside it`);
  const nx = xs.length;
  const ny = ys.length;
  for (const [name, data] of [
    [`${split}_loss`, lossData],
    [`${split}_acc`, accData],
  ] as const) {
    const s = data.shape;
    const fits = file.ycoordinates
      ? s.length === 2 && ((s[0] === nx && s[1] === ny) || (s[0] === ny && s[1] === nx))
      : s.length === 1 && s[0] === nx;
    if (!fits) {
      const want = file.ycoordinates ? `[${nx}, ${ny}] (xcoordinates × ycoordinates)` : `[${nx}]`;
      throw new Error(`${source}: ${name} has shape [${s.join(', ')}]; expected ${want}`);
    }
  }
  const loss: (number | null)[] = [];
  const accuracy: (number | null)[] = [];
  const mask: (0 | 1)[] = [];
  for (let k = 0; k < nx * ny; k++) {
    const l = lossData.values[k] as number;
    // Their resume treats negative values as not computed (they start at −1); NaN is a diverged point.
    if (l < 0) {
      loss.push(null);
      accuracy.push(null);
      mask.push(0);
      continue;
    }
    const a = accData.values[k] as number;
    loss.push(Number.isFinite(l) ? l : null);
    accuracy.push(Number.isFinite(l) && Number.isFinite(a) && a >= 0 ? a / 100 : null);
    mask.push(1);
  }
  let meta: unknown;
  if (file.skipscapeMeta !== null) {
    try {
      meta = JSON.parse(file.skipscapeMeta);
    } catch (error) {
      throw new Error(`${source}: skipscape_meta is not JSON (${(error as Error).message})`, {
        cause: error,
      });
    }
  } else {
    meta = {
      ...metaFromDirFile(file.dirFile),
      checkpointSha256: '',
      checkpoint2Sha256: null,
      split,
      subset: 0,
      seed: 0,
      // Unknown: subset 0 says so (the explorer then names the source instead).
      backend: "Li et al.'s plot_surface.py (HDF5)",
      seconds: 0,
      version: 'imported',
      written: new Date().toISOString(),
    } satisfies SurfaceMeta;
  }
  if (typeof meta === 'object' && meta !== null) meta = { ...meta, split };
  // The one check every surface passes (types, metadata, lengths).
  return parseSurface({ xs, ys, loss, accuracy, mask, meta }, source);
}

// ---------------------------------------------------------------------------
// HDF5 through h5wasm

type H5wasm = typeof import('h5wasm').default;
type H5Group = import('h5wasm').Group;

let h5wasmModule: Promise<{ h5: H5wasm; fs: NonNullable<typeof import('h5wasm').FS> }> | null =
  null;

/** h5wasm and its in-memory file system, loaded once, on first use. */
function loadH5wasm() {
  h5wasmModule ??= import('h5wasm').then(async ({ default: h5 }) => {
    const { FS } = await h5.ready;
    return { h5, fs: FS };
  });
  return h5wasmModule;
}

let fileCounter = 0;
/** A fresh name in h5wasm's in-memory file system, so concurrent calls never share a file. */
const scratchName = () => `/skipscape-${++fileCounter}.h5`;

/** A numeric dataset's shape and values as float64, or an Error naming what it is instead. */
function readNumeric(group: H5Group, name: string, source: string): LiDataset | null {
  if (!group.keys().includes(name)) return null;
  const entity = group.get(name);
  if (!entity || !('shape' in entity) || !('metadata' in entity) || entity.type !== 'Dataset') {
    throw new Error(`${source}: ${name} is not a dataset`);
  }
  const meta = entity.metadata;
  // h5wasm's type codes are HDF5's classes: 0 integer, 1 float.
  if (meta.type !== 0 && meta.type !== 1) {
    throw new Error(`${source}: ${name} is not numeric`);
  }
  const value = entity.value;
  if (!ArrayBuffer.isView(value) || value instanceof DataView) {
    throw new Error(`${source}: ${name} is not numeric`);
  }
  const values = Float64Array.from(value as ArrayLike<number | bigint>, Number);
  return { shape: entity.shape ?? [], values };
}

/** A string dataset or attribute's text, or null. */
function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return null;
}

/**
 * Read a Li et al. surface file's bytes. Throws an Error a reader can act on
 * for a file that is not HDF5 or lacks the coordinates. `limit` is checked on
 * the coordinates before a loss value is read.
 */
export async function readLiFile(
  bytes: Uint8Array,
  source: string,
  options: { limit?: { points: number; why: string } } = {},
): Promise<LiSurfaceFile> {
  if (!isHdf5(bytes)) throw new Error(`${source}: not an HDF5 file (no HDF5 signature)`);
  const { h5, fs } = await loadH5wasm();
  const path = scratchName();
  fs.writeFile(path, bytes);
  let file: InstanceType<H5wasm['File']> | null = null;
  try {
    try {
      file = new h5.File(path, 'r');
    } catch (error) {
      throw new Error(`${source}: an HDF5 file h5wasm cannot open (${(error as Error).message})`, {
        cause: error,
      });
    }
    const x = readNumeric(file, 'xcoordinates', source);
    if (!x) {
      throw new Error(
        `${source}: no xcoordinates dataset: not a surface file of Li et al.'s plot_surface.py (it has ${file.keys().join(', ') || 'nothing'})`,
      );
    }
    const y = readNumeric(file, 'ycoordinates', source);
    for (const [name, d] of [
      ['xcoordinates', x],
      ['ycoordinates', y],
    ] as const) {
      if (d && d.shape.length !== 1) {
        throw new Error(`${source}: ${name} has shape [${d.shape.join(', ')}]; expected one axis`);
      }
    }
    checkGridAxes({
      xs: Array.from(x.values),
      ys: y ? Array.from(y.values) : [0],
      source,
      ...(options.limit ? { limit: options.limit } : {}),
    });
    const datasets: LiSurfaceFile['datasets'] = {};
    for (const name of LI_DATASETS) {
      const d = readNumeric(file, name, source);
      if (d) datasets[name] = d;
    }
    const attrs = file.attrs;
    return {
      xcoordinates: x.values,
      ycoordinates: y ? y.values : null,
      datasets,
      dirFile: file.keys().includes('dir_file')
        ? text((file.get('dir_file') as { value?: unknown } | null)?.value)
        : null,
      skipscapeMeta: text(attrs['skipscape_meta']?.value),
      skipscapeCommand: text(attrs['skipscape_command']?.value),
    };
  } finally {
    file?.close();
    fs.unlink(path);
  }
}

/** Write a Li et al. surface file's contents as HDF5 bytes. */
export async function writeLiFile(contents: LiSurfaceFile): Promise<Uint8Array> {
  const { h5, fs } = await loadH5wasm();
  const path = scratchName();
  const file = new h5.File(path, 'w');
  try {
    file.create_dataset({ name: 'xcoordinates', data: contents.xcoordinates });
    if (contents.ycoordinates) {
      file.create_dataset({ name: 'ycoordinates', data: contents.ycoordinates });
    }
    for (const name of LI_DATASETS) {
      const d = contents.datasets[name];
      if (d) file.create_dataset({ name, data: d.values, shape: d.shape, dtype: '<d' });
    }
    if (contents.dirFile !== null)
      file.create_dataset({ name: 'dir_file', data: contents.dirFile });
    if (contents.skipscapeMeta !== null)
      file.create_attribute('skipscape_meta', contents.skipscapeMeta);
    if (contents.skipscapeCommand !== null)
      file.create_attribute('skipscape_command', contents.skipscapeCommand);
  } finally {
    file.close();
  }
  try {
    return fs.readFile(path);
  } finally {
    fs.unlink(path);
  }
}

/** A surface as a Li et al. HDF5 file (see the module comment for the layout). */
export async function surfaceToHdf5(surface: Surface): Promise<Uint8Array> {
  return writeLiFile(surfaceToLi(surface));
}

/** A surface from a Li et al. HDF5 file's bytes. */
export async function parseHdf5Surface(
  bytes: Uint8Array,
  source: string,
  options: FromLiOptions = {},
): Promise<Surface> {
  const file = await readLiFile(bytes, source, options.limit ? { limit: options.limit } : {});
  return surfaceFromLi(file, source, options);
}
