/**
 * `skipscape export`: a surface file (from `landscape`, `merge` or
 * `trajectory`, or saved from the explorer) as CSV, JSON, an OBJ or glTF
 * mesh, a VTK structured grid for ParaView, the contour view as SVG, an STL
 * solid to 3-D print, or Li et al.'s HDF5 surface file: the
 * same serialisers the explorer's export buttons use, so a file made here
 * and one saved from the page are the same bytes. Each carries the surface's
 * metadata and the command that recomputes it.
 */
import { dirname, join, resolve } from 'node:path';
import {
  BINARY_EXPORT_FORMATS,
  EXPORT_FORMATS,
  exportFileName,
  exportSurface,
  exportSurfaceBinary,
} from '../../compute/landscape/exports';
import type { BinaryExportFormat, ExportFormat } from '../../compute/landscape/exports';
import {
  HELP_FLAG,
  helpText,
  integer,
  oneOf,
  parseFlags,
  positive,
  required,
  UsageError,
} from '../args';
import type { FlagSpecs } from '../args';
import { writeFileAtomic } from '../files';
import { readSurfaceFile } from '../landscape-io';
import type { Command } from './types';

const NAME = 'export';

const FORMAT_IDS = [...EXPORT_FORMATS, ...BINARY_EXPORT_FORMATS].map((f) => f.id);
const BINARY_IDS = new Set<string>(BINARY_EXPORT_FORMATS.map((f) => f.id));

const FLAGS = {
  surface: { type: 'string', value: 'FILE.json', help: 'the surface file to export' },
  format: {
    type: 'string',
    value: `${FORMAT_IDS.join('|')}|all`,
    help: 'what to write (default all: one file per format)',
  },
  out: {
    type: 'string',
    value: 'FILE',
    help: 'the file to write (one format only; default: a descriptive name next to --surface)',
  },
  'out-dir': {
    type: 'string',
    value: 'DIR',
    help: 'where the files go (default: the folder of --surface)',
  },
  log: {
    type: 'boolean',
    help: 'mesh heights and colours from log10(loss) (default: loss itself; SVG is always log)',
  },
  'height-scale': {
    type: 'string',
    value: 'S',
    help: 'multiply mesh heights by S (default 1: heights in loss units; STL: a 50 mm relief)',
  },
  levels: { type: 'string', value: 'N', help: 'contour lines in the SVG (default 15)' },
  checkpoint: {
    type: 'string',
    value: 'FILE',
    help: 'the checkpoint path to put in the reproducing command (the surface records its sha256)',
  },
  help: HELP_FLAG,
} satisfies FlagSpecs;

function isBinary(id: string): id is BinaryExportFormat['id'] {
  return BINARY_IDS.has(id);
}

export const exportCommand: Command = {
  name: NAME,
  summary: "a surface as CSV, JSON, OBJ, glTF, VTK (.vts), SVG, STL or Li et al.'s HDF5",
  help: () =>
    helpText({
      usage:
        `skipscape export --surface FILE.json [--format ${FORMAT_IDS.join('|')}|all] [--out FILE | --out-dir DIR]\n` +
        '         [--log] [--height-scale S] [--levels N] [--checkpoint FILE]',
      summary:
        'Writes a loss surface in the formats the explorer exports: CSV (alpha,beta,loss,accuracy,computed),\n' +
        'JSON, Wavefront OBJ (x = α, y = β, z = height), glTF 2.0 (+Y up, viridis vertex colours), a VTK\n' +
        'StructuredGrid for ParaView (cells with a missing corner hidden), the SVG contour map, a binary\n' +
        'STL solid for 3-D printing (closed, on a flat base; footprint 100 mm on its longer side, 5 mm of\n' +
        'base under the lowest point, a 50 mm relief times --height-scale; 2-D and fully computed\n' +
        "surfaces only) and the HDF5 file Li et al.'s plot_surface.py writes (xcoordinates,\n" +
        'ycoordinates, train_loss, train_acc; read back with skipscape import). Every file carries\n' +
        'the metadata and the skipscape command that recomputes the surface (STL: a short header).',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    const path = required(NAME, 'surface', flags.surface);
    const format = oneOf(NAME, 'format', flags.format ?? 'all', [...FORMAT_IDS, 'all'] as const);
    if (flags.out !== undefined && format === 'all') {
      throw new UsageError(`${NAME}: --out names one file; give --format too, or use --out-dir`);
    }
    if (flags.out !== undefined && flags['out-dir'] !== undefined) {
      throw new UsageError(`${NAME}: give --out or --out-dir, not both`);
    }
    const heightScale = positive(NAME, 'height-scale', flags['height-scale'] ?? '1');
    const levels = integer(NAME, 'levels', flags.levels ?? '15', 0, 200);
    const surface = await readSurfaceFile(path);
    const dir = flags['out-dir'] ?? dirname(path);
    const formats: (ExportFormat['id'] | BinaryExportFormat['id'])[] =
      format === 'all' ? [...FORMAT_IDS] : [format];
    for (const id of formats) {
      const out = flags.out ?? join(dir, exportFileName(surface, id));
      if (resolve(out) === resolve(path)) {
        if (format === 'all') {
          io.err(`${NAME}: ${id}: ${out} is the surface itself; left as it is\n`);
          continue;
        }
        throw new UsageError(`${NAME}: ${out} would overwrite the surface itself; give --out`);
      }
      const options = {
        log: flags.log ?? false,
        heightScale,
        levels,
        ...(flags.checkpoint !== undefined ? { checkpointPath: flags.checkpoint } : {}),
      };
      if (id === 'stl' && format === 'all' && (surface.ys.length < 2 || surface.mask.includes(0))) {
        io.err(`${NAME}: stl: left out (a print needs a fully computed 2-D surface)\n`);
        continue;
      }
      const data = isBinary(id)
        ? await exportSurfaceBinary(surface, id, options)
        : exportSurface(surface, id, options);
      await writeFileAtomic(out, data);
      io.err(`${NAME}: ${id} → ${out}\n`);
    }
    return 0;
  },
};
